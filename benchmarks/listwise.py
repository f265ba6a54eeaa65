"""Listwise against pairwise judging with the local default judge, on the shipped Vicuna-80 human votes.

Run (judge extra installed; the default model is prepared on first use)::

    .venv/bin/python benchmarks/listwise.py [--prompts 6] [--seed 1] [--skip NAME-PREFIX ...]

For ``--prompts`` questions drawn with a fixed seed from Vicuna-80, the five models' answers are
judged four ways with the same loaded model (Gemma 3 270M base, completion-style prompts, outputs
cut to 400 tokens, 2 CPU threads):

- ``pairwise logprob``: the baseline, the default judge: every pair (10 per question) in both orders;
- ``listwise k=2``: every pair as a group of two, 2 permutations (the two orders);
- ``listwise k=5, 2 perm.``: the five answers in one group, two cyclic shifts;
- ``listwise k=5, 5 perm.``: all five cyclic shifts (each answer once in each position);
- ``pointwise logprob``: each answer scored alone (5 calls per question);
- two-member panels (rule ``mean``) of the pairwise judge with each other method that ran, from the
  members' verdicts above (so their cost is the sum of the members'). The shipped judge models are one
  (Gemma 3 270M), so a panel's members are two protocols of it: pairwise reads one pair in a fixed
  template, listwise reads the pair (k=2) or the whole group (k=5) under another template and label
  set, so their position and template errors are at least partly different.

Measured (issue 15) on an otherwise idle 2-core machine (load average 0.3-2.2), 10 questions
[9, 16, 18, 27, 33, 49, 58, 61, 64, 73] (``--prompts 10 --seed 1``), 100 (question, pair) items with human
votes, CPU, in two runs: ``--skip "listwise k=5, 5 perm." pointwise``, then the two left out (their
"vs base" is against the first of them, so it is recomputed here against pairwise)::

    method                                                 items  agree no ties  kappa calls/q     s/q vs pairwise
    pairwise logprob (both orders)                           100  0.470   0.528  0.053    20.0    21.7    1.00
    listwise k=2, 2 perm.                                    100  0.460   0.517  0.011    20.0    22.5    1.04
    listwise k=5, 2 perm.                                    100  0.260   0.292 -0.275     2.0    11.2    0.52
    listwise k=5, 5 perm.                                    100  0.390   0.438 -0.113     5.0    31.3    1.44
    pointwise logprob                                        100  0.440   0.494 -0.022     5.0     4.8    0.22
    panel mean(pairwise logprob, listwise k=2, 2 perm.)      100  0.450   0.506  0.005    40.0    44.2    2.04
    panel mean(pairwise logprob, listwise k=5, 2 perm.)      100  0.260   0.292 -0.275    22.0    32.8    1.51

The members name the same winner on 52 of 100 pairs (pairwise and listwise k=2) and 51 of 100 (pairwise
and k=5). At 100 items a standard error is about 0.05: pairwise, listwise k=2, pointwise and the k=2
panel are all near chance on this 270M base model and not told apart. Listwise k=5 with 2 permutations
agrees with people *less* than chance; with all 5 cyclic shifts it moves most of the way back (kappa
-0.28 -> -0.11), so two of five shifts leave much of the model's position bias in place. A real judge
model is needed before these numbers say anything about the methods themselves.

``--skip`` leaves methods out by name prefix (e.g. ``--skip pointwise "listwise k=5, 5 perm."``) to
fit a busy machine; the load average is printed at the start, after each method and at the end.

Each pair's verdict is compared with the human label of that (question, pair) (the mean of the human
votes; ties kept): agreement, agreement without ties, Cohen's kappa; plus judge calls and seconds per
question, and the ratio of seconds to the baseline's, measured in the same process.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import random
import sys
import time
from collections import defaultdict
from pathlib import Path

# Run as a script, this file's folder comes first on sys.path and benchmarks/judges.py would
# shadow the judges package.
if sys.path and Path(sys.path[0]).resolve() == Path(__file__).resolve().parent:
    sys.path.pop(0)

from judges.agreement import FIRST, SECOND, TIE, agreement
from judges.backends.transformers import TransformersBackend
from judges.base import PairTask
from judges.both_orders import judge_both_orders
from judges.defaults import DEFAULT_JUDGE_SPEC
from judges.listwise import GroupTask
from judges.prompts import DEFAULT_RUBRIC
from judges.protocols.listwise import pair_verdict
from judges.registry import build_judge

DATA = Path(__file__).resolve().parent.parent / "arena" / "demo_data" / "vicuna80"
MODELS = ("bard", "claude", "gpt35", "gpt4", "vicuna-13b")


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def load() -> tuple[dict[int, str], dict[int, dict[str, str]], dict[tuple[int, str, str], str]]:
    questions = {q["question_id"]: q["text"] for q in read_jsonl(DATA / "prompts" / "vicuna_questions.jsonl")}
    answers: dict[int, dict[str, str]] = defaultdict(dict)
    for model in MODELS:
        for row in read_jsonl(DATA / "generations" / f"answer_{model}.jsonl"):
            answers[row["question_id"]][model] = row["text"]
    votes: dict[tuple[int, str, str], list[float]] = defaultdict(list)
    for x, y in itertools.permutations(MODELS, 2):
        for path in (DATA / "ratings-human").glob(f"answer_{x}-vs-answer_{y}-human-reviewer*.jsonl"):
            for vote in read_jsonl(path):
                first, second = sorted((x, y))
                value = {1: 1.0, 2: 0.0, 3: 0.5}[vote["score"]]
                votes[(vote["question_id"], first, second)].append(value if first == x else 1.0 - value)
    labels = {key: _label(sum(v) / len(v)) for key, v in votes.items()}
    return questions, answers, labels


def _label(prob_first: float) -> str:
    return FIRST if prob_first > 0.5 else SECOND if prob_first < 0.5 else TIE


def pairs_of(question_id: int) -> list[tuple[str, str]]:
    return list(itertools.combinations(sorted(MODELS), 2))


def run(name: str, judge_fn, question_ids, questions, answers, labels) -> dict:
    started = time.perf_counter()
    judged, calls = judge_fn(question_ids, questions, answers)
    seconds = time.perf_counter() - started
    return score(name, judged, labels, calls / len(question_ids), seconds / len(question_ids))


def score(name: str, judged: dict, labels: dict, calls: float, seconds: float) -> dict:
    result = agreement({k: labels[k] for k in judged if k in labels}, {k: _label(p) for k, p in judged.items()})
    return {"name": name, **result, "calls_per_prompt": calls, "seconds_per_prompt": seconds, "probs": judged}


def pair_tasks(question_ids, questions, answers) -> tuple[list[tuple], list[PairTask]]:
    """Every (question, pair) with human votes, as keys and as pairwise tasks."""
    keys, tasks = [], []
    for q in question_ids:
        for a, b in pairs_of(q):
            keys.append((q, a, b))
            tasks.append(PairTask((questions[q],), (answers[q][a],), (answers[q][b],), DEFAULT_RUBRIC))
    return keys, tasks


def pairwise(judge):
    def judge_fn(question_ids, questions, answers):
        keys, tasks = pair_tasks(question_ids, questions, answers)
        results = judge_both_orders(judge, tasks)
        probs = {k: r.combined.prob_a for k, r in zip(keys, results, strict=True) if r.combined is not None}
        return probs, 2 * len(tasks)
    return judge_fn


def pointwise(judge):
    def judge_fn(question_ids, questions, answers):
        keys, tasks = pair_tasks(question_ids, questions, answers)
        before = len(judge.score_cache)
        verdicts = judge.judge_many(tasks)
        probs = {k: v.prob_a for k, v in zip(keys, verdicts, strict=True) if not isinstance(v, Exception)}
        return probs, len(judge.score_cache) - before  # each answer scored once, reused in its pairs
    return judge_fn


def panel_of(first: dict, second: dict) -> dict:
    """A two-member panel, rule ``mean``, from the members' stored probabilities (no new calls)."""
    return {k: (first[k] + second[k]) / 2 for k in first if k in second}


def listwise_pairs(judge):
    def judge_fn(question_ids, questions, answers):
        keys, groups = [], []
        for q in question_ids:
            for a, b in pairs_of(q):
                keys.append((q, a, b))
                groups.append(GroupTask((questions[q],), ((answers[q][a],), (answers[q][b],)), DEFAULT_RUBRIC))
        verdicts = judge.judge_groups(groups)
        probs = {k: v.pair_prob(0, 1) for k, v in zip(keys, verdicts, strict=True) if not isinstance(v, Exception)}
        return probs, sum(getattr(v, "calls", 0) for v in verdicts)
    return judge_fn


def listwise_group(judge):
    def judge_fn(question_ids, questions, answers):
        order = sorted(MODELS)
        groups = [GroupTask((questions[q],), tuple((answers[q][m],) for m in order), DEFAULT_RUBRIC)
                  for q in question_ids]
        verdicts = judge.judge_groups(groups)
        probs = {}
        for q, verdict in zip(question_ids, verdicts, strict=True):
            if isinstance(verdict, Exception):
                continue
            for i, j in itertools.combinations(range(len(order)), 2):
                probs[(q, order[i], order[j])] = pair_verdict(verdict, i, j, 0.0).prob_a
        return probs, sum(getattr(v, "calls", 0) for v in verdicts)
    return judge_fn


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--prompts", type=int, default=6)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--skip", nargs="*", default=[], help="methods to leave out, by name prefix")
    args = parser.parse_args()
    questions, answers, labels = load()
    voted = sorted({q for q, _, _ in labels if all(m in answers[q] for m in MODELS)})
    question_ids = sorted(random.Random(args.seed).sample(voted, args.prompts))
    items = sum(1 for q in question_ids for a, b in pairs_of(q) if (q, a, b) in labels)
    print(f"{len(question_ids)} questions {question_ids}, 5 models, {items} pairs with human votes")
    spec = dict(DEFAULT_JUDGE_SPEC)
    backend = TransformersBackend(model=spec["model"], params=spec["params"], prompt_style=spec["prompt_style"])
    listwise = {**spec, "protocol": "listwise"}
    runs = [
        ("pairwise logprob (both orders)", pairwise(build_judge(spec, backend=backend))),
        ("listwise k=5, 2 perm.", listwise_group(build_judge({**listwise, "permutations": 2}, backend=backend))),
        ("listwise k=2, 2 perm.", listwise_pairs(build_judge({**listwise, "permutations": 2}, backend=backend))),
        ("listwise k=5, 5 perm.", listwise_group(build_judge({**listwise, "permutations": 5}, backend=backend))),
        ("pointwise logprob", pointwise(build_judge({**spec, "protocol": "pointwise"}, backend=backend))),
    ]
    runs = [(name, fn) for name, fn in runs if not any(name.startswith(skip) for skip in args.skip)]
    backend.count_tokens("warm up")  # load the model before any timing
    print(f"load average at start: {_load()} (2 cores shared: seconds are noisy, calls are exact)", flush=True)
    rows = []
    for name, fn in runs:
        rows.append(run(name, fn, question_ids, questions, answers, labels))
        r = rows[-1]
        print(f"done: {name}: {r['items']} items, agreement {_fmt(r['agreement'])}, kappa {_fmt(r['cohen_kappa'])}, "
              f"{r['calls_per_prompt']:.1f} calls and {r['seconds_per_prompt']:.1f} s per question, load {_load()}",
              flush=True)
    by_name = {r["name"]: r for r in rows}
    for first, second in (("pairwise logprob (both orders)", "pointwise logprob"),
                          ("pairwise logprob (both orders)", "listwise k=2, 2 perm."),
                          ("pairwise logprob (both orders)", "listwise k=5, 2 perm."),
                          ("pairwise logprob (both orders)", "listwise k=5, 5 perm.")):
        if first not in by_name or second not in by_name:
            continue
        a, b = by_name[first], by_name[second]
        rows.append(score(f"panel mean({first.split(' (')[0]}, {second})", panel_of(a["probs"], b["probs"]), labels,
                          a["calls_per_prompt"] + b["calls_per_prompt"],
                          a["seconds_per_prompt"] + b["seconds_per_prompt"]))
        agree = sum(_label(a["probs"][k]) == _label(b["probs"][k]) for k in a["probs"] if k in b["probs"])
        print(f"members {first!r} and {second!r} name the same winner on {agree} of {len(a['probs'])} pairs")
    print(f"load average at end: {_load()}")
    base = rows[0]["seconds_per_prompt"]
    print(f"{'method':<58} {'items':>5} {'agree':>6} {'no ties':>7} {'kappa':>6} {'calls/q':>7} {'s/q':>7} "
          f"{'vs base':>7}")
    for r in rows:
        print(f"{r['name']:<58} {r['items']:>5} {_fmt(r['agreement'])} {_fmt(r['agreement_no_ties'], 7)} "
              f"{_fmt(r['cohen_kappa'])} {r['calls_per_prompt']:>7.1f} {r['seconds_per_prompt']:>7.1f} "
              f"{r['seconds_per_prompt'] / base:>7.2f}")


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def _fmt(value, width: int = 6) -> str:
    return f"{value:>{width}.3f}" if value is not None else f"{'-':>{width}}"


if __name__ == "__main__":
    main()

"""How many MT-bench matches verifiable checks decide alone, with no judge call.

Run::

    .venv/bin/python benchmarks/verifiable_checks.py

Reads the shipped trimmed MT-bench (``arena/demo_data/mt_bench``: 80 two-turn questions, 6 models,
GPT-4 reference answers for the 30 math, reasoning and coding questions), makes every pair of models
per question (15 pairs x 80 questions = 1,200 matches) and runs two check sets on each:

- ``demo rubric``: the ``general`` rubric's checks (migration 0008): an empty answer loses (fatal);
  on math, the final number of each turn against the reference's final number (1% tolerance) is a
  criterion beside the judge, so it decides nothing alone;
- ``fatal final number on math``: that number check as a fatal one (both miss it: the judge decides);
- ``fatal final number wherever there is a reference``: the same on math, reasoning and coding.

It prints, per category and in total, the share of matches the checks decide (a winner or a tie
with no judge call) and the time the checks took, against the time of simply reading every pair's
texts (the baseline, same process). Pure: no database, no model.
"""

from __future__ import annotations

import json
import sys
import time
from collections import Counter, defaultdict
from dataclasses import replace
from itertools import combinations
from pathlib import Path

# Run as a script, this file's folder comes first on sys.path and benchmarks/judges.py would
# shadow the judges package.
if sys.path and Path(sys.path[0]).resolve() == Path(__file__).resolve().parent:
    sys.path.pop(0)

from judges.base import PairTask
from judges.checks import checks_for_prompt, checks_from_list, run_checks
from judges.prompts import DEFAULT_RUBRIC

DATA = Path(__file__).resolve().parent.parent / "arena" / "demo_data" / "mt_bench"
NOT_EMPTY = {"name": "not empty", "kind": "min_words", "limit": 1, "mode": "fatal", "on_both_fail": "both_bad"}
FINAL = {"name": "final answer", "kind": "reference_number", "mode": "fatal", "tolerance": 0.01,
         "on_both_fail": "judge"}
CHECK_SETS = {
    "demo rubric": [NOT_EMPTY, {**FINAL, "categories": ["math"], "mode": "criterion"}],
    "fatal final number on math": [NOT_EMPTY, {**FINAL, "categories": ["math"]}],
    "fatal final number wherever there is a reference": [NOT_EMPTY, FINAL],
}


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def load() -> tuple[list[dict], dict[int, list[str]], dict[int, dict[str, list[str]]]]:
    questions = read_jsonl(DATA / "question.jsonl")
    reference_rows = read_jsonl(DATA / "reference_answer" / "gpt-4.jsonl")
    references = {r["question_id"]: r["choices"][0]["turns"] for r in reference_rows}
    answers: dict[int, dict[str, list[str]]] = defaultdict(dict)
    for path in sorted((DATA / "model_answer").glob("*.jsonl")):
        for row in read_jsonl(path):
            answers[row["question_id"]][row["model_id"]] = row["choices"][0]["turns"]
    return questions, references, answers


def tasks_for(questions, references, answers) -> list[tuple[str, PairTask]]:
    rows = []
    for q in questions:
        reference = references.get(q["question_id"])
        for a, b in combinations(sorted(answers[q["question_id"]]), 2):
            task = PairTask(tuple(q["turns"]), tuple(answers[q["question_id"]][a]), tuple(answers[q["question_id"]][b]),
                            DEFAULT_RUBRIC, tuple(reference) if reference else None)
            rows.append((q["category"], task))
    return rows


def main() -> None:
    questions, references, answers = load()
    rows = tasks_for(questions, references, answers)
    started = time.perf_counter()
    baseline_chars = sum(len(t) for _, task in rows for t in task.output_a_turns + task.output_b_turns)
    baseline_s = time.perf_counter() - started
    print(f"{len(rows)} matches, {len(questions)} questions, {len(references)} with a reference answer "
          f"({baseline_chars:,} output characters)")
    for name, raw in CHECK_SETS.items():
        checks = checks_from_list(raw)
        decided: Counter[str] = Counter()
        totals: Counter[str] = Counter()
        outcomes: Counter[str] = Counter()
        started = time.perf_counter()
        for category, task in rows:
            resolved = checks_for_prompt(checks, metadata={}, category=category)
            report = run_checks(replace(task, checks=resolved))
            totals[category] += 1
            if report.decision is not None:
                decided[category] += 1
                outcomes[report.label or report.decision] += 1
        elapsed = time.perf_counter() - started
        print(f"\ncheck set: {name}  ({elapsed:.2f} s for all checks; reading the texts took {baseline_s:.4f} s)")
        print(f"{'category':<12} {'matches':>7} {'decided':>7} {'share':>6}")
        for category in sorted(totals):
            share = decided[category] / totals[category]
            print(f"{category:<12} {totals[category]:>7} {decided[category]:>7} {share:>6.3f}")
        with_reference = [c for c in totals if c in {"math", "reasoning", "coding"}]
        ref_total = sum(totals[c] for c in with_reference)
        ref_decided = sum(decided[c] for c in with_reference)
        print(f"{'with ref.':<12} {ref_total:>7} {ref_decided:>7} {ref_decided / ref_total:>6.3f}")
        print(f"{'all':<12} {sum(totals.values()):>7} {sum(decided.values()):>7} "
              f"{sum(decided.values()) / sum(totals.values()):>6.3f}")
        print("decisions by label:", dict(outcomes))


if __name__ == "__main__":
    main()

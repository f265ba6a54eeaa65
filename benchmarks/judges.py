"""The local default judge: how right it is, and how fast.

Run (judge extra installed; the default model is prepared on first use, ~40 s once)::

    .venv/bin/python benchmarks/judges.py eval [--rows 40] [--only NAME ...]
    .venv/bin/python benchmarks/judges.py throughput [--matches 4]

``eval`` runs ``judges.evaluation.evaluate_judge`` on ``benchmarks/data/mt_bench_pairs.jsonl``
(40 MT-bench pairs with a clear winner, built by ``benchmarks/build_judge_pairs.py``) for each
protocol that makes sense on a base model (completion-style prompts; a chat prompt is refused by
a model without a chat template), and prints one table row per protocol.

``throughput`` measures comparisons per second of the default judge on one question with
8 outputs (28 matches), at about 300 and about 1000 prompt tokens: one match per call with
batch size 1 (a Celery worker judging one match per task) against every match in one batched
call, each with and without prefix reuse, and pairwise (``logprob``, both orders: 2 forward passes
per match) against pointwise (each output scored once and cached: 8 passes for 28 matches).
Pairwise times only the first ``--matches`` matches and scales, to keep a run near 3 minutes on
2 CPU cores. Ratios are against pairwise, batch 1, no reuse, at the same size, in the same run.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import platform
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

# Run as a script, this file's folder comes first on sys.path and this module, judges.py, would
# shadow the judges package it benchmarks.
if sys.path and Path(sys.path[0]).resolve() == Path(__file__).resolve().parent:
    sys.path.pop(0)

from arena.jsonl import read_jsonl
from judges.backends.transformers import TransformersBackend
from judges.base import PairTask
from judges.both_orders import judge_both_orders
from judges.defaults import DEFAULT_JUDGE_SPEC
from judges.evaluation import evaluate_judge
from judges.prompts import DEFAULT_RUBRIC
from judges.registry import build_judge

PAIRS = Path(__file__).parent / "data" / "mt_bench_pairs.jsonl"
MT_BENCH = Path(os.environ.get("MT_BENCH_DIR", "/work/shared/data/mt_bench"))
THREADS = int(os.environ.get("ARENA_JUDGE_THREADS", "2"))

# protocol x via on completion-style prompts, with the rows each gets: generation costs up to
# max_new_tokens decoding steps per order, so the generating protocols run on a few rows only.
EVAL_CONFIGS: dict[str, tuple[dict[str, Any], int | None]] = {
    "logprob": ({"protocol": "logprob"}, None),
    "pointwise/logprob": ({"protocol": "pointwise", "via": "logprob"}, None),
    "per_criterion/logprob": ({"protocol": "per_criterion", "via": "logprob"}, 16),
    "generate": ({"protocol": "generate", "max_new_tokens": 48}, 6),
    "pointwise/generate": ({"protocol": "pointwise", "via": "generate", "max_new_tokens": 32}, 6),
    "per_criterion/generate": ({"protocol": "per_criterion", "via": "generate", "max_new_tokens": 64}, 4),
    "likelihood": ({"protocol": "likelihood"}, None),
    "pmi": ({"protocol": "pmi"}, None),
}
METRICS = ("accuracy", "accuracy_no_ties", "cohen_kappa", "position_consistency", "slot_a_rate", "errors",
           "seconds")


def device_line(backend: TransformersBackend) -> str:
    import torch

    device = backend.device
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else cpu_model()
    return (
        f"device: {device.type} ({name}), torch {torch.__version__}, threads {torch.get_num_threads()}, "
        f"python {platform.python_version()}"
    )


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip() + f", {os.cpu_count()} cores"
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def shared_backend(**params: Any) -> TransformersBackend:
    spec = DEFAULT_JUDGE_SPEC
    merged = {**spec.get("params", {}), "threads": THREADS, **params}
    return TransformersBackend(spec["model"], merged, prompt_style=spec.get("prompt_style", "chat"))


# --- eval ---------------------------------------------------------------------------------------


def run_eval(rows_limit: int | None, only: list[str], pairs: Path = PAIRS) -> None:
    rows = read_jsonl(pairs)
    print(f"pairs: {pairs.name}")
    backend = shared_backend()
    print(device_line(backend))
    print(f"{'protocol':<24} {'rows':>4} " + " ".join(f"{m:>20}" for m in METRICS))
    for name, (overrides, default_rows) in EVAL_CONFIGS.items():
        if only and name not in only:
            continue
        limit = min(x for x in (rows_limit, default_rows, len(rows)) if x is not None)
        spec = {**DEFAULT_JUDGE_SPEC, "via": None, **overrides}
        spec = {k: v for k, v in spec.items() if v is not None}
        backend.loaded.prefixes.clear()
        report = evaluate_judge(build_judge(spec, backend=backend), rows[:limit])
        print(f"{name:<24} {limit:>4} " + " ".join(f"{fmt(report[m]):>20}" for m in METRICS), flush=True)


def fmt(value: Any) -> str:
    return "-" if value is None else f"{value:.3f}" if isinstance(value, float) else str(value)


# --- throughput ---------------------------------------------------------------------------------


def eight_outputs() -> tuple[str, list[str]]:
    """One MT-bench question (a writing task, so answers are long) and 8 models' answers."""
    question = next(row for row in read_jsonl(MT_BENCH / "question.jsonl") if row["question_id"] == 81)
    models = sorted(p.stem for p in (MT_BENCH / "model_answer").glob("*.jsonl"))[:8]
    answers = []
    for model in models:
        for row in read_jsonl(MT_BENCH / "model_answer" / f"{model}.jsonl"):
            if row["question_id"] == 81:
                # Two turns joined give every answer more than the ~500 tokens the long case needs.
                answers.append("\n\n".join(row["choices"][0]["turns"]))
    return question["turns"][0], answers


def output_budget(spec: Mapping[str, Any], backend: TransformersBackend, question: str, target: int) -> int:
    """Tokens each output may keep so a rendered prompt is about ``target`` tokens long."""
    empty = PairTask((question,), ("",), ("",), DEFAULT_RUBRIC)
    judge = build_judge(spec, backend=backend)
    rendered = judge.render(empty) if spec["protocol"] != "pointwise" else judge.render(_item(empty))
    overhead = backend.count_tokens(rendered.prompt.text)
    outputs_shown = 1 if spec["protocol"] == "pointwise" else 2
    return max(8, (target - overhead) // outputs_shown)


def _item(task: PairTask) -> Any:
    from judges.protocols.pointwise import Item

    return Item(task.prompt_turns, task.output_a_turns, task.reference_turns, task.rubric)


def time_matches(judge: Any, tasks: list[PairTask], *, per_match: bool) -> tuple[float, int]:
    """Seconds to judge ``tasks`` (both orders), and mean prompt tokens per judgment."""
    start = time.perf_counter()
    if per_match:
        results = [r for task in tasks for r in judge_both_orders(judge, [task])]
    else:
        results = judge_both_orders(judge, tasks)
    elapsed = time.perf_counter() - start
    failed = [r.errors for r in results if r.combined is None]
    if failed:
        raise SystemExit(f"judging failed: {failed[0]}")
    tokens = [v.prompt_tokens for r in results for v in (r.forward, r.backward) if v.prompt_tokens]
    return elapsed, (sum(tokens) // len(tokens) if tokens else 0)


def run_throughput(pairwise_matches: int) -> None:
    question, outputs = eight_outputs()
    pairs = list(itertools.combinations(range(len(outputs)), 2))
    tasks = [PairTask((question,), (outputs[a],), (outputs[b],), DEFAULT_RUBRIC) for a, b in pairs]
    probe = shared_backend()
    print(device_line(probe))
    print(f"{len(outputs)} outputs on one prompt -> {len(tasks)} matches; pairwise timed on {pairwise_matches}")
    print(f"default judge: {json.dumps(DEFAULT_JUDGE_SPEC)}")
    probe.label_logprobs([probe_prompt()], ["A", "B"])  # warm-up: first-call allocations
    protocols = {
        "pairwise": {**DEFAULT_JUDGE_SPEC, "protocol": "logprob"},
        "pointwise": {**DEFAULT_JUDGE_SPEC, "protocol": "pointwise", "via": "logprob"},
    }
    modes = [("batch 1", 1, True), ("batched", 8, False)]
    for target in (300, 1000):
        print(f"\n~{target} prompt tokens")
        print(f"{'protocol':<10} {'mode':<8} {'prefix':<7} {'tokens':>6} {'seconds':>8} {'cmp/s':>7} {'ratio':>6}")
        baseline: float | None = None
        for (name, spec), (mode, batch, per_match), reuse in itertools.product(protocols.items(), modes, (False, True)):
            backend = shared_backend(batch_size=batch, prefix_reuse=reuse)
            backend.loaded.prefixes.clear()
            sized = {**spec, "max_output_tokens": output_budget(spec, backend, question, target)}
            # Pointwise needs all 8 scorings whatever the number of matches; its cache lives in the judge.
            timed = tasks if name == "pointwise" else tasks[:pairwise_matches]
            seconds, tokens = time_matches(build_judge(sized, backend=backend), timed, per_match=per_match)
            rate = len(timed) / seconds
            baseline = baseline or rate
            print(
                f"{name:<10} {mode:<8} {'on' if reuse else 'off':<7} {tokens:>6} {seconds:>8.1f} "
                f"{rate:>7.2f} {rate / baseline:>5.1f}x",
                flush=True,
            )


def probe_prompt() -> Any:
    from judges.base import Prompt

    return Prompt(text="Warm-up: which is better, A or B? Answer:")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    ev = sub.add_parser("eval", help="accuracy and bias of each protocol on the MT-bench pairs")
    ev.add_argument("--rows", type=int, default=None, help="use only the first N pairs")
    ev.add_argument("--only", nargs="*", default=[], choices=list(EVAL_CONFIGS), help="protocols to run")
    ev.add_argument("--pairs", type=Path, default=PAIRS,
                    help="labelled pairs (default: MT-bench; benchmarks/data/vicuna80_human_pairs.jsonl: human votes)")
    tp = sub.add_parser("throughput", help="comparisons per second of the default judge")
    tp.add_argument("--matches", type=int, default=4, help="matches timed for the pairwise protocol")
    args = parser.parse_args()
    commands: dict[str, Callable[[], None]] = {
        "eval": lambda: run_eval(args.rows, args.only, args.pairs),
        "throughput": lambda: run_throughput(args.matches),
    }
    commands[args.command]()


if __name__ == "__main__":
    main()

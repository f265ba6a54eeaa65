"""Judge calls per second against a real llama.cpp server, and the generations it wastes.

Run (``server`` extra installed; the default GGUF is prepared on first use)::

    .venv/bin/python benchmarks/endpoint_judge.py [--calls 12] [--max-tokens 24]

Starts llama-cpp-python's OpenAI-compatible server (``python -m llama_cpp.server``, the shipped
Gemma 3 270M GGUF, one model, ``--n_ctx 1024``) on 127.0.0.1 and sends the same ``--calls``
distinct judge-sized completions (a short pairwise question, ``--max-tokens`` generated) three ways,
each with its own controller:

(a) ``sequential``: one request at a time, no streaming: the server's own capacity, the baseline.
(b) ``today``: the backend's old defaults, four requests at once, no streaming, and a timeout that
    keeps the issue's timeout-to-service ratio (60 s against ~35 s per generation) on this server:
    1.7x the mean sequential latency. Failed calls go round again, as the task queue retries them.
(c) ``adaptive``: the new defaults: streamed, silence timeouts, the adaptive limit (the server
    declares no slots, so it starts at one), all calls offered at once.

Wasted generations are counted from the server's side, in its log (``judges.llama_server``):
every generation decoded to its end prints llama.cpp's ``eval time = ... / N runs`` line, and every
stream cut short prints "Disconnected from client"; a queued request whose client left before it
reached the model prints "before llm invoked" and costs nothing. Wasted = generations the server
ran (the first two) minus answers the client received; wasted tokens = tokens decoded minus tokens received.

Several parallel slots: llama-cpp-python's server runs one request at a time (a global lock; no
``n_parallel`` setting), so that target is measured on the simulated server in
``tests/judges/test_concurrency.py`` instead, and this script says so.

The machine this runs on may be shared: the numbers are ratios within one run, and the script
prints the load average before and after.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

# Run as a script, this file's folder comes first on sys.path, and benchmarks/judges.py would shadow
# the judges package.
if sys.path and Path(sys.path[0]).resolve() == Path(__file__).resolve().parent:
    sys.path.pop(0)

from judges.backends.openai import OpenAIBackend
from judges.base import Completion, JudgeError, Prompt
from judges.llama_server import llama_server

# The server: ~35 s per generation against the 60 s timeout of the old defaults.
TODAY_TIMEOUT_RATIO = 60 / 35
TASK_QUEUE_ROUNDS = 5  # how often the task queue would send a failed call again (Celery max_retries)
TARGET_OF_CAPACITY = 0.9


def prompts(n: int) -> list[Prompt]:
    """Distinct judge-sized questions, so no two calls share a cached answer."""
    return [
        Prompt(text=(
            f"Question {i}: which answer is better?\nQuestion: what is {i} plus {i + 3}?\n"
            f"Answer A: {2 * i + 3}.\nAnswer B: {2 * i + 4}, because adding gives that.\n"
            "Verdict and reasons:"
        ))
        for i in range(n)
    ]


def run_mode(backend: OpenAIBackend, work: list[Prompt], max_tokens: int, *, one_at_a_time: bool) -> dict:
    """All calls answered (failed ones sent again, up to the task queue's rounds); wall time."""
    started = time.monotonic()
    answers: list[Completion] = []
    failures = 0
    todo = list(work)
    for _ in range(TASK_QUEUE_ROUNDS + 1):
        if not todo:
            break
        if one_at_a_time:
            results = [backend.complete([p], max_tokens=max_tokens)[0] for p in todo]
        else:
            results = backend.complete(todo, max_tokens=max_tokens)
        answers += [r for r in results if isinstance(r, Completion)]
        failures += sum(isinstance(r, JudgeError) for r in results)
        todo = [p for p, r in zip(todo, results, strict=True) if isinstance(r, JudgeError)]
    seconds = time.monotonic() - started
    return {
        "seconds": seconds,
        "answered": len(answers),
        "unanswered": len(todo),
        "failed_tries": failures,
        "received_tokens": sum(a.completion_tokens for a in answers),
        "mean_latency_s": sum(a.latency_s for a in answers) / max(1, len(answers)),
        "calls_per_s": len(answers) / seconds,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=12)
    parser.add_argument("--max-tokens", type=int, default=24)
    parser.add_argument("--log", type=Path, default=Path("/tmp/endpoint_judge_server.log"))
    args = parser.parse_args()
    work = prompts(args.calls)
    print(f"load average before: {os.getloadavg()}  cpus: {os.cpu_count()}")
    with llama_server(args.log, n_ctx=1024) as server:
        url = server.url
        # Warm the model (first-call costs) outside the timed runs.
        OpenAIBackend("warmup", {"base_url": url, "stream": False, "concurrency": 1}).complete(work[:1], max_tokens=4)
        rows = []
        sequential = {"stream": False, "concurrency": 1}
        # The sequential baseline runs first and last, so that a change in the machine's load during
        # the run shows up as a difference between the two instead of as a ratio.
        modes = [("sequential", sequential, True), ("today", None, False), ("adaptive", {}, False),
                 ("sequential2", sequential, True)]
        for name, params, one in modes:
            if params is None:  # today's defaults, timeout scaled to this server's speed
                timeout = TODAY_TIMEOUT_RATIO * rows[0]["mean_latency_s"]
                params = {"stream": False, "concurrency": 4, "first_token_timeout": timeout, "timeout": timeout}
            backend = OpenAIBackend(f"bench-{name}", {"base_url": url, **params})
            server.mark()
            result = run_mode(backend, work, args.max_tokens, one_at_a_time=one)
            work_done = server.work_since_mark()  # waits for the log lines of abandoned work
            ran = work_done["finished"] + work_done["cut"]
            busy = work_done["busy_s"] / result["seconds"]
            rows.append({"mode": name, **result, **work_done, "wasted": max(0, ran - result["answered"]), "busy": busy,
                         "useful": busy * result["answered"] / max(1, ran),
                         "wasted_tokens": max(0, server["decoded"] - result["received_tokens"]),
                         "limit": backend.endpoint_limit().snapshot()["concurrency"], "params": params})
    report(rows, args)


def report(rows: list[dict], args: argparse.Namespace) -> None:
    base = (rows[0]["calls_per_s"] + rows[-1]["calls_per_s"]) / 2
    print(f"{args.calls} calls, {args.max_tokens} tokens each, one-slot llama-cpp-python server")
    print("x seq: against the mean of the two sequential runs; busy: the server's own generation time "
          "(llama.cpp 'total time' lines) over the wall time; useful: busy x answered / generations run, the "
          "share of the server's capacity that became answers (robust to the machine's load changing between "
          "modes, which x seq is not)")
    print(f"{'mode':<11} {'calls/s':>8} {'x seq':>6} {'busy':>5} {'useful':>6} {'answered':>8} {'calls failed':>12} "
          f"{'server ran':>10} {'wasted':>6} {'wasted tok':>10} {'dropped':>7} {'end limit':>9}")
    for r in rows:
        print(f"{r['mode']:<11} {r['calls_per_s']:>8.3f} {r['calls_per_s'] / base:>6.2f} {r['busy']:>5.2f} "
              f"{r['useful']:>6.2f} "
              f"{r['answered']:>8} {r['failed_tries']:>12} {r['finished'] + r['cut']:>10} {r['wasted']:>6} "
              f"{r['wasted_tokens']:>10} {r['dropped']:>7} {r['limit']:>9}")
    today = rows[1]["params"]["first_token_timeout"]
    print(f"today's timeout here: {today:.1f} s (1.7x the mean sequential latency {rows[0]['mean_latency_s']:.1f} s)")
    adaptive = rows[2]
    # The server's capacity is its own busy time: on one slot, a client at capacity keeps it busy with
    # generations whose answers arrive. Calls/s against the sequential runs is printed above too.
    ratio = adaptive["useful"]
    misses = []
    if ratio < TARGET_OF_CAPACITY:
        misses.append(f"{ratio:.2f}x of capacity, {TARGET_OF_CAPACITY - ratio:.2f} short")
    if adaptive["wasted"]:
        # On this server a wasted generation is the limit's one probe above one request: the server
        # cut the running stream short when the second arrived, and the limit never goes above one again.
        misses.append(f"{adaptive['wasted']} wasted generation(s) ({adaptive['cut']} stream(s) cut short by the "
                      "server when the limit probed two requests; never again in this process)")
    verdict = "MET" if not misses else "MISSED: " + "; ".join(misses)
    print(f"target one slot, adaptive useful >= {TARGET_OF_CAPACITY} of the server's capacity with 0 wasted: {verdict}"
          f" (calls/s {adaptive['calls_per_s'] / base:.2f}x the sequential runs' mean)")
    print("target several slots: not measured here: llama-cpp-python's server runs one request at a time "
          "(no parallel slots); see tests/judges/test_concurrency.py for the simulated many-slot server")
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()

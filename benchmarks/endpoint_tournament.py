"""The issue's anchor tournament of 30 writing matches, judged through a real Celery worker by a
real llama.cpp server: does it run at the server's capacity, and how many generations are wasted?

    PYTHONPATH=$PWD .venv/bin/python benchmarks/endpoint_tournament.py --redis redis://127.0.0.1:6379/7 \\
        [--postgres postgres://postgres@127.0.0.1:5432/arena] [--concurrency 4] [--pool prefork] \\
        [--baseline-matches 6] [--models 4]

What the issue's user did, step by step, on a throwaway PostgreSQL test database and the given
Redis (flushed; it is the broker and the cache):

1. llama-cpp-python's OpenAI-compatible server (``python -m llama_cpp.server``, the shipped Gemma 3
   270M GGUF, ``--n_ctx 4096``, one request at a time), started by ``judges.llama_server``.
2. The demo data (MT-bench's writing prompts and their two-turn answers) through the upload path.
3. ``create_judge local --backend openai --model gemma-3-270m --param base_url=... --protocol
   generate --prompt-style completion`` (the command itself, through ``call_command``; both orders).
   The few-shot completion prompt, since the shipped model is a base model: on chat prompts it
   echoes the conversation instead of a verdict, every call is unparsable, and the task queue sends
   the same temperature-0 request again five times before the match fails (``--prompt-style chat``
   shows it), which measures the parser, not the endpoint.
4. The server's capacity, the baseline in the same run: ``--baseline-matches`` of the same matches
   judged by this process one request at a time (``concurrency=1``, no streaming, no cache).
5. ``arena.lifecycle.create_tournament``: an anchor tournament, ``gpt-3.5-turbo`` the anchor,
   ``--models`` - 1 others, on the 10 writing prompts (4 models: 30 matches, 60 judge calls), published
   to a real ``celery -A arena worker -c 4`` (``--pool``, prefork by default as ``celery worker``
   starts it): four tasks of up to 8 matches each in flight against one slot.

What is counted, and where:
- the server's generations, from its own log (``judges.llama_server``): run to their end, cut short
  ("Disconnected from client" after the model started), dropped before the model;
- answers delivered to the worker: the worker processes' own endpoint counters (``ok``), published to
  the cache for the judges page (``arena.judge_endpoints``) and read back from there while the run
  goes (a process idle for five minutes drops off the page);
- wasted generations = generations the server ran (to the end or cut) - answers delivered;
- capacity: the baseline's calls/s, and the server's busy time (its ``total time`` lines) per call.
  The tournament's ratio to capacity is given two ways: calls/s over the baseline's calls/s (sensitive
  to other load on the machine changing between the two), and the server's *useful* busy fraction:
  busy seconds / wall seconds x delivered / ran (the share of the wall time the server spent on
  answers that arrived; 1.0 = never idle, nothing wasted; robust to load changes).

The issue's figures (before any of issue 17): in 8 minutes the server ran 12 generations and 4
answers reached the worker, two thirds wasted.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

# Run as a script, this file's folder comes first on sys.path, and benchmarks/judges.py would shadow
# the judges package.
if sys.path and Path(sys.path[0]).resolve() == Path(__file__).resolve().parent:
    sys.path.pop(0)

ROOT = Path(__file__).resolve().parent.parent
sys.path.append(str(Path(__file__).resolve().parent))  # throwaway_db, after the judges package

from throwaway_db import throwaway_database  # noqa: E402

from judges.llama_server import LlamaServer, llama_server  # noqa: E402

ANCHOR = "gpt-3.5-turbo"
OTHERS = ("gpt-4", "claude-v1", "vicuna-13b-v1.3", "alpaca-13b", "llama-13b")
TARGET_OF_CAPACITY = 0.9
ISSUE_BEFORE = "issue 17, before: 8 min, server ran 12 generations, 4 answers reached the worker (8 wasted, 2/3)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--redis", required=True, help="a Redis database this benchmark may flush")
    parser.add_argument("--postgres", default="postgres://postgres@127.0.0.1:5432/arena")
    parser.add_argument("--concurrency", type=int, default=4, help="worker pool size (-c)")
    parser.add_argument("--pool", default="prefork", choices=["prefork", "threads", "solo"])
    parser.add_argument("--models", type=int, default=4, help="the anchor and N - 1 others (4: 30 matches)")
    parser.add_argument("--prompts", type=int, default=10, help="the first N of the 10 writing prompts")
    parser.add_argument("--batch", type=int, help="matches per task (ARENA_JUDGE_BATCH; default the setting's 8)")
    parser.add_argument("--baseline-matches", type=int, default=6)
    parser.add_argument("--prompt-style", default="completion", choices=["completion", "chat"],
                        help="the judge's (create_judge --prompt-style); see the docstring")
    parser.add_argument("--deadline-s", type=int, default=3600)
    parser.add_argument("--log-dir", type=Path, default=Path("/tmp/endpoint_tournament"))
    args = parser.parse_args()
    os.environ["DATABASE_URL"] = args.postgres
    os.environ["REDIS_URL"] = args.redis
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    if args.batch:
        os.environ["ARENA_JUDGE_BATCH"] = str(args.batch)
    # A plain kill must still stop the server and the worker (the ``finally`` blocks).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    args.log_dir.mkdir(parents=True, exist_ok=True)
    print(f"load average before: {load()}  cpus: {os.cpu_count()}", flush=True)
    with throwaway_database(), llama_server(args.log_dir / "server.log", n_ctx=4096) as server:
        rows = run(server, args)
    # The raw numbers first: a report that fails must not cost a half-hour run.
    (args.log_dir / "result.json").write_text(json.dumps(rows, indent=1, default=str))
    report(rows, args)


def load() -> str:
    return ", ".join(f"{value:.2f}" for value in os.getloadavg())


def run(server: LlamaServer, args: argparse.Namespace) -> dict:
    import redis
    from django.core.management import call_command

    from arena.demo import load_demo_data
    from arena.models import JudgeConfig

    call_command("createcachetable", verbosity=0)
    redis.Redis.from_url(args.redis).flushdb()
    load_demo_data()
    call_command("create_judge", "local", backend="openai", model="gemma-3-270m", protocol="generate",
                 prompt_style=args.prompt_style, param=[f"base_url={server.url}"], stdout=open(os.devnull, "w"))  # noqa: SIM115
    config = JudgeConfig.objects.get(name="local")
    tournament = new_tournament(config, args.models, args.prompts)
    matches = list(tournament.matches.select_related("prompt", "output_a", "output_b", "competitor_a",
                                                    "competitor_b").order_by("pk"))
    print(f"tournament: {len(matches)} matches ({2 * len(matches)} judge calls, both orders); "
          f"baseline: {args.baseline_matches} of them one request at a time", flush=True)
    warm_up(server, config, matches[-1])
    result = tournament_run(server, tournament, args)
    print(f"tournament done: {result}", flush=True)
    # After the tournament, on the same matches (the verdicts the worker cached are not used here).
    baseline = sequential_baseline(server, config, matches[: args.baseline_matches])
    print(f"baseline done: {baseline}  load {load()}", flush=True)
    return {"matches": len(matches), "baseline": baseline, "tournament": result}


def new_tournament(config, models: int, prompts: int):
    from arena.lifecycle import create_tournament
    from arena.models import Competitor, Dataset, Prompt

    others = list(Competitor.objects.filter(name__in=OTHERS[: models - 1]))
    anchor = Competitor.objects.get(name=ANCHOR)
    dataset = Dataset.objects.get(name="mt_bench")
    writing = Prompt.objects.filter(dataset=dataset, category="writing").order_by("external_id")
    chosen = list(writing.values_list("external_id", flat=True)[:prompts])
    return create_tournament(name="MT-bench writing, local judge", judge_config=config, competitors=others,
                             anchor=anchor, schedule="anchor", dataset=dataset, category="writing",
                             plan={"prompt_ids": chosen})


def backend_spec(config, **params) -> dict:
    spec = config.spec()
    return {**spec, "params": {**spec["params"], **params}}


def warm_up(server: LlamaServer, config, match) -> None:
    """One short request first: the model's first-call costs are nobody's capacity."""
    from judges.backends.openai import OpenAIBackend
    from judges.base import Prompt

    OpenAIBackend("warmup", {"base_url": server.url, "concurrency": 1, "stream": False}).complete(
        [Prompt(text=match.prompt.turns[0][:200])], max_tokens=2)


def sequential_baseline(server: LlamaServer, config, matches: list) -> dict:
    """The same judge and prompts, one request at a time from this process, no cache: the server's capacity."""
    from arena.judging import pair_task
    from judges.base import Verdict
    from judges.registry import build_judge

    judge = build_judge(backend_spec(config, concurrency=1, stream=False))
    tasks = [pair_task(m, config) for m in matches]
    server.mark()
    started = time.monotonic()
    verdicts = []
    for task in tasks:
        for order in (task, task.swapped()):
            verdicts += judge.judge_many([order])
    seconds = time.monotonic() - started
    work = server.work_since_mark()
    answered = sum(isinstance(v, Verdict) for v in verdicts)
    return {"calls": len(verdicts), "parsed": answered, "seconds": seconds, "calls_per_s": len(verdicts) / seconds,
            **work, "busy_per_call_s": work["busy_s"] / max(1, work["finished"])}


def tournament_run(server: LlamaServer, tournament, args: argparse.Namespace) -> dict:
    from django.db import connection

    from arena import tasks
    from arena.judge_endpoints import endpoint_rows
    from arena.models import Judgment, Match

    env = {**os.environ, "DATABASE_URL": f"{args.postgres.rsplit('/', 1)[0]}/{connection.settings_dict['NAME']}",
           "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "celery", "-A", "arena", "worker", "-Q", "judge,default", "-c",
               str(args.concurrency), "--pool", args.pool, "--loglevel", "INFO", "-n", "bench@%h",
               "--without-gossip", "--without-mingle", "--without-heartbeat"]
    with (args.log_dir / "worker.log").open("wb") as log:
        worker = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        time.sleep(8)  # the worker's processes start before the clock does
        server.mark()
        load_before = load()
        started = time.monotonic()
        tasks.publish_matches(list(tournament.matches.order_by("pk").values_list("pk", flat=True)))
        matches = tournament.matches
        finished = (Match.Status.DONE, Match.Status.FAILED)
        deadline = started + args.deadline_s
        last = -1
        # Each worker process's latest counters: a process idle for five minutes drops off the page,
        # so they are read while the run goes, not only at its end.
        seen: dict[str, dict] = {}
        while matches.exclude(status__in=finished).exists():
            seen.update({row["worker"]: row for row in endpoint_rows(private=True)})
            if time.monotonic() > deadline or worker.poll() is not None:
                raise SystemExit(f"the tournament did not finish: see {args.log_dir}/worker.log")
            done = matches.filter(status=Match.Status.DONE).count()
            if done != last:
                print(f"  {time.monotonic() - started:7.1f} s: {done} matches judged  load {load()}", flush=True)
                last = done
            time.sleep(2)
        seconds = time.monotonic() - started
        time.sleep(6)  # the workers' last endpoint publication (at most every 5 s)
        work = server.work_since_mark()
        seen.update({row["worker"]: row for row in endpoint_rows(private=True)})
        rows = list(seen.values())
        return {
            "seconds": seconds, "load_before": load_before, "load_after": load(),
            "judged": Judgment.objects.filter(match__tournament=tournament).count(),
            "failed": matches.filter(status=Match.Status.FAILED).count(),
            "attempts": sum(matches.values_list("attempts", flat=True)),
            "delivered": sum(r["ok"] for r in rows), "interrupted": sum(r["interrupted"] for r in rows),
            "overload": sum(r["overload"] for r in rows), "timeouts": sum(r["timeouts"] for r in rows),
            "errors": sum(r["error"] for r in rows), "worker_processes": len(rows),
            "page_calls_per_s": sum(r["calls_per_s"] for r in rows), **work,
        }
    finally:
        stop(worker)


def stop(worker: subprocess.Popen) -> None:
    """Warm shutdown (the tasks are done when the run ends well), else cold: an aborted run's tasks
    wait on generations for minutes, and their connections would keep the test database open."""
    for sig in (signal.SIGTERM, signal.SIGQUIT, signal.SIGKILL):
        worker.send_signal(sig)
        try:
            worker.wait(timeout=20)
            return
        except subprocess.TimeoutExpired:
            continue


def report(rows: dict, args: argparse.Namespace) -> None:
    base, run = rows["baseline"], rows["tournament"]
    ran = run["finished"] + run["cut"]
    wasted = max(0, ran - run["delivered"])
    calls_per_s = run["delivered"] / run["seconds"]
    busy = run["busy_s"] / run["seconds"]
    useful = busy * run["delivered"] / max(1, ran)
    ratio = calls_per_s / base["calls_per_s"]
    print()
    print(f"{rows['matches']} matches, anchor {ANCHOR}, MT-bench writing, generate protocol, {args.prompt_style} "
          "prompts, both orders; "
          f"worker -c {args.concurrency} --pool {args.pool}, {os.environ.get('ARENA_JUDGE_BATCH', 8)} matches a task; "
          "one-slot llama-cpp-python server, n_ctx 4096")
    print(f"{'run':<22}{'wall s':>8}{'calls':>7}{'calls/s':>9}{'x cap':>7}{'busy':>6}{'useful':>7}"
          f"{'ran':>5}{'cut':>5}{'dropped':>8}{'wasted':>7}")
    print(f"{'sequential (capacity)':<22}{base['seconds']:>8.0f}{base['calls']:>7}{base['calls_per_s']:>9.3f}"
          f"{1:>7.2f}{base['busy_s'] / base['seconds']:>6.2f}{'':>7}{base['finished'] + base['cut']:>5}"
          f"{base['cut']:>5}{base['dropped']:>8}{max(0, base['finished'] + base['cut'] - base['calls']):>7}")
    print(f"{'tournament (worker)':<22}{run['seconds']:>8.0f}{run['delivered']:>7}{calls_per_s:>9.3f}{ratio:>7.2f}"
          f"{busy:>6.2f}{useful:>7.2f}{ran:>5}{run['cut']:>5}{run['dropped']:>8}{wasted:>7}")
    print(f"tournament: {run['judged']} judged ({2 * run['judged']} verdicts), {run['failed']} failed, "
          f"{run['attempts']} match attempts; worker "
          f"saw {run['interrupted']} interrupted, {run['overload']} overloaded ({run['timeouts']} timeouts), "
          f"{run['errors']} other errors; {run['worker_processes']} worker process(es) on the judges page, "
          f"{run['page_calls_per_s']:.3f} calls/s there")
    print(f"server busy per call: {base['busy_per_call_s']:.1f} s sequential, "
          f"{run['busy_s'] / max(1, run['finished']):.1f} s in the tournament")
    print(f"load average: {run['load_before']} at the tournament's start, {run['load_after']} at its end")
    print(ISSUE_BEFORE)
    print(f"after: {run['seconds'] / 60:.1f} min, server ran {ran} generations, {run['delivered']} answers reached "
          f"the worker ({wasted} wasted)")
    verdict(useful, ratio, wasted, run)


def verdict(useful: float, ratio: float, wasted: int, run: dict) -> None:
    misses = []
    if useful < TARGET_OF_CAPACITY:
        misses.append(f"useful busy fraction {useful:.2f}, {TARGET_OF_CAPACITY - useful:.2f} short")
    if wasted:
        misses.append(f"{wasted} wasted generation(s) ({run['cut']} cut short by the server)")
    if run["failed"]:
        misses.append(f"{run['failed']} match(es) failed")
    print(f"target: >= {TARGET_OF_CAPACITY} of the server's capacity with 0 wasted: "
          + ("MET" if not misses else "MISSED: " + "; ".join(misses))
          + f" (calls/s {ratio:.2f}x the sequential baseline's)")


if __name__ == "__main__":
    main()

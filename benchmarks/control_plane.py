"""Orchestration ceiling: matches per second through real Celery workers with a zero-cost judge.

    .venv/bin/python benchmarks/control_plane.py [--workers 1,2,4] [--concurrency 1] [--models 10]
        [--prompts 80] [--postgres postgres://postgres@127.0.0.1:5432/arena] --redis redis://127.0.0.1:6379/15

On a throwaway PostgreSQL test database and the given Redis (flushed), a round robin of ``--models``
models over ``--prompts`` prompts (10 x 80 = 3,600 matches) is judged by the fake backend (no model:
every cost left is the arena's own work: claim, judge both orders through the verdict cache, record,
schedule, publish) through ``celery -A arena worker`` processes, once per worker count. Each run gets
its own judge configuration, so no verdict comes from an earlier run's cache.

Per run it prints matches/s and judge calls/s, measured between the first and the last judgment's
timestamps (worker start-up left out), and database transactions per match (PostgreSQL's own
counters for the database, so every worker process counts). Queries per match are counted in this
process on the same code path (the ``judge_matches`` task run on one batch). The baseline, named in
the output, is the issue's measurement: 168 matches/s with 2 workers x 2 processes on 2 cores.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

from throwaway_db import throwaway_database

ROOT = Path(__file__).resolve().parent.parent
BASELINE_MATCHES_PER_S = 168.0  # issue 16: 2 workers x 2, 2 cores, 3,600-match round robin, same fake judge


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", default="1,2,4", help="worker process counts to run, comma-separated")
    parser.add_argument("--concurrency", type=int, default=1, help="pool processes per worker (-c)")
    parser.add_argument("--models", type=int, default=10)
    parser.add_argument("--prompts", type=int, default=80)
    parser.add_argument("--postgres", default="postgres://postgres@127.0.0.1:5432/arena")
    parser.add_argument("--redis", required=True, help="a Redis database this benchmark may flush")
    args = parser.parse_args()
    os.environ["DATABASE_URL"] = args.postgres
    os.environ["REDIS_URL"] = args.redis
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    counts = [int(n) for n in args.workers.split(",")]
    with throwaway_database():
        run(counts, args.concurrency, args.models, args.prompts)


def run(counts: list[int], concurrency: int, models: int, prompts: int) -> None:
    import redis
    from django.core.management import call_command
    from django.db import connection

    call_command("createcachetable", verbosity=0)
    competitors = make_outputs(models, prompts)
    database = connection.settings_dict["NAME"]
    base = os.environ["DATABASE_URL"].rsplit("/", 1)[0]
    env = {**os.environ, "DATABASE_URL": f"{base}/{database}", "PYTHONPATH": str(ROOT)}
    redis.Redis.from_url(os.environ["REDIS_URL"]).flushdb()
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    print(f"machine: {os.cpu_count()} cores, load average {load} (shared: other processes add time)")
    print(f"PostgreSQL {database}, Redis {os.environ['REDIS_URL']}; {models} models x {prompts} prompts round robin; "
          f"fake judge, both orders; batches of {batch_size()}")
    queries = queries_per_match(competitors)
    print(f"database queries per match (judge_matches on one batch, in this process): {queries:.1f}")
    print(f"{'workers':<12}{'matches':>9}{'matches/s':>11}{'verdicts/s':>12}{'xacts/match':>13}{'vs 168/s':>10}")
    for count in counts:
        label = f"{count} x {concurrency}"
        matches, seconds, calls, xacts = one_run(competitors, count, concurrency, env, label)
        rate = (matches - 1) / seconds
        print(f"{label:<12}{matches:>9}{rate:>11.1f}{calls / seconds:>12.1f}{xacts / matches:>13.1f}"
              f"{rate / BASELINE_MATCHES_PER_S:>9.2f}x")


def batch_size() -> int:
    from django.conf import settings

    return settings.ARENA_JUDGE_BATCH


def make_outputs(models: int, prompts: int) -> list:
    """Prompts and outputs through the upload path; answers of different lengths (the fake judge
    prefers the longer one)."""
    from arena import ingest
    from arena.models import Competitor

    prompt_rows = [{"id": f"p{i}", "turns": [f"Question {i}?"], "dataset": "bench"} for i in range(prompts)]
    output_rows = [{"prompt_id": f"p{i}", "model": f"model-{m:02d}", "turns": [f"answer {i} " + "word " * (m + i % 7)]}
                   for i in range(prompts) for m in range(models)]
    ingest.import_prompts(stream=ingest.jsonl_stream(prompt_rows), jsonl=True)
    ingest.import_outputs(stream=ingest.jsonl_stream(output_rows), jsonl=True)
    return list(Competitor.objects.order_by("name"))


_judges = 0


def new_tournament(competitors: list, label: str):
    """A round robin judged by a judge configuration of its own (so no verdict is cached yet)."""
    global _judges
    from arena.judge_configs import create_judge_config
    from arena.lifecycle import create_tournament

    _judges += 1
    judge = create_judge_config(name=f"zero-cost-{_judges}", backend="fake", model="fake", protocol="logprob",
                                params={"seed": _judges})
    return create_tournament(name=f"control plane {label} #{_judges}", judge_config=judge,
                             competitors=competitors, schedule="round_robin")


def queries_per_match(competitors: list) -> float:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from arena import lifecycle, tasks

    tournament = new_tournament(competitors, "query count")
    ids = list(tournament.matches.order_by("pk").values_list("pk", flat=True)[: batch_size()])
    with CaptureQueriesContext(connection) as queries:
        tasks.judge_matches.apply(args=[ids])
    lifecycle.cancel(tournament=tournament)  # the rest are never judged
    return len(queries) / len(ids)


def transactions() -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = current_database()")
        return int(cursor.fetchone()[0])


def one_run(competitors: list, count: int, concurrency: int, env: dict, label: str) -> tuple[int, float, int, int]:
    """(matches, seconds from first to last judgment, judge calls, database transactions) of one tournament."""
    from django.db.models import Max, Min

    from arena import tasks
    from arena.models import Judgment

    logs = Path(env.get("ARENA_DATA_DIR", ROOT / "var")) / "control-plane-workers.log"
    logs.parent.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "celery", "-A", "arena", "worker", "-Q", "judge,default", "-c",
               str(concurrency), "--loglevel", "WARNING", "--without-gossip", "--without-mingle",
               "--without-heartbeat"]
    with logs.open("ab") as log:
        workers = [subprocess.Popen([*command, "-n", f"bench{k}@%h"], cwd=ROOT, env=env, stdout=log,
                                    stderr=subprocess.STDOUT) for k in range(count)]
    try:
        before = transactions()
        tournament = new_tournament(competitors, label)
        tasks.publish_matches(list(tournament.matches.order_by("pk").values_list("pk", flat=True)))
        matches = tournament.matches.count()
        judged = Judgment.objects.filter(match__tournament=tournament)
        deadline = time.monotonic() + 1800
        while judged.count() < matches:
            if time.monotonic() > deadline or any(w.poll() is not None for w in workers):
                raise SystemExit(f"run {label} did not finish: see {logs}")
            time.sleep(0.2)
        xacts = transactions() - before
        span = judged.aggregate(first=Min("created_at"), last=Max("created_at"))
        seconds = (span["last"] - span["first"]).total_seconds()
        calls = 2 * matches  # a verdict per order, none from the cache
        return matches, seconds, calls, xacts
    finally:
        for worker in workers:
            worker.terminate()
        for worker in workers:
            worker.wait(timeout=60)


if __name__ == "__main__":
    main()

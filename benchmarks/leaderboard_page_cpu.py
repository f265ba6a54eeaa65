"""CPU time per request of the leaderboard page and API, in one process: a measure that a busy machine
does not move much (unlike latency under load, benchmarks/leaderboard_pages.py).

    .venv/bin/python benchmarks/leaderboard_page_cpu.py [--judgments 100000] [--models 100] [--requests 200]
        [--postgres postgres://postgres@127.0.0.1:5432/arena_bench] [--redis redis://127.0.0.1:6379/14]
        [--profile 25]

Loads the judgments into a throwaway PostgreSQL database (as benchmarks/leaderboard_db.py does; the page's
cost depends on the number of models, not judgments), warms each URL (the first request computes its
snapshot), then times ``--requests`` requests of each through Django's test client with ``time.process_time``.
The baseline, in the same process, is the login page (a small template through the same middleware);
each figure is also given as a ratio to it. ``--profile N`` prints the N most expensive functions of the
leaderboard page (cProfile, cumulative time).
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import time

from throwaway_db import add_service_arguments, run_on_services

URLS = {"login page (baseline)": "/accounts/login/", "/leaderboard/": "/leaderboard/",
        "/leaderboard/ (htmx poll)": "/leaderboard/", "/api/v1/leaderboard": "/api/v1/leaderboard"}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--judgments", type=int, default=100_000)
    parser.add_argument("--models", type=int, default=100)
    parser.add_argument("--requests", type=int, default=200)
    add_service_arguments(parser)
    parser.add_argument("--profile", type=int, default=0, help="print the N costliest functions of the page")
    args = parser.parse_args()
    run_on_services(args, run)


def run(args: argparse.Namespace) -> None:
    from django.core.cache import cache
    from django.test import Client
    from leaderboard_db import _load

    cache.clear()
    _load(args.judgments, args.models)
    client = Client()
    cpu, size = {}, {}
    for label, path in URLS.items():
        headers = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "board"} if "htmx" in label else {}
        response = client.get(path, **headers)  # the first computes the snapshot
        assert response.status_code == 200, path
        size[label] = len(response.content)
        started = time.process_time()
        for _ in range(args.requests):
            client.get(path, **headers)
        cpu[label] = (time.process_time() - started) / args.requests * 1000
    baseline = cpu["login page (baseline)"]
    print(f"{args.models} models, {args.judgments:,} judgments; CPU per request over {args.requests} requests")
    for label, ms in cpu.items():
        print(f"  {label:28s} {ms:6.2f} ms CPU  ({ms / baseline:4.1f}x the login page)  {size[label]:>9,} bytes")
    if args.profile:
        profile = cProfile.Profile()
        profile.enable()
        for _ in range(args.requests):
            client.get("/leaderboard/")
        profile.disable()
        pstats.Stats(profile).sort_stats("cumulative").print_stats(args.profile)


if __name__ == "__main__":
    main()

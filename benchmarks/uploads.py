"""Upload throughput: 100,000 outputs in one JSON Lines request, on SQLite and on PostgreSQL.

    .venv/bin/python benchmarks/uploads.py [--rows 100000] [--postgres postgres://postgres@127.0.0.1:5432/postgres]

Each database runs in its own child process on a throwaway test database. The request goes through
the whole Django stack (test client → ninja → streamed parse → batched insert in one transaction).
The named baseline, run in the same process, is the naive path: one ``Output.objects.create`` per
row inside one transaction (on a 5,000-row slice, reported per row).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

from throwaway_db import throwaway_database

BASELINE_ROWS = 5000


def child(rows: int) -> None:
    with throwaway_database():
        measure(rows)


def measure(rows: int) -> None:
    from django.contrib.auth.models import User
    from django.db import connection, transaction
    from django.test import Client

    from arena.models import ApiToken, Competitor, Output, Prompt

    token = ApiToken.issue(user=User.objects.create(username="bench"))[1]
    prompts = "\n".join(json.dumps({"id": f"q{i}", "prompt": f"Question {i}?"}) for i in range(1000))
    client = Client()
    auth = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    client.post("/api/v1/prompts", prompts, content_type="application/x-ndjson", **auth)
    body = "\n".join(
        json.dumps({"prompt_id": f"q{i % 1000}", "model": f"model-{i // 1000}",
                    "output": f"Answer number {i}. " + "Some words of a typical answer. " * 8})
        for i in range(rows)
    ).encode()
    started = time.perf_counter()
    response = client.post("/api/v1/outputs", body, content_type="application/x-ndjson", **auth)
    api_seconds = time.perf_counter() - started
    assert response.status_code == 201, response.content[:500]
    started = time.perf_counter()
    again = client.post("/api/v1/outputs", body, content_type="application/x-ndjson", **auth)
    repeat_seconds = time.perf_counter() - started
    assert again.json()["unchanged"] == rows

    prompt_ids = list(Prompt.objects.values_list("id", flat=True)[:BASELINE_ROWS])
    competitor = Competitor.objects.create(name="baseline")
    started = time.perf_counter()
    with transaction.atomic():
        for i, prompt_id in enumerate(prompt_ids):
            Output.objects.create(competitor=competitor, prompt_id=prompt_id, turns=[f"Answer {i}"])
    baseline_seconds = (time.perf_counter() - started) / len(prompt_ids) * rows
    print(json.dumps({"vendor": connection.vendor, "rows": rows, "api_seconds": api_seconds,
                      "repeat_seconds": repeat_seconds, "baseline_seconds": baseline_seconds,
                      "body_mb": len(body) / 1e6}))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--postgres", default="postgres://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.rows)
        return
    for name, url in (("SQLite", None), ("PostgreSQL", args.postgres)):
        env = dict(os.environ)
        env.pop("DATABASE_URL", None)
        if url:
            env["DATABASE_URL"] = url
        out = subprocess.run([sys.executable, __file__, "--child", "--rows", str(args.rows)], env=env,
                             capture_output=True, text=True, check=False)
        if out.returncode != 0:
            print(f"{name}: failed\n{out.stderr[-2000:]}")
            continue
        r = json.loads(out.stdout.strip().splitlines()[-1])
        print(f"{name:<10} {r['rows']:>7} outputs ({r['body_mb']:.0f} MB JSONL) in one request: "
              f"{r['api_seconds']:.2f} s = {r['rows'] / r['api_seconds']:,.0f} rows/s; "
              f"re-upload (all unchanged) {r['rows'] / r['repeat_seconds']:,.0f} rows/s; "
              f"baseline per-row create {r['rows'] / r['baseline_seconds']:,.0f} rows/s; "
              f"ratio vs baseline {r['baseline_seconds'] / r['api_seconds']:.1f}x")


if __name__ == "__main__":
    main()

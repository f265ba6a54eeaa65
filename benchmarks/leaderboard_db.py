"""Recompute a stored leaderboard from 1,000,000 judgments in PostgreSQL.

    .venv/bin/python benchmarks/leaderboard_db.py [--judgments 1000000] [--models 100]
        [--postgres postgres://postgres@127.0.0.1:5432/postgres]

Runs on a throwaway test database. Judgments are loaded with COPY (not timed), then the snapshot is
recomputed end to end: SQL aggregation, Bradley-Terry point fit, 1000 bootstrap rounds, storage.
The named baseline, in the same process, is the naive path: load every judgment row into Python
and aggregate there, before the same fit.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
from throwaway_db import throwaway_database


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--judgments", type=int, default=1_000_000)
    parser.add_argument("--models", type=int, default=100)
    parser.add_argument("--postgres", default="postgres://postgres@127.0.0.1:5432/postgres")
    args = parser.parse_args()
    os.environ["DATABASE_URL"] = args.postgres
    with throwaway_database():
        run(args.judgments, args.models)


def run(n: int, m: int) -> None:
    from arena import leaderboards, ratings
    from arena.models import Competitor, Judgment

    started = time.perf_counter()
    _load(n, m)
    print(f"loaded {n:,} judgments among {m} models with COPY in {time.perf_counter() - started:.1f} s (untimed)")
    query = leaderboards.LeaderboardQuery(source="judge")
    timings = []
    for _ in range(3):
        started = time.perf_counter()
        snapshot = leaderboards.recompute_leaderboard(query=query)
        timings.append(time.perf_counter() - started)
    ours = min(timings)
    assert snapshot.battles == n

    started = time.perf_counter()
    names = dict(Competitor.objects.values_list("id", "name"))
    rows = Judgment.objects.values_list("match__competitor_a_id", "match__competitor_b_id", "score_a", "weight")
    loaded = list(rows.iterator(chunk_size=50_000))
    cells = ratings.Cells.from_battles([names[r[0]] for r in loaded], [names[r[1]] for r in loaded],
                                       [r[2] for r in loaded], [r[3] for r in loaded])
    ratings.compute_leaderboard(cells, rounds=1000, rng=np.random.default_rng(0))
    baseline = time.perf_counter() - started
    print(f"recompute from SQL GROUP BY + fit + 1000 bootstrap rounds: {ours:.2f} s (best of 3; target < 5 s)")
    print(f"baseline, every row loaded into Python then the same fit:  {baseline:.2f} s")
    print(f"ratio: {baseline / ours:.1f}x")


def _load(n: int, m: int):
    """Competitors, one prompt with outputs, n matches and n judgments (ties included), via COPY."""
    from arena.bulk import as_json, insert_rows
    from arena.models import Competitor, Dataset, JudgeConfig, Judgment, Match, Output, Prompt, Rubric, Tournament

    rng = np.random.default_rng(1)
    strength = rng.normal(0, 1, m)
    competitors = Competitor.objects.bulk_create([Competitor(name=f"model-{i:03d}") for i in range(m)])
    dataset = Dataset.objects.create(name="bench")
    prompts = Prompt.objects.bulk_create([Prompt(external_id=f"p{i}", dataset=dataset, turns=["q"])
                                          for i in range(max(1, n // (m * (m - 1) // 2) + 1))])
    outputs = {}
    for prompt in prompts:
        for c in competitors:
            outputs[(prompt.pk, c.pk)] = None
    made = Output.objects.bulk_create([Output(prompt_id=p, competitor_id=c, turns=["x"]) for p, c in outputs])
    outputs = {(o.prompt_id, o.competitor_id): o.pk for o in made}
    rubric = Rubric.objects.create(name="bench", criteria=[{"name": "x", "weight": 1}])
    judge = JudgeConfig.objects.create(name="bench", backend="fake", rubric=rubric)
    tournament = Tournament.objects.create(name="bench", judge_config=judge)
    pairs = [(i, j) for i in range(m) for j in range(i + 1, m)]
    a, b, prompt_of = [], [], []
    for k in range(n):
        i, j = pairs[k % len(pairs)]
        a.append(i), b.append(j), prompt_of.append(prompts[k // len(pairs)].pk)
    a, b = np.array(a), np.array(b)
    p = 1 / (1 + np.exp(-(strength[a] - strength[b])))
    u = rng.random(n)
    scores = np.where(u < 0.1, 0.5, np.where(u < 0.1 + 0.9 * p, 1.0, 0.0))
    ids = [c.pk for c in competitors]
    match_rows = [(tournament.pk, prompt_of[k], ids[a[k]], ids[b[k]], outputs[(prompt_of[k], ids[a[k]])],
                   outputs[(prompt_of[k], ids[b[k]])], 1, 1, "done", 1, "", "") for k in range(n)]
    insert_rows(Match, ("tournament_id", "prompt_id", "competitor_a_id", "competitor_b_id", "output_a_id",
                        "output_b_id", "round", "bracket", "status", "attempts", "last_error", "error_detail"),
                match_rows,
                stamp=("created_at", "updated_at"))
    match_ids = list(Match.objects.order_by("pk").values_list("pk", flat=True))
    verdict = as_json({})
    winner = {1.0: "a", 0.0: "b", 0.5: "tie"}
    judgment_rows = [(match_ids[k], judge.pk, winner[scores[k]], float(scores[k]), 1.0, "", verdict, False, 0, 0,
                      0.0, 0.0, 2, verdict) for k in range(n)]
    insert_rows(Judgment, ("match_id", "judge_config_id", "winner", "score_a", "weight", "label", "forward",
                           "truncated", "prompt_tokens", "completion_tokens", "cost_usd", "latency_s", "judge_calls",
                           "checks"),
                judgment_rows,
                stamp=("created_at",))
    return n


if __name__ == "__main__":
    main()

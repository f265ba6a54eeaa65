"""Build the judge meta-evaluation set from the shipped Vicuna-80 human votes.

Usage::

    python benchmarks/build_human_pairs.py [--items 48] [--seed 20240601]

Writes ``benchmarks/data/vicuna80_human_pairs.jsonl``, one row per item (question, pair of
models with answers), in the format of ``judges.evaluation``: ``{"prompt", "output_1", "output_2",
"label": 1|2|0, "question_id", "model_1", "model_2", "votes", "mean"}``. ``label`` is the mean human
vote (1 = output_1 better, 1/2 tie, 0 = output_2 better): above 1/2 output 1, below output 2,
exactly 1/2 a tie, as ``judges.agreement`` reads it. A seeded draw picks the items and which slot
holds which model, so the file is reproducible and a judge that always picks one slot gains nothing.
"""

from __future__ import annotations

import argparse
import json
import random
import re
from collections import defaultdict
from pathlib import Path

from arena.jsonl import read_jsonl

DATA = Path(__file__).resolve().parent.parent / "arena" / "demo_data" / "vicuna80"
OUT = Path(__file__).parent / "data" / "vicuna80_human_pairs.jsonl"
VOTE_FILE = re.compile(r"answer_(?P<x>[\w.-]+?)-vs-answer_(?P<y>[\w.-]+?)-human-reviewer")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=48)
    parser.add_argument("--seed", type=int, default=20240601)
    args = parser.parse_args()
    questions = {q["question_id"]: q["text"] for q in read_jsonl(DATA / "prompts" / "vicuna_questions.jsonl")}
    answers = {path.stem.removeprefix("answer_"): {a["question_id"]: a["text"] for a in read_jsonl(path)}
               for path in (DATA / "generations").glob("answer_*.jsonl")}
    votes: dict[tuple[int, str, str], list[float]] = defaultdict(list)
    for path in sorted((DATA / "ratings-human").glob("*.jsonl")):
        match = VOTE_FILE.match(path.name)
        x, y = match["x"], match["y"]
        if x not in answers or y not in answers:
            continue
        first, second = sorted((x, y))
        for vote in read_jsonl(path):
            value = {1: 1.0, 2: 0.0, 3: 0.5}[vote["score"]]
            votes[(vote["question_id"], first, second)].append(value if x == first else 1.0 - value)
    items = sorted(k for k in votes if all(k[0] in answers[m] for m in k[1:]))
    rng = random.Random(args.seed)
    chosen = rng.sample(items, args.items)
    with OUT.open("w", encoding="utf-8") as out:
        for question_id, first, second in chosen:
            mean = sum(votes[(question_id, first, second)]) / len(votes[(question_id, first, second)])
            if rng.random() < 0.5:
                first, second, mean = second, first, 1.0 - mean
            label = 1 if mean > 0.5 else 2 if mean < 0.5 else 0
            out.write(json.dumps({
                "prompt": questions[question_id], "output_1": answers[first][question_id],
                "output_2": answers[second][question_id], "label": label, "question_id": question_id,
                "model_1": first, "model_2": second, "votes": len(votes[(question_id, first, second)]),
                "mean": mean,
            }) + "\n")


if __name__ == "__main__":
    main()

"""WildBench's length rule on the shipped Vicuna-80 reviews: does it bring the GPT reviews closer to the humans?

Run: PYTHONPATH=. .venv/bin/python -m benchmarks.length_rule [--chars 200 500 1000]

Reads the bundled files (arena/demo_data/vicuna80: answers, human votes, GPT-4 and GPT-3.5 reviews; no
database). The reviews are three-class (answer 1 better, answer 2 better, tie) with no "slightly
better" grade, so every decisive review is treated as a weak win: the figures are the rule's largest
possible effect on these reviews (a graded judge keeps its strong wins). For each source and K it
prints agreement with the human labels (with and without ties), Cohen's kappa and the share of
reviews the rule turned into ties, beside the same source without the rule (the baseline, same run).
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

from judges import agreement as core
from judges.length_rule import weak_win_is_tie

DATA = Path(__file__).resolve().parents[1] / "arena" / "demo_data" / "vicuna80"
PAIR = re.compile(r"answer[-_](?P<x>.+?)-vs-answer[-_](?P<y>.+?)-(?:human|gpt4|gpt35)-reviewer")
SOURCES = {"gpt-4-review": "ratings-gpt4", "gpt-3.5-review": "ratings-gpt35"}
SCORE = {1: 1.0, 2: 0.0, 3: 0.5}


def rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def load() -> tuple[dict, dict, dict]:
    answers = {p.stem.removeprefix("answer_"): {a["question_id"]: a for a in rows(p)}
               for p in sorted((DATA / "generations").glob("answer_*.jsonl"))}
    by_id = {a["answer_id"]: (model, len(a["text"])) for model, found in answers.items() for a in found.values()}
    return answers, by_id, {"human": _human(answers)}


def _item(question: int, x: str, y: str, value: float) -> core.Outcome:
    return core.Outcome((question, x, y), value) if x < y else core.Outcome((question, y, x), 1.0 - value)


def _human(answers: dict) -> list[core.Outcome]:
    found = []
    for path in sorted((DATA / "ratings-human").glob("*.jsonl")):
        x, y = PAIR.match(path.name).group("x", "y")
        if x in answers and y in answers:
            found += [_item(v["question_id"], x, y, SCORE[v["score"]]) for v in rows(path)
                      if v["question_id"] in answers[x] and v["question_id"] in answers[y]]
    return found


def reviews(folder: str, by_id: dict, chars: int | None) -> tuple[list[core.Outcome], int]:
    found, tied = [], 0
    for path in sorted((DATA / folder).glob("*.jsonl")):
        for review in rows(path):
            if review["answer1_id"] not in by_id or review["answer2_id"] not in by_id:
                continue
            (x, x_chars), (y, y_chars) = by_id[review["answer1_id"]], by_id[review["answer2_id"]]
            value = SCORE[review["score"]]
            if chars is not None and value != 0.5:
                longer_by = x_chars - y_chars if value == 1.0 else y_chars - x_chars
                ruled = weak_win_is_tie(value, longer_by, chars)
                tied += ruled != value
                value = ruled
            found.append(_item(review["question_id"], x, y, value))
    return found, tied


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chars", type=int, nargs="+", default=[200, 500, 1000])
    args = parser.parse_args()
    _, by_id, found = load()
    human = core.item_labels(found["human"])
    print(f"{'source':<16}{'K':>6}{'agreement':>11}{'no ties':>9}{'kappa':>8}{'ruled ties':>12}")
    for source, folder in SOURCES.items():
        for chars in [None, *args.chars]:
            outcomes, tied = reviews(folder, by_id, chars)
            result = core.agreement(human, core.item_labels(outcomes))
            print(f"{source:<16}{'off' if chars is None else chars:>6}{result['agreement']:>11.3f}"
                  f"{result['agreement_no_ties']:>9.3f}{result['cohen_kappa']:>8.3f}"
                  f"{tied / len(outcomes):>12.1%}")


if __name__ == "__main__":
    main()

"""Vicuna-80 with real human votes (MIT, from bcdnlp/PRD), loaded beside MT-bench for the demo.

- 80 questions and the answers of five models, through the upload path (idempotent);
- the human pairwise votes between those models as ``HumanVote`` rows (human evidence; the votes
  on the four guanaco models are left out: their answers are not in the data, so those votes
  cannot be shown, re-voted or compared with a judge);
- the GPT-4 and GPT-3.5 pairwise reviews as ``ImportedBattle`` rows of the sources
  ``gpt-4-review`` and ``gpt-3.5-review``, rationale text kept.

Loading twice adds nothing: votes and reviews carry stable ids.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from django.db import transaction

from . import ingest, leaderboards, lifecycle
from .models import Competitor, Dataset, HumanVote, Output, Tournament

DATA_DIR = Path(__file__).parent / "demo_data" / "vicuna80"
DATASET = "vicuna80"
# File-name keys to the arena's competitor names (the MT-bench demo uses the same ones).
MODELS = {"bard": "bard", "claude": "claude-v1", "gpt35": "gpt-3.5-turbo", "gpt4": "gpt-4", "vicuna-13b": "vicuna-13b"}
# Families for the judges page's self-preference measure (a GPT reviewer on GPT answers).
FAMILIES = {"bard": "palm", "claude-v1": "claude", "gpt-3.5-turbo": "gpt", "gpt-4": "gpt", "vicuna-13b": "llama"}
REVIEW_SOURCES = {"ratings-gpt4": "gpt-4-review", "ratings-gpt35": "gpt-3.5-review"}
PAIR_FILE = re.compile(r"answer[-_](?P<x>.+?)-vs-answer[-_](?P<y>.+?)-(?:human|gpt4|gpt35)-reviewer")
SCORES = {1: HumanVote.Winner.A, 2: HumanVote.Winner.B, 3: HumanVote.Winner.TIE}
BATTLE_WINNERS = {1: "model_a", 2: "model_b", 3: "tie"}
DESCRIPTION = ("Vicuna-80: 80 single-turn questions in 9 categories, five models' answers, human pairwise votes "
               "and GPT-4 / GPT-3.5 reviews (bcdnlp/PRD).")


def prompt_id(question_id: int) -> str:
    return f"{DATASET}-{question_id}"


def load_vicuna80() -> dict[str, dict | int]:
    questions = ingest.read_jsonl(DATA_DIR / "prompts" / "vicuna_questions.jsonl")
    answers = {key: ingest.read_jsonl(DATA_DIR / "generations" / f"answer_{key}.jsonl") for key in MODELS}
    prompts = [{"id": prompt_id(q["question_id"]), "prompt": q["text"], "category": q["category"],
                "dataset": DATASET} for q in questions]
    outputs = [{"prompt_id": prompt_id(a["question_id"]), "model": MODELS[key], "output": a["text"],
                "metadata": {"answer_id": a["answer_id"], "model_id": a["model_id"]}}
               for key, rows in answers.items() for a in rows]
    result: dict[str, dict | int] = {
        "prompts": ingest.import_prompts(stream=ingest.jsonl_stream(prompts), jsonl=True).as_dict(),
        "outputs": ingest.import_outputs(stream=ingest.jsonl_stream(outputs), jsonl=True).as_dict(),
        "reviews": ingest.import_battles(stream=ingest.jsonl_stream(list(_reviews(answers))), jsonl=True).as_dict(),
        "human_votes": _load_votes(),
    }
    for name, family in FAMILIES.items():
        Competitor.objects.filter(name=name, family="").update(family=family)
    Dataset.objects.filter(name=DATASET).update(description=DESCRIPTION,
                                                license=(DATA_DIR / "ATTRIBUTION.md").read_text())
    return result


def _pairs(folder: str) -> Iterator[tuple[Path, str, str]]:
    for path in sorted((DATA_DIR / folder).glob("*.jsonl")):
        found = PAIR_FILE.match(path.name)
        if found is None:
            raise ValueError(f"unexpected vicuna80 file name {path.name!r}")
        yield path, found["x"], found["y"]


def _reviews(answers: dict[str, list[dict]]) -> Iterator[dict]:
    by_answer_id = {a["answer_id"]: MODELS[key] for key, rows in answers.items() for a in rows}
    for folder, source in REVIEW_SOURCES.items():
        for path, x, y in _pairs(folder):
            for review in ingest.read_jsonl(path):
                # The answer ids say which model was shown first; the file name agrees, but ids are exact.
                model_a = by_answer_id.get(review["answer1_id"], MODELS.get(x))
                model_b = by_answer_id.get(review["answer2_id"], MODELS.get(y))
                if model_a is None or model_b is None:
                    continue
                yield {"id": f"{DATASET}:{source}:{review['review_id']}", "model_a": model_a, "model_b": model_b,
                       "winner": BATTLE_WINNERS[review["score"]], "prompt_id": prompt_id(review["question_id"]),
                       "source": source, "rationale": review["text"]}


def _load_votes() -> int:
    """Human votes between models whose answers are here; returns how many were new."""
    outputs = {(name, ext): (pk, prompt_pk) for pk, prompt_pk, name, ext in Output.objects.filter(
        prompt__dataset__name=DATASET).values_list("pk", "prompt_id", "competitor__name", "prompt__external_id")}
    votes = []
    for path, x, y in _pairs("ratings-human"):
        if x not in MODELS or y not in MODELS:
            continue  # a guanaco model: votes without answers
        for line, vote in enumerate(ingest.read_jsonl(path), start=1):
            a = outputs.get((MODELS[x], prompt_id(vote["question_id"])))
            b = outputs.get((MODELS[y], prompt_id(vote["question_id"])))
            if a is None or b is None:
                continue  # gpt-4 has no answer to one question
            votes.append(HumanVote(prompt_id=a[1], output_a_id=a[0], output_b_id=b[0], winner=SCORES[vote["score"]],
                                   external_id=f"{DATASET}:human:{path.stem}:{line}"))
    known = set(HumanVote.objects.filter(external_id__startswith=f"{DATASET}:human:")
                .values_list("external_id", flat=True))
    fresh = [v for v in votes if v.external_id not in known]
    with transaction.atomic():
        HumanVote.objects.bulk_create(fresh, batch_size=2000)
    if fresh:
        leaderboards.mark_stale()  # after the commit, like a vote: marking writes every snapshot row
    return len(fresh)


VICUNA80_TOURNAMENT = "Vicuna-80 (demo)"
VICUNA80_ANCHOR = "gpt-3.5-turbo"


def ensure_vicuna80_tournament():
    """The default judge on the Vicuna-80 prompts (everyone against gpt-3.5-turbo), so that its
    verdicts land on the very items the humans voted on and the judges page can compare them."""
    return ensure_anchor_tournament(name=VICUNA80_TOURNAMENT, dataset=DATASET, anchor=VICUNA80_ANCHOR)


def ensure_anchor_tournament(*, name: str, dataset: str, anchor: str, category: str = "") -> Tournament:
    """A demo tournament: every model answering ``dataset`` against ``anchor``, judged by the
    ``default`` judge; opened once, then found by its name."""
    existing = Tournament.objects.filter(name=name).first()
    if existing is not None:
        return existing
    models = list(Competitor.objects.answering(dataset=dataset).values_list("name", flat=True))
    tournament, _ = lifecycle.open_tournament(
        name=name, schedule="anchor", models=models, judge="default", anchor=anchor,
        prompts=lifecycle.PromptSelection(dataset=dataset, category=category))
    return tournament

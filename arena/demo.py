"""The demo dataset: a trimmed MT-bench (Apache-2.0, lm-sys/FastChat), loaded through the upload path."""

from __future__ import annotations

from pathlib import Path

from . import ingest
from .demo_vicuna80 import ensure_anchor_tournament, load_vicuna80
from .models import Dataset

DEMO_DIR = Path(__file__).parent / "demo_data" / "mt_bench"
DATASET = "mt_bench"


def prompt_id(question_id: int) -> str:
    return f"{DATASET}-{question_id}"


def load_demo_data() -> dict[str, dict]:
    """Import the demo prompts and outputs; running it twice changes nothing (uploads are idempotent)."""
    reference_rows = ingest.read_jsonl(DEMO_DIR / "reference_answer" / "gpt-4.jsonl")
    references = {row["question_id"]: row["choices"][0]["turns"] for row in reference_rows}
    prompts = [
        {"id": prompt_id(q["question_id"]), "turns": q["turns"], "category": q["category"], "dataset": DATASET,
         "reference": references.get(q["question_id"])}
        for q in ingest.read_jsonl(DEMO_DIR / "question.jsonl")
    ]
    outputs = [
        {"prompt_id": prompt_id(a["question_id"]), "model": a["model_id"], "turns": a["choices"][0]["turns"],
         "metadata": {"answer_id": a["answer_id"]}}
        for path in sorted((DEMO_DIR / "model_answer").glob("*.jsonl"))
        for a in ingest.read_jsonl(path)
    ]
    result = {
        "prompts": ingest.import_prompts(stream=ingest.jsonl_stream(prompts), jsonl=True).as_dict(),
        "outputs": ingest.import_outputs(stream=ingest.jsonl_stream(outputs), jsonl=True).as_dict(),
    }
    Dataset.objects.filter(name=DATASET).update(
        description="MT-bench: 80 two-turn questions in 8 categories.",
        license=(DEMO_DIR / "ATTRIBUTION.md").read_text(),
    )
    result["vicuna80"] = load_vicuna80()
    return result


DEMO_TOURNAMENT = "MT-bench writing (demo)"
DEMO_ANCHOR = "gpt-3.5-turbo"
DEMO_CATEGORY = "writing"


def ensure_demo_tournament():
    """An anchor tournament on MT-bench's writing prompts, judged by the ``default`` judge.

    Kept to one category so that the tiny CPU judge finishes it in a few minutes.
    """
    return ensure_anchor_tournament(name=DEMO_TOURNAMENT, dataset=DATASET, anchor=DEMO_ANCHOR,
                                    category=DEMO_CATEGORY)

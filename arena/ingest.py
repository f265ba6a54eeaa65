"""Bulk import of prompts, outputs and battles: one transaction, batched, idempotent by natural key.

The API and the ``import_*`` management commands share these functions. Rows stream in batches;
every batch is validated and written inside one transaction, and any bad row anywhere rolls the
whole upload back, so a rejected upload changes nothing.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from itertools import islice
from typing import IO, Any

from django.conf import settings
from django.db import DataError, IntegrityError, transaction

from .bulk import as_json, insert_rows
from .jsonl import read_jsonl as read_jsonl  # the demo loaders read their files through ingest
from .leaderboards import mark_stale
from .models import Competitor, Dataset, ImportedBattle, Output, Prompt
from .uploads import (
    BattleRow,
    ErrorList,
    LimitedReader,
    OutputRow,
    PromptRow,
    UploadError,
    iter_json_rows,
    token_count,
    validate_row,
)

# ~4 characters per token is the usual rule of thumb for English text under BPE tokenizers; used only
# when the uploader gives no count, and only for display and length-control features.
CHARS_PER_TOKEN = 4


@dataclass
class ImportResult:
    created: int = 0
    unchanged: int = 0
    replaced: int = 0

    def as_dict(self) -> dict:
        data = {"created": self.created, "unchanged": self.unchanged}
        if self.replaced:
            data["replaced"] = self.replaced
        return data


def import_prompts(*, stream: IO[bytes], jsonl: bool, replace: bool = False) -> ImportResult:
    return _run_import(stream, jsonl, PromptRow, _write_prompts, replace, "prompts upload")


def import_outputs(*, stream: IO[bytes], jsonl: bool, replace: bool = False) -> ImportResult:
    return _run_import(stream, jsonl, OutputRow, _write_outputs, replace, "outputs upload")


def import_battles(*, stream: IO[bytes], jsonl: bool, replace: bool = False) -> ImportResult:
    result = _run_import(stream, jsonl, BattleRow, _write_battles, replace, "battles upload")
    if result.created or result.replaced:
        mark_stale()  # never raises: a cache outage cannot turn the committed upload into an error
    return result


def batched(items: Iterable, size: int) -> Iterator[tuple]:
    # itertools.batched arrives in Python 3.12; we support 3.11.
    iterator = iter(items)
    while batch := tuple(islice(iterator, size)):
        yield batch


Writer = Callable[[list[tuple[int, Any]], "_UploadState"], None]


class _UploadState:
    """What one upload carries from batch to batch: errors, keys seen, caches, and counts."""

    def __init__(self, replace: bool):
        self.replace = replace
        self.errors = ErrorList(settings.ARENA_MAX_REPORTED_ERRORS)
        self.seen: dict[Any, int] = {}
        self.result = ImportResult()
        self.prompt_ids: dict[str, int] = {}
        self.competitor_ids: dict[str, int] = {}
        self.new_competitor_ids: set[int] = set()
        self.dataset_ids: dict[str, int] = {}
        self.occurrences: Counter[str] = Counter()

    def first_seen(self, key: Any, line: int, field_name: str) -> bool:
        """Record ``key``; a key repeated within one upload is an error naming both lines."""
        earlier = self.seen.setdefault(key, line)
        if earlier != line:
            self.errors.add(line, field_name, f"duplicate key {_show(key)} (first given on line {earlier})")
            return False
        return True

    @property
    def writing(self) -> bool:
        # Once a row is bad the upload will roll back: keep validating to report every error,
        # but stop paying for writes.
        return not self.errors


def _run_import(stream, jsonl, schema, writer: Writer, replace: bool, what: str) -> ImportResult:
    state = _UploadState(replace)
    reader = LimitedReader(stream, settings.ARENA_MAX_UPLOAD_BYTES)
    max_chars = settings.ARENA_MAX_FIELD_CHARS
    try:
        with transaction.atomic():
            rows = iter_json_rows(reader, jsonl=jsonl, errors=state.errors)
            for batch in batched(_valid_rows(rows, schema, state, max_chars), settings.ARENA_UPLOAD_BATCH_ROWS):
                writer(list(batch), state)
            state.errors.raise_if_any(what)
    except IntegrityError:
        # Another upload inserted the same natural keys between our lookup and our insert.
        raise UploadError(409, f"{what} rejected: a concurrent upload wrote some of the same rows; "
                               "nothing was written, send it again") from None
    except DataError as exc:
        # ``arena.limits`` should have caught every unstorable value; if one slips through, say so
        # as the client's bad input (the transaction rolled back) rather than a server error.
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise UploadError(422, f"{what} rejected: the database cannot store a value ({reason}); "
                               "nothing was written") from None
    return state.result


def _valid_rows(rows: Iterable[tuple[int, Any]], schema, state: _UploadState, max_chars: int) -> Iterator:
    for line, raw in rows:
        row = validate_row(schema, line, raw, state.errors, max_chars)
        if row is not None:
            yield line, row


# --- prompts ---------------------------------------------------------------------------------------

def _write_prompts(batch: list[tuple[int, PromptRow]], state: _UploadState) -> None:
    fresh = [(line, row) for line, row in batch if state.first_seen(row.id, line, "id")]
    existing = {
        p.external_id: p
        for p in Prompt.objects.filter(external_id__in=[r.id for _, r in fresh]).select_related("dataset")
    }
    new, changed = [], []
    for line, row in fresh:
        dataset_id = _dataset_id(row.dataset, state)
        values = {"turns": row.all_turns(), "category": row.category, "reference": row.reference,
                  "metadata": row.metadata}
        current = existing.get(row.id)
        if current is None:
            new.append(Prompt(external_id=row.id, dataset_id=dataset_id, **values))
        elif _same(current, values) and current.dataset_id == dataset_id:
            state.result.unchanged += 1
        else:
            _changed(state, line, "id", f"prompt {row.id!r} already exists with different content")
            current.dataset_id = dataset_id
            _assign(current, values)
            changed.append(current)
    if state.writing:
        Prompt.objects.bulk_create(new)
        Prompt.objects.bulk_update(changed, ["dataset", "turns", "category", "reference", "metadata"])
        state.result.created += len(new)
        state.result.replaced += len(changed)


def _dataset_id(name: str, state: _UploadState) -> int:
    if name not in state.dataset_ids:
        state.dataset_ids[name] = Dataset.objects.get_or_create(name=name)[0].pk
    return state.dataset_ids[name]


# --- outputs ---------------------------------------------------------------------------------------

def _write_outputs(batch: list[tuple[int, OutputRow]], state: _UploadState) -> None:
    _resolve_prompts([r.prompt_id for _, r in batch], state)
    rows = []
    for line, row in batch:
        if row.prompt_id not in state.prompt_ids:
            state.errors.add(line, "prompt_id", f"unknown prompt id {row.prompt_id!r}: upload the prompt first")
        elif state.first_seen((row.model, row.prompt_id), line, "model"):
            rows.append((line, row))
    if not rows:
        return
    _resolve_competitors([r.model for _, r in rows], state)
    existing = _existing_outputs(rows, state)
    new, changed = [], []
    for line, row in rows:
        competitor_id, prompt_id = state.competitor_ids[row.model], state.prompt_ids[row.prompt_id]
        values = _output_values(row)
        current = existing.get((competitor_id, prompt_id))
        if current is None:
            new.append((competitor_id, prompt_id, as_json(values["turns"]), as_json(values["metadata"]),
                        values["char_count"], values["token_count"]))
        elif _same(current, values):
            state.result.unchanged += 1
        else:
            _changed(state, line, "output", f"model {row.model!r} already has a different output for "
                                            f"prompt {row.prompt_id!r}")
            _assign(current, values)
            changed.append(current)
    if state.writing:
        insert_rows(Output, OUTPUT_COLUMNS, new, stamp=("created_at", "updated_at"))
        Output.objects.bulk_update(changed, ["turns", "metadata", "char_count", "token_count"])
        _note_families(rows, state)
        state.result.created += len(new)
        state.result.replaced += len(changed)


OUTPUT_COLUMNS = ("competitor_id", "prompt_id", "turns", "metadata", "char_count", "token_count")


def _output_values(row: OutputRow) -> dict:
    turns = row.all_turns()
    chars = sum(map(len, turns))
    tokens = token_count(row.metadata)
    if tokens is None:
        tokens = math.ceil(chars / CHARS_PER_TOKEN)
    return {"turns": turns, "metadata": row.metadata, "char_count": chars, "token_count": tokens}


def _existing_outputs(rows: list[tuple[int, OutputRow]], state: _UploadState) -> dict[tuple[int, int], Output]:
    # A competitor this upload created has no outputs yet: nothing to look up for it.
    competitor_ids = {state.competitor_ids[r.model] for _, r in rows} - state.new_competitor_ids
    if not competitor_ids:
        return {}
    prompt_ids = {state.prompt_ids[r.prompt_id] for _, r in rows}
    query = Output.objects.filter(prompt_id__in=prompt_ids, competitor_id__in=competitor_ids).only(
        "id", "competitor_id", "prompt_id", "turns", "metadata", "char_count", "token_count"
    )
    return {(o.competitor_id, o.prompt_id): o for o in query}


# --- battles ---------------------------------------------------------------------------------------

def _write_battles(batch: list[tuple[int, BattleRow]], state: _UploadState) -> None:
    _resolve_prompts([r.prompt_id for _, r in batch if r.prompt_id is not None], state)
    rows = []
    for line, row in batch:
        if row.prompt_id is not None and row.prompt_id not in state.prompt_ids:
            state.errors.add(line, "prompt_id", f"unknown prompt id {row.prompt_id!r}: upload the prompt first")
            continue
        key = _battle_key(row, state)
        if row.id is None or state.first_seen(key, line, "id"):
            rows.append((line, key, row))
    if not rows:
        return
    _resolve_competitors([n for _, _, r in rows for n in (r.model_a, r.model_b)], state)
    existing = {b.external_id: b for b in ImportedBattle.objects.filter(external_id__in=[k for _, k, _ in rows])}
    new, changed = [], []
    for line, key, row in rows:
        values = _battle_values(row, state)
        current = existing.get(key)
        if current is None:
            new.append(ImportedBattle(external_id=key, **values))
        elif _same(current, values):
            state.result.unchanged += 1
        else:
            _changed(state, line, "id", f"battle {row.id!r} already exists with a different result")
            _assign(current, values)
            changed.append(current)
    if state.writing:
        ImportedBattle.objects.bulk_create(new)
        ImportedBattle.objects.bulk_update(changed, list(_battle_values(rows[0][2], state)))
        state.result.created += len(new)
        state.result.replaced += len(changed)


def _battle_key(row: BattleRow, state: _UploadState) -> str:
    """The natural key: the given id, else the content plus how often that content came before.

    Identical battles are legitimate (the same pair, same verdict, twice), so without an id the
    n-th copy of a row in an upload is a different battle from the first, and re-sending the same
    file maps every row to the same key again.
    """
    if row.id is not None:
        return row.id
    content = json.dumps(
        [row.model_a, row.model_b, row.winner, row.score_a, row.prompt_id, row.source, row.weight]
    )
    digest = hashlib.sha256(content.encode()).hexdigest()[:48]
    state.occurrences[digest] += 1
    return f"h:{digest}:{state.occurrences[digest]}"


def _battle_values(row: BattleRow, state: _UploadState) -> dict:
    return {
        "model_a_id": state.competitor_ids[row.model_a],
        "model_b_id": state.competitor_ids[row.model_b],
        "prompt_id": state.prompt_ids.get(row.prompt_id) if row.prompt_id is not None else None,
        "winner": row.winner or "",
        "score_a": row.outcome(),
        "source": row.source,
        "weight": row.weight,
        "rationale": row.rationale,
    }


# --- shared helpers --------------------------------------------------------------------------------

def _resolve_prompts(external_ids: list[str], state: _UploadState) -> None:
    missing = {i for i in external_ids if i not in state.prompt_ids}
    for chunk in batched(missing, 5000):
        state.prompt_ids.update(Prompt.objects.filter(external_id__in=chunk).values_list("external_id", "id"))


def _resolve_competitors(names: list[str], state: _UploadState) -> None:
    """Map names to ids, creating unknown competitors (uploads may introduce new models)."""
    missing = {n for n in names if n not in state.competitor_ids}
    if not missing:
        return
    state.competitor_ids.update(Competitor.objects.filter(name__in=missing).values_list("name", "id"))
    to_create = missing - state.competitor_ids.keys()
    if to_create:
        Competitor.objects.bulk_create([Competitor(name=n) for n in sorted(to_create)], ignore_conflicts=True)
        created = dict(Competitor.objects.filter(name__in=to_create).values_list("name", "id"))
        state.competitor_ids.update(created)
        state.new_competitor_ids.update(created.values())


def _note_families(rows: list[tuple[int, OutputRow]], state: _UploadState) -> None:
    """A ``family`` in an output's metadata names its model's family, where none is set yet."""
    families = {row.model: row.metadata["family"] for _, row in rows if row.metadata.get("family")}
    for model, family in families.items():
        Competitor.objects.filter(pk=state.competitor_ids[model], family="").update(family=family)


def _same(obj: Any, values: dict) -> bool:
    return all(getattr(obj, name) == value for name, value in values.items())


def _assign(obj: Any, values: dict) -> None:
    for name, value in values.items():
        setattr(obj, name, value)


def _changed(state: _UploadState, line: int, field_name: str, message: str) -> None:
    if not state.replace:
        state.errors.conflicts += 1
        state.errors.add(line, field_name, message)


def _show(key: Any) -> str:
    return " / ".join(map(repr, key)) if isinstance(key, tuple) else repr(key)


def jsonl_stream(rows: list[dict]) -> io.BytesIO:
    """Rows as a JSON Lines body, for feeding them through the upload path."""
    return io.BytesIO("\n".join(json.dumps(r) for r in rows).encode())

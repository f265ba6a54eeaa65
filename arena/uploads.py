"""Reading and validating bulk uploads: JSON arrays or JSON Lines, streamed, with row numbers.

Parsing and validation without queries: ``arena.ingest`` resolves references and writes. Every
value is checked against what its column can store (``arena.limits``), so a row that passes here
never fails in the database.
"""

from __future__ import annotations

import codecs
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import IO, Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    field_validator,
    model_validator,
)

from judges.base import ConfigurationError
from judges.checks import validate_prompt_metadata

from .limits import (
    INT_MAX,
    MAX_JSON_DEPTH,
    NAME_PATTERN,
    OPTIONAL_NAME_PATTERN,
    TEXT_PATTERN,
    column_chars,
    json_problems,
    name_problem,
)
from .models import Competitor, Dataset, ImportedBattle, Prompt
from .ratings.verdicts import VOTE_SCORES

READ_CHUNK = 1 << 20


@dataclass(frozen=True)
class RowError:
    line: int | None
    field: str | None
    message: str

    def as_dict(self) -> dict:
        return {"line": self.line, "field": self.field, "message": self.message}


@dataclass
class UploadError(Exception):
    """A rejected upload. Nothing was written when this is raised."""

    status: int
    detail: str
    errors: list[RowError] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"detail": self.detail, "errors": [e.as_dict() for e in self.errors]}


class ErrorList:
    """Collects row errors, keeping the first ``limit`` but counting them all."""

    def __init__(self, limit: int):
        self.limit = limit
        self.items: list[RowError] = []
        self.count = 0
        self.malformed = False
        self.conflicts = 0

    def add(self, line: int | None, field_name: str | None, message: str) -> None:
        self.count += 1
        if len(self.items) < self.limit:
            self.items.append(RowError(line, field_name, message))

    def __bool__(self) -> bool:
        return self.count > 0

    def raise_if_any(self, what: str) -> None:
        if not self:
            return
        if self.malformed:
            status, reason = 400, "malformed JSON"
        elif self.conflicts == self.count:
            status, reason = 409, "rows change existing content (send ?replace=true to overwrite)"
        else:
            status, reason = 422, "invalid rows"
        shown = f" (first {len(self.items)} shown)" if self.count > len(self.items) else ""
        raise UploadError(status, f"{what} rejected: {self.count} bad row(s), {reason}{shown}; nothing was written",
                          self.items)


# --- reading ---------------------------------------------------------------------------------------

class LimitedReader:
    """Reads a body stream and refuses it past ``max_bytes`` (HTTP 413), whatever Content-Length said."""

    def __init__(self, stream: IO[bytes], max_bytes: int):
        self.stream = stream
        self.max_bytes = max_bytes
        self.seen = 0

    def read(self, size: int = -1) -> bytes:
        data = self.stream.read(size)
        self.seen += len(data)
        if self.seen > self.max_bytes:
            raise UploadError(413, f"request body is larger than the {self.max_bytes}-byte limit "
                                   "(ARENA_MAX_UPLOAD_BYTES)")
        return data


def iter_json_rows(reader: LimitedReader, *, jsonl: bool, errors: ErrorList) -> Iterator[tuple[int, Any]]:
    """Yield (line number, parsed value). JSON Lines are streamed; a JSON array is read whole.

    For a JSON array the "line" is the row's 1-based position in the array. A leading UTF-8 byte
    order mark (as Windows tools write) is skipped.
    """
    if jsonl:
        yield from _iter_jsonl(reader, errors)
        return
    raw = _read_all(reader).removeprefix(codecs.BOM_UTF8)
    if not raw.strip():
        raise UploadError(400, "empty body: send a JSON array or JSON Lines (application/x-ndjson)")
    if raw.lstrip()[:1] != b"[":
        # A body of objects one per line sent without the JSON Lines content type is still JSON Lines.
        yield from _iter_jsonl_lines(raw.splitlines(), errors, start=1)
        return
    try:
        rows = _loads(raw)
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        message = f"invalid UTF-8 at byte {exc.start} (line {line}): JSON must be UTF-8"
        raise UploadError(400, f"malformed JSON: {message}", [RowError(line, None, message)]) from None
    except json.JSONDecodeError as exc:
        raise UploadError(400, f"malformed JSON: {exc.msg} at line {exc.lineno} column {exc.colno}",
                          [RowError(exc.lineno, None, exc.msg)]) from None
    except ValueError as exc:
        raise UploadError(400, f"malformed JSON: {exc}", [RowError(None, None, str(exc))]) from None
    yield from enumerate(rows, start=1)


def _loads(raw: bytes) -> Any:
    """``json.loads`` of UTF-8 bytes; nesting past the parser's recursion limit is a ValueError."""
    text = raw.decode("utf-8")
    try:
        return json.loads(text)
    except RecursionError:
        # The C parser recurses once per level: a 100,000-deep array must be a 400, not a crash.
        raise ValueError(f"nested too deeply (rows may nest at most {MAX_JSON_DEPTH} levels)") from None


def _read_all(reader: LimitedReader) -> bytes:
    return b"".join(iter(lambda: reader.read(READ_CHUNK), b""))


def _iter_jsonl(reader: LimitedReader, errors: ErrorList) -> Iterator[tuple[int, Any]]:
    pending = b""
    next_line = 1
    any_row = False
    for chunk in iter(lambda: reader.read(READ_CHUNK), b""):
        lines = (pending + chunk).split(b"\n")
        if next_line == 1:
            lines[0] = lines[0].removeprefix(codecs.BOM_UTF8)
        pending = lines.pop()
        for item in _iter_jsonl_lines(lines, errors, start=next_line):
            any_row = True
            yield item
        next_line += len(lines)
    for item in _iter_jsonl_lines([pending], errors, start=next_line):
        any_row = True
        yield item
    if not any_row and not errors:
        raise UploadError(400, "empty body: send a JSON array or JSON Lines (application/x-ndjson)")


def _iter_jsonl_lines(lines: Iterable[bytes], errors: ErrorList, *, start: int) -> Iterator[tuple[int, Any]]:
    for line_no, line in enumerate(lines, start=start):
        if not line.strip():
            continue
        try:
            yield line_no, _loads(line)
        except UnicodeDecodeError as exc:
            errors.malformed = True
            errors.add(line_no, None, f"invalid UTF-8 at byte {exc.start} of the line: JSON must be UTF-8")
        except json.JSONDecodeError as exc:
            errors.malformed = True
            errors.add(line_no, None, f"malformed JSON: {exc.msg}")
        except ValueError as exc:
            errors.malformed = True
            errors.add(line_no, None, f"malformed JSON: {exc}")


# --- row schemas -----------------------------------------------------------------------------------

def _id_text(value: Any) -> Any:
    # MT-bench and most dumps use integer ids; they are the same key as their decimal string.
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


def _turns(value: Any) -> Any:
    return [value] if isinstance(value, str) else value


def _chars(model, field_name: str, *, min_length: int = 1) -> Any:
    """A length constraint taken from the column that stores the value."""
    return StringConstraints(min_length=min_length, max_length=column_chars(model, field_name))


def _pattern(pattern: str, **more: Any) -> Any:
    """What the checks below refuse, stated in the OpenAPI schema (documentation: the checks stay the
    checks, with messages naming the problem)."""
    return Field(json_schema_extra={"pattern": pattern, **more})


Text = Annotated[str, _pattern(TEXT_PATTERN)]
PromptId = Annotated[str, _chars(Prompt, "external_id"), BeforeValidator(_id_text), _pattern(TEXT_PATTERN)]
BattleId = Annotated[str, _chars(ImportedBattle, "external_id"), BeforeValidator(_id_text), _pattern(TEXT_PATTERN)]
def _name(value: str) -> str:
    problem = name_problem(value)
    if problem:
        raise ValueError(f"the name {problem}")
    return value


# Names are shown on every page and link to pages of their own: one line of visible text (arena.limits).
ModelName = Annotated[str, _chars(Competitor, "name"), AfterValidator(_name), _pattern(NAME_PATTERN)]
DatasetName = Annotated[str, _chars(Dataset, "name"), AfterValidator(_name), _pattern(NAME_PATTERN)]
Category = Annotated[str, _chars(Prompt, "category", min_length=0), AfterValidator(_name),
                     _pattern(OPTIONAL_NAME_PATTERN)]
Turns = Annotated[list[Text], Field(min_length=1)]


class _Row(BaseModel):
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=False)


class PromptRow(_Row):
    id: PromptId
    prompt: Text | None = None
    turns: Turns | None = None
    category: Category = ""
    reference: Annotated[list[Text] | None, BeforeValidator(_turns)] = None
    dataset: DatasetName = "default"
    metadata: dict[str, Any] = Field(default_factory=dict)

    @field_validator("metadata")
    @classmethod
    def _valid_checks(cls, metadata: dict[str, Any]) -> dict[str, Any]:
        try:
            validate_prompt_metadata(metadata)
        except ConfigurationError as exc:
            raise ValueError(str(exc)) from None
        return metadata

    @model_validator(mode="after")
    def _one_of_prompt_or_turns(self) -> PromptRow:
        if (self.prompt is None) == (self.turns is None):
            raise ValueError("give exactly one of 'prompt' (a string) or 'turns' (a list of strings)")
        return self

    def all_turns(self) -> list[str]:
        return self.turns if self.turns is not None else [self.prompt]


FAMILY_CHARS = 100  # Competitor.family


class OutputRow(_Row):
    prompt_id: PromptId
    model: ModelName
    output: Text | None = None
    turns: Turns | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)

    @field_validator("metadata")
    @classmethod
    def _storable_token_count(cls, metadata: dict[str, Any]) -> dict[str, Any]:
        tokens = token_count(metadata)
        if tokens is not None and tokens > INT_MAX:
            raise ValueError(f"token count {tokens} is larger than the largest the database stores ({INT_MAX})")
        family = metadata.get("family")
        if family is not None and not (isinstance(family, str) and len(family) <= FAMILY_CHARS):
            raise ValueError(f"family must be text of at most {FAMILY_CHARS} characters (the model's family)")
        return metadata

    @model_validator(mode="after")
    def _one_of_output_or_turns(self) -> OutputRow:
        if (self.output is None) == (self.turns is None):
            raise ValueError("give exactly one of 'output' (a string) or 'turns' (a list of strings)")
        return self

    def all_turns(self) -> list[str]:
        return self.turns if self.turns is not None else [self.output]


def token_count(metadata: dict[str, Any]) -> int | None:
    """The uploader's token count ("token_count" or "tokens"), if it is a count at all."""
    tokens = metadata.get("token_count", metadata.get("tokens"))
    # bool is an int subclass, and ``true`` is no count.
    return tokens if isinstance(tokens, int) and not isinstance(tokens, bool) and tokens >= 0 else None


BattleWinner = Literal["model_a", "model_b", "tie", "tie (bothbad)"]
# Leaderboard source names of the arena's own evidence; imported battles need labels of their own.
RESERVED_SOURCES = {"all", "judge", "human"}
Source = Annotated[str, _chars(ImportedBattle, "source"), AfterValidator(_name),
                   _pattern(NAME_PATTERN, **{"not": {"enum": sorted(RESERVED_SOURCES)}})]
# Chatbot Arena's winner labels name the side ("model_a"); the scores are the votes' own.
WINNER_SCORE = {"model_a": VOTE_SCORES["a"], "model_b": VOTE_SCORES["b"], "tie": VOTE_SCORES["tie"],
                "tie (bothbad)": VOTE_SCORES["tie (bothbad)"]}


class BattleRow(_Row):
    id: BattleId | None = None
    model_a: ModelName
    model_b: ModelName
    winner: BattleWinner | None = None
    score_a: Annotated[float, Field(ge=0.0, le=1.0, allow_inf_nan=False)] | None = None
    prompt_id: PromptId | None = None
    source: Source = "imported"
    weight: Annotated[float, Field(gt=0.0, allow_inf_nan=False)] = 1.0
    rationale: Text = ""

    @model_validator(mode="after")
    def _valid_battle(self) -> BattleRow:
        if (self.winner is None) == (self.score_a is None):
            raise ValueError("give exactly one of 'winner' or 'score_a' (probability that model_a is better)")
        if self.model_a == self.model_b:
            raise ValueError(f"model {self.model_a!r} cannot battle itself")
        if self.source in RESERVED_SOURCES:
            raise ValueError(f"source {self.source!r} is reserved for the arena's own results; pick another label")
        return self

    def outcome(self) -> float:
        return self.score_a if self.score_a is not None else WINNER_SCORE[self.winner]


def validate_row(schema: type[_Row], line: int, raw: Any, errors: ErrorList, max_chars: int) -> _Row | None:
    if not isinstance(raw, dict):
        errors.add(line, None, f"each row must be a JSON object, got {type(raw).__name__}")
        return None
    # Fields the schema ignores are never stored, so only declared ones need to be storable.
    problems = [p for name in schema.model_fields if name in raw for p in json_problems(raw[name], name)]
    for where, message in problems:
        errors.add(line, where, message)
    if problems:
        return None
    try:
        row = schema.model_validate(raw)
    except ValidationError as exc:
        for err in exc.errors(include_url=False, include_input=False):
            where = ".".join(str(p) for p in err["loc"]) or None
            errors.add(line, where, err["msg"])
        return None
    return row if _within_size(row, line, errors, max_chars) else None


def _within_size(row: _Row, line: int, errors: ErrorList, max_chars: int) -> bool:
    ok = True
    for name in ("prompt", "output", "turns", "reference", "rationale"):
        value = getattr(row, name, None)
        size = sum(map(len, value)) if isinstance(value, list) else len(value) if value else 0
        if size > max_chars:
            errors.add(line, name, f"is {size} characters; the limit is {max_chars} (ARENA_MAX_FIELD_CHARS)")
            ok = False
    metadata = getattr(row, "metadata", None)
    if metadata and len(json.dumps(metadata)) > max_chars:
        errors.add(line, "metadata", f"is larger than {max_chars} characters (ARENA_MAX_FIELD_CHARS)")
        ok = False
    return ok

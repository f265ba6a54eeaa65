"""Verifiable checks: properties of an output decided in code, before (or beside) any judge call.

A check reads an output's text and says pass, fail or "does not apply"; nothing from the prompt,
the outputs, the reference or the judge is ever executed. Kinds (``KINDS``):

- ``max_words`` / ``min_words`` / ``max_chars`` / ``min_chars``: ``limit`` words (whitespace-split)
  or characters;
- ``regex``: ``pattern`` must match (``forbid: true``: must not match), ``ignore_case`` optional.
  Patterns run on the ``regex`` package with a per-search ``timeout`` (``REGEX_TIMEOUT_S``) and are
  capped at ``MAX_PATTERN_CHARS``; a search that times out makes the check not apply (it decides
  nothing) instead of hanging a worker on a catastrophic pattern;
- ``json``: the output (optionally inside one Markdown code fence) parses as JSON and, when a schema
  is given in the check (``schema``) or in the prompt's metadata (``json_schema``), validates against
  it (``jsonschema``, the schema's own draft or 2020-12; ``pattern`` keywords run on the same
  timeout-safe engine, ``patternProperties`` is refused, remote ``$ref`` is never fetched);
- ``reference_number``: the output's final number equals the expected one within ``tolerance``
  (relative, default 1e-6) or ``abs_tolerance``; with ``percent`` (default true) a hundredfold
  difference also matches ("19%" and "0.19"). The expected number is the prompt metadata's
  ``answer`` (last turn) or else the final number of the reference answer's turn; a turn with no
  expected number is skipped.

Each check applies to every assistant turn (``turn``: a 1-based turn number limits it to one) and,
with ``categories``, only to prompts in those categories. Its ``mode`` is ``fatal`` (an output that
fails loses to one that passes without a judge call; when both fail, ``on_both_fail`` says
``tie``, ``both_bad`` or ``judge``) or ``criterion`` (a per-criterion result beside the judge's,
with its ``weight``).

Checks come from the rubric (``rubric["checks"]``) and per prompt (``metadata["checks"]``), in the
same format, so instruction-following sets ("answer in under 50 words") work.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal

import regex

from judges.base import ConfigurationError, CriterionResult, PairTask, Verdict, Winner

KINDS = ("max_words", "min_words", "max_chars", "min_chars", "regex", "json", "reference_number")
MODES = ("fatal", "criterion")
BOTH_FAIL = ("tie", "both_bad", "judge")
LIMIT_KINDS = ("max_words", "min_words", "max_chars", "min_chars")
MAX_PATTERN_CHARS = 1000
REGEX_TIMEOUT_S = 0.25
MAX_CHECKS = 50
BOTH_BAD_LABEL = "both-bad"
CHECK_PREFIX = "check:"

Mode = Literal["fatal", "criterion"]
BothFail = Literal["tie", "both_bad", "judge"]


@dataclass(frozen=True)
class Check:
    """One check as configured. ``schema_json`` holds a JSON Schema as canonical text so that a
    check stays hashable; ``expected`` holds expected final numbers per turn (None: from reference)."""

    name: str
    kind: str
    mode: Mode = "fatal"
    weight: float = 1.0
    on_both_fail: BothFail = "tie"
    limit: int | None = None
    pattern: str = ""
    forbid: bool = False
    ignore_case: bool = False
    schema_json: str = ""
    tolerance: float = 1e-6
    abs_tolerance: float = 0.0
    percent: bool = True
    turn: int | None = None
    categories: tuple[str, ...] = ()
    expected: tuple[float | None, ...] | None = None


@dataclass(frozen=True)
class Outcome:
    """One output against one check: ``passed`` None means the check did not apply."""

    passed: bool | None
    detail: str = ""


@dataclass(frozen=True)
class CheckResult:
    check: Check
    a: Outcome
    b: Outcome

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.check.name, "kind": self.check.kind, "mode": self.check.mode,
                "weight": self.check.weight, "a": self.a.passed, "b": self.b.passed,
                "detail_a": self.a.detail, "detail_b": self.b.detail}


@dataclass(frozen=True)
class CheckReport:
    """Every check's outcome on a pair (stored order), and what the fatal ones decide.

    ``decision`` is None when the judge must decide; else the winner ("a", "b" or "tie") with
    ``label`` ``both-bad`` when both outputs failed a fatal check and the policy says so.
    """

    results: tuple[CheckResult, ...] = ()
    decision: Winner | None = None
    label: str | None = None
    reason: str = ""

    def criteria(self) -> tuple[CriterionResult, ...]:
        return tuple(_criterion(r) for r in self.results if r.check.mode == "criterion" and _decides(r))

    def as_dict(self) -> dict[str, Any]:
        return {"results": [r.as_dict() for r in self.results], "decision": self.decision, "label": self.label,
                "reason": self.reason}


# --- configuration -----------------------------------------------------------------------------------

def checks_from_list(items: Any, *, where: str = "checks") -> tuple[Check, ...]:
    """Validated checks from their stored form (a list of dicts); ``ConfigurationError`` names the bad one."""
    if items is None:
        return ()
    if not isinstance(items, list):
        raise ConfigurationError(f"{where} must be a list of checks")
    if len(items) > MAX_CHECKS:
        raise ConfigurationError(f"{where}: at most {MAX_CHECKS} checks")
    checks = tuple(_check_from_dict(item, f"{where}[{i}]") for i, item in enumerate(items))
    names = [c.name for c in checks]
    if len(set(names)) != len(names):
        raise ConfigurationError(f"{where}: check names must be unique, got {names}")
    return checks


_KEYS = {"name", "kind", "mode", "weight", "on_both_fail", "limit", "pattern", "forbid", "ignore_case", "schema",
         "tolerance", "abs_tolerance", "percent", "turn", "categories"}


def _check_from_dict(item: Any, where: str) -> Check:
    if not isinstance(item, Mapping):
        raise ConfigurationError(f"{where} must be an object")
    unknown = set(item) - _KEYS
    if unknown:
        raise ConfigurationError(f"{where}: unknown keys {sorted(unknown)}")
    kind = item.get("kind")
    if kind not in KINDS:
        raise ConfigurationError(f"{where}: unknown kind {kind!r}; known: {list(KINDS)}")
    mode = item.get("mode", "fatal")
    if mode not in MODES:
        raise ConfigurationError(f"{where}: mode must be one of {list(MODES)}, got {mode!r}")
    on_both_fail = item.get("on_both_fail", "tie")
    if on_both_fail not in BOTH_FAIL:
        raise ConfigurationError(f"{where}: on_both_fail must be one of {list(BOTH_FAIL)}, got {on_both_fail!r}")
    name = item.get("name", kind)
    if not isinstance(name, str) or not name.strip() or len(name) > 80:
        raise ConfigurationError(f"{where}: name must be a non-empty string of at most 80 characters")
    check = Check(
        name=name.strip(), kind=kind, mode=mode, on_both_fail=on_both_fail,
        weight=_number(item, "weight", 1.0, where, minimum=0.0),
        limit=_limit(item, kind, where),
        pattern=_pattern(item, kind, where),
        forbid=_flag(item, "forbid", where),
        ignore_case=_flag(item, "ignore_case", where),
        schema_json=_schema_json(item.get("schema"), f"{where}.schema") if "schema" in item else "",
        tolerance=_number(item, "tolerance", 1e-6, where, minimum=0.0),
        abs_tolerance=_number(item, "abs_tolerance", 0.0, where, minimum=0.0),
        percent=_flag(item, "percent", where) if "percent" in item else True,
        turn=_turn(item, where),
        categories=_categories(item, where),
    )
    if "schema" in item and kind != "json":
        raise ConfigurationError(f"{where}: only a json check takes a schema")
    return check


def _number(item: Mapping, key: str, default: float, where: str, *, minimum: float) -> float:
    value = item.get(key, default)
    try:
        number = float(value) if isinstance(value, int | float) and not isinstance(value, bool) else math.nan
    except OverflowError:  # an integer too large for a float
        number = math.nan
    if not math.isfinite(number) or number < minimum:
        raise ConfigurationError(f"{where}: {key} must be a finite number >= {minimum:g}, got {str(value)[:40]}")
    return number


def _limit(item: Mapping, kind: str, where: str) -> int | None:
    if kind not in LIMIT_KINDS:
        if "limit" in item:
            raise ConfigurationError(f"{where}: only a word or character limit check takes a limit")
        return None
    value = item.get("limit")
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 10_000_000:
        raise ConfigurationError(f"{where}: {kind} needs an integer limit from 0 to 10,000,000, got {value!r}")
    return value


def _pattern(item: Mapping, kind: str, where: str) -> str:
    if kind != "regex":
        if "pattern" in item:
            raise ConfigurationError(f"{where}: only a regex check takes a pattern")
        return ""
    pattern = item.get("pattern")
    if not isinstance(pattern, str) or not pattern:
        raise ConfigurationError(f"{where}: a regex check needs a non-empty pattern")
    compile_pattern(pattern, ignore_case=False, where=where)
    return pattern


def compile_pattern(pattern: str, *, ignore_case: bool, where: str = "pattern") -> regex.Pattern:
    if len(pattern) > MAX_PATTERN_CHARS:
        raise ConfigurationError(f"{where}: a pattern may have at most {MAX_PATTERN_CHARS} characters")
    try:
        return regex.compile(pattern, regex.IGNORECASE if ignore_case else 0)
    except (regex.error, ValueError, TypeError, OverflowError, RecursionError) as exc:
        raise ConfigurationError(f"{where}: invalid regular expression: {exc}") from None


def _flag(item: Mapping, key: str, where: str) -> bool:
    value = item.get(key, False)
    if not isinstance(value, bool):
        raise ConfigurationError(f"{where}: {key} must be true or false")
    return value


def _turn(item: Mapping, where: str) -> int | None:
    value = item.get("turn")
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 100:
        raise ConfigurationError(f"{where}: turn must be a turn number from 1 to 100")
    return value


def _categories(item: Mapping, where: str) -> tuple[str, ...]:
    value = item.get("categories", [])
    if not isinstance(value, list) or not all(isinstance(c, str) for c in value):
        raise ConfigurationError(f"{where}: categories must be a list of category names")
    return tuple(value)


def _schema_json(schema: Any, where: str) -> str:
    """The schema as canonical text, after checking it is a schema we can run safely."""
    from jsonschema import exceptions, validators

    if not isinstance(schema, Mapping | bool):
        raise ConfigurationError(f"{where} must be a JSON Schema object")
    if _has_key(schema, "patternProperties"):
        raise ConfigurationError(
            f"{where}: patternProperties is not supported (its patterns could not be time-limited)")
    try:
        validators.validator_for(schema, default=validators.Draft202012Validator).check_schema(schema)
    except exceptions.SchemaError as exc:
        raise ConfigurationError(f"{where}: not a valid JSON Schema: {exc.message}") from None
    for pattern in _patterns_in(schema):
        compile_pattern(pattern, ignore_case=False, where=f"{where} pattern")
    return json.dumps(schema, sort_keys=True, ensure_ascii=False)


def _has_key(node: Any, key: str) -> bool:
    if isinstance(node, Mapping):
        return key in node or any(_has_key(v, key) for v in node.values())
    if isinstance(node, list):
        return any(_has_key(v, key) for v in node)
    return False


def _patterns_in(node: Any) -> list[str]:
    if isinstance(node, Mapping):
        own = [node["pattern"]] if isinstance(node.get("pattern"), str) else []
        return own + [p for v in node.values() for p in _patterns_in(v)]
    if isinstance(node, list):
        return [p for v in node for p in _patterns_in(v)]
    return []


def validate_prompt_metadata(metadata: Mapping[str, Any]) -> None:
    """What a prompt's metadata may say to the checks: ``checks`` (a list, as on a rubric),
    ``json_schema`` (a schema for json checks) and ``answer`` (the expected final number)."""
    checks_from_list(metadata.get("checks"), where="metadata.checks")
    if "json_schema" in metadata:
        _schema_json(metadata["json_schema"], "metadata.json_schema")
    if "answer" in metadata:
        answer = metadata["answer"]
        if isinstance(answer, bool) or not isinstance(answer, int | float | str) or _as_number(answer) is None:
            raise ConfigurationError("metadata.answer must be a number (or a string holding one)")


def checks_for_prompt(
    rubric_checks: Sequence[Check], *, metadata: Mapping[str, Any] | None, category: str = ""
) -> tuple[Check, ...]:
    """The checks that apply to one prompt: the rubric's (those for its category) and its own, with
    the prompt's schema and expected answer filled in. Metadata is validated on upload; metadata
    stored some other way that is invalid raises ``ConfigurationError``."""
    metadata = metadata or {}
    own = checks_from_list(metadata.get("checks"), where="metadata.checks")
    schema = _schema_json(metadata["json_schema"], "metadata.json_schema") if "json_schema" in metadata else ""
    answer = _as_number(metadata["answer"]) if "answer" in metadata else None
    chosen = []
    for check in (*rubric_checks, *own):
        if check.categories and category not in check.categories:
            continue
        if check.kind == "json" and not check.schema_json and schema:
            check = replace(check, schema_json=schema)
        if check.kind == "reference_number" and answer is not None:
            check = replace(check, expected=(answer,))
        chosen.append(check)
    return tuple(chosen)


# --- evaluation ----------------------------------------------------------------------------------------

_NUMBER = re.compile(r"(?<![\w.])-?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?:\s*/\s*\d+(?:\.\d+)?)?")


def final_number(text: str) -> float | None:
    """The last number written in ``text`` (thousands separators and simple fractions ``a/b`` read);
    a fixed, linear-time pattern: never one taken from the data."""
    matches = _NUMBER.findall(text)
    for raw in reversed(matches):
        value = _as_number(raw)
        if value is not None:
            return value
    return None


def _as_number(raw: Any) -> float | None:
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int | float):
        try:
            return float(raw) if math.isfinite(raw) else None
        except OverflowError:
            return None
    text = str(raw).replace(",", "").replace(" ", "")
    try:
        if "/" in text:
            numerator, denominator = text.split("/", 1)
            value = float(numerator) / float(denominator)
        else:
            value = float(text)
    except (ValueError, ZeroDivisionError):
        return None
    return value if math.isfinite(value) else None


def evaluate(check: Check, output_turns: Sequence[str], reference_turns: Sequence[str] | None) -> Outcome:
    """One output against one check, turn by turn: it passes when every turn it applies to passes."""
    turns = list(enumerate(output_turns))
    if check.turn is not None:
        turns = [(i, t) for i, t in turns if i == check.turn - 1]
    applied, skipped = False, ""
    for index, text in turns:
        outcome = _evaluate_turn(check, index, text, len(output_turns), reference_turns)
        if outcome.passed is False:
            return Outcome(False, f"turn {index + 1}: {outcome.detail}")
        applied = applied or outcome.passed is True
        if outcome.passed is None and not skipped:
            skipped = f"turn {index + 1}: {outcome.detail}"
    return Outcome(True, "") if applied else Outcome(None, skipped or "does not apply")


def _evaluate_turn(check: Check, index: int, text: str, n_turns: int, reference: Sequence[str] | None) -> Outcome:
    if check.kind in LIMIT_KINDS:
        return _limit_outcome(check, text)
    if check.kind == "regex":
        return _regex_outcome(check, text)
    if check.kind == "json":
        return _json_outcome(check, text)
    return _number_outcome(check, index, text, n_turns, reference)


def _limit_outcome(check: Check, text: str) -> Outcome:
    unit = "words" if check.kind.endswith("words") else "characters"
    count = len(text.split()) if unit == "words" else len(text)
    limit = check.limit or 0
    ok = count <= limit if check.kind.startswith("max") else count >= limit
    return Outcome(ok, f"{count} {unit} ({'at most' if check.kind.startswith('max') else 'at least'} {limit})")


def _regex_outcome(check: Check, text: str) -> Outcome:
    pattern = compile_pattern(check.pattern, ignore_case=check.ignore_case)
    try:
        found = pattern.search(text, timeout=REGEX_TIMEOUT_S) is not None
    except TimeoutError:
        return Outcome(None, f"pattern search timed out after {REGEX_TIMEOUT_S} s")
    if check.forbid:
        return Outcome(not found, "forbidden pattern found" if found else "")
    return Outcome(found, "" if found else "required pattern not found")


_FENCE = re.compile(r"\A\s*```[A-Za-z0-9_-]*[ \t]*\n(.*)\n[ \t]*```\s*\Z", re.DOTALL)


def _json_outcome(check: Check, text: str) -> Outcome:
    fenced = _FENCE.match(text)
    body = fenced.group(1) if fenced else text
    try:
        value = json.loads(body)
    except (ValueError, RecursionError) as exc:
        return Outcome(False, f"not valid JSON: {str(exc)[:200]}")
    if not check.schema_json:
        return Outcome(True, "valid JSON")
    return _schema_outcome(json.loads(check.schema_json), value)


def _schema_outcome(schema: Any, value: Any) -> Outcome:
    from jsonschema import validators
    from referencing.exceptions import Unresolvable

    base = validators.validator_for(schema, default=validators.Draft202012Validator)
    safe = validators.extend(base, {"pattern": _safe_pattern_keyword})
    try:
        error = next(iter(safe(schema).iter_errors(value)), None)
    except RecursionError:
        return Outcome(False, "too deeply nested to validate")
    except TimeoutError:
        # A pattern search ran out of time: like a timed-out regex check, it decides nothing.
        return Outcome(None, f"a schema pattern timed out after {REGEX_TIMEOUT_S} s")
    except Unresolvable as exc:
        # Nothing is ever fetched; a $ref outside the schema itself decides nothing.
        return Outcome(None, f"schema reference not resolvable: {str(exc)[:200]}")
    if error is not None:
        return Outcome(False, f"schema: {error.message[:200]}")
    return Outcome(True, "valid JSON matching the schema")


def _safe_pattern_keyword(validator: Any, pattern: str, instance: Any, schema: Any):
    from jsonschema import ValidationError

    if not validator.is_type(instance, "string"):
        return
    if compile_pattern(pattern, ignore_case=False).search(instance, timeout=REGEX_TIMEOUT_S) is None:
        yield ValidationError(f"{instance[:80]!r} does not match {pattern!r}")


def _number_outcome(check: Check, index: int, text: str, n_turns: int, reference: Sequence[str] | None) -> Outcome:
    expected = _expected_number(check, index, n_turns, reference)
    if expected is None:
        return Outcome(None, "no expected number")
    got = final_number(text)
    if got is None:
        return Outcome(False, f"no number given (expected {expected:g})")
    # "19%" against "0.19" (or the other way round) is the same answer written two ways.
    candidates = (got, got * 100, got / 100) if check.percent else (got,)
    ok = any(math.isclose(c, expected, rel_tol=check.tolerance, abs_tol=check.abs_tolerance) for c in candidates)
    return Outcome(ok, f"final number {got:g}, expected {expected:g}")


def _expected_number(check: Check, index: int, n_turns: int, reference: Sequence[str] | None) -> float | None:
    if check.expected is not None:
        # A metadata answer is the answer to the last turn.
        return check.expected[-1] if index == n_turns - 1 else None
    if reference and index < len(reference):
        return final_number(reference[index])
    return None


def run_checks(task: PairTask) -> CheckReport:
    """Every check of ``task`` on both outputs, and what the fatal ones decide."""
    if not task.checks:
        return CheckReport()
    results = tuple(
        CheckResult(c, evaluate(c, task.output_a_turns, task.reference_turns),
                    evaluate(c, task.output_b_turns, task.reference_turns))
        for c in task.checks
    )
    fatal = [r for r in results if r.check.mode == "fatal"]
    failed_a = [r for r in fatal if r.a.passed is False]
    failed_b = [r for r in fatal if r.b.passed is False]
    if failed_a and failed_b:
        return _both_failed(results, failed_a + failed_b)
    if failed_a:
        return CheckReport(results, "b", "B>>A", f"A fails {_names(failed_a)}")
    if failed_b:
        return CheckReport(results, "a", "A>>B", f"B fails {_names(failed_b)}")
    return CheckReport(results)


def _both_failed(results: tuple[CheckResult, ...], failed: list[CheckResult]) -> CheckReport:
    policies = {r.check.on_both_fail for r in failed}
    reason = f"both fail {_names(failed)}"
    if policies == {"judge"}:
        return CheckReport(results, None, None, reason + "; the judge decides")
    if "both_bad" in policies:
        return CheckReport(results, "tie", BOTH_BAD_LABEL, reason)
    return CheckReport(results, "tie", "A=B", reason)


def _names(results: Sequence[CheckResult]) -> str:
    return ", ".join(dict.fromkeys(r.check.name for r in results))


def _decides(result: CheckResult) -> bool:
    return result.a.passed is not None or result.b.passed is not None


def _criterion(result: CheckResult) -> CriterionResult:
    # A check that does not apply to one output counts as passed by it: it cannot be held against it.
    a, b = result.a.passed is not False, result.b.passed is not False
    winner: Winner = "tie" if a == b else ("a" if a else "b")
    prob = {"a": 1.0, "b": 0.0, "tie": 0.5}[winner]
    return CriterionResult(CHECK_PREFIX + result.check.name, winner, prob, result.check.weight)


# --- judging with checks -------------------------------------------------------------------------------

def decided_verdict(report: CheckReport) -> Verdict:
    """The verdict fatal checks give, in stored order; no model was asked."""
    winner = report.decision or "tie"
    prob = {"a": 1.0, "b": 0.0, "tie": 0.5}[winner]
    return Verdict(winner=winner, prob_a=prob, label=report.label, criteria=report.criteria(),
                   rationale=f"Decided by verifiable checks: {report.reason}.",
                   extra={"decided_by": "checks", "checks": report.as_dict()})


def with_check_criteria(verdict: Verdict, report: CheckReport, judge_weight: float) -> Verdict:
    """The judge's combined verdict with the criterion checks joined in: each check is one more
    weighted criterion (P = 1, 0 or 0.5) beside the judge's verdict, which weighs the rubric's total
    criterion weight (``judge_weight``). A judge without a probability counts by its winner."""
    extra = {**verdict.extra, "checks": report.as_dict()}
    joined = report.criteria()
    if not joined:
        return replace(verdict, extra=extra)
    judge_prob = verdict.prob_a if verdict.prob_a is not None else {"a": 1.0, "b": 0.0, "tie": 0.5}[verdict.winner]
    total = judge_weight + sum(c.weight for c in joined)
    if total <= 0:
        return replace(verdict, criteria=verdict.criteria + joined, extra=extra)
    prob = (judge_weight * judge_prob + sum(c.weight * (c.prob_a or 0.5) for c in joined)) / total
    winner: Winner = "tie" if prob == 0.5 else ("a" if prob > 0.5 else "b")
    label = verdict.label if winner == verdict.winner else None
    return replace(verdict, winner=winner, prob_a=prob, label=label, criteria=verdict.criteria + joined, extra=extra)


def judge_pairs_checked(judge: Any, tasks: list[PairTask], *, both_orders: bool) -> list[Any]:
    """``judge.judge_pairs`` with the tasks' checks first: a pair a fatal check decides never
    reaches the judge; the others get the criterion checks joined into their combined verdict.

    ``judge`` is anything with ``judge_pairs(tasks, both_orders=...)`` (``judges.cache.CachedJudge``).
    Returns ``judges.both_orders.PairResult``s aligned with ``tasks``; a decided pair's result holds
    the checks' verdict as its forward verdict and no backward one.
    """
    from judges.both_orders import PairResult

    reports = [run_checks(t) for t in tasks]
    pending = [i for i, r in enumerate(reports) if r.decision is None]
    judged = judge.judge_pairs([tasks[i] for i in pending], both_orders=both_orders) if pending else []
    results: list[Any] = [None] * len(tasks)
    for i, result in zip(pending, judged, strict=True):
        report = reports[i]
        if result.combined is not None and report.results:
            weight = sum(c.weight for c in tasks[i].rubric.criteria)
            result = replace(result, combined=with_check_criteria(result.combined, report, weight))
        results[i] = result
    for i, report in enumerate(reports):
        if results[i] is None:
            verdict = decided_verdict(report)
            results[i] = PairResult(tasks[i], verdict, None, combined=verdict, consistent=None)
    return results


__all__ = [
    "Check", "CheckReport", "CheckResult", "Outcome", "checks_for_prompt", "checks_from_list",
    "decided_verdict", "evaluate", "final_number", "judge_pairs_checked", "run_checks", "validate_prompt_metadata",
    "with_check_criteria",
]

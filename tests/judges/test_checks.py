"""Verifiable checks: decided in code, no model call, nothing from the data executed."""

from __future__ import annotations

import dataclasses
import time

import pytest

from judges.base import ConfigurationError
from judges.cache import CachedJudge, InMemoryStore
from judges.checks import (
    REGEX_TIMEOUT_S,
    checks_for_prompt,
    checks_from_list,
    evaluate,
    final_number,
    judge_pairs_checked,
    run_checks,
    validate_prompt_metadata,
)
from judges.prompts import rubric_checks, rubric_from_dict
from tests.judges.helpers import fake_judge, make_task


def task_with(checks: list[dict], a: str, b: str, *, reference: str | None = None, metadata=None, category=""):
    resolved = checks_for_prompt(checks_from_list(checks), metadata=metadata, category=category)
    return dataclasses.replace(make_task(a, b, reference=reference), checks=resolved)


def one(check: dict, text: str, reference: str | None = None):
    (parsed,) = checks_from_list([check])
    return evaluate(parsed, (text,), (reference,) if reference is not None else None)


# --- each kind -------------------------------------------------------------------------------------

def test_word_and_character_limits_count_whitespace_words_and_characters():
    assert one({"kind": "max_words", "limit": 3}, "one two three").passed is True
    assert one({"kind": "max_words", "limit": 3}, "one two three four").passed is False
    assert one({"kind": "min_words", "limit": 2}, "   ").passed is False
    assert one({"kind": "max_chars", "limit": 5}, "abcdef").passed is False
    assert one({"kind": "min_chars", "limit": 5}, "abcdef").passed is True


def test_a_required_pattern_must_match_and_a_forbidden_one_must_not():
    assert one({"kind": "regex", "pattern": r"\bParis\b"}, "It is Paris.").passed is True
    assert one({"kind": "regex", "pattern": r"\bParis\b"}, "It is Lyon.").passed is False
    assert one({"kind": "regex", "pattern": "paris", "ignore_case": True}, "PARIS").passed is True
    assert one({"kind": "regex", "pattern": "as an AI", "forbid": True}, "As an AI, no").passed is True
    assert one({"kind": "regex", "pattern": "as an AI", "forbid": True}, "as an AI, no").passed is False


def test_a_catastrophic_pattern_times_out_and_decides_nothing():
    started = time.monotonic()
    outcome = one({"kind": "regex", "pattern": r"(a|aa)+$"}, "a" * 60 + "!")
    assert outcome.passed is None
    assert "timed out" in outcome.detail
    assert time.monotonic() - started < REGEX_TIMEOUT_S * 20


def test_json_checks_parse_fenced_json_and_validate_a_schema():
    schema = {"type": "object", "required": ["name"], "properties": {"name": {"type": "string", "pattern": "^[A-Z]"}}}
    assert one({"kind": "json"}, '```json\n{"a": 1}\n```').passed is True
    assert one({"kind": "json"}, "{'a': 1}").passed is False
    assert one({"kind": "json", "schema": schema}, '{"name": "Ada"}').passed is True
    assert one({"kind": "json", "schema": schema}, '{"name": "ada"}').passed is False
    assert one({"kind": "json", "schema": schema}, '{"nom": "Ada"}').passed is False


def test_deeply_nested_json_fails_instead_of_crashing():
    assert one({"kind": "json"}, "[" * 100_000 + "]" * 100_000).passed is False


def test_the_final_number_reads_separators_fractions_and_signs():
    assert final_number("So 3 apples cost $1,250.50 in total.") == 1250.5
    assert final_number("The answer is -4.") == -4
    assert final_number("x = 3/4") == 0.75
    assert final_number("no digits here") is None


def test_the_final_number_must_equal_the_reference_within_the_tolerance():
    check = {"kind": "reference_number", "tolerance": 0.01}
    assert one(check, "The area is 12.05", reference="Area = 12").passed is True
    assert one(check, "The area is 13", reference="Area = 12").passed is False
    assert one(check, "I do not know", reference="Area = 12").passed is False
    assert one(check, "The area is 13", reference="no number at all").passed is None
    assert one(check, "The area is 13").passed is None


def test_a_metadata_answer_beats_the_reference_text():
    (check,) = checks_for_prompt(checks_from_list([{"kind": "reference_number"}]), metadata={"answer": "42"})
    assert evaluate(check, ("It is 42",), ("unrelated 7",)).passed is True


def test_a_check_limited_to_a_turn_ignores_the_others():
    (check,) = checks_from_list([{"kind": "max_words", "limit": 2, "turn": 2}])
    assert evaluate(check, ("many many many words", "two words"), None).passed is True
    assert evaluate(check, ("ok", "three words here"), None).passed is False


# --- configuration -----------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("check", "problem"),
    [
        ({"kind": "exec"}, "unknown kind"),
        ({"kind": "max_words"}, "limit"),
        ({"kind": "max_words", "limit": True}, "limit"),
        ({"kind": "regex", "pattern": "("}, "invalid regular expression"),
        ({"kind": "regex", "pattern": "a" * 1001}, "at most 1000"),
        ({"kind": "json", "schema": {"type": "nonsense"}}, "not a valid JSON Schema"),
        ({"kind": "json", "schema": {"patternProperties": {"^a": {}}}}, "patternProperties"),
        ({"kind": "max_chars", "limit": 3, "mode": "veto"}, "mode"),
        ({"kind": "max_chars", "limit": 3, "on_both_fail": "coin"}, "on_both_fail"),
        ({"kind": "max_chars", "limit": 3, "weight": float("nan")}, "weight"),
        ({"kind": "max_chars", "limit": 3, "code": "import os"}, "unknown keys"),
    ],
)
def test_a_bad_check_is_refused_naming_the_problem(check, problem):
    with pytest.raises(ConfigurationError, match=problem):
        checks_from_list([check])


def test_rubric_validation_accepts_checks_and_refuses_bad_ones():
    rubric = {"name": "r", "criteria": [{"name": "c"}], "checks": [{"kind": "max_words", "limit": 50}]}
    assert rubric_from_dict(rubric).name == "r"
    assert rubric_checks(rubric)[0].limit == 50
    with pytest.raises(ConfigurationError, match="rubric checks"):
        rubric_from_dict({**rubric, "checks": [{"kind": "max_words"}]})


def test_checks_stay_off_the_rubric_so_cached_verdict_keys_do_not_change():
    plain = {"name": "r", "criteria": [{"name": "c"}]}
    assert rubric_from_dict(plain) == rubric_from_dict({**plain, "checks": [{"kind": "min_words", "limit": 1}]})


def test_prompt_metadata_is_validated_like_a_rubric():
    validate_prompt_metadata({"checks": [{"kind": "max_words", "limit": 50}], "answer": 3, "other": "kept"})
    with pytest.raises(ConfigurationError, match="answer"):
        validate_prompt_metadata({"answer": "many"})
    with pytest.raises(ConfigurationError, match="json_schema"):
        validate_prompt_metadata({"json_schema": {"type": 7}})


def test_a_rubric_check_limited_to_categories_skips_other_prompts():
    checks = checks_from_list([{"kind": "reference_number", "categories": ["math"]}])
    assert checks_for_prompt(checks, metadata={}, category="writing") == ()
    assert len(checks_for_prompt(checks, metadata={}, category="math")) == 1


# --- what the checks decide ----------------------------------------------------------------------------

FIFTY_WORDS = [{"name": "under 50 words", "kind": "max_words", "limit": 50}]


def test_an_output_failing_a_fatal_check_loses_to_one_that_passes():
    report = run_checks(task_with(FIFTY_WORDS, "short", "word " * 60))
    assert (report.decision, report.label) == ("a", "A>>B")
    report = run_checks(task_with(FIFTY_WORDS, "word " * 60, "short"))
    assert report.decision == "b"


@pytest.mark.parametrize(("policy", "decision", "label"),
                         [("tie", "tie", "A=B"), ("both_bad", "tie", "both-bad"), ("judge", None, None)])
def test_when_both_fail_the_policy_says_tie_both_bad_or_judge(policy, decision, label):
    checks = [{**FIFTY_WORDS[0], "on_both_fail": policy}]
    report = run_checks(task_with(checks, "word " * 60, "word " * 70))
    assert (report.decision, report.label) == (decision, label)


def test_a_fatal_check_decides_with_no_judge_call_and_says_so():
    judge, backend = fake_judge("logprob")
    cached = CachedJudge(judge, store=InMemoryStore())
    decided = task_with(FIFTY_WORDS, "word " * 60, "short")
    open_task = task_with(FIFTY_WORDS, "short", "a little longer")
    results = judge_pairs_checked(cached, [decided, open_task], both_orders=True)
    assert results[0].combined.winner == "b"
    assert results[0].combined.extra["decided_by"] == "checks"
    assert results[0].combined.extra["checks"]["results"][0]["a"] is False
    assert results[0].backward is None
    assert "checks" in results[1].combined.extra and "decided_by" not in results[1].combined.extra
    assert sum(n for _, n in backend.calls) == 2  # only the open pair, in both orders


def test_no_judge_is_asked_when_checks_decide_every_pair():
    judge, backend = fake_judge("logprob")
    results = judge_pairs_checked(CachedJudge(judge, store=InMemoryStore()),
                                  [task_with(FIFTY_WORDS, "word " * 60, "ok")], both_orders=True)
    assert results[0].combined.winner == "b"
    assert backend.calls == []


def test_a_criterion_check_joins_the_judges_verdict_as_a_weighted_criterion():
    # The fake judge prefers the longer answer; the JSON criterion outweighs it.
    checks = [{"name": "json", "kind": "json", "mode": "criterion", "weight": 100}]
    judge, _ = fake_judge("logprob")
    (result,) = judge_pairs_checked(CachedJudge(judge, store=InMemoryStore()),
                                    [task_with(checks, '{"a": 1}', "not json, but longer than the other")],
                                    both_orders=True)
    assert result.combined.winner == "a"
    assert result.combined.criteria[-1].name == "check:json"
    assert result.combined.criteria[-1].winner == "a"
    assert result.combined.prob_a > 0.9


def test_a_check_that_applies_to_neither_output_changes_nothing():
    checks = [{"kind": "reference_number", "mode": "criterion"}]
    judge, _ = fake_judge("logprob")
    plain_judge, _ = fake_judge("logprob")
    task = task_with(checks, "short", "a bit longer")
    (checked,) = judge_pairs_checked(CachedJudge(judge, store=InMemoryStore()), [task], both_orders=True)
    (plain,) = CachedJudge(plain_judge, store=InMemoryStore()).judge_pairs([task], both_orders=True)
    assert checked.combined.prob_a == plain.combined.prob_a
    assert checked.combined.criteria == plain.combined.criteria


@pytest.mark.parametrize("value", [10**400, -1, float("inf"), "3", None])
def test_a_weight_that_is_no_finite_number_is_refused_not_a_crash(value):
    with pytest.raises(ConfigurationError, match="weight"):
        checks_from_list([{"kind": "min_words", "limit": 1, "weight": value}])


def test_a_huge_metadata_answer_is_refused():
    with pytest.raises(ConfigurationError, match="answer"):
        validate_prompt_metadata({"answer": 10**400})


def test_a_schema_reference_is_never_fetched_and_decides_nothing():
    check = {"kind": "json", "schema": {"$ref": "http://127.0.0.1:9/schema.json"}}
    started = time.monotonic()
    outcome = one(check, '"text"')
    assert outcome.passed is None and "not resolvable" in outcome.detail
    assert time.monotonic() - started < 1

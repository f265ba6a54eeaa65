import pytest

from judges.base import JudgeError
from judges.parsing import (
    cut_at_separator,
    flip_label,
    label_from_score,
    label_winner,
    parse_criteria,
    parse_graded,
    parse_score,
)


def test_the_last_verdict_wins_when_the_judge_restates_the_options_first():
    text = "Options are A>>B, A>B, A=B, B>A, B>>A. A looked good at first (A>B) but...\nVerdict: [[B>A]]"
    assert parse_graded(text) == "B>A"


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("Verdict: [[A>>B]]", "A>>B"),
        ("verdict: a>b", "A>B"),
        ("**Verdict:** **B>>A**", "B>>A"),
        ("Verdict: [[ A = B ]]", "A=B"),
        ("Verdict: A==B", "A=B"),
        ("Verdict: B<A", "A>B"),
        ("Verdict: A<<B", "B>>A"),
    ],
)
def test_graded_verdicts_are_read_through_decoration_case_and_spacing(text, label):
    assert parse_graded(text) == label


def test_letters_glued_to_words_are_not_a_verdict():
    with pytest.raises(JudgeError) as caught:
        parse_graded("DATA>BASE and A>A are not verdicts")
    assert caught.value.retryable


@pytest.mark.parametrize("text", ["", "I cannot decide.", "Verdict: [[maybe]]", "Both are fine. Verdict: tie-ish"])
def test_output_without_a_verdict_is_a_retryable_error_not_a_tie(text):
    with pytest.raises(JudgeError) as caught:
        parse_graded(text)
    assert caught.value.retryable


def test_a_base_model_inventing_the_next_example_is_ignored_after_the_separator():
    text = "A is right.\nVerdict: [[A>B]]\n=====\n<question>\nNew?\n</question>\nVerdict: [[B>>A]]"
    assert parse_graded(cut_at_separator(text)) == "A>B"


def test_every_criterion_line_is_read_with_the_last_line_per_criterion_winning():
    text = "Correctness: [[A>B]] at first glance.\n- **clarity** (weight 1): [[B>A]]\ncorrectness: [[A>>B]]\n"
    assert parse_criteria(text, ["correctness", "clarity"]) == {"correctness": "A>>B", "clarity": "B>A"}


def test_a_missing_criterion_is_a_retryable_error_naming_it():
    with pytest.raises(JudgeError, match="clarity") as caught:
        parse_criteria("correctness: [[A>B]]", ["correctness", "clarity"])
    assert caught.value.retryable


def test_the_last_score_line_in_range_is_the_score():
    assert parse_score("Score: 3 ... on reflection\n**Score:** 7") == 7.0


@pytest.mark.parametrize("text", ["Score: 11", "Score: 0", "no score here", "I'd give it 7/10"])
def test_a_score_out_of_range_or_missing_is_retryable(text):
    with pytest.raises(JudgeError) as caught:
        parse_score(text)
    assert caught.value.retryable


def test_label_arithmetic_flips_and_maps_back_onto_the_scale():
    assert [flip_label(x) for x in ("A>>B", "A>B", "A=B", "B>A", "B>>A")] == ["B>>A", "B>A", "A=B", "A>B", "A>>B"]
    assert [label_winner(x) for x in ("A>>B", "A=B", "B>A")] == ["a", "tie", "b"]
    assert [label_from_score(s) for s in (2.0, 1.6, 0.2, 0.0, -0.5, -1.5)] == [
        "A>>B", "A>>B", "A>B", "A=B", "B>A", "B>>A",
    ]  # fmt: skip

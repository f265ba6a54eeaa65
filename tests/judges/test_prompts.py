import pytest

from judges.base import ConfigurationError
from judges.prompts import (
    DEFAULT_RUBRIC,
    PROMPT_VERSIONS,
    SEPARATOR,
    TRUNCATION_MARKER,
    render_criteria,
    render_pairwise,
    render_pointwise,
    rubric_from_dict,
    rubric_to_dict,
    truncate_text,
)
from tests.judges.helpers import TWO_CRITERIA, make_task


def words(text: str) -> int:
    return len(text.split())


def user_text(rendered) -> str:
    return rendered.prompt.messages[-1]["content"]


def test_a_chat_prompt_carries_the_rubric_criteria_with_descriptions_and_weights():
    rendered = render_pairwise(
        make_task(rubric=TWO_CRITERIA), style="chat", mode="generate", budget=None, count_tokens=words
    )
    system, user = rendered.prompt.messages
    assert system["role"] == "system" and user["role"] == "user"
    assert "correctness (weight 3): Is the final number right?" in user["content"]
    assert "clarity (weight 1): Is the working easy to follow?" in user["content"]
    assert "Prefer exact answers." in user["content"]
    assert "Verdict: [[X]]" in user["content"]


def test_the_reference_answer_appears_only_when_there_is_one():
    with_reference = render_pairwise(
        make_task(reference="Four."), style="chat", mode="generate", budget=None, count_tokens=words
    )
    without = render_pairwise(make_task(), style="chat", mode="generate", budget=None, count_tokens=words)
    assert "<reference>\nFour.\n</reference>" in user_text(with_reference)
    assert "<reference>" not in user_text(without)


def test_a_multi_turn_conversation_is_replayed_for_each_response_with_every_turn():
    task = make_task(
        prompt=("Name a prime.", "Now a bigger one."),
        a=("Two.", "Three."),
        b=("Five.", "Seven."),
        reference=("Any prime.", "Any larger prime."),
    )
    text = user_text(render_pairwise(task, style="chat", mode="generate", budget=None, count_tokens=words))
    response_a = text.split("<response_a>")[1].split("</response_a>")[0]
    assert "[User, turn 2]\nNow a bigger one." in response_a
    assert "[Assistant, turn 1]\nTwo." in response_a and "[Assistant, turn 2]\nThree." in response_a
    assert "Seven." in text.split("<response_b>")[1]
    assert "[Turn 2]\nAny larger prime." in text


def test_a_task_with_mismatched_turns_is_a_configuration_error():
    with pytest.raises(ConfigurationError):
        render_pairwise(
            make_task(prompt=("one", "two"), a=("x",), b=("y", "z")),
            style="chat",
            mode="generate",
            budget=None,
            count_tokens=words,
        )


def test_a_completion_prompt_for_a_base_model_has_worked_examples_and_ends_where_the_answer_starts():
    logprob = render_pairwise(make_task(), style="completion", mode="logprob", budget=None, count_tokens=words)
    generate = render_pairwise(make_task(), style="completion", mode="generate", budget=None, count_tokens=words)
    assert not logprob.prompt.is_chat
    assert logprob.prompt.text.endswith("Better response:")
    assert "Better response: B" in logprob.prompt.text and "Better response: A" in logprob.prompt.text
    assert generate.prompt.text.endswith("Verdict:")
    assert generate.prompt.text.count(SEPARATOR) == 4  # header, three examples, the case
    assert "Verdict: [[A=B]]" in generate.prompt.text


def test_long_outputs_are_cut_to_the_same_budget_with_a_marker_and_it_is_recorded():
    long_a, long_b = " ".join(["alpha"] * 300), " ".join(["beta"] * 500)
    rendered = render_pairwise(make_task(long_a, long_b), style="chat", mode="logprob", budget=50, count_tokens=words)
    text = user_text(rendered)
    shown_a = text.split("<response_a>\n")[1].split("\n</response_a>")[0]
    shown_b = text.split("<response_b>\n")[1].split("\n</response_b>")[0]
    assert rendered.truncated
    assert shown_a.endswith(TRUNCATION_MARKER) and shown_b.endswith(TRUNCATION_MARKER)
    assert shown_a.count("alpha") == shown_b.count("beta") == 50


def test_only_the_output_over_budget_is_cut_and_short_ones_are_untouched():
    rendered = render_pairwise(
        make_task("short", " ".join(["long"] * 80)), style="chat", mode="logprob", budget=50, count_tokens=words
    )
    text = user_text(rendered)
    assert "<response_a>\nshort\n</response_a>" in text
    assert rendered.truncated
    fits = render_pairwise(
        make_task("short", "also short"), style="chat", mode="logprob", budget=50, count_tokens=words
    )
    assert not fits.truncated and TRUNCATION_MARKER not in user_text(fits)


def test_truncation_cuts_between_words_within_the_budget():
    text, cut = truncate_text("one two three four five six", 3, words)
    assert cut and text == f"one two three\n{TRUNCATION_MARKER}"


def test_the_per_criterion_prompt_lists_every_criterion_to_cover():
    rendered = render_criteria(make_task(rubric=TWO_CRITERIA), style="chat", budget=None, count_tokens=words)
    assert "Criteria to cover: correctness, clarity." in user_text(rendered)
    completion = render_criteria(make_task(rubric=TWO_CRITERIA), style="completion", budget=None, count_tokens=words)
    assert completion.prompt.text.rstrip().endswith("Reasoning:")


def test_a_focused_prompt_names_only_its_criterion():
    criterion = TWO_CRITERIA.criteria[1]
    rendered = render_pairwise(
        make_task(rubric=TWO_CRITERIA), style="chat", mode="logprob", budget=None, count_tokens=words, focus=criterion
    )
    assert "Judge only this criterion" in user_text(rendered)
    assert "Is the final number right?" not in user_text(rendered)


def test_a_pointwise_prompt_shows_one_response_and_asks_for_yes_or_no():
    rendered = render_pointwise(
        ("Q?",), ("An answer.",), rubric=DEFAULT_RUBRIC, reference_turns=None,
        style="chat", mode="logprob", budget=None, count_tokens=words,
    )  # fmt: skip
    text = user_text(rendered)
    assert "<response>\nAn answer.\n</response>" in text and "<response_a>" not in text
    assert "Yes or No" in text


def test_every_template_has_a_version_for_cache_keys():
    assert set(PROMPT_VERSIONS) == {"pairwise", "criteria", "pointwise"}
    assert all(isinstance(v, int) and v >= 1 for v in PROMPT_VERSIONS.values())


def test_a_rubric_survives_a_round_trip_through_a_dict_and_bad_ones_are_refused():
    assert rubric_from_dict(rubric_to_dict(TWO_CRITERIA)) == TWO_CRITERIA
    assert rubric_from_dict(None) == DEFAULT_RUBRIC
    with pytest.raises(ConfigurationError):
        rubric_from_dict({"name": "empty", "criteria": []})
    with pytest.raises(ConfigurationError):
        rubric_from_dict({"name": "broken", "criteria": [{"description": "no name"}]})

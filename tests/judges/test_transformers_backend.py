"""The transformers backend on the real default model (Gemma 3 270M base), plus its pure helpers.

The model is prepared once per machine (``judges.weights.default_model_dir()``, ~40 s the first
time) and loaded once per process; the slow tests keep prompts short so the file stays within a
few minutes on two CPU cores.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from judges.backends.prefixes import common_prefix_len, group_by_prefix  # noqa: E402
from judges.backends.transformers import TransformersBackend, flatten_messages  # noqa: E402
from judges.base import Completion, ConfigurationError, JudgeError, LabelScores, PairTask, Prompt  # noqa: E402
from judges.both_orders import judge_both_orders  # noqa: E402
from judges.defaults import DEFAULT_JUDGE_SPEC  # noqa: E402
from judges.prompts import DEFAULT_RUBRIC  # noqa: E402
from judges.registry import build_judge  # noqa: E402

TOLERANCE = 1e-3  # float32 logprobs; batched matmuls differ from unbatched in the last bits

SYSTEM = (
    "You are a careful judge. Read the question and the two answers, then say which answer is "
    "more helpful, correct and relevant.\n\n"
)


def pair_prompts(question: str, first: str, second: str) -> list[Prompt]:
    """Both presentation orders of one pair: they share the system text and the question."""

    def one(a: str, b: str) -> Prompt:
        return Prompt(text=f"{SYSTEM}Question: {question}\n\nAnswer A: {a}\n\nAnswer B: {b}\n\nBetter answer:")

    return [one(first, second), one(second, first)]


def backend(**params) -> TransformersBackend:
    # Same model, dtype and device as the session fixture, so this reuses the loaded model.
    return TransformersBackend("default", {"threads": 2, **params})


def assert_close(left: list, right: list) -> None:
    for a, b in zip(left, right, strict=True):
        assert isinstance(a, LabelScores) and isinstance(b, LabelScores)
        for label, value in a.logprobs.items():
            assert value == pytest.approx(b.logprobs[label], abs=TOLERANCE)


@pytest.fixture(scope="session")
def judge_backend() -> TransformersBackend:
    loaded = backend()
    assert loaded.model is not None  # load once, outside any timed test
    return loaded


# --- pure helpers (no model) --------------------------------------------------------------------


def test_group_by_prefix_groups_both_orders_of_a_pair_on_the_question():
    system, q1, q2 = [1] * 10, [2] * 20, [3] * 20
    sequences = [system + q1 + [7, 8], system + q2 + [7, 8], system + q1 + [8, 7], system + q2 + [8, 7]]
    assert sorted(group_by_prefix(sequences)) == [([0, 2], 30), ([1, 3], 30)]
    # a short pair next to a long one: the pairs still group apart, not all four on the system text
    sequences = [system + q1 * 9 + [7], system + q1 * 9 + [8], system + [4, 5, 7], system + [4, 5, 8]]
    assert sorted(group_by_prefix(sequences)) == [([0, 1], 190), ([2, 3], 12)]


def test_group_by_prefix_leaves_the_last_token_of_every_member_to_the_model():
    groups = group_by_prefix([[1, 2, 3], [1, 2, 3]])
    assert groups == [([0, 1], 2)]
    assert group_by_prefix([[1, 2, 3], [1, 2, 4], [5, 6]], min_prefix=3) == [([0], 0), ([1], 0), ([2], 0)]
    assert common_prefix_len([1, 2, 3], [1, 2, 4]) == 2


def test_flatten_messages_ends_where_the_assistant_answers():
    text = flatten_messages([{"role": "system", "content": "Be fair."}, {"role": "user", "content": "Hi"}])
    assert text == "Be fair.\n\nUser: Hi\n\nAssistant:"


def test_missing_model_path_is_a_permanent_configuration_error(tmp_path: Path):
    missing = tmp_path / "no-such-model"
    with pytest.raises(ConfigurationError, match="no-such-model") as raised:
        TransformersBackend(str(missing))
    assert raised.value.retryable is False


def test_a_model_id_missing_from_the_local_cache_fails_on_first_use_without_downloading():
    backend = TransformersBackend("no-such-org/no-such-model")  # construction loads nothing
    with pytest.raises(ConfigurationError, match="no-such-org/no-such-model") as raised:
        backend.count_tokens("hello")
    assert raised.value.retryable is False


def test_missing_gguf_file_is_a_configuration_error(tmp_path: Path):
    with pytest.raises(ConfigurationError, match="missing.gguf"):
        TransformersBackend(str(tmp_path / "missing.gguf"))


def test_unknown_or_bad_params_are_configuration_errors(tmp_path: Path):
    with pytest.raises(ConfigurationError, match="batchsize"):
        TransformersBackend(str(tmp_path), {"batchsize": 4})
    with pytest.raises(ConfigurationError, match="device"):
        TransformersBackend(str(tmp_path), {"device": "tpu"})


# --- the real default model ---------------------------------------------------------------------


@pytest.mark.slow
def test_label_logprobs_are_finite_and_sum_to_at_most_one(judge_backend):
    prompts = pair_prompts("What is 2 + 2?", "4", "5")
    scores = judge_backend.label_logprobs(prompts, ["A", "B"])
    for score in scores:
        assert isinstance(score, LabelScores)
        assert set(score.logprobs) == {"A", "B"}
        assert all(math.isfinite(v) and v <= 0 for v in score.logprobs.values())
        assert math.log(sum(math.exp(v) for v in score.logprobs.values())) <= 1e-6
        assert score.prompt_tokens > 20


@pytest.mark.slow
def test_batched_scoring_matches_one_prompt_at_a_time(judge_backend):
    prompts = [
        *pair_prompts("Name a primary colour.", "Red.", "Banana bread is tasty and easy to bake at home."),
        Prompt(text="Is the sky blue on a clear day? Answer yes or no:"),
    ]
    one_by_one = backend(batch_size=1, prefix_reuse=False).label_logprobs(prompts, ["yes", "no", "A", "B"])
    batched = backend(batch_size=8, prefix_reuse=False).label_logprobs(prompts, ["yes", "no", "A", "B"])
    assert_close(one_by_one, batched)


@pytest.mark.slow
def test_prefix_reuse_gives_the_same_logprobs_past_the_sliding_window(judge_backend):
    # Gemma 3 alternates 512-token sliding-window layers with global ones: a shared prefix longer
    # than the window checks that continuing from the cut cache is still exact.
    long_question = "Summarise this report. " + " ".join(f"Item {i} rose by {i % 7} percent." for i in range(50))
    prompts = pair_prompts(long_question, "Sales rose overall.", "I like turtles.")
    prompts += pair_prompts("What is the boiling point of water at sea level?", "100 C.", "Purple.")
    reused = backend(prefix_reuse=True)
    groups = reused._plan_groups(
        [judge_backend.tokenizer(reused.render(p), add_special_tokens=False)["input_ids"] for p in prompts]
    )
    assert sorted(len(members) for members, prefix_len in groups if prefix_len) == [2, 2]
    assert max(prefix_len for _, prefix_len in groups) > 512
    assert_close(
        backend(prefix_reuse=False).label_logprobs(prompts, ["A", "B"]),
        reused.label_logprobs(prompts, ["A", "B"]),
    )
    assert_close(
        backend(prefix_reuse=False).label_logprobs(prompts[:2], ["A", "B"]),
        backend(prefix_reuse=True, batch_size=1).label_logprobs(prompts[:2], ["A", "B"]),
    )


@pytest.mark.slow
def test_leading_space_label_variants_count_as_the_same_label(judge_backend):
    prompt = [Prompt(text="Question: Is water wet?\nAnswer (yes or no):")]
    plain = judge_backend.label_logprobs(prompt, ["yes", "no"])[0]
    spaced = judge_backend.label_logprobs(prompt, [" yes", " no"])[0]
    assert plain.logprobs["yes"] == pytest.approx(spaced.logprobs[" yes"], abs=TOLERANCE)


@pytest.mark.slow
def test_labels_sharing_a_first_token_are_refused(judge_backend):
    with pytest.raises(ConfigurationError, match="share a first token"):
        judge_backend.label_logprobs([Prompt(text="Pick:")], ["A", " A"])


@pytest.mark.slow
def test_complete_returns_text_and_token_counts(judge_backend):
    prompts = [Prompt(text="The capital of France is"), Prompt(text="One, two, three,")]
    completions = judge_backend.complete(prompts, max_tokens=6)
    for completion, prompt in zip(completions, prompts, strict=True):
        assert isinstance(completion, Completion)
        assert completion.text.strip()
        assert 1 <= completion.completion_tokens <= 6
        assert completion.prompt_tokens == judge_backend.count_tokens(prompt.text) + 1  # plus <bos>
    alone = judge_backend.complete(prompts[1:], max_tokens=6)[0]
    assert alone.text == completions[1].text  # left padding does not change greedy output


@pytest.mark.slow
def test_chat_prompt_on_a_base_model_without_template_is_a_configuration_error(judge_backend):
    chat = Prompt(messages=({"role": "user", "content": "Which answer is better?"},))
    [result] = judge_backend.label_logprobs([chat], ["A", "B"])
    assert isinstance(result, ConfigurationError)
    assert result.retryable is False
    [completion] = judge_backend.complete([chat], max_tokens=2)
    assert isinstance(completion, ConfigurationError)


@pytest.mark.slow
def test_completion_style_flattens_chat_prompts_for_a_base_model(judge_backend):
    chat = Prompt(messages=({"role": "user", "content": "Say A or B."},))
    [result] = backend(prompt_style="completion").label_logprobs([chat], ["A", "B"])
    assert isinstance(result, LabelScores)


@pytest.mark.slow
def test_an_overlong_prompt_fails_alone(judge_backend):
    short_limit = backend(max_length=64)
    results = short_limit.label_logprobs([Prompt(text="word " * 200), Prompt(text="Answer:")], ["A", "B"])
    assert isinstance(results[0], JudgeError) and results[0].retryable is False
    assert isinstance(results[1], LabelScores)


@pytest.mark.slow
def test_prefix_learnt_across_calls_gives_the_same_logprobs(judge_backend):
    # One prompt per call, as a Celery worker judging one match at a time sends them: the second
    # call learns the instructions both share and the third starts from the kept cache.
    shared = SYSTEM * 4
    prompts = [Prompt(text=f"{shared}Question {i}: is {i} even?\nAnswer:") for i in range(3)]
    reused = backend(prefix_reuse=True, prefix_min_tokens=16)
    fresh = backend(prefix_reuse=False)
    for prompt in prompts:
        assert_close(fresh.label_logprobs([prompt], ["Yes", "No"]), reused.label_logprobs([prompt], ["Yes", "No"]))
    kept = [len(key) for key in reused.loaded.prefixes.entries]
    assert any(key > 60 for key in kept)


# --- every protocol end to end on the real model --------------------------------------------------

PROTOCOL_SPECS = [
    {"protocol": "logprob"},
    {"protocol": "pointwise", "via": "logprob"},
    {"protocol": "per_criterion", "via": "logprob"},
    {"protocol": "generate", "max_new_tokens": 12},
    {"protocol": "pointwise", "via": "generate", "max_new_tokens": 8},
    {"protocol": "per_criterion", "via": "generate", "max_new_tokens": 12},
]


def one_pair() -> PairTask:
    return PairTask(
        prompt_turns=("What is 7 times 6?",),
        output_a_turns=("7 times 6 is 42.",),
        output_b_turns=("It is 13, because 7 plus 6 is 13.",),
        rubric=DEFAULT_RUBRIC,
        reference_turns=("42",),
    )


@pytest.mark.slow
@pytest.mark.parametrize("overrides", PROTOCOL_SPECS, ids=lambda o: "/".join(map(str, o.values()))[:40])
def test_each_protocol_judges_a_pair_in_both_orders(judge_backend, overrides):
    spec = {**DEFAULT_JUDGE_SPEC, "via": None, "max_output_tokens": 64, **overrides}
    judge = build_judge({k: v for k, v in spec.items() if v is not None}, backend=judge_backend)
    [result] = judge_both_orders(judge, [one_pair()])
    for verdict in (result.forward, result.backward):
        if isinstance(verdict, JudgeError):
            # A 270M base model often writes no verdict line: that must be a retryable error, never a tie.
            assert verdict.retryable and overrides.get("via", "generate") == "generate"
        else:
            assert verdict.winner in ("a", "b", "tie")
    # Pointwise bills each output's scoring to the first verdict using it, so count over both orders.
    verdicts = [v for v in (result.forward, result.backward) if not isinstance(v, JudgeError)]
    assert not verdicts or sum(v.prompt_tokens for v in verdicts) > 0
    if result.combined is not None and result.combined.prob_a is not None:
        assert 0.0 <= result.combined.prob_a <= 1.0


@pytest.mark.slow
def test_the_default_spec_builds_through_the_registry_and_judges(judge_backend):
    judge = build_judge(DEFAULT_JUDGE_SPEC)
    assert isinstance(judge.backend, TransformersBackend)
    assert judge.backend.model is judge_backend.model  # the process-wide model cache, not a reload
    [result] = judge_both_orders(judge, [one_pair()])
    assert result.combined is not None and 0.0 <= result.combined.prob_a <= 1.0
    assert result.forward.prob_a is not None and result.backward.prob_a is not None  # both orders asked


@pytest.mark.slow
def test_continuation_logprobs_sum_the_tokens_after_the_prompt_and_prefer_the_fitting_answer(judge_backend):
    question = Prompt(text="User: What is the capital of France?\n\nAssistant:")
    fitting, odd = judge_backend.continuation_logprobs([
        (question, " The capital of France is Paris."),
        (question, " Purple elephants compose sonatas underwater."),
    ])
    assert fitting.tokens == judge_backend.count_tokens(" The capital of France is Paris.")
    assert fitting.logprob < 0 and fitting.logprob / fitting.tokens > odd.logprob / odd.tokens


@pytest.mark.slow
def test_the_pmi_judge_prefers_the_answer_to_the_question_over_a_fluent_answer_to_another(judge_backend):
    spec = {"backend": "transformers", "model": "default", "protocol": "pmi", "prompt_style": "completion"}
    answer = "Put the egg in boiling water for about eight minutes, then cool it."
    elsewhere = "The French Revolution began in 1789 with the storming of the Bastille."
    task = PairTask(("How do I boil an egg?",), (answer,), (elsewhere,), DEFAULT_RUBRIC)
    forward, backward = build_judge(spec, backend=judge_backend).judge_many([task, task.swapped()])
    assert forward.winner == "a" and backward.winner == "b"

import pytest

from judges import prompts
from judges.base import ConfigurationError
from judges.protocols import GenerateJudge, LogprobJudge, PerCriterionJudge, PointwiseJudge
from judges.registry import BACKENDS, backend_class, build_judge, spec_fingerprint
from tests.judges.helpers import fake_spec

RUBRIC = {"name": "r", "version": 1, "criteria": [{"name": "accuracy", "description": "Right?", "weight": 2}]}


@pytest.mark.parametrize(
    ("protocol", "cls"),
    [
        ("logprob", LogprobJudge),
        ("generate", GenerateJudge),
        ("per_criterion", PerCriterionJudge),
        ("pointwise", PointwiseJudge),
    ],
)
def test_build_judge_picks_the_protocol_and_loads_the_backend_by_name(protocol, cls):
    judge = build_judge(fake_spec(protocol, params={"preference": "shorter"}))
    assert type(judge) is cls
    assert type(judge.backend).__name__ == "FakeBackend" and judge.backend.preference == "shorter"


def test_the_spec_options_and_rubric_reach_the_judge():
    judge = build_judge(fake_spec("per_criterion", prompt_style="completion", max_output_tokens=99, rubric=RUBRIC))
    assert judge.options.prompt_style == "completion" and judge.options.max_output_tokens == 99
    assert judge.options.via == "generate"
    assert [c.name for c in judge.rubric.criteria] == ["accuracy"]
    assert build_judge(fake_spec("pointwise")).options.via == "logprob"


def test_backends_are_named_by_dotted_paths_and_imported_only_when_used():
    assert BACKENDS["openai"] == "judges.backends.openai.OpenAIBackend"
    assert backend_class("fake").__name__ == "FakeBackend"


@pytest.mark.parametrize(
    ("spec", "named"),
    [
        ({"backend": "telepathy", "protocol": "logprob"}, "telepathy"),
        (fake_spec("vibes"), "vibes"),
        (fake_spec("logprob", prompt_style="haiku"), "haiku"),
        (fake_spec("pointwise", via="dreams"), "dreams"),
        (fake_spec("logprob", temprature=0), "temprature"),
        (fake_spec("logprob", params={"preferance": "longer"}), "preferance"),
        (fake_spec("logprob", tie_margin=0.7), "tie_margin"),
        (fake_spec("logprob", max_output_tokens="lots"), "lots"),
        # float() of a 400-digit integer raises OverflowError, which a worker must see as a bad spec.
        (fake_spec("logprob", tie_margin=10**400), "invalid judge spec value"),
        (fake_spec("logprob", max_new_tokens=10**400), "max_new_tokens must be 1 to"),
    ],
)
def test_a_bad_spec_is_a_permanent_configuration_error_naming_the_culprit(spec, named):
    with pytest.raises(ConfigurationError, match=named) as caught:
        build_judge(spec)
    assert caught.value.retryable is False


def test_the_fingerprint_is_stable_and_changes_with_what_changes_judgments_only():
    spec = fake_spec("logprob", params={"preference": "longer", "max_concurrency": 2})
    same = {**spec, "params": {"max_concurrency": 8, "preference": "longer"}}
    assert spec_fingerprint(spec) == spec_fingerprint(same)
    assert spec_fingerprint(spec) == spec_fingerprint({**spec, "max_output_tokens": 2048})  # the default
    assert spec_fingerprint(spec) != spec_fingerprint({**spec, "params": {"preference": "shorter"}})
    assert spec_fingerprint(spec) != spec_fingerprint({**spec, "prompt_style": "completion"})
    assert spec_fingerprint(spec) != spec_fingerprint({**spec, "rubric": RUBRIC})
    assert len(spec_fingerprint(spec)) == 64


def test_the_fingerprint_changes_when_a_prompt_template_version_changes(monkeypatch):
    spec = fake_spec("pointwise")
    before = spec_fingerprint(spec)
    monkeypatch.setitem(prompts.PROMPT_VERSIONS, "pointwise", 99)
    assert spec_fingerprint(spec) != before

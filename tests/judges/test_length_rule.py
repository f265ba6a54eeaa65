"""WildBench's length rule as a judge option: weak wins by a much longer answer become ties."""

import pytest

from judges.base import ConfigurationError
from judges.length_rule import weak_win_is_tie
from judges.registry import build_judge, options_from_spec
from tests.judges.helpers import fake_judge, fake_spec, make_task

SHORT, LONG = "a short answer", "a long answer " + "with many more words " * 40  # about 850 characters


@pytest.mark.parametrize(("reply", "a", "b", "winner", "label"), [
    ("[[A>B]]", LONG, SHORT, "tie", "A=B"),  # a weak win by the much longer answer: a tie
    ("[[B>A]]", SHORT, LONG, "tie", "A=B"),
    ("[[A>>B]]", LONG, SHORT, "a", "A>>B"),  # a strong win stands
    ("[[A>B]]", SHORT, LONG, "a", "A>B"),  # the shorter answer's weak win stands
])
def test_a_weak_win_by_a_much_longer_answer_counts_as_a_tie(reply, a, b, winner, label):
    judge, _ = fake_judge("generate", length_rule_chars=500, params={"replies": [reply]})
    [verdict] = judge.judge_many([make_task(a, b)])
    assert (verdict.winner, verdict.label) == (winner, label)
    assert ("length_rule" in verdict.extra) == (winner == "tie")


def test_without_the_option_or_under_the_threshold_the_verdict_stands():
    judge, _ = fake_judge("generate", params={"replies": ["[[A>B]]"]})
    assert judge.judge_many([make_task(LONG, SHORT)])[0].winner == "a"
    judge, _ = fake_judge("generate", length_rule_chars=5000, params={"replies": ["[[A>B]]"]})
    assert judge.judge_many([make_task(LONG, SHORT)])[0].winner == "a"


def test_a_negative_threshold_is_a_configuration_error():
    with pytest.raises(ConfigurationError, match="length_rule_chars"):
        options_from_spec(fake_spec("generate", length_rule_chars=-1))
    with pytest.raises(ConfigurationError):
        build_judge(fake_spec("generate", length_rule_chars="many"))


def test_the_rule_on_plain_outcomes():
    assert weak_win_is_tie(1.0, winner_longer_by=600) == 0.5
    assert weak_win_is_tie(0.0, winner_longer_by=400) == 0.0
    assert weak_win_is_tie(0.5, winner_longer_by=900) == 0.5

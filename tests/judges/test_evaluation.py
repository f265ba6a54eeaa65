import pytest

from judges.base import Verdict
from judges.evaluation import cohen_kappa, evaluate_judge
from tests.judges.helpers import fake_judge

SHORT, LONG = "4", "Two plus two makes four."


def rows_for_length_judge() -> list[dict]:
    """Four rows a longer-is-better judge gets right, one it gets wrong, one tie it cannot see."""
    return [
        {"prompt": "2+2?", "output_1": LONG, "output_2": SHORT, "label": 1},
        {"prompt": "2+2?", "output_1": SHORT, "output_2": LONG, "label": 2},
        {"prompt": "3+3?", "output_1": "Three plus three is six.", "output_2": "6", "label": 1, "reference": "6"},
        {"prompt": ["Hi", "And 1+1?"], "output_1": ["Hello!", "2"], "output_2": ["Hi.", "It is two."], "label": 2},
        {"prompt": "1+1?", "output_1": "One plus one is eleven.", "output_2": "2", "label": 2},
        {"prompt": "Name", "output_1": "Ann", "output_2": "Bob", "label": 0},
    ]


def test_a_length_loving_judge_is_scored_against_labels_with_its_biases_exposed():
    judge, backend = fake_judge("logprob", tie_margin=0.05)
    report = evaluate_judge(judge, rows_for_length_judge())
    assert backend.calls == [("label_logprobs", 12)]  # every row, both orders, one batch
    assert report["n"] == 6 and report["errors"] == 0
    assert report["accuracy"] == pytest.approx(5 / 6)
    assert report["accuracy_no_ties"] == pytest.approx(4 / 5)
    assert report["tie_rate"] == pytest.approx(1 / 6)
    assert report["position_consistency"] == 1.0
    assert report["slot_a_rate"] == pytest.approx(0.5)
    assert report["longer_output_win_rate"] == 1.0
    assert 0 < report["cohen_kappa"] < 1
    assert report["seconds"] >= 0


def test_a_position_biased_judge_shows_low_consistency_and_a_high_slot_a_rate():
    judge, _ = fake_judge("generate", params={"preference": "first"})
    report = evaluate_judge(judge, rows_for_length_judge())
    assert report["position_consistency"] == 0.0
    assert report["slot_a_rate"] == 1.0
    assert report["tie_rate"] == 1.0
    assert report["longer_output_win_rate"] is None  # no decisive combined verdict at all


def test_failed_rows_are_counted_as_errors_and_left_out_of_the_rates():
    judge, _ = fake_judge("logprob", params={"fail": {"eleven": "retryable"}})
    report = evaluate_judge(judge, rows_for_length_judge())
    assert report["errors"] == 1 and report["n"] == 6
    assert report["accuracy"] == pytest.approx(5 / 5)


def test_an_invalid_label_is_refused_before_any_judging():
    judge, backend = fake_judge("logprob")
    with pytest.raises(ValueError, match="label"):
        evaluate_judge(judge, [{"prompt": "p", "output_1": "a", "output_2": "b", "label": 3}])
    assert backend.calls == []


def test_cohen_kappa_is_one_for_perfect_agreement_and_zero_at_chance():
    assert cohen_kappa(["a", "b", "tie"], ["a", "b", "tie"]) == 1.0
    assert cohen_kappa(["a", "a", "b", "b"], ["a", "b", "a", "b"]) == 0.0
    assert cohen_kappa([], []) is None


def test_an_empty_evaluation_has_no_rates_rather_than_divisions_by_zero():
    class Never:
        def judge_many(self, tasks) -> list[Verdict]:
            return []

    report = evaluate_judge(Never(), [])
    assert report["n"] == 0 and report["accuracy"] is None and report["cohen_kappa"] is None

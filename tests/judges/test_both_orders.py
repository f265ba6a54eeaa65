import pytest

from judges.base import CriterionResult, JudgeError, PairTask, Verdict
from judges.both_orders import combine, judge_both_orders, unswap
from tests.judges.helpers import fake_judge, make_task


class Scripted:
    """A judge answering from a script keyed by which output is shown first."""

    def __init__(self, answers: dict[str, Verdict | JudgeError]):
        self.answers = answers
        self.batches: list[list[PairTask]] = []

    def judge_many(self, tasks):
        self.batches.append(list(tasks))
        return [self.answers[task.output_a_turns[0]] for task in tasks]


def test_all_both_order_tasks_go_to_the_judge_in_one_batch_forward_first():
    judge, backend = fake_judge("logprob")
    tasks = [make_task("x", "yy", key="1"), make_task("zzz", "w", key="2")]
    results = judge_both_orders(judge, tasks)
    assert backend.calls == [("label_logprobs", 4)]
    assert [r.task for r in results] == tasks


def test_probabilities_are_unswapped_and_averaged_in_the_stored_order():
    judge = Scripted({"x": Verdict("a", prob_a=0.9), "y": Verdict("a", prob_a=0.7)})
    (result,) = judge_both_orders(judge, [make_task("x", "y")])
    # Forward: P(x better) = 0.9. Backward shows y first and says P(y better) = 0.7, so P(x) = 0.3.
    assert result.combined.prob_a == pytest.approx((0.9 + 0.3) / 2)
    assert result.combined.winner == "a"
    assert result.consistent is False  # each order picked its first slot: pure position bias
    assert result.forward.prob_a == 0.9 and result.backward.prob_a == 0.7  # raw judgments kept


def test_hard_label_disagreement_becomes_a_tie_and_counts_as_inconsistent():
    judge = Scripted({"x": Verdict("a", label="A>B"), "y": Verdict("a", label="A>>B")})
    (result,) = judge_both_orders(judge, [make_task("x", "y")])
    assert (result.combined.winner, result.combined.label, result.combined.prob_a) == ("tie", "A=B", None)
    assert result.consistent is False


def test_hard_label_agreement_keeps_the_winner_with_the_milder_label():
    judge = Scripted({"x": Verdict("a", label="A>>B"), "y": Verdict("b", label="B>A")})
    (result,) = judge_both_orders(judge, [make_task("x", "y")])
    assert (result.combined.winner, result.combined.label) == ("a", "A>B")
    assert result.consistent is True


def test_a_tie_in_one_order_and_a_winner_in_the_other_is_inconsistent_and_a_tie():
    judge = Scripted({"x": Verdict("tie", label="A=B"), "y": Verdict("b", label="B>A")})
    (result,) = judge_both_orders(judge, [make_task("x", "y")])
    assert result.combined.winner == "tie" and result.consistent is False


def test_tokens_cost_and_truncation_of_both_orders_add_up():
    judge = Scripted({
        "x": Verdict("a", prompt_tokens=10, completion_tokens=2, cost_usd=0.5, latency_s=1.0),
        "y": Verdict("b", prompt_tokens=11, completion_tokens=3, cost_usd=0.25, latency_s=2.0, truncated=True),
    })  # fmt: skip
    (result,) = judge_both_orders(judge, [make_task("x", "y")])
    combined = result.combined
    assert (combined.prompt_tokens, combined.completion_tokens) == (21, 5)
    assert combined.cost_usd == 0.75 and combined.latency_s == 3.0 and combined.truncated


def test_a_failed_order_leaves_no_combined_verdict_but_keeps_the_error_and_the_other_judgment():
    error = JudgeError("timeout", retryable=True)
    judge = Scripted({"x": Verdict("a", prob_a=0.8), "y": error})
    (result,) = judge_both_orders(judge, [make_task("x", "y")])
    assert result.combined is None and result.consistent is None
    assert result.forward.prob_a == 0.8 and result.backward is error
    assert result.errors == [error] and result.retryable


def test_criteria_are_unswapped_and_combined_per_criterion():
    forward = Verdict("a", criteria=(CriterionResult("c", "a", 0.8, 2.0, "A>B"),))
    backward = Verdict("a", criteria=(CriterionResult("c", "a", 0.6, 2.0, "A>B"),))
    result = combine(make_task(), forward, backward, tie_margin=0.0)
    (criterion,) = result.combined.criteria
    assert criterion.prob_a == pytest.approx((0.8 + 0.4) / 2) and criterion.winner == "a"
    assert unswap(backward).criteria[0].label == "B>A"


def test_a_position_biased_judge_is_caught_by_the_two_orders():
    judge, _ = fake_judge("generate", params={"preference": "first"})
    results = judge_both_orders(judge, [make_task("x", "y"), make_task("p", "q")])
    assert all(r.consistent is False and r.combined.winner == "tie" for r in results)


def test_a_task_given_in_swapped_order_is_judged_and_reported_in_stored_order():
    judge = Scripted({"x": Verdict("a", prob_a=0.9), "y": Verdict("b", prob_a=0.1)})
    stored = make_task("x", "y")
    (result,) = judge_both_orders(judge, [stored.swapped()])
    assert result.task == stored and result.combined.prob_a == pytest.approx(0.9)

"""Pair-specific criteria (OpenRS-style): parsing what the judge wrote, the code's aggregation, and the
protocol on the deterministic fake backend."""

from __future__ import annotations

import pytest

from judges.backends.fake import FAKE_CRITERIA
from judges.base import JudgeError, Verdict
from judges.both_orders import judge_both_orders
from judges.pair_criteria import (
    MAX_CRITERIA,
    MAX_CRITERION_CHARS,
    PairCriterion,
    aggregate,
    both_orders_winner,
    parse_pair_criteria,
)
from judges.prompts import PAIR_CRITERIA_EXAMPLE
from judges.registry import build_judge, spec_fingerprint
from tests.judges.helpers import make_task

FATAL, CORE = PairCriterion("fatal", "gets the number right"), PairCriterion("core", "shows the working")
IMPORTANT, HIGHLIGHT = PairCriterion("important", "names the unit"), PairCriterion("highlight", "is short")


def fake_judge(**params):
    return build_judge({"backend": "fake", "model": "fake", "protocol": "pair_criteria", "params": params})


# --- parsing -----------------------------------------------------------------------------------------


def test_criteria_are_read_with_their_types_from_list_lines_and_prose_is_skipped():
    parsed = parse_pair_criteria(
        "Here are my criteria.\n1. [Fatal] Gives 4 as the answer.\n- [core]: Explains the sum\n"
        "* [important] Uses plain words\n[highlight] Is one line long"
    )
    assert [(c.kind, c.text) for c in parsed.accepted] == [
        ("fatal", "Gives 4 as the answer."), ("core", "Explains the sum"), ("important", "Uses plain words"),
        ("highlight", "Is one line long"),
    ]
    assert parsed.rejected == ()


def test_an_unknown_type_an_empty_a_repeated_and_an_over_long_criterion_are_rejected_with_reasons():
    parsed = parse_pair_criteria(
        "[core] one\n[critical] two\n[core]\n[important] ONE\n[core] " + "x" * (MAX_CRITERION_CHARS + 1)
        + "\n[important] three\n[highlight] four"
    )
    assert [c.text for c in parsed.accepted] == ["one", "three", "four"]
    reasons = [reason for _, reason in parsed.rejected]
    assert reasons[0].startswith("unknown type 'critical'")
    assert reasons[1:] == ["no text", "a repeat", f"longer than {MAX_CRITERION_CHARS} characters"]


def test_criteria_past_the_limit_are_rejected_not_kept():
    parsed = parse_pair_criteria("\n".join(f"[core] criterion {i}" for i in range(MAX_CRITERIA + 3)))
    assert len(parsed.accepted) == MAX_CRITERIA
    assert [reason for _, reason in parsed.rejected] == [f"over the limit of {MAX_CRITERIA} criteria"] * 3


@pytest.mark.parametrize("text", ["", "A is better.", "[core] one\n[core] two", "[bogus] a\n[bogus] b\n[bogus] c",
                                  "import os; os.system('rm -rf /')\n[core] print(1)\n[exec] x"])
def test_fewer_than_three_usable_criteria_is_a_retryable_parse_failure(text):
    with pytest.raises(JudgeError) as failed:
        parse_pair_criteria(text)
    assert failed.value.retryable and "usable criteria" in str(failed.value)


def test_criteria_copied_from_the_worked_example_are_rejected():
    # Seen with Gemma 3 270M behind llama.cpp: it repeats the example's criteria about another question.
    judge = fake_judge(replies=["\n".join(f"[{kind}] {text}" for kind, text in PAIR_CRITERIA_EXAMPLE)])
    (verdict, _) = judge.judge_many([make_task(), make_task().swapped()])
    assert isinstance(verdict, JudgeError) and "0 usable criteria" in str(verdict)
    parsed = parse_pair_criteria("[core] one\n[core] two\n[core] three\n[core] four", copied=["two"])
    assert [c.text for c in parsed.accepted] == ["one", "three", "four"]
    assert parsed.rejected == (("[core] two", "copied from the worked example"),)


def test_criterion_text_that_looks_like_code_is_kept_as_plain_text():
    parsed = parse_pair_criteria("[core] __import__('os').system('x')\n[core] {{ 7*7 }}\n[core] <script>x</script>")
    assert [c.text for c in parsed.accepted][0] == "__import__('os').system('x')"


# --- aggregation -------------------------------------------------------------------------------------


def test_a_criterion_counts_for_a_side_only_when_both_orders_agree():
    assert both_orders_winner("a", "a") == "a"
    assert both_orders_winner("a", "b") == "tie"
    assert both_orders_winner("b", "tie") == "tie"


def test_a_fatal_criterion_decides_alone_against_every_weighted_criterion():
    result = aggregate([(FATAL, "b"), (CORE, "a"), (IMPORTANT, "a"), (HIGHLIGHT, "a")])
    assert (result.winner, result.prob_a, result.decided_by) == ("b", 0.0, "fatal")


def test_fatal_criteria_won_by_both_sides_are_a_tie():
    other = PairCriterion("fatal", "stays on topic")
    result = aggregate([(FATAL, "a"), (other, "b"), (CORE, "a")])
    assert (result.winner, result.decided_by) == ("tie", "fatal on both sides")


def test_an_undecided_fatal_criterion_carries_no_weight_and_the_5_2_1_mean_decides():
    # core for b (-5), important and highlight for a (+2 +1): mean -2/8, so b.
    result = aggregate([(FATAL, "tie"), (CORE, "b"), (IMPORTANT, "a"), (HIGHLIGHT, "a")])
    assert result.decided_by == "weighted mean" and result.winner == "b"
    assert result.prob_a == pytest.approx((1 - 2 / 8) / 2)


def test_the_weights_are_5_2_1_so_important_and_highlight_together_do_not_outweigh_core():
    assert aggregate([(CORE, "a"), (IMPORTANT, "b"), (HIGHLIGHT, "b")]).winner == "a"
    assert aggregate([(IMPORTANT, "a"), (HIGHLIGHT, "b"), (CORE, "tie")]).prob_a == pytest.approx((1 + 1 / 8) / 2)


def test_the_tie_margin_applies_to_the_weighted_mean():
    outcomes = [(IMPORTANT, "a"), (HIGHLIGHT, "b"), (CORE, "tie")]  # prob_a 0.5625
    assert aggregate(outcomes, tie_margin=0.1).winner == "tie"


# --- the protocol on the fake backend ----------------------------------------------------------------


def test_the_protocol_writes_criteria_once_per_pair_and_judges_each_in_both_orders():
    judge = fake_judge()
    (result,) = judge_both_orders(judge, [make_task("short", "a much longer answer with more words")])
    assert judge.backend.calls == [("complete", 1), ("label_logprobs", 6)]
    details = result.forward.extra["pair_criteria"]
    assert [row["kind"] for row in details["criteria"]] == ["core", "important", "highlight"]
    assert all(row["forward"] == row["backward"] == row["winner"] == "b" for row in details["criteria"])
    assert result.combined.winner == "b" and result.consistent
    # The second order shares the first's work: its calls are not counted twice.
    assert result.forward.extra["scores_computed"] == 7 and result.backward.extra["scores_computed"] == 0


def test_a_position_biased_judge_wins_no_criterion_so_the_pair_is_a_tie():
    (result,) = judge_both_orders(fake_judge(preference="first"), [make_task()])
    rows = result.forward.extra["pair_criteria"]["criteria"]
    assert all(row["forward"] == "a" and row["backward"] == "b" and row["winner"] == "tie" for row in rows)
    assert result.combined.winner == "tie"


def test_the_verdict_does_not_depend_on_which_order_the_pair_was_stored_in():
    long, short = "a fairly long and helpful answer", "short"
    (stored_ab,) = judge_both_orders(fake_judge(), [make_task(long, short)])
    (stored_ba,) = judge_both_orders(fake_judge(), [make_task(short, long)])
    assert stored_ab.combined.winner == "a" and stored_ba.combined.winner == "b"
    assert stored_ab.combined.prob_a == 1 - stored_ba.combined.prob_a


def test_junk_criteria_fail_the_pair_as_retryable_and_never_as_a_tie():
    judge = fake_judge(replies=["I think A is better.\n[core] only one"])
    (result,) = judge_both_orders(judge, [make_task()])
    assert result.combined is None and result.retryable
    assert judge.backend.calls == [("complete", 1)]  # nothing judged without criteria


def test_rejected_lines_are_kept_beside_the_accepted_criteria():
    judge = fake_judge(replies=[FAKE_CRITERIA + "\n[mandatory] be nice"])
    (verdict, _) = judge.judge_many([make_task(), make_task().swapped()])
    assert isinstance(verdict, Verdict)
    assert verdict.extra["pair_criteria"]["rejected"][0]["line"] == "[mandatory] be nice"


def test_via_generate_judges_each_criterion_with_a_short_graded_verdict():
    judge = build_judge({"backend": "fake", "model": "fake", "protocol": "pair_criteria", "via": "generate"})
    (result,) = judge_both_orders(judge, [make_task("short", "a much longer answer with more words")])
    assert judge.backend.calls == [("complete", 1), ("complete", 6)] and judge.backend.max_tokens[1] == 16
    assert result.combined.winner == "b" and result.combined.prob_a == 0.0


def test_a_pair_criteria_judge_has_its_own_fingerprint():
    base = {"backend": "fake", "model": "fake"}
    assert spec_fingerprint({**base, "protocol": "pair_criteria"}) != spec_fingerprint({**base, "protocol": "logprob"})

"""Judge-human agreement numbers against a case computed by hand."""

from judges.agreement import Outcome, agreement, human_human_agreement, item_labels, position_consistency

# Item 1: humans vote first, first, second (mean 2/3: first); item 2: first, second (mean 1/2: tie);
# item 3: tie, second (mean 1/4: second); item 4: one vote, first.
HUMAN = [Outcome(1, 1.0), Outcome(1, 1.0), Outcome(1, 0.0), Outcome(2, 1.0), Outcome(2, 0.0),
         Outcome(3, 0.5), Outcome(3, 0.0), Outcome(4, 1.0)]
# The judge saw items 1-3 in both orders; item 5 has no human vote and must not count.
JUDGE = [Outcome(1, 1.0), Outcome(1, 1.0, swapped=True),      # first in both orders -> first
         Outcome(2, 1.0), Outcome(2, 0.5, swapped=True),      # mean 3/4 -> first; orders disagree
         Outcome(3, 0.0), Outcome(3, 0.0, swapped=True),      # second in both orders -> second
         Outcome(5, 1.0)]


def test_an_items_label_is_the_mean_of_its_votes_with_exactly_half_a_tie():
    assert item_labels(HUMAN) == {1: "first", 2: "tie", 3: "second", 4: "first"}


def test_agreement_counts_items_both_decided_with_and_without_ties():
    result = agreement(item_labels(HUMAN), item_labels(JUDGE))
    assert result["items"] == 3  # items 1, 2, 3
    assert result["agreement"] == 2 / 3  # item 2: human tie, judge first
    assert result["agreement_no_ties"] == 1.0  # items 1 and 3
    # Labels (judge, human): (first, first), (first, tie), (second, second).
    # observed 2/3; expected = P(first)*P(first) + P(second)*P(second) + P(tie)*P(tie)
    #   = (2/3)(1/3) + (1/3)(1/3) + 0 = 1/3; kappa = (2/3 - 1/3) / (1 - 1/3) = 1/2.
    assert abs(result["cohen_kappa"] - 0.5) < 1e-12


def test_human_human_agreement_is_the_share_of_matching_vote_pairs_on_an_item():
    # Item 1: pairs (f,f) (f,s) (f,s): 1 of 3 match; item 2: (f,s): 0 of 1; item 3: (t,s): 0 of 1.
    assert human_human_agreement(HUMAN) == 1 / 5


def test_position_consistency_counts_items_seen_in_both_orders():
    assert position_consistency(JUDGE) == 2 / 3


def test_nothing_in_common_gives_no_numbers_rather_than_zeros():
    result = agreement({1: "first"}, {2: "first"})
    assert result == {"items": 0, "agreement": None, "agreement_no_ties": None, "cohen_kappa": None}
    assert human_human_agreement([Outcome(1, 1.0)]) is None

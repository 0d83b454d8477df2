"""Confidence as a ranking: the share of wrong figures in the lowest-confidence fifth."""

from fazhi.ranking import lowest_share


def test_wrong_figures_all_at_the_bottom_are_all_in_the_fifth():
    rows = [(0.2, True), (0.3, True)] + [(1.0, False)] * 8
    share = lowest_share(rows)
    assert (share.figures, share.wrong, share.fifth) == (10, 2, 2)
    assert share.least == share.most == 1.0 and share.describe() == "100% of 2"


def test_wrong_figures_at_the_top_are_not_in_the_fifth():
    rows = [(1.0, True)] + [(0.5, False)] * 9
    assert lowest_share(rows).most == 0.0


def test_ties_across_the_boundary_give_a_range():
    # 10 figures, fifth = 2; one wrong below 1.0, then 9 tied at 1.0 of which 1 wrong
    rows = [(0.4, True)] + [(1.0, False)] * 8 + [(1.0, True)]
    share = lowest_share(rows)
    assert (share.least, share.most) == (0.5, 1.0)
    assert share.describe() == "50%-100% of 2"


def test_nothing_wrong_and_nothing_predicted():
    assert lowest_share([(1.0, False)] * 3).describe() == "- (nothing wrong)"
    assert lowest_share([]).figures == 0

"""The crisis tuner's choice of the patterns' floor (scripts/tune_crisis.py): recall first, with a margin."""
from scripts.tune_crisis import chosen_floor


def rows(*lost_by_floor):
    return [{"floor": floor, "lost": lost, "check_in": 0.02} for floor, lost in lost_by_floor]


def test_the_floor_stays_well_below_the_first_that_loses_a_crisis_example():
    # 0.004 loses none, but 0.005 does: a new message a little below the training examples would
    # lose its check-in at 0.004, so the floor keeps a factor two of margin
    assert chosen_floor(rows((0.0, 0), (0.002, 0), (0.003, 0), (0.004, 0), (0.005, 1), (0.01, 2))) == 0.002


def test_no_floor_when_even_the_smallest_loses_a_crisis_example():
    assert chosen_floor(rows((0.0, 0), (0.001, 1), (0.002, 1))) == 0.0


def test_the_highest_candidate_when_none_loses_anything():
    assert chosen_floor(rows((0.0, 0), (0.05, 0), (0.1, 0))) == 0.1

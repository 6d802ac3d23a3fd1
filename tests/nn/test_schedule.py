"""Learning-rate schedules: where the rate is at the start, middle and end of a run, and after it."""

import math

import pytest

from cnnviz.nn import SCHEDULES, Schedule


def test_constant_keeps_the_base_rate_everywhere():
    schedule = Schedule("constant")
    assert [schedule.lr(0.01, t, 100) for t in (0, 50, 99, 500)] == [0.01] * 4


def test_linear_falls_in_a_straight_line_to_its_end_value():
    schedule = Schedule("linear")
    assert schedule.lr(0.004, 0, 100) == pytest.approx(0.004)
    assert schedule.lr(0.004, 25, 100) == pytest.approx(0.003)
    assert schedule.lr(0.004, 50, 100) == pytest.approx(0.002)
    assert schedule.lr(0.004, 99, 100) == pytest.approx(0.00004)   # the last update still moves
    assert schedule.lr(0.004, 100, 100) == 0.0 and schedule.lr(0.004, 400, 100) == 0.0


def test_cosine_is_half_a_cosine_between_the_same_ends():
    schedule = Schedule("cosine", final=0.1)
    assert schedule.factor(0) == pytest.approx(1.0)
    assert schedule.factor(0.5) == pytest.approx(0.55)   # halfway between 1 and 0.1
    assert schedule.factor(0.25) == pytest.approx(0.1 + 0.9 * (1 + math.cos(math.pi / 4)) / 2)
    assert schedule.factor(1) == pytest.approx(0.1) and schedule.factor(7) == pytest.approx(0.1)
    # slow at the ends, fast in the middle
    assert schedule.factor(0) - schedule.factor(0.1) < schedule.factor(0.45) - schedule.factor(0.55)


def test_warmup_rises_from_zero_then_the_decay_spans_the_rest():
    schedule = Schedule("linear", warmup=0.2)
    assert schedule.factor(0) == 0.0
    assert schedule.factor(0.1) == pytest.approx(0.5)
    assert schedule.factor(0.2) == pytest.approx(1.0)
    assert schedule.factor(0.6) == pytest.approx(0.5)
    assert Schedule("constant", warmup=0.5).factor(0.25) == pytest.approx(0.5)


def test_window_schedule_counts_images_and_holds_its_end_value():
    schedule = Schedule("linear", final=0.05)
    assert schedule.at_images(0.002, 0, 40_000) == pytest.approx(0.002)
    assert schedule.at_images(0.002, 20_000, 40_000) == pytest.approx(0.002 * 0.525)
    assert schedule.at_images(0.002, 40_000, 40_000) == pytest.approx(0.0001)
    assert schedule.at_images(0.002, 10**7, 40_000) == pytest.approx(0.0001)


@pytest.mark.parametrize("kwargs, words", [
    ({"kind": "bogus"}, "unknown learning-rate schedule 'bogus'"),
    ({"kind": "linear", "final": 1.5}, "final must be a fraction"),
    ({"kind": "linear", "warmup": -0.1}, "warmup must be a fraction"),
    ({"kind": "cosine", "warmup": 1.0}, "warmup must be below 1"),
])
def test_bad_schedules_are_one_sentence(kwargs, words):
    with pytest.raises(ValueError, match=words):
        Schedule(**kwargs)


def test_describe_names_the_shape():
    assert SCHEDULES == ("constant", "linear", "cosine")
    assert Schedule("linear").describe() == "linear decay to 0"
    assert Schedule("cosine", warmup=0.02, final=0.05).describe() == "cosine decay to 5% after a 2% warm-up"
    assert Schedule().describe() == "constant"

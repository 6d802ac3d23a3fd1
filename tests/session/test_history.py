"""Curves stay bounded and keep the start of the run when downsampled."""

import numpy as np
import pytest

from cnnviz.session.history import Curve, Curves


def test_curve_keeps_every_point_until_full():
    curve = Curve(max_points=8)
    for i in range(8):
        curve.append(i * 10, i)
    np.testing.assert_array_equal(curve.as_array(), [np.arange(8) * 10.0, np.arange(8.0)])


def test_full_curve_halves_by_averaging_pairs_and_keeps_the_start():
    curve = Curve(max_points=8)
    for i in range(9):
        curve.append(i, i)
    points = curve.as_array()
    assert curve.stride == 2
    np.testing.assert_array_equal(points[0], [0.5, 2.5, 4.5, 6.5, 8.0])
    for i in range(9, 100):
        curve.append(i, i)
    points = curve.as_array()
    assert len(curve) <= 8
    assert points[0, 0] < 8, "the start of the run must never be dropped"
    assert np.all(np.diff(points[0]) > 0)
    assert points[0, -1] > 80


def test_a_long_run_stays_bounded():
    curve = Curve()
    for i in range(100_000):
        curve.append(i, np.sin(i))
    assert len(curve) <= 2000
    assert curve.as_array().shape[0] == 2


def test_curve_arrays_are_read_only_copies():
    curves = Curves(max_points=4)
    curves.add("loss", 32, 2.3)
    array = curves.as_arrays()["loss"]
    assert array.shape == (2, 1) and not array.flags.writeable
    curves.add("loss", 64, 2.1)
    assert array.shape == (2, 1), "an earlier snapshot's curve must not change"
    assert set(curves.as_arrays()) == {"loss", "accuracy", "val_accuracy"}


def test_odd_size_is_refused():
    with pytest.raises(ValueError):
        Curve(max_points=7)

"""The built-in digits look, in ink and geometry, like real MNIST digits (cnnviz.data.digit_stats)."""

from __future__ import annotations

import numpy as np
import pytest

import cnnviz.data.digits as digits
from cnnviz.data import generate_digits, load_idx_pair
from cnnviz.data.digit_stats import MNIST, PER_CLASS, TOLERANCES, digit_statistics, out_of_tolerance


def test_statistics_of_shapes_whose_values_are_known():
    images = np.zeros((2, 28, 28), np.uint8)
    images[0, 7:22, 13:16] = 255                      # a bar 3 wide, 15 high, centred on (14, 14)
    for r in range(4, 25):                            # a one-pixel line leaning right by 1 in 2
        images[1, r, int(np.floor(14.5 + (14 - r) * 0.5))] = 255
    images[1, 26, 2] = 20                             # and one faint pixel
    stats = digit_statistics(images, np.array([0, 1]))
    assert stats["ink"][0] == pytest.approx(45.0)
    assert stats["stroke_width"][0] == pytest.approx(2 * 45 / (2 * 3 + 2 * 15))
    assert (stats["com_row"][0], stats["com_col"][0], stats["com_offset"][0]) == pytest.approx((14, 14, 0))
    assert (stats["height"][0], stats["width"][0], stats["long_side"][0]) == (15, 3, 15)
    assert stats["sd_col"][0] == pytest.approx(np.sqrt(2 / 3))           # columns 13, 14, 15
    assert stats["sd_row"][0] == pytest.approx(np.sqrt((15 ** 2 - 1) / 12))
    assert stats["slant"][0] == pytest.approx(0.0) and stats["saturated"][0] == 1.0
    assert stats["slant"][1] == pytest.approx(0.5, abs=0.02)
    assert stats["faint"][1] == pytest.approx(1 / 22)
    assert np.isnan(stats["ink"][2:]).all()           # no image of 2..9
    # 45 + 21 pixels at 255 and one at 20, binned as 1-31, ..., 250-255.
    np.testing.assert_allclose(stats["histogram"], np.array([1, 0, 0, 0, 0, 66]) / 67)


def test_generated_digits_match_the_statistics_of_real_mnist():
    made = digit_statistics(*generate_digits(5000, seed=[31, 4]))
    assert out_of_tolerance(made, MNIST) == []


def test_too_thick_strokes_are_caught(monkeypatch):
    # The check has teeth: digits drawn with a pen 40% wider fail on stroke width and ink.
    monkeypatch.setattr(digits, "HALF_WIDTH", digits.HALF_WIDTH * 1.4)
    bad = out_of_tolerance(digit_statistics(*generate_digits(2000, seed=[31, 5])), MNIST)
    assert any(b.startswith("stroke_width of") for b in bad) and any(b.startswith("ink of") for b in bad)


def test_every_statistic_has_a_tolerance_and_ten_values():
    assert set(TOLERANCES) == set(PER_CLASS) | {"histogram"} == set(MNIST)
    assert all(len(MNIST[name]) == 10 for name in PER_CLASS)
    assert sum(MNIST["histogram"]) == pytest.approx(1.0, abs=0.002)


def test_the_stored_statistics_are_those_of_the_real_test_digits(mnist_dir):
    images, labels = load_idx_pair(mnist_dir / "t10k-images-idx3-ubyte.gz",
                                   mnist_dir / "t10k-labels-idx1-ubyte.gz")
    assert len(images) == 10_000
    real = digit_statistics(images, labels)
    for name in MNIST:   # stored rounded to 3 decimals
        np.testing.assert_allclose(real[name], MNIST[name], rtol=0, atol=5.01e-4, err_msg=name)

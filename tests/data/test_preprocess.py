"""MNIST-style preprocessing of a drawn digit: fitted to 20x20 (aspect kept), centred by mass."""

import gzip
from pathlib import Path

import numpy as np
import pytest

from cnnviz.data.preprocess import centre_of_mass, ink_box, mnist_preprocess, resample_matrix

MNIST = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "mnist" / "t10k-images-idx3-ubyte.gz"


def bar(h=200, w=300, rows=(40, 160), cols=(100, 130)):
    img = np.zeros((h, w))
    img[rows[0]:rows[1], cols[0]:cols[1]] = 1.0
    return img


def test_output_shape_range_and_box():
    out = mnist_preprocess(bar())
    assert out.shape == (1, 28, 28) and out.dtype == np.float32
    assert 0.0 <= out.min() and out.max() <= 1.0
    top, left, bottom, right = ink_box(out[0])
    assert bottom - top + 1 == 20            # the longer side (a tall bar) fills 20 pixels
    assert right - left + 1 == 5             # 30/120 of 20, aspect kept
    com = centre_of_mass(out[0])
    assert abs(com[0] - 14) <= 0.51 and abs(com[1] - 14) <= 0.51


@pytest.mark.parametrize("shift", [(0, 0), (-30, 80), (40, -90)])
@pytest.mark.parametrize("scale", [1, 2, 0.5])
def test_shifted_and_scaled_drawings_give_the_same_digit(shift, scale):
    """An L shape drawn anywhere, at any size, ends up in the same place at the same size."""
    def ell(s, dy, dx):
        size = int(400 * max(s, 1))
        img = np.zeros((size, size))
        y0, x0 = int(100 * s) + 100 + dy, int(100 * s) + 100 + dx
        img[y0:y0 + int(120 * s), x0:x0 + int(20 * s)] = 1.0
        img[y0 + int(100 * s):y0 + int(120 * s), x0:x0 + int(80 * s)] = 1.0
        return img
    reference = mnist_preprocess(ell(1, 0, 0))
    out = mnist_preprocess(ell(scale, *shift))
    assert ink_box(out[0]) == ink_box(reference[0])
    assert np.abs(out - reference).mean() < 0.02


def test_wide_digit_fills_20_columns_and_keeps_aspect():
    out = mnist_preprocess(bar(rows=(50, 70), cols=(20, 220)))[0]
    top, left, bottom, right = ink_box(out)
    assert right - left + 1 == 20 and bottom - top + 1 == 2


def test_off_centre_mass_is_centred_not_the_box():
    img = np.zeros((100, 100))
    img[10:90, 10:20] = 1.0      # heavy left stroke
    img[10:12, 10:60] = 0.2      # faint top bar: the box is wide, the mass is on the left
    out = mnist_preprocess(img)[0]
    cy, cx = centre_of_mass(out)
    assert abs(cy - 14) <= 0.51 and abs(cx - 14) <= 0.51
    assert ink_box(out)[1] > 4   # shifted right past where a box-centring would put it


def test_empty_drawing_gives_zeros_and_channel_axis_accepted():
    assert not mnist_preprocess(np.zeros((1, 50, 50))).any()
    assert mnist_preprocess(bar()[None]).shape == (1, 28, 28)


def test_resample_matrix_rows_sum_to_one_and_preserve_flat():
    for n_in, n_out in [(280, 20), (7, 20), (20, 20), (1, 5)]:
        m = resample_matrix(n_in, n_out)
        assert m.shape == (n_out, n_in)
        assert np.allclose(m.sum(axis=1), 1.0)


def test_real_mnist_digits_are_nearly_unchanged():
    """MNIST digits are already preprocessed: doing it again moves them by at most a pixel."""
    if not MNIST.is_file():
        pytest.skip("shared MNIST data missing")
    with gzip.open(MNIST, "rb") as f:
        images = np.frombuffer(f.read(16 + 20 * 784)[16:], np.uint8).reshape(20, 28, 28) / 255.0
    for img in images:
        out = mnist_preprocess(img)[0]
        a, b = centre_of_mass(img), centre_of_mass(out)
        assert abs(a[0] - b[0]) <= 1.5 and abs(a[1] - b[1]) <= 1.5

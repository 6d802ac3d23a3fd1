"""The built-in digits: deterministic, MNIST-like in geometry and ink, and learnable."""

from __future__ import annotations

import numpy as np
import pytest

from cnnviz.data.digits import generate_digits


@pytest.fixture(scope="module")
def digits():
    return generate_digits(2000, seed=11)


def test_shape_dtype_and_balanced_labels(digits):
    images, labels = digits
    assert images.shape == (2000, 28, 28) and images.dtype == np.uint8
    assert labels.dtype == np.int64 and np.bincount(labels).tolist() == [200] * 10


def test_same_seed_same_digits_other_seed_other_digits(digits):
    again, labels = generate_digits(2000, seed=11)
    np.testing.assert_array_equal(again, digits[0])
    np.testing.assert_array_equal(labels, digits[1])
    other, _ = generate_digits(2000, seed=12)
    assert not np.array_equal(other, digits[0])


def test_requested_labels_are_drawn():
    labels = np.array([7, 7, 1, 0])
    images, out = generate_digits(4, seed=0, labels=labels)
    assert out.tolist() == [7, 7, 1, 0] and images.shape == (4, 28, 28)


def test_mnist_geometry_white_on_black_in_20x20_centred_by_mass(digits):
    images = digits[0].astype(np.float64)
    mass = images.sum(axis=(1, 2))
    rows, cols = np.mgrid[:28, :28]
    com_r = (images * rows).sum(axis=(1, 2)) / mass
    com_c = (images * cols).sum(axis=(1, 2)) / mass
    # MNIST's centre of mass is at (14, 14) within about a third of a pixel.
    assert abs(com_r.mean() - 14) < 0.3 and abs(com_c.mean() - 14) < 0.3
    assert np.percentile(np.hypot(com_r - 14, com_c - 14), 95) < 1.5
    ink = images > 0
    height = ink.any(axis=2).sum(axis=1)
    width = ink.any(axis=1).sum(axis=1)
    longest = np.maximum(height, width)
    assert 19 <= np.median(longest) <= 22 and longest.max() <= 26
    assert (images.max(axis=(1, 2)) == 255).mean() > 0.95  # strokes are saturated white
    assert np.median(ink.mean(axis=(1, 2))) < 0.3          # mostly black background
    assert images[:, :2].sum() == 0 or (images[:, :2] > 0).mean() < 0.01


def test_elastic_field_moves_points_by_its_stated_amount_and_smoothly():
    from cnnviz.data import digits as d

    grid = np.stack(np.meshgrid(np.linspace(0, 1, 11), np.linspace(0, 1, 11)), -1).reshape(1, -1, 2)
    moved = d._elastic(np.repeat(grid, 400, axis=0), np.random.default_rng(3)) - grid
    assert np.std(moved) == pytest.approx(d.ELASTIC_RMS, rel=0.1)
    # Smooth: neighbours 0.1 apart (under a third of the field's sigma) move nearly alike, while
    # points a whole digit apart move independently.
    near = moved[:, 1:11] - moved[:, 0:10]                           # along the first row
    far = moved[:, 120] - moved[:, 0]                                # opposite corners
    assert np.std(near) < 0.35 * np.std(moved) and np.std(far) > 1.2 * np.std(moved)


@pytest.fixture(scope="module")
def trained():
    """The seed network after one epoch on the default 20,000 built-in digits with the training
    defaults, as ``python main.py train`` runs it, with the dataset it saw."""
    from cnnviz.cli import train_model
    from cnnviz.data.pipeline import load_dataset
    from cnnviz.nn import DEFAULTS

    data = load_dataset("digits", seed=0)  # 20,000 training digits + 2,000 fresh test digits
    assert len(data.x_train) == 20000 and len(data.x_test) == 2000
    model, *_ = train_model(data, "seed", DEFAULTS, epochs=1, seed=0)
    return model, data


@pytest.mark.slow
def test_one_epoch_learns_them_well_but_not_perfectly(trained):
    from cnnviz.session.training import evaluate

    model, data = trained
    accuracy = evaluate(model, data.x_test, data.y_test)["accuracy"]
    # Learnable, but hard enough that a class watches the accuracy climb for more than one epoch.
    assert 0.9 <= accuracy < 0.995, accuracy


@pytest.mark.slow
def test_a_network_trained_only_on_them_reads_real_mnist(trained, mnist_dir):
    from cnnviz.data import load_idx_pair
    from cnnviz.session.training import evaluate

    model, data = trained
    images, labels = load_idx_pair(mnist_dir / "t10k-images-idx3-ubyte.gz",
                                   mnist_dir / "t10k-labels-idx1-ubyte.gz")
    result = evaluate(model, data.normalize(images[:, None]), labels)
    assert len(labels) == 10_000 and result["accuracy"] >= 0.9, result["accuracy"]

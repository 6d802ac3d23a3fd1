"""Dead ReLU channels: found on a set of images, and tracked over the last N training images."""

import numpy as np
import pytest

from cnnviz.nn import ActivityTracker, build_model, dead_channels
from cnnviz.nn.activity import relu_conv_layers


def images(n, seed=0):
    return np.random.default_rng(seed).standard_normal((n, 1, 28, 28)).astype(np.float32)


def brute_force_dead(model, x):
    """Channels whose conv output is <= 0 everywhere, by running the whole model on all images at once."""
    model.forward(x)
    return {i: [c for c in range(model.layers[i].out_channels) if not (model.layers[i].output[:, c] > 0).any()]
            for i in relu_conv_layers(model)}


def test_a_channel_with_a_hugely_negative_bias_is_dead_and_only_it():
    model = build_model("seed", seed=0)
    model.layers[2].params["b"][[1, 6]] = -1e3   # conv 2 channels 1 and 6 can never be positive
    x = images(250)
    found = dead_channels(model, x, batch=64)   # chunks that do not divide 250
    assert model.layers[0].output is None   # the model is cleared afterwards
    assert found == {0: [], 2: [1, 6]}
    assert found == brute_force_dead(model, x)


def test_dead_on_these_images_means_never_positive_on_any_of_them():
    model = build_model("seed", seed=1)
    x = images(40, seed=3)
    model.forward(x)
    z = model.layers[2].output
    # its two largest pre-bias values on these images
    second, peak = np.sort(z[:, 4].ravel())[-2:] - model.layers[2].params["b"][4]
    gap = min(1e-3, (peak - second) / 2)
    # a bias just below minus the peak leaves channel 4 positive at one position of one image: alive
    model.layers[2].params["b"][4] = -peak + gap
    assert 4 not in dead_channels(model, x)[2]
    model.forward(x)
    assert (model.layers[2].output[:, 4] > 0).sum() == 1
    # just above it, channel 4 is never positive on these images: dead
    model.layers[2].params["b"][4] = -peak - gap
    assert 4 in dead_channels(model, x)[2]
    assert dead_channels(model, x) == brute_force_dead(model, x)


def test_networks_without_relu_convs_report_nothing():
    assert dead_channels(build_model("lenet", seed=0), images(8)) == {}   # tanh after its convs
    assert list(dead_channels(build_model("tiny", seed=0), images(8))) == [0]


def feed(tracker, model, x, batch):
    for start in range(0, len(x), batch):
        model.forward(x[start:start + batch])
        tracker.observe(model)


def test_tracker_answers_for_the_last_window_images_only():
    model = build_model("seed", seed=0)
    tracker = ActivityTracker(model, window=100)
    assert tracker.dead() == {0: [], 2: []} and tracker.images == 0   # nothing seen: nothing known dead
    feed(tracker, model, images(64), batch=32)
    assert tracker.images == 64 and tracker.dead() == dead_channels(model, images(64))
    # channel 3 dies now: it stays "alive" while the window still holds images it fired on
    model.layers[2].params["b"][3] = -1e3
    feed(tracker, model, images(64, seed=1), batch=32)
    assert 3 not in tracker.dead()[2]
    assert tracker.images == 128   # whole batches: the newest that hold >= 100 images
    feed(tracker, model, images(64, seed=2), batch=32)    # 4 batches since it died hold the window
    assert 3 in tracker.dead()[2] and tracker.images == 128 and tracker.total == 192
    last = np.concatenate([images(64, seed=1), images(64, seed=2)])
    assert tracker.dead() == dead_channels(model, last)


def test_tracker_batches_larger_than_the_window_and_reset():
    model = build_model("seed", seed=0)
    model.layers[0].params["b"][5] = -1e3
    tracker = ActivityTracker(model, window=10)
    feed(tracker, model, images(25), batch=25)
    feed(tracker, model, images(25, seed=1), batch=25)
    assert tracker.images == 25 and tracker.total == 50   # the newest batch alone holds the window
    assert tracker.dead() == dead_channels(model, images(25, seed=1))
    assert 5 in tracker.dead()[0]
    tracker.reset()
    assert tracker.total == 0 and tracker.dead() == {0: [], 2: []}


@pytest.mark.parametrize("window", [0, 2.5, -1])
def test_tracker_window_must_be_whole_and_positive(window):
    with pytest.raises(ValueError, match="activity window"):
        ActivityTracker(build_model("tiny", seed=0), window=window)

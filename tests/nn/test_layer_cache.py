"""cache_state / restore_cache: a layer put back to an earlier batch's cache gives, bit for bit, that
batch's gradients again (what the stepper's exact rewind relies on)."""

from __future__ import annotations

import numpy as np
import pytest

from cnnviz.nn import AvgPool2D, Conv2D, Dense, Flatten, MaxPool2D, ReLU, Sigmoid, Tanh

# (layer maker, one example's input shape); the stride-2, padded conv and the overlapping max-pool
# are there so every index path of their backward is exercised
LAYERS = {
    "conv": (lambda: Conv2D(2, 3, 3, stride=2, padding=1, seed=0), (2, 7, 7)),
    "maxpool": (lambda: MaxPool2D(2, 2), (2, 6, 6)),
    "maxpool-overlapping": (lambda: MaxPool2D(3, 2), (2, 7, 7)),
    "avgpool": (lambda: AvgPool2D(2, 2), (2, 6, 6)),
    "dense": (lambda: Dense(12, 5, seed=0), (12,)),
    "flatten": (lambda: Flatten(), (2, 3, 3)),
    "relu": (lambda: ReLU(), (2, 4, 4)),
    "sigmoid": (lambda: Sigmoid(), (2, 4, 4)),
    "tanh": (lambda: Tanh(), (2, 4, 4)),
}


def batch(layer, example_shape, n, rng):
    """An input (n, *example_shape) and a dL/d(output) for it, float32."""
    x = rng.standard_normal((n, *example_shape)).astype(np.float32)
    dy = rng.standard_normal((n, *layer.output_shape(example_shape))).astype(np.float32)
    return x, dy


def copies(arrays: dict) -> dict:
    return {key: None if value is None else value.copy() for key, value in arrays.items()}


@pytest.mark.parametrize("kind", LAYERS)
def test_restored_cache_gives_the_first_batch_gradients_bit_for_bit(kind):
    make, shape = LAYERS[kind]
    layer, rng = make(), np.random.default_rng(1)
    x1, dy1 = batch(layer, shape, 2, rng)
    x2, dy2 = batch(layer, shape, 3, rng)   # another batch size: nothing of batch 1 can fit by chance
    layer.forward(x1)
    dx1 = layer.backward(dy1).copy()
    grads1 = copies(layer.grads)
    saved = layer.cache_state()
    kept = copies(saved)

    layer.forward(x2)
    layer.backward(dy2)
    assert layer.dL_dinput.shape[0] == 3
    layer.restore_cache(saved)

    dx_again = layer.backward(layer.dL_dout)    # the restored dL/d(output) is batch 1's
    assert dx_again.dtype == dx1.dtype and np.array_equal(dx_again, dx1)
    for key, value in grads1.items():
        assert np.array_equal(layer.grads[key], value), key
    for key, value in kept.items():             # batch 2 wrote into none of the saved arrays
        assert np.array_equal(layer.cache_state()[key], value), key


@pytest.mark.parametrize("kind", LAYERS)
def test_cache_state_is_none_before_a_pass_and_after_clear(kind):
    make, shape = LAYERS[kind]
    layer = make()
    assert all(value is None for value in layer.cache_state().values())
    layer.forward(batch(layer, shape, 2, np.random.default_rng(0))[0])
    assert layer.cache_state()["input"] is layer.input and layer.cache_state()["output"] is not None
    layer.clear()
    assert all(value is None for value in layer.cache_state().values())


def test_conv_and_maxpool_name_their_own_buffers_with_their_shapes():
    x = np.random.default_rng(0).standard_normal((4, 2, 7, 7)).astype(np.float32)
    conv = Conv2D(2, 3, 3, stride=2, padding=1, seed=0)
    conv.forward(x)
    assert conv.cache_state()["cols"].shape == (2, 3, 3, 4, 4, 4)   # (C, k, k, N, OH, OW)
    pool = MaxPool2D(2, 2)
    pool.forward(x)
    state = pool.cache_state()
    assert state["mask"].shape == x.shape and state["mask"].dtype == bool
    assert state["winner_index"].shape == (4, 2, 3, 3)
    assert state["mask"].sum() == state["winner_index"].size   # one winner per window, no overlap


def test_a_cache_state_of_another_kind_of_layer_is_refused():
    relu, conv = ReLU(), Conv2D(1, 1, 3, seed=0)
    with pytest.raises(ValueError, match="cols"):
        conv.restore_cache(relu.cache_state())
    with pytest.raises(ValueError, match="mask"):
        relu.restore_cache(MaxPool2D().cache_state())

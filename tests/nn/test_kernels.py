"""Fast layers agree with the plain-loop twins written from the paper's equations."""

import numpy as np
import pytest

from cnnviz.nn import AvgPool2D, Conv2D, Dense, MaxPool2D, SoftmaxCrossEntropy
from cnnviz.nn import naive

CONV_CASES = [
    # n, c, h, w, f, k, stride, padding
    (1, 1, 7, 7, 1, 3, 1, 0),
    (2, 3, 9, 8, 4, 3, 2, 1),
    (3, 2, 11, 11, 3, 5, 1, 2),
    (2, 1, 10, 13, 2, 4, 3, 1),
    (2, 4, 6, 6, 5, 1, 1, 0),
    (1, 2, 5, 5, 2, 5, 1, 0),
    (2, 2, 8, 9, 3, 3, 2, 2),
]


@pytest.mark.parametrize("n,c,h,w,f,k,stride,padding", CONV_CASES)
def test_conv_matches_loops(n, c, h, w, f, k, stride, padding):
    rng = np.random.default_rng(hash((n, c, h, w, f, k, stride, padding)) % 2**32)
    layer = Conv2D(c, f, k, stride=stride, padding=padding, seed=1)
    layer.params["b"][:] = rng.standard_normal(f)
    x = rng.standard_normal((n, c, h, w)).astype(np.float32)
    z = layer.forward(x)
    z_loop = naive.conv_forward_naive(x, layer.params["W"], layer.params["b"], stride, padding)
    assert z.shape == z_loop.shape == (n, f) + layer.output_shape((c, h, w))[1:]
    np.testing.assert_allclose(z, z_loop, rtol=1e-4, atol=1e-4)

    dz = rng.standard_normal(z.shape).astype(np.float32)
    dx = layer.backward(dz)
    dx_loop, dW_loop, db_loop = naive.conv_backward_naive(x, layer.params["W"], dz, stride, padding)
    assert dx.shape == x.shape
    np.testing.assert_allclose(dx, dx_loop, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(layer.grads["W"], dW_loop, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(layer.grads["b"], db_loop, rtol=1e-4, atol=1e-4)


POOL_CASES = [(2, 2), (3, 3), (3, 2), (2, 1), (3, 1)]  # (size, stride): overlapping and not


@pytest.mark.parametrize("size,stride", POOL_CASES)
@pytest.mark.parametrize("h,w", [(8, 8), (7, 9)])
def test_maxpool_matches_loops(size, stride, h, w):
    rng = np.random.default_rng(size * 10 + stride)
    # quantised values make ties common, so the first-maximum rule is exercised
    x = rng.integers(0, 4, size=(2, 3, h, w)).astype(np.float32)
    layer = MaxPool2D(size, stride)
    out = layer.forward(x)
    out_loop, mask_loop = naive.maxpool_forward_naive(x, size, stride)
    np.testing.assert_array_equal(out, out_loop)
    np.testing.assert_array_equal(layer.mask, mask_loop)
    dout = rng.standard_normal(out.shape).astype(np.float32)
    np.testing.assert_allclose(layer.backward(dout), naive.maxpool_backward_naive(x, dout, size, stride),
                               rtol=1e-5, atol=1e-6)


def test_maxpool_mask_picks_first_maximum_in_row_major_order():
    x = np.array([[[[5, 5], [5, 1]]]], dtype=np.float32)
    layer = MaxPool2D(2, 2)
    layer.forward(x)
    assert layer.mask[0, 0].tolist() == [[True, False], [False, False]]
    dx = layer.backward(np.array([[[[2.0]]]], dtype=np.float32))
    assert dx[0, 0].tolist() == [[2.0, 0.0], [0.0, 0.0]]


def test_maxpool_overlapping_winner_gets_sum_of_gradients():
    x = np.zeros((1, 1, 3, 3), dtype=np.float32)
    x[0, 0, 1, 1] = 9  # the centre wins all four 2x2 windows of stride 1
    layer = MaxPool2D(2, 1)
    out = layer.forward(x)
    assert out.shape == (1, 1, 2, 2) and np.all(out == 9)
    assert layer.mask.sum() == 1 and layer.mask[0, 0, 1, 1]
    dx = layer.backward(np.array([[[[1, 2], [3, 4]]]], dtype=np.float32))
    assert dx[0, 0, 1, 1] == 10 and dx.sum() == 10


def test_pool_cells_past_last_window_get_no_gradient():
    x = np.arange(25, dtype=np.float32).reshape(1, 1, 5, 5)
    for layer in (MaxPool2D(2, 2), AvgPool2D(2, 2)):
        out = layer.forward(x)
        assert out.shape == (1, 1, 2, 2)
        dx = layer.backward(np.ones_like(out))
        assert np.all(dx[0, 0, 4, :] == 0) and np.all(dx[0, 0, :, 4] == 0)


@pytest.mark.parametrize("size,stride", POOL_CASES)
def test_avgpool_matches_loops(size, stride):
    rng = np.random.default_rng(7)
    x = rng.standard_normal((2, 2, 7, 8)).astype(np.float32)
    layer = AvgPool2D(size, stride)
    out = layer.forward(x)
    np.testing.assert_allclose(out, naive.avgpool_forward_naive(x, size, stride), rtol=1e-5, atol=1e-6)
    dout = rng.standard_normal(out.shape).astype(np.float32)
    np.testing.assert_allclose(layer.backward(dout), naive.avgpool_backward_naive(x, dout, size, stride),
                               rtol=1e-5, atol=1e-6)


def test_dense_matches_loops():
    rng = np.random.default_rng(3)
    layer = Dense(13, 6, seed=2)
    layer.params["b"][:] = rng.standard_normal(6)
    a = rng.standard_normal((4, 13)).astype(np.float32)
    z = layer.forward(a)
    np.testing.assert_allclose(z, naive.dense_forward_naive(a, layer.params["W"], layer.params["b"]),
                               rtol=1e-5, atol=1e-5)
    dz = rng.standard_normal(z.shape).astype(np.float32)
    da = layer.backward(dz)
    da_loop, dW_loop, db_loop = naive.dense_backward_naive(a, layer.params["W"], dz)
    np.testing.assert_allclose(da, da_loop, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(layer.grads["W"], dW_loop, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(layer.grads["b"], db_loop, rtol=1e-5, atol=1e-5)


def test_softmax_cross_entropy_matches_loops():
    rng = np.random.default_rng(4)
    logits = rng.standard_normal((5, 10)).astype(np.float32) * 3
    labels = rng.integers(0, 10, 5)
    loss_fn = SoftmaxCrossEntropy()
    loss = loss_fn.forward(logits, labels)
    loss_loop, probs_loop, grad_loop = naive.softmax_xent_naive(logits, labels)
    assert loss == pytest.approx(loss_loop, rel=1e-5)
    np.testing.assert_allclose(loss_fn.probs, probs_loop, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(loss_fn.backward(), grad_loop, rtol=1e-5, atol=1e-7)


def test_softmax_cross_entropy_survives_huge_logits():
    logits = np.array([[1e30, -1e30, 0.0], [3e38, 3e38, -3e38]], dtype=np.float32)
    loss_fn = SoftmaxCrossEntropy()
    loss = loss_fn.forward(logits, np.array([1, 0]))
    grad = loss_fn.backward()
    assert np.isfinite(loss) and loss > 1e29  # the wrong class is certain: a huge but finite loss
    assert np.all(np.isfinite(grad))
    np.testing.assert_allclose(loss_fn.probs.sum(axis=1), 1.0, rtol=1e-6)

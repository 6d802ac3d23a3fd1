"""The loss gradient of images the network is sure of: exact, not float32 rounding noise.

The reference is computed with 50-digit decimals from the same float32 logits, so it is independent
of both float64 formulas under test (the fast one and its plain-loop twin)."""

from decimal import Decimal, localcontext

import numpy as np
import pytest

from cnnviz.nn import SoftmaxCrossEntropy
from cnnviz.nn import naive


def decimal_reference(logits, labels):
    """(per-example losses, dL/dlogits (N, K)) as float64, computed in 50-digit decimal arithmetic."""
    n, k = logits.shape
    grad, losses = np.zeros((n, k)), np.zeros(n)
    with localcontext() as ctx:
        ctx.prec = 50
        for i in range(n):
            z = [Decimal(float(v)) for v in logits[i]]
            exps = [v.exp() for v in z]
            total = sum(exps)
            p = [e / total for e in exps]
            y = int(labels[i])
            losses[i] = float(total.ln() - z[y])
            for j in range(k):
                grad[i, j] = float(((p[j] - (1 if j == y else 0))) / n)
    return losses, grad


def confident_logits(rng, n=64, k=10):
    """Logits whose true class leads every other by a margin of 20..40 (1 - p_true ~ 1e-9..1e-17)."""
    logits = rng.normal(0.0, 2.0, (n, k))
    labels = rng.integers(0, k, n)
    margin = rng.uniform(20.0, 40.0, n)
    others = np.where(np.arange(k) == labels[:, None], -np.inf, logits).max(axis=1)
    logits[np.arange(n), labels] = others + margin
    return logits.astype(np.float32), labels


def test_gradient_of_confident_images_is_exact_to_1e_4_per_element():
    logits, labels = confident_logits(np.random.default_rng(0))
    loss_fn = SoftmaxCrossEntropy()
    loss_fn.forward(logits, labels)
    grad = loss_fn.backward()
    _, want = decimal_reference(logits, labels)
    true = want[np.arange(len(labels)), labels]
    assert true.max() < -1e-20 and true.min() > -1e-9   # the regime where float32 p - 1 was all noise
    assert grad.dtype == np.float32
    np.testing.assert_allclose(grad, want, rtol=1e-4, atol=0)


def test_loss_of_a_confident_image_keeps_its_digits():
    # 1 - p_true = 3e-9 for these logits: the loss is -log p_true = 3e-9, not 0 or 1.19e-7
    logits = np.array([[np.log(3e-9), 0.0]], dtype=np.float32)
    loss_fn = SoftmaxCrossEntropy()
    loss = loss_fn.forward(logits, np.array([1]))
    want, grad = decimal_reference(logits, np.array([1]))
    assert loss == pytest.approx(want[0], rel=1e-6) and 2.9e-9 < loss < 3.1e-9
    np.testing.assert_allclose(loss_fn.losses, want, rtol=1e-6)
    np.testing.assert_allclose(loss_fn.backward(), grad, rtol=1e-6)


def test_plain_loop_twin_is_exact_too():
    logits, labels = confident_logits(np.random.default_rng(1), n=12)
    loss, probs, grad = naive.softmax_xent_naive(logits, labels)
    losses, want = decimal_reference(logits, labels)
    assert loss == pytest.approx(losses.mean(), rel=1e-9)
    np.testing.assert_allclose(grad, want, rtol=1e-9, atol=0)
    loss_fn = SoftmaxCrossEntropy()
    assert loss_fn.forward(logits, labels) == pytest.approx(loss, rel=1e-9)
    np.testing.assert_allclose(loss_fn.backward(), grad, rtol=1e-6, atol=0)


def test_gradient_of_a_trained_network_is_exact():
    """A network made sure of its answers (its last layer scaled up, as training does over time): the
    gradient a float32 p - 1 would have rounded to noise matches the decimal reference."""
    from cnnviz.data import load_dataset
    from cnnviz.nn import Adam, build_model

    data = load_dataset("digits", limit=1500, seed=0)
    model = build_model("tiny", seed=0)
    optimizer, loss_fn = Adam(model.parameters(), lr=0.003), SoftmaxCrossEntropy()
    for start in range(0, 1500, 32):
        loss_fn.forward(model.forward(data.x_train[start:start + 32]), data.y_train[start:start + 32])
        model.backward(loss_fn.backward())
        optimizer.step()
    model.layers[-1].params["W"] *= 3   # sharpen: logit margins of tens, as a long-trained net has
    model.layers[-1].params["b"] *= 3
    x, y = data.x_test[:500], data.y_test[:500]   # ~1 in 15 of the built-in digits is this sure
    loss_fn.forward(model.forward(x), y)
    logits = model.layers[-1].output
    # 1 - p_true between 1e-30 (still a normal float32 number) and 1e-8 (below float32's 6e-8 at 1)
    sure = (loss_fn.probs.argmax(axis=1) == y) & (loss_fn.losses < 1e-8) & (loss_fn.losses > 1e-30)
    assert sure.sum() >= 20, "the sharpened network should be sure of many test images"
    grad = loss_fn.backward()
    losses, want = decimal_reference(logits, y)
    # below float32's smallest normal number (1.2e-38) no value keeps its digits: there only the
    # absolute error is bounded, by that number
    np.testing.assert_allclose(grad[sure], want[sure], rtol=1e-4, atol=np.finfo(np.float32).tiny)
    true_rows = want[np.arange(len(y)), y][sure]
    np.testing.assert_allclose(grad[np.arange(len(y)), y][sure], true_rows, rtol=1e-4, atol=0)
    np.testing.assert_allclose(loss_fn.losses[sure], losses[sure], rtol=1e-6)
    # the old way, p rounded to float32 before subtracting 1, is noise on exactly these images
    rounded = loss_fn.probs.astype(np.float32)[np.arange(len(y)), y] - np.float32(1)
    true = want[np.arange(len(y)), y] * len(y)
    assert np.any(np.abs(rounded[sure] - true[sure]) > 0.5 * np.abs(true[sure]))

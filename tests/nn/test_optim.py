"""Optimizers against the update rules written out by hand."""

import numpy as np
import pytest

from cnnviz.nn import SGD, Adam


def one_param(value, grad):
    params, grads = {"W": np.array(value, np.float32)}, {"W": np.array(grad, np.float32)}
    return params, grads


def test_sgd_plain_and_momentum():
    params, grads = one_param([1.0, -2.0], [0.5, 1.0])
    SGD([(params, grads)], lr=0.1).step()
    np.testing.assert_allclose(params["W"], [0.95, -2.1], rtol=1e-6)

    params, grads = one_param([0.0], [1.0])
    opt = SGD([(params, grads)], lr=0.1, momentum=0.9)
    opt.step()   # v = -0.1
    opt.step()   # v = 0.9 * -0.1 - 0.1 = -0.19
    np.testing.assert_allclose(params["W"], [-0.29], rtol=1e-6)


def test_adam_matches_the_textbook_rule_with_bias_correction():
    rng = np.random.default_rng(0)
    w0 = rng.standard_normal(5)
    params, grads = one_param(w0, np.zeros(5))
    opt = Adam([(params, grads)], lr=0.01, beta1=0.95, beta2=0.99, eps=1e-8)
    w, m, v = w0.copy(), np.zeros(5), np.zeros(5)
    for t in range(1, 6):
        g = rng.standard_normal(5)
        grads["W"][:] = g
        opt.step()
        m = 0.95 * m + 0.05 * g
        v = 0.99 * v + 0.01 * g * g
        w = w - 0.01 * (m / (1 - 0.95**t)) / (np.sqrt(v / (1 - 0.99**t)) + 1e-8)
        np.testing.assert_allclose(params["W"], w, rtol=1e-5, atol=1e-6)
    assert opt.t == 5


def test_adam_first_step_moves_each_weight_by_lr():
    # with bias correction the first update is lr * g / |g| (up to eps), whatever the scale of g
    params, grads = one_param([0.0, 0.0], [1e-3, -50.0])
    Adam([(params, grads)], lr=0.01).step()
    np.testing.assert_allclose(params["W"], [-0.01, 0.01], rtol=1e-4)


def test_optimizers_update_in_place_and_keep_float32():
    params, grads = one_param([1.0], [1.0])
    array = params["W"]
    for opt in (SGD([(params, grads)], lr=0.1, momentum=0.5), Adam([(params, grads)])):
        opt.step()
    assert params["W"] is array and array.dtype == np.float32


def test_lr_can_change_between_steps():
    params, grads = one_param([0.0], [1.0])
    opt = SGD([(params, grads)], lr=0.1)
    opt.step()
    opt.lr = 1.0
    opt.step()
    assert params["W"][0] == pytest.approx(-1.1)


def test_adam_constructor_keeps_the_papers_values_of_the_public_interface():
    # DESIGN.md: Adam(parameters, lr=0.01, beta1=0.95, beta2=0.99, eps=1e-8); the program's own
    # training defaults are another thing (DEFAULTS, through optimizer_for).
    from cnnviz.nn.defaults import DEFAULTS
    from cnnviz.nn.optim import optimizer_for

    params = [({"W": np.zeros(3, np.float32)}, {"W": np.zeros(3, np.float32)})]
    adam = Adam(params)
    assert (adam.lr, adam.beta1, adam.beta2, adam.eps) == (0.01, 0.95, 0.99, 1e-8)
    trained = optimizer_for(DEFAULTS, params)
    assert (trained.lr, trained.beta1, trained.beta2) == (DEFAULTS.lr, DEFAULTS.beta1, DEFAULTS.beta2)

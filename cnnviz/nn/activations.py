"""Element-wise activations (paper eq. 31, 32 for ReLU; sigmoid and tanh as in its section 2.3).

Each maps z -> a with the same shape, any layout; ``pre_activation`` is the layer's input z.
"""

from __future__ import annotations

import numpy as np

from cnnviz.nn.layer import DTYPE, Layer


class _Activation(Layer):
    @property
    def pre_activation(self):
        return self.input

    def describe(self):
        return {"relu": "ReLU", "sigmoid": "Sigmoid", "tanh": "Tanh"}[self.kind]


class ReLU(_Activation):
    """a = max(0, z) (eq. 31); da/dz = 1 where z > 0, else 0 (eq. 32: 0 at z <= 0)."""

    kind = "relu"

    def _forward(self, x):
        return np.maximum(x, DTYPE(0))

    def _backward(self, dy):
        # a ufunc (not np.where) keeps the inputs' memory order, so a conv's channel-major
        # buffers stay channel-major and the conv's backward needs no transposing copy
        return np.multiply(dy, self.input > 0, dtype=dy.dtype)


class Sigmoid(_Activation):
    """a = 1 / (1 + exp(-z)); da/dz = a (1 - a). Computed without overflow for large |z|."""

    kind = "sigmoid"

    def _forward(self, x):
        e = np.exp(-np.abs(x))
        return np.where(x >= 0, 1 / (1 + e), e / (1 + e)).astype(x.dtype, copy=False)

    def _backward(self, dy):
        a = self.output
        return dy * a * (1 - a)


class Tanh(_Activation):
    """a = tanh(z); da/dz = 1 - a^2."""

    kind = "tanh"

    def _forward(self, x):
        return np.tanh(x)

    def _backward(self, dy):
        return dy * (1 - self.output * self.output)

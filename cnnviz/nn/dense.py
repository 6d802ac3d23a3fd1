"""Fully connected layer (paper eq. 1-5) and Flatten."""

from __future__ import annotations

import numpy as np

from cnnviz.errors import ArchitectureError
from cnnviz.nn.defaults import LAYER_INIT
from cnnviz.nn.initializers import initial_weights
from cnnviz.nn.layer import DTYPE, Layer, rng_for


class Dense(Layer):
    """z = W a + b for every example (eq. 1, 5).

    params: ``W`` (out, in), ``b`` (out,). forward: a (N, in) -> z (N, out).
    backward: dL/da = W^T dL/dz (eq. 2), dL/dW = dL/dz a^T summed over the batch (eq. 3),
    dL/db = dL/dz summed over the batch (eq. 4). Weights start normal with the spread of ``init``
    (one of ``cnnviz.nn.initializers.INITS``, default ``LAYER_INIT``; "paper" is std 0.01, as in
    the paper's code); biases 0.
    """

    kind = "dense"

    def __init__(self, in_features: int, out_features: int, seed: int | None = None,
                 init: str | None = None) -> None:
        super().__init__()
        for label, value in (("in_features", in_features), ("out_features", out_features)):
            if int(value) != value or value < 1:
                raise ArchitectureError(f"Dense {label} must be an integer >= 1, not {value!r}.")
        self.in_features, self.out_features = int(in_features), int(out_features)
        self.params = {
            "W": initial_weights(rng_for(seed), (self.out_features, self.in_features), self.in_features,
                                 self.out_features, "dense", init or LAYER_INIT),
            "b": np.zeros(self.out_features, dtype=DTYPE),
        }
        self.grads = {key: np.zeros_like(value) for key, value in self.params.items()}

    def output_shape(self, input_shape):
        if len(input_shape) != 1 or input_shape[0] != self.in_features:
            shape = "x".join(map(str, input_shape))
            hint = " (put Flatten before it)" if len(input_shape) > 1 else ""
            raise ArchitectureError(
                f"{self.name} ({self.describe()}) expects {self.in_features} input features "
                f"but is fed shape {shape}{hint}."
            )
        return (self.out_features,)

    def _forward(self, x):
        z = x @ self.params["W"].T
        z += self.params["b"]
        return z

    def _backward(self, dy):
        np.matmul(dy.T, self.input, out=self.grads["W"])
        np.sum(dy, axis=0, out=self.grads["b"])
        return dy @ self.params["W"] if self.needs_input_grad else None

    def config(self):
        return {"type": "dense", "units": self.out_features}

    def describe(self):
        return f"Dense {self.in_features}->{self.out_features}"


class Flatten(Layer):
    """(N, C, H, W) -> (N, C*H*W) in C order, so feature index = c*H*W + y*W + x."""

    kind = "flatten"

    def _forward(self, x):
        return x.reshape(x.shape[0], -1)

    def _backward(self, dy):
        return dy.reshape(self.input.shape)

    def output_shape(self, input_shape):
        return (int(np.prod(input_shape)),)

    def describe(self):
        return "Flatten"

"""How a layer's weights start: a normal distribution whose spread suits the activation after it.

The spread decides whether signals keep their size through the layers at the start of training.
With ReLU, half of each layer's inputs are zero, so He (Kaiming) doubles the variance of LeCun's
1/fan_in; Glorot (Xavier) averages fan-in and fan-out, the classic choice for sigmoid and tanh.
"paper" is the code of the paper this project grew from: conv filters with std 1/sqrt(F*C*k*k)
(the whole filter bank's size, so 8 filters start ~3x smaller than LeCun's), dense weights std 0.01.
Biases always start at 0.
"""

from __future__ import annotations

import numpy as np

from cnnviz.errors import ArchitectureError
from cnnviz.nn.layer import DTYPE

INITS = ("he", "glorot", "lecun", "paper")


def init_std(init: str, shape: tuple[int, ...], fan_in: int, fan_out: int, kind: str) -> float:
    """The standard deviation of ``init`` for a weight array ``shape`` of a ``kind`` ("conv" or
    "dense") layer with ``fan_in`` inputs and ``fan_out`` outputs per unit."""
    if init == "he":
        return float(np.sqrt(2.0 / fan_in))
    if init == "glorot":
        return float(np.sqrt(2.0 / (fan_in + fan_out)))
    if init == "lecun":
        return float(np.sqrt(1.0 / fan_in))
    if init == "paper":
        return 0.01 if kind == "dense" else float(1.0 / np.sqrt(np.prod(shape)))
    raise ArchitectureError(f"unknown weight initialisation {init!r}; choose one of {', '.join(INITS)}.")


def initial_weights(rng: np.random.Generator, shape: tuple[int, ...], fan_in: int, fan_out: int,
                    kind: str, init: str) -> np.ndarray:
    """Normal(0, init_std) float32 weights of ``shape``, drawn from ``rng``."""
    std = init_std(init, shape, fan_in, fan_out, kind)
    return (rng.standard_normal(shape) * std).astype(DTYPE)

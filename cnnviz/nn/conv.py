"""2-D convolution layer (a cross-correlation, as in every CNN: the kernel is not flipped).

Paper equations (0-based): forward eq. 6/8
    z[n, f, y, x] = sum_c sum_i sum_j W[f, c, i, j] * a_pad[n, c, y*s + i, x*s + j] + b[f]
backward: dL/da eq. 10, dL/dW eq. 11, dL/db eq. 12. Plain-loop twins are in ``cnnviz.nn.naive``.

Fast path: im2col. The column matrix is laid out (C, k, k, N, ...) so that every copy into and
out of it runs along contiguous memory, and the forward product is one (F x Ckk) @ (Ckk x columns)
matmul. The result is returned as an NCHW *view* of an (F, N, OH, OW) buffer: the next layer's
im2col then reads channel planes that are already contiguous.
"""

from __future__ import annotations

import numpy as np

from cnnviz.errors import ArchitectureError
from cnnviz.nn.defaults import LAYER_INIT
from cnnviz.nn.initializers import initial_weights
from cnnviz.nn.layer import DTYPE, Layer, check_image_shape, rng_for, windowed_size


def pad_images(x: np.ndarray, padding: int) -> np.ndarray:
    """Zero-pad the two spatial axes of (N, C, H, W) -> (N, C, H+2p, W+2p)."""
    if padding == 0:
        return x
    return np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))


def im2col(x_pad: np.ndarray, k: int, stride: int, out_h: int, out_w: int) -> np.ndarray:
    """(N, C, Hp, Wp) -> columns (C, k, k, N, OH, OW), contiguous.

    cols[c, i, j, n, y, x] = x_pad[n, c, y*s + i, x*s + j]  (the patch each output unit sees)."""
    n, c = x_pad.shape[:2]
    cols = np.empty((c, k, k, n, out_h, out_w), dtype=x_pad.dtype)
    x_cnhw = x_pad.transpose(1, 0, 2, 3)
    for i in range(k):
        for j in range(k):
            cols[:, i, j] = x_cnhw[:, :, i : i + stride * out_h : stride, j : j + stride * out_w : stride]
    return cols


def col2im(cols: np.ndarray, padded_hw: tuple[int, int], stride: int) -> np.ndarray:
    """Inverse scatter of im2col: (C, k, k, N, OH, OW) -> summed (N, C, Hp, Wp) (a view)."""
    c, k, _, n, out_h, out_w = cols.shape
    out = np.zeros((c, n) + tuple(padded_hw), dtype=cols.dtype)
    for i in range(k):
        for j in range(k):
            out[:, :, i : i + stride * out_h : stride, j : j + stride * out_w : stride] += cols[:, i, j]
    return out.transpose(1, 0, 2, 3)


class Conv2D(Layer):
    """Convolution (cross-correlation) with F filters of C x k x k, stride s, zero padding p.

    params: ``W`` (F, C, k, k), ``b`` (F,). forward: x (N, C, H, W) -> z (N, F, OH, OW) with
    OH = floor((H + 2p - k)/s) + 1. Filters start normal with the spread of ``init`` (one of
    ``cnnviz.nn.initializers.INITS``, default ``LAYER_INIT``; fan-in C*k*k, fan-out F*k*k), biases 0.
    """

    kind = "conv"

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, stride: int = 1,
                 padding: int = 0, seed: int | None = None, init: str | None = None) -> None:
        super().__init__()
        for label, value, low in (("in_channels", in_channels, 1), ("out_channels", out_channels, 1),
                                  ("kernel_size", kernel_size, 1), ("stride", stride, 1),
                                  ("padding", padding, 0)):
            if int(value) != value or value < low:
                raise ArchitectureError(f"Conv2D {label} must be an integer >= {low}, not {value!r}.")
        self.in_channels, self.out_channels = int(in_channels), int(out_channels)
        self.kernel_size, self.stride, self.padding = int(kernel_size), int(stride), int(padding)
        area = self.kernel_size**2
        shape = (self.out_channels, self.in_channels, self.kernel_size, self.kernel_size)
        self.params = {
            "W": initial_weights(rng_for(seed), shape, self.in_channels * area, self.out_channels * area,
                                 "conv", init or LAYER_INIT),
            "b": np.zeros(self.out_channels, dtype=DTYPE),
        }
        self.grads = {key: np.zeros_like(value) for key, value in self.params.items()}
        self._cols: np.ndarray | None = None

    def output_shape(self, input_shape):
        c, h, w = check_image_shape(self, input_shape)
        if c != self.in_channels:
            raise ArchitectureError(
                f"{self.name} ({self.describe()}) expects {self.in_channels} input channel(s) "
                f"but gets {c} (input {c}x{h}x{w})."
            )
        k, s, p = self.kernel_size, self.stride, self.padding
        return (self.out_channels, windowed_size(self, h, k, s, p, "height"),
                windowed_size(self, w, k, s, p, "width"))

    def _forward(self, x):
        n, c, h, w = x.shape
        f, (_, out_h, out_w) = self.out_channels, self.output_shape((c, h, w))
        k, s = self.kernel_size, self.stride
        self._cols = im2col(pad_images(x, self.padding), k, s, out_h, out_w)
        z = self.params["W"].reshape(f, -1) @ self._cols.reshape(c * k * k, -1)   # eq. 8
        z += self.params["b"][:, None]
        return z.reshape(f, n, out_h, out_w).transpose(1, 0, 2, 3)

    def _backward(self, dy):
        n, c, h, w = self.input.shape
        k, s, p, f = self.kernel_size, self.stride, self.padding, self.out_channels
        dz = np.ascontiguousarray(dy.transpose(1, 0, 2, 3)).reshape(f, -1)   # (F, N*OH*OW)
        cols = self._cols.reshape(c * k * k, -1)
        # (cols @ dz^T)^T, not dz @ cols^T: OpenBLAS runs this orientation ~1.7x faster here
        self.grads["W"][...] = (cols @ dz.T).T.reshape(self.grads["W"].shape)   # eq. 11
        np.sum(dz, axis=1, out=self.grads["b"])                                  # eq. 12
        if not self.needs_input_grad:
            return None
        dcols = (self.params["W"].reshape(f, -1).T @ dz).reshape(self._cols.shape)
        dx_pad = col2im(dcols, (h + 2 * p, w + 2 * p), s)                        # eq. 10
        return dx_pad[:, :, p : p + h, p : p + w] if p else dx_pad

    def cache_state(self):
        """The base arrays plus ``cols``: the im2col columns of the last padded input, float32
        (C, k, k, N, OH, OW), ``cols[c, i, j, n, y, x] = x_pad[n, c, y*s + i, x*s + j]``; backward
        reads them for dL/dW (eq. 11) instead of the input."""
        return {**super().cache_state(), "cols": self._cols}

    def restore_cache(self, state):
        super().restore_cache(state)
        self._cols = state["cols"]

    def config(self):
        return {"type": "conv", "filters": self.out_channels, "kernel": self.kernel_size,
                "stride": self.stride, "padding": self.padding}

    def describe(self):
        k = self.kernel_size
        return f"Conv {self.out_channels}@{k}x{k} s{self.stride} p{self.padding}"

    def clear(self):
        super().clear()
        self._cols = None

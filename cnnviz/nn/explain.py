"""One unit's computation with its real numbers, for the "explain this unit" tool (rule 4).

Plain loops straight from the paper's equations (0-based), like ``cnnviz.nn.naive``, but for ONE unit
and keeping every intermediate term so a student can see them. No batch axis: x_in is one example.
Shapes: x_in (C, H, W), W (F, C, k, k), b (F,), dz (F, OH, OW), a (in,), dense W (out, in).
"""

from __future__ import annotations

import numpy as np

from cnnviz.errors import ArchitectureError
from cnnviz.nn.loss import dlogits_from_log_probs, log_softmax
from cnnviz.nn.presets import model_from_config

WINDOW_KINDS = ("conv", "maxpool", "avgpool")
PASS_THROUGH = ("relu", "sigmoid", "tanh")


def _padded_value(x_in, c, row, col, padding):
    """a_pad[c, row, col]: the zero-padded input, read without building it."""
    r, q = row - padding, col - padding
    if 0 <= r < x_in.shape[1] and 0 <= q < x_in.shape[2]:
        return float(x_in[c, r, q])
    return 0.0


def explain_conv_unit(x_in, W, b, f, y, x, stride=1, padding=0) -> dict:
    """Eq. 6/8 for unit (f, y, x): z = sum_c sum_i sum_j W[f,c,i,j] * a_pad[c, y*s+i, x*s+j] + b[f].

    Returns a dict:
      rows, cols : (first, last) inclusive rows/columns of the receptive field in the layer's
                   (unpadded) input; may reach past its edge into the zero padding
      patch      : (C, k, k) float64, a_pad[c, y*s+i, x*s+j] (0 where it is padding)
      kernel     : (C, k, k) float64, W[f]
      products   : (C, k, k) patch * kernel, element-wise
      channel_sums : (C,) sum of each channel's products
      sum, bias, z : floats, z = sum + bias
    """
    x_in, W = np.asarray(x_in), np.asarray(W)
    channels, k = W.shape[1], W.shape[2]
    top, left = y * stride, x * stride
    patch = np.zeros((channels, k, k))
    kernel = np.zeros((channels, k, k))
    products = np.zeros((channels, k, k))
    channel_sums = np.zeros(channels)
    total = 0.0
    for c in range(channels):
        for i in range(k):
            for j in range(k):
                patch[c, i, j] = _padded_value(x_in, c, top + i, left + j, padding)
                kernel[c, i, j] = float(W[f, c, i, j])
                products[c, i, j] = kernel[c, i, j] * patch[c, i, j]
                channel_sums[c] += products[c, i, j]
        total += channel_sums[c]
    bias = float(b[f])
    return {"kind": "conv", "unit": (f, y, x), "stride": stride, "padding": padding, "k": k,
            "rows": (top - padding, top - padding + k - 1), "cols": (left - padding, left - padding + k - 1),
            "patch": patch, "kernel": kernel, "products": products, "channel_sums": channel_sums,
            "sum": total, "bias": bias, "z": total + bias}


def explain_pool_unit(x_in, size, stride, c, y, x, mode="max") -> dict:
    """Eq. 29 for pooled cell (c, y, x): its size x size window of the input and, for max-pooling,
    the winner, the first maximum in row-major order (the cell the pooling mask marks).

    Returns rows, cols (inclusive, in the input), window (size, size), winner (i, j) within the window,
    winner_at (row, col) in the input, value (the pooled output)."""
    top, left = y * stride, x * stride
    window = np.zeros((size, size))
    best, winner = -np.inf, (0, 0)
    total = 0.0
    for i in range(size):
        for j in range(size):
            window[i, j] = float(x_in[c, top + i, left + j])
            total += window[i, j]
            if window[i, j] > best:
                best, winner = window[i, j], (i, j)
    value = best if mode == "max" else total / (size * size)
    return {"kind": f"{mode}pool", "unit": (c, y, x), "rows": (top, top + size - 1),
            "cols": (left, left + size - 1), "window": window, "winner": winner if mode == "max" else None,
            "winner_at": (top + winner[0], left + winner[1]) if mode == "max" else None, "value": value}


def explain_dense_unit(a, W, b, unit, top=8) -> dict:
    """Eq. 1/5 for one unit: z = sum_i W[unit, i] a[i] + b[unit].

    Returns products (in,) = W[unit] * a, sum, bias, z, and ``top``: the (i, a_i, w_i, w_i a_i) terms
    with the largest |w_i a_i|, biggest first, and ``rest``: the sum of all other terms."""
    a = np.asarray(a).reshape(-1)
    products = np.zeros(a.size)
    total = 0.0
    for i in range(a.size):
        products[i] = float(W[unit, i]) * float(a[i])
        total += products[i]
    order = sorted(range(a.size), key=lambda i: -abs(products[i]))[:top]
    terms = [(i, float(a[i]), float(W[unit, i]), float(products[i])) for i in order]
    bias = float(b[unit])
    return {"kind": "dense", "unit": unit, "products": products, "top": terms,
            "rest": total - sum(t[3] for t in terms), "sum": total, "bias": bias, "z": total + bias}


def explain_conv_gradient(x_in, dz, f, c, i, j, stride=1, padding=0) -> dict:
    """Eq. 11 for one weight: dL/dW[f,c,i,j] = sum_y sum_x dz[f,y,x] * a_pad[c, y*s+i, x*s+j].

    Returns dz (OH, OW) of filter f, inputs (OH, OW) the a_pad value each position multiplies,
    terms (OH, OW) their products, and dW, their sum (one example's share of the batch gradient)."""
    out_h, out_w = dz.shape[1], dz.shape[2]
    inputs, terms = np.zeros((out_h, out_w)), np.zeros((out_h, out_w))
    total = 0.0
    for y in range(out_h):
        for x in range(out_w):
            inputs[y, x] = _padded_value(x_in, c, y * stride + i, x * stride + j, padding)
            terms[y, x] = float(dz[f, y, x]) * inputs[y, x]
            total += terms[y, x]
    return {"kind": "conv_dW", "weight": (f, c, i, j), "dz": np.array(dz[f], dtype=np.float64),
            "inputs": inputs, "terms": terms, "dW": total}


def explain_conv_unit_backward(x_in, dz, f, y, x, k, stride=1, padding=0) -> dict:
    """What unit (f, y, x) adds to dL/dW[f] (eq. 11, one term of the sum for every weight):
    dz[f,y,x] * a_pad[c, y*s+i, x*s+j], shape (C, k, k); and to dL/db[f] (eq. 12): dz[f,y,x]."""
    g = float(dz[f, y, x])
    channels = x_in.shape[0]
    contribution = np.zeros((channels, k, k))
    for c in range(channels):
        for i in range(k):
            for j in range(k):
                contribution[c, i, j] = g * _padded_value(x_in, c, y * stride + i, x * stride + j, padding)
    return {"dz": g, "dW": contribution, "db": g}


# -- receptive field through the chain ------------------------------------------------------
def _layer_configs(model_or_configs) -> list[dict]:
    if hasattr(model_or_configs, "layers") and hasattr(model_or_configs, "config"):
        return list(model_or_configs.config()["layers"])
    if isinstance(model_or_configs, dict):
        return list(model_or_configs["layers"])
    return [c if isinstance(c, dict) else c.config() for c in model_or_configs]


def _window(config: dict) -> tuple[int, int, int]:
    """(k, stride, padding) of a conv or pooling layer's config."""
    if config["type"] == "conv":
        return int(config["kernel"]), int(config.get("stride", 1)), int(config.get("padding", 0))
    size = int(config.get("size", 2))
    return size, int(config.get("stride", size)), 0


def receptive_field(model_or_layer_configs, layer_index, y, x) -> tuple[int, int, int, int]:
    """(top, left, bottom, right), inclusive, of the pixels of the original image that unit (y, x) of
    layer ``layer_index``'s output depends on. Walks back through every conv/pool: an output range
    [lo, hi] comes from the input range [lo*s - p, hi*s - p + k - 1]; activations keep it.
    The range may reach past the image's edge where layers zero-pad.

    model_or_layer_configs: a Sequential, its ``config()`` dict, or a list of layer configs/layers.
    ArchitectureError for a layer at or after Flatten (a flat unit sees the whole image)."""
    configs = _layer_configs(model_or_layer_configs)
    top, bottom, left, right = y, y, x, x
    for config in reversed(configs[: layer_index + 1]):
        kind = config["type"]
        if kind in WINDOW_KINDS:
            k, s, p = _window(config)
            top, bottom = top * s - p, bottom * s - p + k - 1
            left, right = left * s - p, right * s - p + k - 1
        elif kind not in PASS_THROUGH:
            raise ArchitectureError(
                f"layer {layer_index} comes after a {kind} layer, so each of its units sees the whole image.")
    return top, left, bottom, right


# -- finite differences ---------------------------------------------------------------------
def _float64_copy(model):
    """The same architecture rebuilt from its config, with float64 copies of the weights (the
    caller's remembered activations are not copied: they are not needed and may be large)."""
    twin = model_from_config(model.config())
    for mine, theirs in zip(twin.layers, model.layers):
        mine.params = {key: np.array(value, dtype=np.float64) for key, value in theirs.params.items()}
        mine.grads = {key: np.zeros_like(value) for key, value in mine.params.items()}
    return twin


def _loss_and_dlogits(model, x, labels):
    """Mean cross-entropy in float64 and dL/dlogits = (p - onehot) / N (eq. 34, 36)."""
    out = x
    for layer in model.layers:       # not model.forward: it would cast to float32
        out = layer.forward(out)
    log_probs = log_softmax(out)
    loss = float(-log_probs[np.arange(len(labels)), labels].mean())
    return loss, dlogits_from_log_probs(log_probs, labels)


def finite_difference_check(model, x, y, layer_index, key, flat_index, eps=1e-3) -> tuple[float, float]:
    """dL/d(param) two ways, for ``model.layers[layer_index].params[key].flat[flat_index]``:
    (analytic from backward, numeric (L(w+eps) - L(w-eps)) / 2eps), both in float64 on a deep copy
    of the model, so the caller's weights, grads and remembered arrays are never touched.

    x: (N, C, H, W) images, y: (N,) int labels; L is the batch-mean cross-entropy. Near a kink (a ReLU
    at 0, a max-pool window whose winner changes within +-eps) the two may differ; a smaller eps
    (1e-4 works well in float64) steps over fewer kinks."""
    twin = _float64_copy(model)
    x64 = np.asarray(x, dtype=np.float64)
    labels = np.asarray(y, dtype=np.int64).reshape(-1)
    _, dlogits = _loss_and_dlogits(twin, x64, labels)
    grad = dlogits
    for layer in reversed(twin.layers):
        grad = layer.backward(grad)
    analytic = float(twin.layers[layer_index].grads[key].flat[flat_index])
    weights = twin.layers[layer_index].params[key].reshape(-1)
    saved = weights[flat_index]
    weights[flat_index] = saved + eps
    plus, _ = _loss_and_dlogits(twin, x64, labels)
    weights[flat_index] = saved - eps
    minus, _ = _loss_and_dlogits(twin, x64, labels)
    weights[flat_index] = saved
    return analytic, (plus - minus) / (2 * eps)

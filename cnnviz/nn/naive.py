"""Plain-loop twins of every fast kernel, written straight from the paper's equations (0-based).

Slow on purpose: one Python loop per index, no vectorisation, float64 accumulation. Tests compare the
fast layers against these; the GUI's unit inspector can show the same loop's numbers.
Shapes: x (N, C, H, W), W (F, C, k, k), b (F,), z (N, F, OH, OW).
"""

from __future__ import annotations

import math

import numpy as np


def pad_naive(x, p):
    n, c, h, w = x.shape
    out = np.zeros((n, c, h + 2 * p, w + 2 * p), dtype=np.float64)
    for ni in range(n):
        for ci in range(c):
            for y in range(h):
                for xx in range(w):
                    out[ni, ci, y + p, xx + p] = x[ni, ci, y, xx]
    return out


def conv_forward_naive(x, W, b, stride=1, padding=0):
    """Eq. 6/8: z[n,f,y,x] = sum_c sum_i sum_j W[f,c,i,j] * a_pad[n,c,y*s+i, x*s+j] + b[f]."""
    a = pad_naive(x, padding)
    n, c, hp, wp = a.shape
    f, _, k, _ = W.shape
    out_h, out_w = (hp - k) // stride + 1, (wp - k) // stride + 1
    z = np.zeros((n, f, out_h, out_w))
    for ni in range(n):
        for fi in range(f):
            for y in range(out_h):
                for xx in range(out_w):
                    total = 0.0
                    for ci in range(c):
                        for i in range(k):
                            for j in range(k):
                                total += W[fi, ci, i, j] * a[ni, ci, y * stride + i, xx * stride + j]
                    z[ni, fi, y, xx] = total + b[fi]
    return z


def conv_backward_naive(x, W, dz, stride=1, padding=0):
    """Eq. 10-12 for one conv layer. Returns (dL/dx, dL/dW, dL/db).

    dL/dW[f,c,i,j] = sum_n sum_y sum_x dz[n,f,y,x] * a_pad[n,c,y*s+i, x*s+j]      (eq. 11)
    dL/da_pad[n,c,y*s+i, x*s+j] += W[f,c,i,j] * dz[n,f,y,x], then the padding cut off (eq. 10)
    dL/db[f] = sum_n sum_y sum_x dz[n,f,y,x]                                     (eq. 12)"""
    a = pad_naive(x, padding)
    n, c, hp, wp = a.shape
    f, _, k, _ = W.shape
    _, _, out_h, out_w = dz.shape
    dW, db, da = np.zeros(W.shape), np.zeros(f), np.zeros(a.shape)
    for ni in range(n):
        for fi in range(f):
            for y in range(out_h):
                for xx in range(out_w):
                    g = dz[ni, fi, y, xx]
                    db[fi] += g
                    for ci in range(c):
                        for i in range(k):
                            for j in range(k):
                                dW[fi, ci, i, j] += g * a[ni, ci, y * stride + i, xx * stride + j]
                                da[ni, ci, y * stride + i, xx * stride + j] += g * W[fi, ci, i, j]
    h, w = x.shape[2:]
    return da[:, :, padding : padding + h, padding : padding + w], dW, db


def maxpool_forward_naive(x, size=2, stride=2):
    """Eq. 29: out[n,c,y,x] = max over the window; the winner is the first maximum in row-major order.
    Returns (out, mask) with mask True at every cell that won at least one window."""
    n, c, h, w = x.shape
    out_h, out_w = (h - size) // stride + 1, (w - size) // stride + 1
    out = np.zeros((n, c, out_h, out_w))
    mask = np.zeros(x.shape, dtype=bool)
    for ni in range(n):
        for ci in range(c):
            for y in range(out_h):
                for xx in range(out_w):
                    best, where = -np.inf, None
                    for i in range(size):
                        for j in range(size):
                            value = x[ni, ci, y * stride + i, xx * stride + j]
                            if value > best:
                                best, where = value, (y * stride + i, xx * stride + j)
                    out[ni, ci, y, xx] = best
                    mask[(ni, ci) + where] = True
    return out, mask


def maxpool_backward_naive(x, dout, size=2, stride=2):
    """Eq. 30: each window's gradient goes to its winner only (summed where windows overlap)."""
    n, c, _, _ = x.shape
    _, _, out_h, out_w = dout.shape
    dx = np.zeros(x.shape)
    for ni in range(n):
        for ci in range(c):
            for y in range(out_h):
                for xx in range(out_w):
                    best, where = -np.inf, None
                    for i in range(size):
                        for j in range(size):
                            value = x[ni, ci, y * stride + i, xx * stride + j]
                            if value > best:
                                best, where = value, (y * stride + i, xx * stride + j)
                    dx[(ni, ci) + where] += dout[ni, ci, y, xx]
    return dx


def avgpool_forward_naive(x, size=2, stride=2):
    n, c, h, w = x.shape
    out_h, out_w = (h - size) // stride + 1, (w - size) // stride + 1
    out = np.zeros((n, c, out_h, out_w))
    for ni in range(n):
        for ci in range(c):
            for y in range(out_h):
                for xx in range(out_w):
                    total = 0.0
                    for i in range(size):
                        for j in range(size):
                            total += x[ni, ci, y * stride + i, xx * stride + j]
                    out[ni, ci, y, xx] = total / (size * size)
    return out


def avgpool_backward_naive(x, dout, size=2, stride=2):
    n, c, _, _ = x.shape
    _, _, out_h, out_w = dout.shape
    dx = np.zeros(x.shape)
    for ni in range(n):
        for ci in range(c):
            for y in range(out_h):
                for xx in range(out_w):
                    for i in range(size):
                        for j in range(size):
                            dx[ni, ci, y * stride + i, xx * stride + j] += dout[ni, ci, y, xx] / (size * size)
    return dx


def dense_forward_naive(a, W, b):
    """Eq. 1/5: z[n,o] = sum_i W[o,i] a[n,i] + b[o]."""
    n, inputs = a.shape
    outputs = W.shape[0]
    z = np.zeros((n, outputs))
    for ni in range(n):
        for o in range(outputs):
            total = b[o]
            for i in range(inputs):
                total += W[o, i] * a[ni, i]
            z[ni, o] = total
    return z


def dense_backward_naive(a, W, dz):
    """Eq. 2-4: dL/da = W^T dz, dL/dW = dz a^T (summed over n), dL/db = dz (summed over n)."""
    n, inputs = a.shape
    outputs = W.shape[0]
    da, dW, db = np.zeros(a.shape), np.zeros(W.shape), np.zeros(outputs)
    for ni in range(n):
        for o in range(outputs):
            db[o] += dz[ni, o]
            for i in range(inputs):
                dW[o, i] += dz[ni, o] * a[ni, i]
                da[ni, i] += W[o, i] * dz[ni, o]
    return da, dW, db


def softmax_xent_naive(logits, labels):
    """Eq. 33-36: p = exp(z)/sum exp(z); L = mean_n -log p[n, y_n]; dL/dz = (p - onehot)/N.

    Written for exactness without the fast path's tricks: p[y] - 1 is minus the sum of the other
    classes' probabilities (they sum to 1), and the log of the sum is log1p of the terms other than
    the largest logit's (which is exactly 1), so a confident image's tiny values keep their digits."""
    n, k = logits.shape
    probs = np.zeros((n, k))
    grad = np.zeros((n, k))
    loss = 0.0
    for ni in range(n):
        row = [float(v) for v in logits[ni]]
        top = max(row)
        first_top = row.index(top)
        rest = math.fsum(math.exp(row[j] - top) for j in range(k) if j != first_top)
        total = 1.0 + rest
        for j in range(k):
            probs[ni, j] = math.exp(row[j] - top) / total
        y = int(labels[ni])
        loss += math.log1p(rest) - (row[y] - top)
        for j in range(k):
            grad[ni, j] = probs[ni, j]
        grad[ni, y] = -math.fsum(probs[ni, j] for j in range(k) if j != y)
    return loss / n, probs, grad / n

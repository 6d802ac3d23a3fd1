"""Dead ReLU channels: conv channels that are never positive, so they pass no signal and learn nothing.

A channel of a conv layer followed by a ReLU is *dead* on a set of images when its pre-activation
z[n, c, y, x] <= 0 at every position of every image: its ReLU output is 0 everywhere, its gradient
(eq. 32) is 0 everywhere, and its filter gets dL/dW = 0 from then on. A too-large learning rate
kills channels this way; they rarely come back.

``dead_channels(model, x)`` answers it for a set of images (e.g. 1,000 test images);
``ActivityTracker`` answers it cheaply for the last N training images, fed after each training
forward pass. Both report ``{conv layer index: [dead channel, ...]}`` for every conv layer whose next
layer is a ReLU (an empty list when all its channels live).
"""

from __future__ import annotations

from collections import deque

import numpy as np

from cnnviz.nn.activations import ReLU
from cnnviz.nn.conv import Conv2D
from cnnviz.nn.layer import DTYPE


def relu_conv_layers(model) -> list[int]:
    """Indices into ``model.layers`` of the conv layers directly followed by a ReLU."""
    layers = model.layers
    return [i for i in range(len(layers) - 1) if isinstance(layers[i], Conv2D) and isinstance(layers[i + 1], ReLU)]


def positive_in_batch(z: np.ndarray) -> np.ndarray:
    """z (N, F, H, W) -> bool (F,): was channel f positive anywhere in the batch.

    A conv layer's output is an NCHW view of an (F, N, H, W) buffer, so the reduction runs over
    that contiguous buffer (another layout is copied first: still right, only slower)."""
    by_channel = z.transpose(1, 0, 2, 3)
    return by_channel.reshape(by_channel.shape[0], -1).max(axis=1) > 0


def dead_channels(model, x: np.ndarray, batch: int = 100) -> dict[int, list[int]]:
    """{conv layer index: [channels never positive on any of the images x]} for every conv layer
    followed by a ReLU. x: (N, C, H, W) float32, normalised as for training; run ``batch`` images
    per forward pass. This runs ``model.forward``, so the layers' remembered arrays (what the GUI
    shows) are replaced; afterwards the model is cleared, as after ``model.clear()``."""
    watched = relu_conv_layers(model)
    if not watched:
        return {}
    alive = {i: np.zeros(model.layers[i].out_channels, dtype=bool) for i in watched}
    for start in range(0, len(x), batch):
        out = np.asarray(x[start:start + batch], dtype=DTYPE)
        for i, layer in enumerate(model.layers):
            out = layer.forward(out)
            if i in alive:
                alive[i] |= positive_in_batch(out)
            if i == watched[-1]:
                break   # the layers after the last watched conv decide nothing here
    model.clear()
    return {i: np.flatnonzero(~alive[i]).tolist() for i in watched}


class ActivityTracker:
    """Which conv channels were positive on any of the last ``window`` training images.

    Call ``observe(model)`` after each training forward pass: it reads each watched conv layer's
    ``output`` (N, F, H, W) and records, per channel, whether it was positive anywhere in the batch.
    ``dead()`` -> {conv layer index: [channels positive on none of the last ``images`` images]}.
    Images are counted in whole batches: the answer covers the newest batches that together hold at
    least ``window`` images (``images`` says how many; fewer until that many have been seen).
    Cost: one max-reduction over each watched layer's output per batch, 20-30 us for the seed network
    at batch 32, 0.2% of a training step (benchmarks/bench_engine.py measures the two side by side).
    Per-image records would cost 2.4x as much: a reduction per image row is slower than one per
    channel over the whole contiguous batch."""

    def __init__(self, model, window: int = 1000) -> None:
        if isinstance(window, bool) or int(window) != window or window < 1:
            raise ValueError(f"the activity window must be a whole number of images >= 1, not {window!r}.")
        self.window = int(window)
        self.layers = relu_conv_layers(model)
        self._channels = {i: model.layers[i].out_channels for i in self.layers}
        self._batches: deque[tuple[int, dict[int, np.ndarray]]] = deque()   # (images, {layer: alive (F,)})
        self.images = 0       # images the kept batches hold
        self.total = 0        # images observed since the start or the last reset

    def reset(self) -> None:
        """Forget everything seen (fresh weights: the old activity says nothing about them)."""
        self._batches.clear()
        self.images = self.total = 0

    def observe(self, model) -> None:
        """Record the last forward pass of ``model`` (the same architecture the tracker was made for)."""
        if not self.layers:
            return
        alive = {i: positive_in_batch(model.layers[i].output) for i in self.layers}
        n = len(model.layers[self.layers[0]].output)
        self._batches.append((n, alive))
        self.images += n
        self.total += n
        while len(self._batches) > 1 and self.images - self._batches[0][0] >= self.window:
            self.images -= self._batches.popleft()[0]   # the rest still hold a whole window

    def dead(self) -> dict[int, list[int]]:
        """{conv layer index: [channels positive on none of the last ``images`` images]}; with no
        image observed yet every list is empty (nothing is known to be dead)."""
        if not self._batches:
            return {i: [] for i in self.layers}
        result = {}
        for i in self.layers:
            alive = np.zeros(self._channels[i], dtype=bool)
            for _, record in self._batches:
                alive |= record[i]
            result[i] = np.flatnonzero(~alive).tolist()
        return result

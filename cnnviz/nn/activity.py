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

import numpy as np

from cnnviz.nn.activations import ReLU
from cnnviz.nn.conv import Conv2D
from cnnviz.nn.layer import DTYPE


def relu_conv_layers(model) -> list[int]:
    """Indices into ``model.layers`` of the conv layers directly followed by a ReLU."""
    layers = model.layers
    return [i for i in range(len(layers) - 1) if isinstance(layers[i], Conv2D) and isinstance(layers[i + 1], ReLU)]


def positive_per_image(z: np.ndarray) -> np.ndarray:
    """z (N, F, H, W) -> bool (F, N): was channel f positive anywhere in image n.

    A conv layer's output is an NCHW view of an (F, N, H, W) buffer, so the reduction runs over
    that contiguous buffer when it can (several times faster than over the strided view)."""
    by_channel = z.transpose(1, 0, 2, 3)
    n_channels, n = by_channel.shape[:2]
    return by_channel.reshape(n_channels, n, -1).max(axis=2) > 0


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
                alive[i] |= positive_per_image(out).any(axis=1)
            if i == watched[-1]:
                break   # the layers after the last watched conv decide nothing here
    model.clear()
    return {i: np.flatnonzero(~alive[i]).tolist() for i in watched}


class ActivityTracker:
    """Which conv channels were positive on any of the last ``window`` training images.

    Call ``observe(model)`` after each training forward pass (it reads each watched conv layer's
    ``output``, (N, F, H, W)); ``dead()`` -> {conv layer index: [channels not positive on any of the
    last ``images`` images]}. Until ``window`` images have been seen it answers for those seen so
    far (``images`` says how many). Memory: one bool per channel per image of the window.
    Cost: one max-reduction over each watched layer's output per batch (measured in
    benchmarks/bench_engine.py: well under 1% of a training step of the seed network)."""

    def __init__(self, model, window: int = 1000) -> None:
        if int(window) != window or window < 1:
            raise ValueError(f"the activity window must be a whole number of images >= 1, not {window!r}.")
        self.window = int(window)
        self.layers = relu_conv_layers(model)
        self._seen = {i: np.zeros((model.layers[i].out_channels, self.window), dtype=bool) for i in self.layers}
        self._next = 0        # ring position of the next image
        self.total = 0        # images observed since the start or the last reset

    @property
    def images(self) -> int:
        """How many images ``dead()`` speaks about: min(window, images observed)."""
        return min(self.total, self.window)

    def reset(self) -> None:
        """Forget everything seen (fresh weights: the old activity says nothing about them)."""
        for seen in self._seen.values():
            seen[:] = False
        self._next = self.total = 0

    def observe(self, model) -> None:
        """Record the last forward pass of ``model`` (the same architecture the tracker was made for)."""
        n = None
        for i in self.layers:
            positive = positive_per_image(model.layers[i].output)
            n = positive.shape[1]
            if n >= self.window:
                self._seen[i][:] = positive[:, -self.window:]
            else:
                where = (self._next + np.arange(n)) % self.window
                self._seen[i][:, where] = positive
        if n is not None:
            self._next = (self._next + n) % self.window
            self.total += n

    def dead(self) -> dict[int, list[int]]:
        """{conv layer index: [channels not positive on any of the last ``images`` images]};
        with no image observed yet every list is empty (nothing is known to be dead)."""
        if not self.total:
            return {i: [] for i in self.layers}
        return {i: np.flatnonzero(~seen.any(axis=1)).tolist() for i, seen in self._seen.items()}

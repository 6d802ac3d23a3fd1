"""The probe image: a test image chosen by number, or one the user drew. Without Qt."""

from __future__ import annotations

import numpy as np


def _shape(shape) -> str:
    return "x".join(str(int(n)) for n in shape)


def drawn_probe(dataset, image) -> np.ndarray:
    """A drawn image (C, H, W) or (H, W), values in 0..1 (0 = background, as MNIST) -> the network's
    input (C, H, W) float32, normalised like the dataset ((x - mean) / std, see
    ``cnnviz.data.pipeline.normalize``), read-only. A one-channel drawing is repeated over the
    channels of a colour dataset. ValueError (one sentence) for a wrong shape or values."""
    want = tuple(int(n) for n in dataset.input_shape)
    try:
        x = np.array(image, dtype=np.float32)
    except (TypeError, ValueError):
        raise ValueError(f"the drawn image must be an array of numbers, not {type(image).__name__}.") from None
    if x.ndim == 2:
        x = x[None]
    if x.ndim == 3 and x.shape[0] == 1 and x.shape[1:] == want[1:]:
        x = np.repeat(x, want[0], axis=0)
    if x.shape != want:
        raise ValueError(f"the drawn image is {_shape(np.shape(image))}, but the network of dataset "
                         f"{dataset.name} takes {_shape(want)} images (channels x height x width).")
    if not np.isfinite(x).all() or x.min() < 0 or x.max() > 1:
        raise ValueError(f"the drawn image's values must lie between 0 and 1, but they go from "
                         f"{float(np.nanmin(x)):g} to {float(np.nanmax(x)):g}.")
    mean, std = float(getattr(dataset, "mean", 0.0)), float(getattr(dataset, "std", 1.0))
    normalised = ((x - np.float32(mean)) / np.float32(std)).astype(np.float32)
    normalised.setflags(write=False)
    return normalised

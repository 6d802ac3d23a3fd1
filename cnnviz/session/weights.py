"""Copies of the mutable training state, restored in place.

Restoring writes into the existing arrays (``np.copyto``) rather than swapping them, because layers,
the optimizer and the probe twin all hold references to the same weight arrays.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cnnviz.nn import Optimizer, Sequential


def frozen_copy(array: np.ndarray) -> np.ndarray:
    copy = np.array(array, copy=True)
    copy.setflags(write=False)
    return copy


def copy_arrays(per_layer: list[dict[str, np.ndarray]]) -> tuple[dict[str, np.ndarray], ...]:
    """Read-only copies of per-layer dicts of arrays (e.g. every layer's params or grads)."""
    return tuple({key: frozen_copy(value) for key, value in arrays.items()} for arrays in per_layer)


def restore_arrays(saved: tuple[dict[str, np.ndarray], ...], per_layer: list[dict[str, np.ndarray]]) -> None:
    for source, target in zip(saved, per_layer):
        for key, value in source.items():
            np.copyto(target[key], value)


@dataclass(frozen=True)
class WeightsCopy:
    """Weights and optimizer state at one moment. params: per layer ({} where a layer has none)."""

    params: tuple[dict[str, np.ndarray], ...]
    optimizer: dict[str, np.ndarray]
    t: int

    @property
    def nbytes(self) -> int:
        return (sum(a.nbytes for layer in self.params for a in layer.values())
                + sum(a.nbytes for a in self.optimizer.values()))


def copy_weights(model: Sequential, optimizer: Optimizer) -> WeightsCopy:
    state = {name: frozen_copy(value) for name, value in optimizer.state_arrays().items()}
    return WeightsCopy(copy_arrays([layer.params for layer in model.layers]), state, optimizer.t)


def restore_weights(saved: WeightsCopy, model: Sequential, optimizer: Optimizer) -> None:
    """Put weights and optimizer moments back, in place."""
    restore_arrays(saved.params, [layer.params for layer in model.layers])
    live = optimizer.state_arrays()
    for name, value in saved.optimizer.items():
        np.copyto(live[name], value)
    optimizer.t = saved.t


class DeltaTracker:
    """ΔW of the last update (W_after - W_before), cheaply.

    W_before is copied into buffers allocated once, and only for updates someone will look at
    (``track=True``); an untracked update or a restore of the weights makes the delta unknown."""

    def __init__(self, model: Sequential) -> None:
        self._before = [{key: np.empty_like(value) for key, value in layer.params.items()}
                        for layer in model.layers]
        self.valid = False

    def before_update(self, model: Sequential, track: bool) -> None:
        if track:
            for buffers, layer in zip(self._before, model.layers):
                for key, value in layer.params.items():
                    np.copyto(buffers[key], value)
        self.valid = track

    def forget(self) -> None:
        self.valid = False

    def delta(self, model: Sequential) -> list[dict[str, np.ndarray]] | None:
        """Per layer {key: W_after - W_before} (new arrays, {} for layers without params), or None."""
        if not self.valid:
            return None
        return [{key: layer.params[key] - before[key] for key in before}
                for before, layer in zip(self._before, model.layers)]

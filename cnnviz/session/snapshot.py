"""Frozen Snapshots: everything the panels draw, copied out of the live model and made read-only.

The worker thread builds them; the GUI only ever reads them (rule 5). Arrays are per example (no
batch axis): a conv layer's output is (F, OH, OW), a dense layer's (units,). Parameters and their
gradients keep the engine's shapes: conv ``W`` (F, C, k, k), dense ``W`` (out, in).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from cnnviz.nn import Sequential

PHASES = ("idle", "training", "forward", "loss", "backward", "update")


def freeze(array: np.ndarray | None, example: int | None = None) -> np.ndarray | None:
    """A read-only copy (never a view of the live model); ``example`` picks one item of the batch."""
    if array is None:
        return None
    if example is not None:
        array = array[example]
    copy = np.array(array, copy=True)
    copy.setflags(write=False)
    return copy


def freeze_dict(arrays: dict[str, np.ndarray] | None) -> dict[str, np.ndarray]:
    return {key: freeze(value) for key, value in (arrays or {}).items()}


@dataclass(frozen=True)
class LayerState:
    """One layer as it was at the snapshot. Unset arrays are None (e.g. before the first backward)."""

    index: int
    name: str                      # "layer 0 (conv)"
    kind: str                      # conv, dense, maxpool, avgpool, relu, sigmoid, tanh, flatten
    label: str                     # "Conv 8@5x5 s1 p0"
    input_shape: tuple             # one example, e.g. (1, 28, 28)
    output_shape: tuple            # one example, e.g. (8, 24, 24)
    input: np.ndarray | None = None            # what the layer saw, for the probe example
    output: np.ndarray | None = None           # what it produced
    pre_activation: np.ndarray | None = None   # z (conv/dense/pool: output; activation: its input)
    dL_dout: np.ndarray | None = None          # gradient arriving from above, for the probe example
    dL_dinput: np.ndarray | None = None        # gradient it passes down
    mask: np.ndarray | None = None             # max-pool winners, bool, shaped like ``input``
    params: dict = field(default_factory=dict)   # "W", "b"
    grads: dict = field(default_factory=dict)    # dL/dW, dL/db of the last backward (batch mean)
    update: dict = field(default_factory=dict)   # last change applied: W_after - W_before
    config: dict = field(default_factory=dict)   # the layer's settings, e.g. {"type": "maxpool", "size": 2, "stride": 2}

    @property
    def has_params(self) -> bool:
        return bool(self.params)


@dataclass(frozen=True)
class Snapshot:
    """What the network looked like at one moment, for the panels to draw.

    ``phase`` is one of PHASES; ``layer_index`` is the layer that just ran in that phase (None when
    not stepping). ``probe_*`` describe the image whose maps are shown."""

    seq: int
    layers: tuple[LayerState, ...]
    phase: str = "idle"
    layer_index: int | None = None
    step: int = 0                  # optimizer updates applied so far
    epoch: int = 0
    images_seen: int = 0
    batch_loss: float | None = None
    batch_accuracy: float | None = None
    val_accuracy: float | None = None
    lr: float = 0.0
    images_per_second: float = 0.0
    probe_image: np.ndarray | None = None      # (C, H, W) normalised, as fed to the network
    probe_display: np.ndarray | None = None    # (C, H, W) in 0..1 for showing
    probe_label: int | None = None
    probe_index: int | None = None
    probe_split: str = "test"                  # probe_index counts in "test" (live) or "train" (stepping);
                                               # "drawn": a drawn image, probe_label and probe_index None
    probs: np.ndarray | None = None            # (classes,) softmax of the probe
    walk_images: int | None = None             # stepping walk: how many images it runs (dL/dW is their mean)
    probe_loss: float | None = None
    class_names: tuple[str, ...] = ()
    dataset: str = ""
    preset: str = ""
    message: str = ""                          # one sentence for the status bar / caption
    curves: dict = field(default_factory=dict)  # name -> read-only (2, n) array: images_seen, value
    # statistics over time: read-only ``layer_stats`` records (mappings, see cnnviz.session.stats),
    # oldest first, every STATS_EVERY batches, evenly thinned when long; shared by snapshots
    stats: tuple = ()
    # the last validation (read-only mapping, see stats_history.validation_record): confusion (K, K),
    # accuracy, size, step, and up to 32 misclassified: images (M, C, H, W) 0..1, labels, predicted,
    # indices (M,) into the test set, wrong = arange(M); None before the first validation
    validation: Mapping | None = None


def capture_layers(model: Sequential, example: int = 0, grads_from: Sequential | None = None,
                   updates: list[dict] | None = None) -> tuple[LayerState, ...]:
    """Copy every layer's remembered arrays for batch item ``example``.

    grads_from: take dL/dW, dL/db from this model instead (the training model, when ``model`` is a
    probe twin that shares its weights). updates: per layer dicts of the last ΔW (or None)."""
    shapes = model.shapes or [None] * len(model.layers)
    in_shapes = [model.input_shape] + list(shapes[:-1])
    states = []
    for i, layer in enumerate(model.layers):
        grad_layer = (grads_from or model).layers[i]
        n_items = None if layer.input is None else len(layer.input)
        pick = example if n_items and example < n_items else None
        take = (lambda a: None if a is None or pick is None else freeze(a, pick))
        states.append(LayerState(
            index=i, name=layer.name, kind=layer.kind, label=layer.describe(),
            input_shape=tuple(in_shapes[i] or ()), output_shape=tuple(shapes[i] or ()),
            input=take(layer.input), output=take(layer.output), pre_activation=take(layer.pre_activation),
            dL_dout=take(layer.dL_dout), dL_dinput=take(layer.dL_dinput),
            mask=take(getattr(layer, "mask", None)),
            params=freeze_dict(layer.params), grads=freeze_dict(grad_layer.grads),
            update=freeze_dict(updates[i]) if updates and updates[i] else {},
            config=layer.config(),
        ))
    return tuple(states)


def probe_twin(model: Sequential) -> Sequential:
    """A second model sharing ``model``'s weight arrays (so it always sees the current weights) but
    with its own remembered activations and gradients: running the probe through it disturbs
    nothing the training model keeps."""
    from cnnviz.nn import model_from_config

    twin = model_from_config(model.config())
    for mine, theirs in zip(twin.layers, model.layers):
        mine.params = theirs.params
        mine.grads = {key: np.zeros_like(value) for key, value in theirs.params.items()}
    return twin

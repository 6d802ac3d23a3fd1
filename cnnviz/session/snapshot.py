"""Frozen Snapshots: everything the panels draw, copied out of the live model and made read-only,
and how they are built from the trainer (live) or from a stepping walk.

The worker builds them; the GUI only ever reads them (rule 5). Arrays are per example (no batch
axis): a conv layer's output is (F, OH, OW), a dense layer's (units,). Parameters and their
gradients keep the engine's shapes: conv ``W`` (F, C, k, k), dense ``W`` (out, in). All copying
happens here, once per snapshot: ``capture_layers`` freezes every array it takes. ``freeze`` is the
one way anything in cnnviz.session is made read-only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType

import numpy as np

from cnnviz.nn import PAPER_SETTINGS, Sequential

PHASES = ("idle", "training", "forward", "loss", "backward", "update")


def freeze(value, example: int | None = None, copy: bool = True):
    """A read-only version of ``value``, never a view of live data.

    An array is copied (``example`` picks one item of its batch axis) and the copy made read-only;
    copy=False makes it read-only in place, for a fresh array the caller gives away (a statistics
    record, a computed ΔW). A mapping becomes a read-only mapping (MappingProxyType) of frozen values,
    a list or tuple a tuple of them; None and scalars stay as they are."""
    if isinstance(value, np.ndarray):
        if example is not None:
            value = value[example]
        if copy:
            value = np.array(value, copy=True)
        value.setflags(write=False)
        return value
    if isinstance(value, Mapping):
        return MappingProxyType({key: freeze(item, copy=copy) for key, item in value.items()})
    if isinstance(value, (list, tuple)):
        return tuple(freeze(item, copy=copy) for item in value)
    return value


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
    # channels never positive on the last ``Snapshot.activity_images`` training images (a conv layer
    # followed by a ReLU, and the ReLU and pooling layers carrying its channels); None: not watched
    dead: tuple | None = None

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
    lr: float = 0.0                            # the base learning rate (what the toolbar sets)
    current_lr: float | None = None            # the rate the next update uses: lr scaled by the schedule
    schedule: str = ""                         # the schedule in words, e.g. "linear decay to 5%"
    paper_settings: bool = False               # trained with the paper's settings (PAPER_SETTINGS)
    activity_images: int = 0                   # training images the dead-channel flags (LayerState.dead) cover
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
    # the last validation (read-only mapping, see stats.validation_record): confusion (K, K),
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
            params=freeze(layer.params), grads=freeze(grad_layer.grads),
            update=freeze(updates[i]) if updates and updates[i] else {},
            config=layer.config(),
        ))
    return tuple(states)


CARRY_CHANNELS = ("relu", "sigmoid", "tanh", "maxpool", "avgpool")   # channel c in, channel c out


def with_dead(layers: tuple, dead: Mapping | None) -> tuple:
    """Attach the dead channels ({conv layer index: [channels]}, ``Trainer.dead_channels()``) to each
    watched conv layer and to the layers after it that carry its channels one to one (its ReLU, a
    pooling layer): a channel dead at the conv is a black map in each of them."""
    if not dead:
        return layers
    flags: dict[int, tuple] = {}
    for index, channels in dead.items():
        flags[index] = tuple(int(c) for c in channels)
        after = index + 1
        while after < len(layers) and layers[after].kind in CARRY_CHANNELS:
            flags[after] = flags[index]
            after += 1
    return tuple(replace(layer, dead=flags[i]) if i in flags else layer for i, layer in enumerate(layers))


def probe_twin(model: Sequential) -> Sequential:
    """A second model sharing ``model``'s weight arrays (so it always sees the current weights) but
    with its own remembered activations: running the probe through it disturbs nothing the training
    model keeps. Its backward computes no dL/dW (``param_gradients`` off): a snapshot shows the
    training model's, so the twin's would be thrown away (0.26 of 1.13 ms per snapshot measured)."""
    from cnnviz.nn import model_from_config

    twin = model_from_config(model.config())
    for mine, theirs in zip(twin.layers, model.layers):
        mine.params = theirs.params
        mine.grads = {key: np.zeros_like(value) for key, value in theirs.params.items()}
    twin.param_gradients = False
    return twin


# -- building snapshots from the trainer and the stepper ------------------------------------------
def display_image(dataset, x: np.ndarray) -> np.ndarray:
    """(C, H, W) normalised image -> read-only (C, H, W) float32 in 0..1 for showing.

    The dataset's own ``display_image`` undoes its normalisation (true brightness); a dataset
    without one gets the image's range stretched to 0..1."""
    if hasattr(dataset, "display_image"):
        shown = dataset.display_image(x)
    else:
        low, high = float(x.min()), float(x.max())
        shown = (x - low) / (high - low) if high > low else np.zeros_like(x)
    return freeze(np.asarray(shown, np.float32))


def with_updates(layers: tuple, updates: list | None) -> tuple:
    """Attach per-layer ΔW dicts without copying ΔW twice: a fresh W_after - W_before array that
    nobody else holds (``DeltaTracker.delta``) is made read-only in place, a read-only one is a
    recorded copy already (the stepper's history), anything else is copied."""
    if not updates:
        return layers
    attached = []
    for layer, update in zip(layers, updates):
        frozen = {}
        for key, value in (update or {}).items():
            if value.flags.writeable:
                value = freeze(value, copy=not (value.base is None and value.flags.owndata))
            frozen[key] = value
        attached.append(replace(layer, update=MappingProxyType(frozen)))
    return tuple(attached)


def share_recorded_arrays(layers: tuple, record, first_with_grads: int) -> tuple:
    """Use the step record's read-only weights and dL/dW instead of fresh copies: consecutive step
    snapshots then share them (a flood of unread steps costs ~1 MB less each). Layers below
    ``first_with_grads`` have not run backward in this walk and show no dL/dW."""
    shared = []
    for i, layer in enumerate(layers):
        grads = MappingProxyType(dict(record.grads[i])) if i >= first_with_grads else {}
        shared.append(replace(layer, params=MappingProxyType(dict(record.weights.params[i])), grads=grads))
    return tuple(shared)


def common_fields(trainer) -> dict:
    """Snapshot fields that say where training stands, the same in live and step mode."""
    return dict(
        step=trainer.step, epoch=trainer.cursor.epoch, images_seen=trainer.images_seen,
        batch_loss=trainer.last_loss, batch_accuracy=trainer.last_accuracy,
        val_accuracy=trainer.val_accuracy, lr=trainer.lr, current_lr=float(trainer.current_lr),
        schedule=trainer.schedule.describe(), paper_settings=trainer.settings == PAPER_SETTINGS,
        activity_images=trainer.activity.images, images_per_second=trainer.images_per_second,
        class_names=tuple(trainer.dataset.class_names), dataset=str(trainer.dataset.name),
        preset=str(trainer.preset), curves=trainer.curves.as_arrays(),
        stats=trainer.stats_history.records, validation=trainer.validation,   # frozen: shared, not copied
    )


def live_snapshot(trainer, seq: int, phase: str = "training", message: str = "",
                  updates: list | None = None) -> Snapshot:
    """The probe image run through the current weights (on the twin: maps and dL/d(out) with its true
    label, or for a drawn probe its predicted class, see ``Trainer.run_probe``); dL/dW from the
    training model's last batch; ``update`` the last ΔW when known (``updates`` overrides it with a
    recorded one). A drawn probe has probe_split "drawn", probe_index None, and probe_label and
    probe_loss None unless the user gave it a label."""
    probe_loss = trainer.run_probe()
    layers = capture_layers(trainer.twin, 0, grads_from=trainer.model)
    layers = with_updates(layers, updates if updates is not None else trainer.delta.delta(trainer.model))
    layers = with_dead(layers, trainer.dead_channels())
    x, label = trainer.probe_example()
    drawn = trainer.drawn is not None
    return Snapshot(
        seq=seq, layers=layers, phase=phase, layer_index=None, message=message,
        probe_image=freeze(x), probe_display=display_image(trainer.dataset, x),
        probe_label=label, probe_index=None if drawn else trainer.probe_index,
        probe_split="drawn" if drawn else "test", probs=freeze(trainer.probe_loss_fn.probs, 0),
        probe_loss=None if probe_loss is None else float(probe_loss), **common_fields(trainer),
    )


def stepper_snapshot(trainer, stepper, seq: int, message: str = "") -> Snapshot:
    """What the stepper's last step shows. During a walk: the walked batch's example 0 in the model's
    own caches, with dL/dW only for layers the walk has run backward through; otherwise (a whole
    batch stepped, or back before the first walk) the probe, as in live mode."""
    walk = stepper.walk
    updates = list(stepper.last_update) if stepper.last_update else None
    if walk is None:
        return live_snapshot(trainer, seq, stepper.phase, message, updates=updates)
    layers = with_updates(capture_layers(trainer.model, 0), updates)
    layers = share_recorded_arrays(layers, stepper.history.last, first_with_grads=len(layers) - walk.backward_done)
    layers = with_dead(layers, trainer.dead_channels())
    x = walk.x[0]
    message = message or step_caption(walk, layers, trainer)
    fields = common_fields(trainer)
    if walk.loss is not None:
        fields.update(batch_loss=walk.loss, batch_accuracy=walk.accuracy)
    given = walk.given_label
    return Snapshot(
        seq=seq, layers=layers, phase=walk.phase, layer_index=walk.layer_index, message=message,
        probe_image=freeze(x), probe_display=display_image(trainer.dataset, x),
        probe_label=int(walk.y[0]) if given else None,
        probe_index=None if walk.split == "drawn" else int(walk.indices[0]), probe_split=walk.split,
        probs=freeze(walk.probs, 0),
        probe_loss=None if walk.losses is None or not given else float(walk.losses[0]),
        walk_images=len(walk.y), **fields,
    )


def _shape(shape) -> str:
    return "x".join(map(str, shape))


def step_caption(walk, layers, trainer) -> str:
    """One sentence saying what the step just did, for the status bar."""
    n = len(walk.y)
    images = ("the probe (test image {})".format(int(walk.indices[0])) if walk.split == "test" else
              "the drawn digit" if walk.split == "drawn" else "1 image" if n == 1 else f"{n} images")
    if walk.phase == "forward":
        layer = layers[walk.layer_index]
        return (f"Forward: {layer.name}, {layer.label}, turned {_shape(layer.input_shape)} into "
                f"{_shape(layer.output_shape)} for {images}.")
    if walk.phase == "loss":
        return (f"Loss: softmax and cross-entropy give {walk.loss:.4f} (mean over {images}); "
                f"backward starts from p - y.")
    if walk.phase == "backward":
        layer = layers[walk.layer_index]
        made = ["computed dL/dW, dL/db"] if layer.params else []
        if layer.dL_dinput is not None:   # the first layer skips dL/d(image): nothing uses it
            made.append("passed dL/d(in) down")
        return f"Backward: {layer.name}, {layer.label}, took dL/d(out) and {' and '.join(made) or 'stopped'}."
    learned = (" It learned from the probe, a test image: the test score now includes an image the network "
               "was trained on." if walk.split == "test" else
               " It learned from the drawn digit." if walk.split == "drawn" else "")
    return (f"Update: {trainer.optimizer.kind} changed every weight by ΔW with learning rate "
            f"{trainer.optimizer.lr:.3g}; this was step {trainer.step}.{learned}")

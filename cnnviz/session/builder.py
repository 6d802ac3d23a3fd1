"""Building Snapshots from the trainer (live) or from a stepping walk. All copying happens here, once
per snapshot: ``capture_layers`` freezes every array it takes (rule 5)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from cnnviz.session.snapshot import Snapshot, capture_layers, freeze
from cnnviz.session.weights import frozen_copy


def display_image(dataset, x: np.ndarray) -> np.ndarray:
    """(C, H, W) normalised image -> read-only (C, H, W) float32 in 0..1 for showing.

    The dataset's own ``display_image`` undoes its normalisation (true brightness); a dataset
    without one gets the image's range stretched to 0..1."""
    if hasattr(dataset, "display_image"):
        shown = dataset.display_image(x)
    else:
        low, high = float(x.min()), float(x.max())
        shown = (x - low) / (high - low) if high > low else np.zeros_like(x)
    return frozen_copy(np.asarray(shown, np.float32))


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
                if value.base is None and value.flags.owndata:
                    value.setflags(write=False)
                else:
                    value = freeze(value)
            frozen[key] = value
        attached.append(replace(layer, update=frozen))
    return tuple(attached)


def share_recorded_arrays(layers: tuple, record, first_with_grads: int) -> tuple:
    """Use the step record's read-only weights and dL/dW instead of fresh copies: consecutive step
    snapshots then share them (a flood of unread steps costs ~1 MB less each). Layers below
    ``first_with_grads`` have not run backward in this walk and show no dL/dW."""
    shared = []
    for i, layer in enumerate(layers):
        grads = dict(record.grads[i]) if i >= first_with_grads else {}
        shared.append(replace(layer, params=dict(record.weights.params[i]), grads=grads))
    return tuple(shared)


def common_fields(trainer) -> dict:
    """Snapshot fields that say where training stands, the same in live and step mode."""
    return dict(
        step=trainer.step, epoch=trainer.cursor.epoch, images_seen=trainer.images_seen,
        batch_loss=trainer.last_loss, batch_accuracy=trainer.last_accuracy,
        val_accuracy=trainer.val_accuracy, lr=trainer.lr, images_per_second=trainer.images_per_second,
        class_names=tuple(trainer.dataset.class_names), dataset=str(trainer.dataset.name),
        preset=str(trainer.preset), curves=trainer.curves.as_arrays(),
        stats=trainer.stats_history.records, validation=trainer.validation,   # frozen: shared, not copied
    )


def live_snapshot(trainer, seq: int, phase: str = "training", message: str = "",
                  updates: list | None = None) -> Snapshot:
    """The probe image run through the current weights (on the twin: maps and dL/d(out) with its true
    label, or for a drawn probe its predicted class, see ``Trainer.run_probe``); dL/dW from the
    training model's last batch; ``update`` the last ΔW when known (``updates`` overrides it with a
    recorded one). A drawn probe has probe_label, probe_index and probe_loss None, probe_split "drawn"."""
    probe_loss = trainer.run_probe()
    layers = capture_layers(trainer.twin, 0, grads_from=trainer.model)
    layers = with_updates(layers, updates if updates is not None else trainer.delta.delta(trainer.model))
    x, label = trainer.probe_example()
    drawn = label is None
    return Snapshot(
        seq=seq, layers=layers, phase=phase, layer_index=None, message=message,
        probe_image=freeze(x), probe_display=display_image(trainer.dataset, x),
        probe_label=label, probe_index=None if drawn else trainer.probe_index,
        probe_split="drawn" if drawn else "test", probs=freeze(trainer.probe_loss_fn.probs, 0),
        probe_loss=None if drawn else float(probe_loss), **common_fields(trainer),
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
    x = walk.x[0]
    message = message or step_caption(walk, layers, trainer)
    fields = common_fields(trainer)
    if walk.loss is not None:
        fields.update(batch_loss=walk.loss, batch_accuracy=walk.accuracy)
    return Snapshot(
        seq=seq, layers=layers, phase=walk.phase, layer_index=walk.layer_index, message=message,
        probe_image=freeze(x), probe_display=display_image(trainer.dataset, x),
        probe_label=int(walk.y[0]), probe_index=int(walk.indices[0]), probe_split="train",
        probs=freeze(walk.probs, 0), probe_loss=None if walk.losses is None else float(walk.losses[0]),
        walk_images=len(walk.y), **fields,
    )


def _shape(shape) -> str:
    return "x".join(map(str, shape))


def step_caption(walk, layers, trainer) -> str:
    """One sentence saying what the step just did, for the status bar."""
    n = len(walk.y)
    images = "1 image" if n == 1 else f"{n} images"
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
    return (f"Update: {trainer.optimizer.kind} changed every weight by ΔW with learning rate "
            f"{trainer.lr:g}; this was step {trainer.step}.")

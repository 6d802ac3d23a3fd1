"""Walking one image (or a small batch) through the network a layer at a time, for teaching.

A walk is: forward layer 0, 1, ..., L-1, the loss, backward layer L-1, ..., 0, the update. It uses
the training model itself (its own caches hold what is shown) and the trainer's batch order, so
live training can be paused, a walk stepped, and training resumed. After every step the whole
state is recorded in a bounded ``StepHistory``; ``step_back`` restores the previous record exactly
(weights, optimizer moments, gradients, every layer's remembered arrays, counters and curves).
The history is an ``EvenHistory`` that drops its oldest records when full (stepping back must reach
every step one by one), its bytes counted by array identity: records share unchanged arrays.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, replace

import numpy as np

from cnnviz.errors import TrainingError
from cnnviz.session.history import EvenHistory
from cnnviz.session.training import (CursorState, WeightsCopy, copy_arrays, copy_weights, is_whole, restore_arrays,
                                     restore_weights)

MAX_STEPS = 200            # records a stepping history keeps at most ...
MAX_BYTES = 128 * 2**20    # ... and about this many bytes of arrays


class StepRefused(Exception):
    """The step cannot be taken now; ``str(e)`` tells the user what to do instead."""


@dataclass(frozen=True)
class Walk:
    """One batch on its way through the network. x (n, C, H, W), y (n,), indices (n,) into x_train
    (split "train"), or the probe: one test image (split "test", indices its number in x_test) or a
    drawn one (split "drawn", index -1; y the label the user gave it, else its predicted class and
    ``given_label`` False)."""

    indices: np.ndarray
    x: np.ndarray
    y: np.ndarray
    forward_done: int = 0            # layers run forward so far
    loss: float | None = None        # mean loss, once the loss step has run
    accuracy: float | None = None
    probs: np.ndarray | None = None  # (n, K) softmax, once the loss step has run
    log_probs: np.ndarray | None = None  # (n, K) float64: what the loss's exact backward reads
    losses: np.ndarray | None = None  # (n,) per-example loss
    backward_done: int = 0           # layers run backward so far, from the top
    updated: bool = False
    phase: str = "forward"
    layer_index: int | None = 0
    split: str = "train"
    given_label: bool = True


@dataclass(frozen=True)
class StepRecord:
    """The complete state after one step. Arrays unchanged since the previous record are shared."""

    walk: Walk | None
    phase: str
    layer_index: int | None
    caches: tuple[dict, ...]             # per layer: its cache_state(), references (never written into)
    grads: tuple[dict, ...]              # per layer read-only copies
    weights: WeightsCopy
    update: tuple[dict, ...] | None      # read-only ΔW of the last update, per layer
    counters: tuple                      # the trainer's COUNTERS, all immutable values
    curves: object                       # a private copy of the trainer's Curves
    cursor: CursorState


def record_arrays(record: StepRecord) -> list:
    """Every array a record keeps alive (caches, grads, weights, optimizer state, ΔW)."""
    found = [a for layer in record.caches for a in layer.values() if a is not None]
    found += [a for layer in record.grads for a in layer.values()]
    found += [a for layer in record.weights.params for a in layer.values()]
    found += list(record.weights.optimizer.values())
    found += [a for layer in (record.update or ()) for a in layer.values()]
    return found


def step_history(max_steps: int = MAX_STEPS, max_bytes: int = MAX_BYTES) -> EvenHistory:
    """A bounded stepping history: at most ``max_steps`` records and about ``max_bytes`` of arrays."""
    return EvenHistory(max_items=max_steps, max_bytes=max_bytes, arrays_of=record_arrays, thin=False)


COUNTERS = ("step", "images_seen", "batches", "last_loss", "last_accuracy", "val_accuracy",
            "validation", "stats_state")   # the last two are frozen, so kept by reference


class Stepper:
    def __init__(self, trainer, history: EvenHistory | None = None) -> None:
        self.trainer = trainer
        self.history = history if history is not None else step_history()
        self.walk: Walk | None = None
        self.last_update: tuple[dict, ...] | None = None
        self.step_batch = 1
        # walk the trainer's probe (the image every panel shows) instead of the next training images;
        # the window's session turns it on: the first Right must not swap the chosen image for another
        self.walk_probe = False
        self.phase, self.layer_index = "idle", None
        self._drop_asked: Walk | None = None   # the walk whose drop step_forward warned about

    @property
    def model(self):
        return self.trainer.model

    @property
    def n_layers(self) -> int:
        return len(self.trainer.model.layers)

    def set_step_batch(self, n) -> None:
        if not is_whole(n) or n < 1:
            raise ValueError(f"a stepping walk needs a whole number of images >= 1, not {n!r}.")
        self.step_batch = int(n)

    def abandon(self) -> None:
        """Forget the walk and the history (live training or a new model made them meaningless)."""
        self.walk, self.last_update, self._drop_asked = None, None, None
        self.phase, self.layer_index = "idle", None
        self.history.clear()

    # -- forward --------------------------------------------------------------------------
    def step_forward(self) -> None:
        """Run the next layer forward; after the last layer, the loss; then start a new walk.
        A walk whose loss is computed but not yet used (no update applied) is dropped only on a
        second press: the first says that the backward pass comes next (a student pressing Right
        once too often must not lose the walk without a word)."""
        walk = self.walk
        if walk is not None and walk.loss is not None and not walk.updated and self._drop_asked is not walk:
            self._drop_asked = walk
            done = ("The forward pass and the loss are done" if walk.backward_done == 0 else
                    "The backward pass is done" if walk.backward_done == self.n_layers else
                    "The backward pass is under way")
            nxt = "apply the update" if walk.backward_done == self.n_layers else "step backward (Left)"
            raise StepRefused(f"{done}: {nxt} next, or step forward again to drop this walk and start "
                              f"on new images.")
        if walk is None or walk.loss is not None:
            self._start_walk()
        elif walk.forward_done == self.n_layers:
            self._run_loss()
        else:
            i = walk.forward_done
            self.model.forward_layer(i)
            self._advance(replace(walk, forward_done=i + 1, phase="forward", layer_index=i), grads_of=None)

    def _start_walk(self) -> None:
        self._ensure_base()
        if self.walk_probe:
            walk = self.probe_walk()
        else:
            indices, x, y = self.trainer.next_batch(self.step_batch)
            walk = Walk(indices, x, y)
        self.model.clear()   # layers the walk has not reached show nothing, not an older batch
        self.model.forward_layer(0, walk.x)
        self._advance(replace(walk, forward_done=1, phase="forward", layer_index=0), grads_of=None)

    def probe_walk(self) -> Walk:
        """A walk of the trainer's probe alone. A drawn probe without a label takes its predicted class
        (run on the twin, so the training caches stay), as its live gradients do."""
        trainer = self.trainer
        x, label = trainer.probe_example()
        given = label is not None
        if not given:
            label = int(trainer.twin.forward(x[None]).argmax(axis=1)[0])
            trainer.twin.clear()
        drawn = trainer.drawn is not None
        index = -1 if drawn else trainer.probe_index
        return Walk(np.array([index]), np.array(x[None]), np.array([label]), split="drawn" if drawn else "test",
                    given_label=given)

    def _run_loss(self) -> None:
        loss_fn, walk = self.trainer.loss_fn, self.walk
        loss = loss_fn.forward(self.model.layers[-1].output, walk.y)
        try:
            self.trainer.check_loss(loss)
        except TrainingError:
            self.abandon()
            raise
        self._advance(replace(walk, loss=loss, accuracy=loss_fn.accuracy(), probs=loss_fn.probs,
                              log_probs=loss_fn.log_probs, losses=loss_fn.losses, phase="loss", layer_index=None), grads_of=None)

    # -- backward and update --------------------------------------------------------------
    def step_backward(self) -> None:
        """Run the next layer backward; the first one starts from the loss gradient p - y."""
        walk = self.walk
        if walk is None or walk.loss is None:
            raise StepRefused("Step forward to the loss first; the backward pass starts from it.")
        if walk.backward_done == self.n_layers:
            raise StepRefused("The backward pass is complete; apply the update or step forward to a new image.")
        i = self.n_layers - 1 - walk.backward_done
        if walk.backward_done == 0:
            loss_fn = self.trainer.loss_fn
            # the walk's own loss, even after a step back
            loss_fn.probs, loss_fn.log_probs, loss_fn.labels = walk.probs, walk.log_probs, walk.y
            self.model.backward_layer(i, loss_fn.backward())
        else:
            self._backward_layer(i)
        self._advance(replace(walk, backward_done=walk.backward_done + 1, phase="backward", layer_index=i),
                      grads_of=i)

    def _backward_layer(self, i: int) -> None:
        """Live training skips dL/d(image); a walk shows it, so the chain visibly reaches the pixels."""
        if i > 0:
            self.model.backward_layer(i)
            return
        wanted = self.model.input_gradient
        self.model.input_gradient = True
        try:
            self.model.backward_layer(0)
        finally:
            self.model.input_gradient = wanted

    def apply_update(self) -> None:
        """The optimizer step with the walk's gradients; counts as one training batch."""
        walk = self.walk
        if walk is not None and walk.updated:
            raise StepRefused("This update is already applied; step forward to the next image.")
        if walk is None or walk.loss is None:
            raise StepRefused("Step forward to the loss and back through every layer before the update.")
        left = self.n_layers - walk.backward_done
        if left:
            raise StepRefused(f"Step backward through the remaining {left} layer(s) before the update.")
        self.trainer.apply_update(track_delta=True)
        self.last_update = copy_arrays(self.trainer.delta.delta(self.model))
        self.trainer.record_batch(walk.loss, walk.accuracy, len(walk.y))
        self._advance(replace(walk, updated=True, phase="update", layer_index=None), grads_of=None,
                      weights_changed=True)

    def step_batch_live(self) -> None:
        """One whole training batch while paused (``step_batch`` command), recorded so it can be undone."""
        self._ensure_base()
        self.walk = None
        try:
            self.trainer.train_batch(track_delta=True)
        except TrainingError:
            self.abandon()
            raise
        self.last_update = copy_arrays(self.trainer.delta.delta(self.model))
        self.phase, self.layer_index = "training", None
        self._push(self._record(grads_of="all", weights_changed=True))

    # -- history --------------------------------------------------------------------------
    def step_back(self) -> None:
        """Restore the state before the last step (also before an update)."""
        record = self.history.back()
        if record is None:
            raise StepRefused("There is no earlier step to go back to.")
        self._restore(record)

    def _advance(self, walk: Walk, grads_of: int | None, weights_changed: bool = False) -> None:
        self.walk = walk
        self.phase, self.layer_index = walk.phase, walk.layer_index
        self._push(self._record(grads_of, weights_changed))

    def _push(self, record: StepRecord) -> None:
        self.history.push(len(self.history), record)   # keys only order the records here

    def _ensure_base(self) -> None:
        """Record the state before the first step, so it can be stepped back to."""
        if not len(self.history):
            if self.last_update is None:   # show live training's last ΔW until the walk makes its own
                delta = self.trainer.delta.delta(self.model)
                self.last_update = copy_arrays(delta) if delta is not None else None
            self._push(self._record(grads_of="all", weights_changed=True))

    def _record(self, grads_of, weights_changed: bool) -> StepRecord:
        """The state now; copies only what this step changed (grads_of: a layer index, "all" or None)."""
        previous, trainer = self.history.last, self.trainer
        if previous is None or grads_of == "all":
            grads = copy_arrays([layer.grads for layer in self.model.layers])
        elif grads_of is None:
            grads = previous.grads
        else:
            grads = list(previous.grads)
            grads[grads_of] = copy_arrays([self.model.layers[grads_of].grads])[0]
            grads = tuple(grads)
        if previous is None or weights_changed:
            weights, curves = copy_weights(self.model, trainer.optimizer), copy.deepcopy(trainer.curves)
        else:
            weights, curves = previous.weights, previous.curves
        caches = tuple(layer.cache_state() for layer in self.model.layers)
        return StepRecord(self.walk, self.phase, self.layer_index, caches, grads, weights, self.last_update,
                          tuple(getattr(trainer, name) for name in COUNTERS), curves, trainer.cursor.state())

    def _restore(self, record: StepRecord) -> None:
        trainer = self.trainer
        for layer, cache in zip(self.model.layers, record.caches):
            layer.restore_cache(cache)
        restore_arrays(record.grads, [layer.grads for layer in self.model.layers])
        restore_weights(record.weights, self.model, trainer.optimizer)
        for name, value in zip(COUNTERS, record.counters):
            setattr(trainer, name, value)
        trainer.curves = copy.deepcopy(record.curves)   # the record's copy must stay as it was
        trainer.cursor.restore(record.cursor)
        trainer.delta.forget()
        self.walk, self.last_update = record.walk, record.update
        self.phase, self.layer_index = record.phase, record.layer_index

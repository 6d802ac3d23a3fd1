"""The one trainer, without Qt: the window's session and the command line's ``train`` both use it.

``Trainer`` owns the model, optimizer, loss, batch order, curves, statistics and the probe; the
session calls ``train_batch`` between commands, ``train_epoch`` runs the command line's epochs.
Arrays are NCHW float32: the dataset's ``x_train`` (N, C, H, W), ``y_train`` (N,) int;
``input_shape`` (C, H, W).
"""

from __future__ import annotations

import math
import time

import numpy as np

from cnnviz.errors import TrainingError
from cnnviz.nn import DEFAULTS, PAPER_SETTINGS, Optimizer, Schedule, Sequential, SoftmaxCrossEntropy, build_model
from cnnviz.nn.activity import ActivityTracker
from cnnviz.nn.defaults import TrainingSettings
from cnnviz.nn.memory import batch_size_problem
from cnnviz.nn.presets import load_preset
from cnnviz.session.history import Curves
from cnnviz.session.snapshot import probe_twin
from cnnviz.session.stats import STATS_EVERY, StatsHistory, layer_stats, validation_record
from cnnviz.session.training import (OPTIMIZERS, BatchCursor, DeltaTracker, WeightsCopy, check_lr, copy_weights,
                                     divergence, is_whole, new_optimizer, restore_weights)

VAL_SIZE = 500        # validation images: a fixed slice of the test set, cheap to score
VAL_EVERY = 250       # batches between validations (~2.5% of training time for the seed net, below)
# images per forward pass when validating. Measured on the seed net: 500 images take 80 ms in chunks
# of 100 (their im2col columns outgrow the L2 cache), 45-54 ms in chunks of 50 or 32; 250 batches of
# training take ~2 s, so validation costs 2.5% instead of 4%.
VAL_CHUNK = 50
# a conv channel is shown dead when it was positive on none of the last this many training images
# (whole batches: ActivityTracker); observing costs 20-30 us a batch, 0.2% of a step
ACTIVITY_WINDOW = 1000
# the probe chooser's "hardest", "misclassified", "least confident" look at this many test images:
# the seed net scores 2,000 in ~0.2 s, so a click answers at once even on 10,000-image test sets
PICK_IMAGES = 2000
PICKS = ("hardest", "misclassified", "least_confident")
GOOD_EVERY = 10       # batches between copies of known-good weights to fall back to after NaN
# what the sentence about a diverged loss says next: the window pauses (the default), the CLI stops
PAUSED = "training is paused and the weights of step {step} are restored. Lower the rate or reset."


def preset_lr(name: str) -> float | None:
    """The learning rate the preset recommends (its optional "lr" key), or None."""
    return load_preset(name).get("lr")


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


class Trainer:
    """Live training state. ``dataset`` is Dataset-like: name, class_names, input_shape,
    x_train (N, C, H, W) float32, y_train (N,) int, x_test, y_test.

    lr, batch_size, optimizer and schedule default to ``DEFAULTS`` (with ``paper_settings`` to
    ``PAPER_SETTINGS``, whose betas and initialisation are used too). ``lr`` is the base rate; the
    rate an update uses, ``current_lr``, follows the schedule over the first ``schedule_epochs``
    epochs of images since fresh weights and then holds its end value (see ``Schedule.at_images``).
    val_every, stats_every: batches between validations and statistics records (0: none, as the
    command line trains). after_divergence: the end of the sentence a diverged loss raises (None:
    the sentence is only "the loss became ...", for the caller to finish). settings: any
    TrainingSettings instead of DEFAULTS / PAPER_SETTINGS (the command line's, a benchmark's)."""

    def __init__(self, dataset, preset: str = "seed", lr: float | None = None, batch_size: int | None = None,
                 optimizer: str | None = None, seed: int = 0, val_size: int = VAL_SIZE,
                 val_every: int = VAL_EVERY, schedule: str | None = None, paper_settings: bool = False,
                 stats_every: int = STATS_EVERY, after_divergence: str | None = PAUSED,
                 settings: TrainingSettings | None = None) -> None:
        self.dataset = dataset
        self.preset = preset
        self.seed = seed
        self.settings = settings if settings is not None else PAPER_SETTINGS if paper_settings else DEFAULTS
        self.optimizer_name = optimizer or self.settings.optimizer
        if self.optimizer_name not in OPTIMIZERS:
            raise ValueError(f"unknown optimizer {self.optimizer_name!r}; choose adam or sgd.")
        self.lr = check_lr(self.settings.lr if lr is None else lr)
        self.batch_size = self._check_batch_size(self.settings.batch_size if batch_size is None else batch_size)
        self.schedule = self._schedule(schedule or self.settings.schedule)
        self.schedule_epochs = self.settings.schedule_epochs
        self.val_size, self.val_every = val_size, val_every
        self.loss_fn = SoftmaxCrossEntropy()
        self.probe_loss_fn = SoftmaxCrossEntropy()
        self.probe_index = 0                        # the test image shown, unless one was drawn
        self.drawn: np.ndarray | None = None        # a drawn probe (C, H, W), normalised, read-only
        self.drawn_label: int | None = None         # the label the user gave the drawn probe, if any
        self.stats_every, self.after_divergence = stats_every, after_divergence
        self.stats_history = StatsHistory(every=stats_every or STATS_EVERY)
        self.validation = None                      # the last validation_record (frozen), or None
        self.reset()

    # -- set-up ---------------------------------------------------------------------------
    def reset(self) -> None:
        """Fresh weights from the same seed and settings; counters and curves start again."""
        model = build_model(self.preset, seed=self.seed, input_shape=self.dataset.input_shape,
                            num_classes=len(self.dataset.class_names), init=self.settings.init)
        self.images_seen = 0   # before the optimizer: the schedule's rate depends on it
        self.use_model(model, new_optimizer(self.optimizer_name, model, self.lr, self.settings), step=0)
        self.cursor = BatchCursor(len(self.dataset.y_train), self.seed)
        self.curves = Curves()
        self.batches = 0
        self.last_loss: float | None = None
        self.last_accuracy: float | None = None
        self.val_accuracy: float | None = None
        self.images_per_second = 0.0
        self._last_batch_start: float | None = None

    def use_model(self, model: Sequential, optimizer: Optimizer, step: int) -> None:
        """Train ``model`` from now on (a fresh one, or one loaded from a checkpoint)."""
        self.model, self.optimizer, self.step = model, optimizer, step
        self.optimizer.lr = self.current_lr
        model.input_gradient = False    # training never needs dL/d(image), its costliest scatter
        self.twin = probe_twin(model)   # probe and validation run here, never on the training caches
        self.twin.input_gradient = True   # the probe does show dL/d(image)
        self.delta = DeltaTracker(model)
        self.activity = ActivityTracker(model, ACTIVITY_WINDOW)   # dead channels: fresh weights, fresh count
        self.stats_history.clear()   # statistics describe one model's run
        self.validation = None
        self.good: WeightsCopy = copy_weights(model, optimizer)
        self._good_step = step

    def set_optimizer(self, name: str) -> None:
        """Switch optimizer (fresh moments); the weights stay."""
        self.optimizer = new_optimizer(name, self.model, self.current_lr, self.settings)
        self.optimizer_name = name
        self.good, self._good_step = copy_weights(self.model, self.optimizer), self.step

    def set_preset(self, name: str) -> None:
        """A fresh model of another architecture; on ArchitectureError the old one stays.

        A preset may recommend a learning rate (its optional ``"lr"``, e.g. sigmoid's slow one, to
        watch its gradients vanish); it is then used from now on. Without one the settings' rate is used."""
        old, old_lr = self.preset, self.lr
        self.preset = name
        try:
            lr = preset_lr(name)
            self.lr = check_lr(self.settings.lr if lr is None else lr)
            self.reset()
        except Exception:
            self.preset, self.lr = old, old_lr
            raise

    def set_lr(self, lr) -> None:
        """A new base rate; the schedule scales it from now on."""
        self.lr = check_lr(lr)
        self.optimizer.lr = self.current_lr

    @property
    def schedule_images(self) -> int:
        """Training images the schedule spans: ``schedule_epochs`` epochs of this dataset."""
        return max(1, round(self.schedule_epochs * len(self.dataset.y_train)))

    @property
    def current_lr(self) -> float:
        """The rate the next update uses: the base rate scaled by the schedule at ``images_seen``."""
        return self.schedule.at_images(self.lr, self.images_seen, self.schedule_images)

    def set_schedule(self, kind: str, epochs=None) -> None:
        """Follow schedule ``kind`` (constant, linear, cosine; warm-up and end value as the settings
        say) over ``epochs`` epochs (default: as before) counted from fresh weights; ValueError for
        an unknown kind or a non-positive number of epochs. The weights stay."""
        schedule = self._schedule(kind)
        if epochs is not None:
            try:
                span = float(epochs)
            except (TypeError, ValueError):
                span = float("nan")
            if not (math.isfinite(span) and span > 0) or isinstance(epochs, bool):
                raise ValueError(f"a schedule must span a positive number of epochs, not {epochs!r}.")
            self.schedule_epochs = span
        self.schedule = schedule
        self.optimizer.lr = self.current_lr

    def _schedule(self, kind) -> Schedule:
        return Schedule(kind, self.settings.warmup, self.settings.final)

    def use_settings(self, paper: bool) -> None:
        """Switch to the paper's settings (True) or the defaults (False): optimizer, betas, base
        rate (a preset's own recommendation still wins), batch size, schedule and initialisation,
        then fresh weights, since the initialisation is part of the settings."""
        self.settings = PAPER_SETTINGS if paper else DEFAULTS
        self.optimizer_name = self.settings.optimizer
        self.batch_size = self.settings.batch_size
        self.schedule = self._schedule(self.settings.schedule)
        self.schedule_epochs = self.settings.schedule_epochs
        lr = preset_lr(self.preset)
        self.lr = check_lr(self.settings.lr if lr is None else lr)
        self.reset()

    def set_batch_size(self, n) -> None:
        n = self._check_batch_size(n)
        problem = batch_size_problem(self.model, min(n, len(self.dataset.y_train)))   # as train does
        if problem:
            raise ValueError(problem)
        self.batch_size = n

    def _check_batch_size(self, n) -> int:
        if not is_whole(n) or n < 1:
            raise ValueError(f"the batch size must be a whole number >= 1, not {n!r}.")
        return int(n)

    # -- training -------------------------------------------------------------------------
    def next_batch(self, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(indices (k,), x (k, C, H, W), y (k,)) of the next k <= n training images."""
        indices = self.cursor.take(n)
        return indices, self.dataset.x_train[indices], self.dataset.y_train[indices]

    def train_batch(self, track_delta: bool = True) -> tuple[float, float]:
        """Forward, loss, backward and update on the next batch -> (loss, accuracy).

        The loss is checked before the update, so a NaN never reaches the weights or the optimizer's
        moments; on NaN the last known-good weights are restored and TrainingError says so.
        track_delta: remember W_before so the update ΔW can be shown. It costs one copy of the
        weights into fixed buffers (~0.03 ms for the seed net, well under 1% of a batch), so a paused
        network can always show its last ΔW."""
        self._time_batch()
        if self.batches % GOOD_EVERY == 0:
            candidate = copy_weights(self.model, self.optimizer)
        else:
            candidate = None
        _, x, y = self.next_batch(self.batch_size)
        # overflow on the way (the logits of a diverging network) is what check_loss reports in one
        # sentence; NumPy's RuntimeWarnings would only print before it
        with np.errstate(over="ignore", invalid="ignore"):
            loss = self.loss_fn.forward(self.model.forward(x), y)
        self.check_loss(loss)
        self.activity.observe(self.model)
        if candidate is not None:   # these weights just gave a finite loss
            self.good, self._good_step = candidate, self.step
        self.model.backward(self.loss_fn.backward())
        self.apply_update(track_delta)
        self.record_batch(loss, self.loss_fn.accuracy(), len(y))
        return loss, self.last_accuracy

    def apply_update(self, track_delta: bool = True) -> None:
        self.delta.before_update(self.model, track_delta)
        self.optimizer.lr = self.current_lr
        self.optimizer.step()
        self.step += 1

    def record_batch(self, loss: float, accuracy: float, n_images: int) -> None:
        """Count an applied update of ``n_images`` images and extend the curves."""
        self.images_seen += n_images
        self.batches += 1
        self.last_loss, self.last_accuracy = loss, accuracy
        self.curves.add("loss", self.images_seen, loss)
        self.curves.add("accuracy", self.images_seen, accuracy)
        if self.stats_every and self.stats_history.due(self.batches):
            self.record_stats()
        if self.val_every and self.batches % self.val_every == 0:
            self.validate()

    def record_stats(self) -> None:
        """Add the model's ``layer_stats`` now (weights, last dL/dW, last ΔW) to the history."""
        self.stats_history.add(self.batches, layer_stats(self.model, self.delta.delta(self.model), self.step,
                                                         dead=self.activity.dead()))

    def train_epoch(self, on_batch=None, track_delta=None) -> None:
        """Train on the rest of this epoch (all of it from a fresh start, or the next one when this one
        is used up). on_batch(images, loss, accuracy) after each batch. ΔW is tracked only for the
        updates for which ``track_delta(step after it)`` is true (a recording's kept points)."""
        cursor = self.cursor
        epoch = cursor.epoch + (cursor.position >= cursor.n_train)
        while not (cursor.epoch == epoch and cursor.position >= cursor.n_train):
            seen = self.images_seen
            track = track_delta is not None and bool(track_delta(self.step + 1))
            loss, accuracy = self.train_batch(track_delta=track)
            if on_batch is not None:
                on_batch(self.images_seen - seen, loss, accuracy)
            cursor = self.cursor

    @property
    def stats_state(self):
        """The statistics history as one immutable value (the stepper records and restores it)."""
        return self.stats_history.state

    @stats_state.setter
    def stats_state(self, state) -> None:
        self.stats_history.state = state

    def check_loss(self, loss: float) -> None:
        """Raise TrainingError (after restoring good weights) when the loss is NaN, infinite or
        diverged (``training.divergence``, the rule the command line follows too)."""
        kind = divergence(loss, len(self.dataset.class_names))
        if kind is None:
            return
        bad_step = self.step
        self.restore_good()
        if self.after_divergence is None:   # the caller finishes the sentence (the command line)
            raise TrainingError(f"the loss became {kind}")
        raise TrainingError(f"The loss became {kind} at step {bad_step} with learning rate {self.lr:g}; "
                            + self.after_divergence.format(step=self.step))

    def restore_good(self) -> None:
        """Back to the last known-good weights; the last batch's loss and accuracy belonged to the
        bad weights, so they are forgotten until the next batch."""
        restore_weights(self.good, self.model, self.optimizer)
        self.activity.reset()   # the channels' recent activity belonged to the weights just dropped
        self.step = self._good_step
        self.delta.forget()
        self.last_loss = self.last_accuracy = None

    def _time_batch(self) -> None:
        """images/s from the time between batch starts (so it includes every overhead)."""
        now = time.perf_counter()
        if self._last_batch_start is not None:
            rate = self.batch_size / max(now - self._last_batch_start, 1e-9)
            # a gap of over a second is a pause, not training speed
            if now - self._last_batch_start < 1.0:
                blend = 0.1 if self.images_per_second else 1.0
                self.images_per_second += blend * (rate - self.images_per_second)
        self._last_batch_start = now

    def mark_paused(self) -> None:
        self._last_batch_start = None

    # -- validation and probe -------------------------------------------------------------
    def validate(self, chunk: int = VAL_CHUNK) -> float:
        """Accuracy on the first ``val_size`` test images, run on the twin (training caches stay);
        ``validation`` gets its confusion matrix and misclassified images."""
        x, y = self.dataset.x_test[: self.val_size], self.dataset.y_test[: self.val_size]
        if not len(y):
            return float("nan")
        predicted = np.concatenate([self.twin.forward(x[start : start + chunk]).argmax(axis=1)
                                    for start in range(0, len(y), chunk)])
        self.twin.clear()   # a chunk's im2col columns are tens of MB; keep none of them around
        self.validation = validation_record(self.dataset, np.arange(len(y)), y, predicted,
                                            len(self.dataset.class_names), self.step)
        self.val_accuracy = self.validation["accuracy"]
        self.curves.add("val_accuracy", self.images_seen, self.val_accuracy)
        return self.val_accuracy

    def set_probe(self, index: int) -> None:
        """Probe with test image ``index`` (this also ends a drawn probe)."""
        n = len(self.dataset.y_test)
        if not is_whole(index) or not 0 <= index < n:
            raise ValueError(f"the probe image must be a test image number from 0 to {n - 1}, not {index!r}.")
        self.probe_index, self.drawn = int(index), None

    def set_probe_image(self, image, label=None) -> None:
        """Probe with a drawn image (C, H, W) or (H, W) in 0..1, normalised like the dataset; label: the
        class the user says it is (an int), or None (then its gradients aim at the predicted class)."""
        k = len(self.dataset.class_names)
        if label is not None and (not is_whole(label) or not 0 <= label < k):
            raise ValueError(f"the drawn image's label must be a class number from 0 to {k - 1}, not {label!r}.")
        self.drawn = drawn_probe(self.dataset, image)
        self.drawn_label = None if label is None else int(label)

    def probe_example(self) -> tuple[np.ndarray, int | None]:
        """(the probe image (C, H, W) as fed to the network, its label: a test image's true label, a
        drawn image's given label, None for a drawn image without one)."""
        if self.drawn is not None:
            return self.drawn, self.drawn_label
        return self.dataset.x_test[self.probe_index], int(self.dataset.y_test[self.probe_index])

    def pick_probe(self, kind: str) -> tuple[int, str] | None:
        """Choose the probe among the first PICK_IMAGES test images by what the current network makes
        of them -> (test image number, a sentence saying why it was chosen), or None when no image
        fits (nothing misclassified). kind: "hardest" (the largest loss -log p_true),
        "misclassified" (the next wrongly classified one after the current probe, round), or
        "least_confident" (the smallest top probability). Runs on the twin: training caches stay."""
        if kind not in PICKS:
            raise ValueError(f"unknown probe choice {kind!r}; choose {', '.join(PICKS)}.")
        x, y = self.dataset.x_test[:PICK_IMAGES], np.asarray(self.dataset.y_test[:PICK_IMAGES])
        if not len(y):
            raise ValueError("the test set is empty: there is no image to choose.")
        logits = np.concatenate([self.twin.forward(x[start:start + VAL_CHUNK]).astype(np.float64)
                                 for start in range(0, len(y), VAL_CHUNK)])
        self.twin.clear()
        log_p = logits - logits.max(axis=1, keepdims=True)
        log_p -= np.log(np.exp(log_p).sum(axis=1, keepdims=True))
        n = f"{len(y):,}"
        if kind == "hardest":
            losses = -log_p[np.arange(len(y)), y]
            index = int(np.argmax(losses))
            return index, f"the hardest of the first {n} test images: loss {losses[index]:.3g}"
        predicted = log_p.argmax(axis=1)
        if kind == "least_confident":
            top = np.exp(log_p.max(axis=1))
            index = int(np.argmin(top))
            return index, f"the least confident of the first {n} test images: top probability {top[index]:.0%}"
        wrong = np.flatnonzero(predicted != y)
        if not len(wrong):
            return None
        later = wrong[wrong > self.probe_index] if self.drawn is None else wrong
        index = int((later if len(later) else wrong)[0])
        names = self.dataset.class_names
        return index, (f"misclassified ({len(wrong)} of the first {n} test images are): a "
                       f"{names[y[index]]} taken for a {names[predicted[index]]}")

    def run_probe(self) -> float | None:
        """Forward and backward the probe image through the twin -> its loss (None when drawn).
        Afterwards the twin's layers hold its maps and dL/d(out); ``probe_loss_fn.probs`` (1, K).

        A drawn image has no true label, so its backward pass takes the predicted class as the target:
        dL/d(out) then shows what would make the network surer of its own answer. No loss is reported
        for it, since a loss against its own prediction would look like a score it does not have."""
        x, label = self.probe_example()
        logits = self.twin.forward(x[None])
        y = logits.argmax(axis=1) if label is None else np.array([label])
        loss = self.probe_loss_fn.forward(logits, y)
        self.twin.backward(self.probe_loss_fn.backward())
        return None if label is None else loss

    def dead_channels(self) -> dict[int, list[int]]:
        """{conv layer index: [channels positive on none of the last ``activity.images`` training
        images]} (see ActivityTracker)."""
        return self.activity.dead()

"""The training session as a command loop, without Qt: the loop, and its commands by name.

Commands arrive on a thread-safe queue and are read between batches and between layer steps
(rule 6); they are looked up in ``COMMANDS`` (name -> handler, filled by ``@command``). Everything the
session makes leaves through the ``Outlet`` it is given at construction (cnnviz.session.outlet):
snapshots (rule 5), kept snapshots, and notices ``notify(kind, text)`` with kind "error", "message" or
"state". Nothing here raises out of ``run``: every failure becomes one sentence and the loop goes on.

Keyword names are the GUI's: ``set_lr(lr)``, ``set_batch_size(n)``, ``set_optimizer(name)``,
``set_speed(batches_per_second)``, ``set_dataset(name)``, ``set_preset(name)``,
``load_checkpoint(path)``, ``save_checkpoint(path)``, ``set_probe(index)``,
``set_probe_image(image, label=None)``, ``set_step_batch(n)``, ``set_walk_probe(on)``,
``set_schedule(kind, epochs=None)``, ``set_paper_settings(on)``, ``probe_hardest()``,
``probe_misclassified()``, ``probe_least_confident()``.
"""

from __future__ import annotations

import math
import queue
import random
import threading
import time
from pathlib import Path

import numpy as np

from cnnviz.errors import CnnvizError, TrainingError
from cnnviz.nn import save_checkpoint as write_checkpoint
from cnnviz.session.outlet import LocalOutlet, Outlet
from cnnviz.session.snapshot import live_snapshot, stepper_snapshot
from cnnviz.session.stepper import Stepper, StepRefused
from cnnviz.session.trainer import PICK_IMAGES, Trainer
from cnnviz.session.training import OPTIMIZERS, check_fits, new_optimizer

STATES = ("playing", "paused", "stepping", "stopped")
IDLE_WAIT = 0.1   # seconds a paused loop sleeps on the queue before looking at the stop flag again
COMMANDS: dict = {}   # name -> handler(session, **kwargs), filled by @command below


def command(handler):
    """Make ``handler(session, **kwargs)`` the command of its name."""
    COMMANDS[handler.__name__] = handler
    return handler


def load_named_dataset(name: str):
    """The data layer's loader, imported late so the session works with a dataset object alone."""
    from cnnviz.data import load_dataset

    return load_dataset(name)


class Session:
    """Owns the trainer and stepper; ``run()`` is the worker's whole life. ``outlet`` receives every
    snapshot and notice (default: a LocalOutlet, whose ``mailbox`` and ``timeline`` a test reads)."""

    def __init__(self, dataset: str = "digits", preset: str = "seed", lr: float | None = None,
                 batch_size: int | None = None, optimizer: str | None = None, seed: int = 0, dataset_obj=None,
                 outlet: Outlet | None = None,
                 loader=None, trainer_options: dict | None = None) -> None:
        self.settings = dict(preset=preset, lr=lr, batch_size=batch_size, optimizer=optimizer, seed=seed,
                             **(trainer_options or {}))
        self.dataset_name, self.dataset_obj = dataset, dataset_obj
        self.loader = loader or (lambda name: load_named_dataset(name))   # looked up late: tests patch it
        self.outlet = outlet if outlet is not None else LocalOutlet()
        self.commands: queue.Queue = queue.Queue()
        self.trainer: Trainer | None = None
        self.stepper: Stepper | None = None
        self.state = "paused"
        self.speed: float | None = None       # batches per second, None = as fast as possible
        self._next_batch_at = 0.0
        self._stop = threading.Event()
        self._random = random.Random(seed)

    # -- thread-safe API ------------------------------------------------------------------
    def send(self, command: str, **kwargs) -> None:
        self.commands.put((command, kwargs))

    def request_stop(self) -> None:
        self._stop.set()
        self.commands.put(None)   # wakes a paused loop at once

    def notify(self, kind: str, text: str) -> None:
        self.outlet.notify(kind, text)

    # -- the loop -------------------------------------------------------------------------
    def run(self) -> None:
        """Load the data, publish the first snapshot, then serve commands and train until stopped."""
        self.start_up()
        while not self._stop.is_set():
            self.tick()
        self.set_state("stopped")

    def start_up(self) -> None:
        self._guarded(self._set_up)

    def tick(self, wait: float = IDLE_WAIT) -> None:
        """One turn of the loop: queued commands, then one batch when playing (else wait for a
        command up to ``wait`` seconds)."""
        if self.state == "playing":
            self._drain(wait=0)
            if self.state == "playing" and not self._stop.is_set():
                self._guarded(self._train_tick)
        else:
            self._drain(wait=wait)

    def _set_up(self) -> None:
        dataset = self.dataset_obj if self.dataset_obj is not None else self.loader(self.dataset_name)
        self.use_dataset(dataset)

    def use_dataset(self, dataset) -> None:
        step_batch = self.stepper.step_batch if self.stepper is not None else 1
        walk_probe = self.stepper.walk_probe if self.stepper is not None else True
        self.trainer = Trainer(dataset, **self.settings)
        self.stepper = Stepper(self.trainer)
        self.stepper.step_batch, self.stepper.walk_probe = step_batch, walk_probe
        self.outlet.clear_timeline()
        self.trainer.validate()
        self.publish_idle(f"Ready: {dataset.name}, {len(dataset.y_train)} training images.")

    def _drain(self, wait: float) -> None:
        """Handle every queued command; wait up to ``wait`` seconds for the first one."""
        try:
            item = self.commands.get(timeout=wait) if wait > 0 else self.commands.get_nowait()
        except queue.Empty:
            return
        while item is not None and not self._stop.is_set():
            self._handle(*item)
            try:
                item = self.commands.get_nowait()
            except queue.Empty:
                return

    def _handle(self, name: str, kwargs: dict) -> None:
        handler = COMMANDS.get(name)
        if handler is None:
            self.notify("error", f"Unknown command {name!r}; the worker knows: {', '.join(COMMANDS)}.")
            return
        if self.trainer is None and name != "set_dataset":
            self.notify("error", f"Cannot {name.replace('_', ' ')}: no dataset is loaded; choose one first.")
            return
        self._guarded(handler, self, **kwargs)

    def _guarded(self, action, *args, **kwargs) -> None:
        """Run ``action``; turn any failure into one sentence for the GUI, never a dead thread.

        Overflow warnings are silenced: a diverging run is caught by the NaN check and explained in
        one sentence, not in a stream of RuntimeWarnings on the console."""
        try:
            with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
                action(*args, **kwargs)
        except StepRefused as refusal:
            self.notify("message", str(refusal))
        except TrainingError as error:
            self.pause_quietly()
            self.notify("error", str(error))
            self.publish_idle(str(error))
        except (CnnvizError, ValueError) as error:
            self.notify("error", str(error))
        except Exception as error:   # a bug must not kill the worker silently
            self.pause_quietly()
            self.notify("error", f"Internal error in the training thread ({type(error).__name__}: {error}); "
                                 f"training is paused.")

    # -- live training --------------------------------------------------------------------
    def _train_tick(self) -> None:
        """One batch (respecting the speed limit), then a snapshot if the GUI wants one or the
        timeline keeps one: built once, sent once, for both."""
        if self.speed:
            delay = self._next_batch_at - time.monotonic()
            if delay > 0:
                self._drain(wait=min(delay, IDLE_WAIT))
                return
            self._next_batch_at = max(self._next_batch_at + 1 / self.speed, time.monotonic())
        self.trainer.train_batch()
        wanted, kept = self.outlet.wants_live(), self.outlet.timeline_due(self.trainer.step)
        if wanted or kept:
            started = time.perf_counter()
            snapshot = live_snapshot(self.trainer, self.outlet.next_seq())
            if wanted:
                self.outlet.publish_live(snapshot, keep=kept, build_seconds=time.perf_counter() - started)
            else:
                self.outlet.keep_for_timeline(snapshot)

    # -- state and publishing -------------------------------------------------------------
    def set_state(self, state: str) -> None:
        if state != self.state:
            self.state = state
            self.notify("state", state)

    def pause_quietly(self) -> None:
        if self.state == "playing":
            self.set_state("paused")
        if self.trainer is not None:
            self.trainer.mark_paused()

    def end_walk(self) -> None:
        """The network changed under the walk (new weights, optimizer or model): forget it."""
        if self.stepper is not None:   # None until a first dataset loaded (e.g. --data named a bad folder)
            self.stepper.abandon()
        if self.state == "stepping":
            self.set_state("paused")

    def publish_idle(self, message: str = "") -> None:
        """A snapshot of the current weights with the probe (after pause, reset, load, ...), offered to
        the timeline too (e.g. step 0 of a fresh run)."""
        if self.trainer is not None:
            snapshot = live_snapshot(self.trainer, self.outlet.next_seq(), "idle", message)
            self.outlet.publish_live(snapshot, keep=True)

    def publish_step(self, message: str = "") -> None:
        snapshot = stepper_snapshot(self.trainer, self.stepper, self.outlet.next_seq(), message)
        # the probe, as live, is kept; a walk's training image would not compare
        self.outlet.publish_step(snapshot, keep=self.stepper.walk is None)


# -- running ------------------------------------------------------------------------------------
@command
def play(session: Session) -> None:
    session.stepper.abandon()   # live training moves on; the step history no longer applies
    session._next_batch_at = 0.0
    session.set_state("playing")


@command
def pause(session: Session) -> None:
    was_playing = session.state == "playing"
    session.pause_quietly()
    session.set_state("paused")
    if was_playing:
        session.publish_idle("Paused")
        session.notify("message", "Paused")


def _step(session: Session, action) -> None:
    """Run one stepping action (live training pauses first) and deliver its snapshot."""
    session.pause_quietly()
    action()
    session.set_state("stepping")
    session.publish_step()


@command
def step_batch(session: Session) -> None:
    _step(session, session.stepper.step_batch_live)


@command
def step_forward(session: Session) -> None:
    _step(session, session.stepper.step_forward)


@command
def step_backward(session: Session) -> None:
    _step(session, session.stepper.step_backward)


@command
def step_back(session: Session) -> None:
    _step(session, session.stepper.step_back)


@command
def apply_update(session: Session) -> None:
    _step(session, session.stepper.apply_update)


@command
def set_step_batch(session: Session, n) -> None:
    session.stepper.set_step_batch(n)
    session.notify("message", f"A stepping walk now takes {session.stepper.step_batch} image(s).")


@command
def set_walk_probe(session: Session, on=True) -> None:
    """Walk the probe (on: the image every panel shows, as the window starts) or the next
    ``step_batch`` training images (off). A walk under way ends: its image is no longer the one asked for."""
    on = bool(on)
    if on != session.stepper.walk_probe:
        session.end_walk()
    session.stepper.walk_probe = on
    session.notify("message", "Forward now walks the probe image." if on else
                   f"Forward now walks the next {session.stepper.step_batch} training image(s).")


# -- settings -----------------------------------------------------------------------------------
@command
def reset(session: Session) -> None:
    session.trainer.reset()
    session.end_walk()
    session.outlet.clear_timeline()
    session.trainer.validate()
    session.publish_idle("Fresh weights; training starts again.")
    session.notify("message", "Reset: fresh weights with the same settings.")


@command
def set_lr(session: Session, lr) -> None:
    session.trainer.set_lr(lr)
    session.settings["lr"] = session.trainer.lr
    session.notify("message", f"Learning rate {session.trainer.lr:g}.")


@command
def set_batch_size(session: Session, n) -> None:
    session.trainer.set_batch_size(n)
    session.settings["batch_size"] = session.trainer.batch_size
    session.notify("message", f"Batch size {session.trainer.batch_size}.")


@command
def set_optimizer(session: Session, name) -> None:
    if name not in OPTIMIZERS:
        raise ValueError(f"unknown optimizer {name!r}; choose adam or sgd.")
    session.trainer.set_optimizer(name)
    session.end_walk()
    session.settings["optimizer"] = name
    session.notify("message", f"Optimizer {name} (fresh moments, same weights).")


@command
def set_schedule(session: Session, kind, epochs=None) -> None:
    """The learning-rate schedule (constant, linear, cosine) over ``epochs`` epochs from fresh
    weights, then its end value; the weights stay."""
    trainer = session.trainer
    trainer.set_schedule(kind, epochs)
    session.settings["schedule"] = kind
    span = "" if kind == "constant" else f" over the first {trainer.schedule_epochs:g} epochs, then held"
    session.notify("message", f"Learning rate schedule: {trainer.schedule.describe()}{span} "
                              f"(now {trainer.current_lr:.3g}).")


@command
def set_paper_settings(session: Session, on=True) -> None:
    """The paper's optimizer settings and initialisation (on) or the defaults (off), with fresh weights."""
    trainer = session.trainer
    trainer.use_settings(bool(on))
    session.end_walk()
    for name in ("lr", "batch_size", "optimizer"):
        session.settings[name] = getattr(trainer, name if name != "optimizer" else "optimizer_name")
    session.settings["schedule"], session.settings["paper_settings"] = trainer.schedule.kind, bool(on)
    session.outlet.clear_timeline()
    trainer.validate()
    which = ("the paper's settings (they kill ReLU channels: watch the feature maps go black)" if on
             else "the default settings")
    session.publish_idle(f"Fresh weights with {which}.")
    session.notify("message", f"Fresh weights with {which}: learning rate {trainer.lr:g}.")


@command
def set_speed(session: Session, batches_per_second=None) -> None:
    """A limit in batches per second (slow motion for lectures); None or inf: full speed."""
    if batches_per_second is None:
        session.speed = None
    else:
        try:
            speed = float(batches_per_second)
        except (TypeError, ValueError):
            speed = float("nan")
        if not speed > 0:   # also NaN
            raise ValueError(f"the speed must be a positive number of batches per second, not {batches_per_second!r}.")
        session.speed = None if math.isinf(speed) else speed
    session._next_batch_at = 0.0
    session.notify("message", "Full speed." if session.speed is None else f"Speed limit {session.speed:g} batches/s.")


@command
def set_dataset(session: Session, name) -> None:
    dataset = session.loader(name)   # on a DatasetError the current data and network stay
    session.pause_quietly()
    session.end_walk()
    session.use_dataset(dataset)
    session.dataset_name = name


@command
def set_preset(session: Session, name) -> None:
    session.trainer.set_preset(name)
    session.end_walk()
    session.settings["preset"] = name
    session.settings["lr"] = session.trainer.lr   # a preset may recommend its own
    session.outlet.clear_timeline()
    session.trainer.validate()
    session.publish_idle(f"Preset {name}: fresh weights.")


# -- checkpoints --------------------------------------------------------------------------------
@command
def save_checkpoint(session: Session, path) -> None:
    trainer = session.trainer
    meta = dict(getattr(trainer.dataset, "meta", lambda: {})())
    meta.update(dataset=str(trainer.dataset.name), images_seen=trainer.images_seen, epoch=trainer.cursor.epoch)
    write_checkpoint(path, trainer.model, trainer.optimizer, trainer.step, meta)
    session.notify("message", f"Saved checkpoint {Path(path).name} (step {trainer.step}).")


@command
def load_checkpoint(session: Session, path) -> None:
    from cnnviz.runs import load_model   # a checkpoint, or a run file's weights at its last point

    trainer = session.trainer
    checkpoint = load_model(path)
    check_fits(checkpoint.model, trainer.dataset, path)
    model = checkpoint.model
    optimizer = checkpoint.optimizer or new_optimizer(trainer.optimizer_name, model, trainer.lr, trainer.settings)
    trainer.use_model(model, optimizer, checkpoint.step)
    trainer.optimizer_name, trainer.preset = optimizer.kind, model.preset or trainer.preset
    trainer.images_seen = int(checkpoint.meta.get("images_seen", 0))
    trainer.curves.clear()
    session.end_walk()
    session.outlet.clear_timeline()   # another run's weights: its snapshots would not compare
    trainer.validate()
    text = f"Loaded checkpoint {Path(path).name} (step {checkpoint.step})."
    session.publish_idle(text)
    session.notify("message", text)


# -- the probe image ----------------------------------------------------------------------------
def _new_probe(session: Session, text: str) -> None:
    """The probe changed: a walk of the old probe ends (the next Forward walks the new one), and
    while not playing a snapshot shows the new probe at once."""
    stepper = session.stepper
    if stepper.walk is not None and stepper.walk_probe:
        session.end_walk()
    if stepper.walk is not None:
        session.notify("message", f"{text} It is shown when this walk of training images ends.")
    elif session.state != "playing":
        session.publish_idle(text)


@command
def set_probe(session: Session, index) -> None:
    session.trainer.set_probe(index)
    _new_probe(session, f"Probe: test image {session.trainer.probe_index}.")


@command
def set_probe_image(session: Session, image, label=None) -> None:
    """A drawn image (C, H, W) or (H, W) in 0..1 becomes the probe, with the class ``label`` the user
    gives it (None: no label, its gradients aim at the predicted class); ``set_probe`` goes back to
    the test set. While playing, the next live snapshots show it."""
    session.trainer.set_probe_image(image, label)
    names = session.trainer.dataset.class_names
    _new_probe(session, "Probe: the drawn image (no label given; its gradients aim at the predicted class)."
               if label is None else f"Probe: the drawn image, labelled {names[int(label)]}.")


def _pick_probe(session: Session, kind: str) -> None:
    picked = session.trainer.pick_probe(kind)
    if picked is None:
        n = min(len(session.trainer.dataset.y_test), PICK_IMAGES)
        session.notify("message", f"No test image is misclassified: the network gets all of the first {n:,} right.")
        return
    index, why = picked
    session.trainer.set_probe(index)
    _new_probe(session, f"Probe: test image {index}, {why}.")
    session.notify("message", f"Probe: test image {index}, {why}.")


@command
def probe_hardest(session: Session) -> None:
    _pick_probe(session, "hardest")


@command
def probe_misclassified(session: Session) -> None:
    _pick_probe(session, "misclassified")


@command
def probe_least_confident(session: Session) -> None:
    _pick_probe(session, "least_confident")


@command
def probe_next(session: Session) -> None:
    set_probe(session, (session.trainer.probe_index + 1) % len(session.trainer.dataset.y_test))


@command
def probe_prev(session: Session) -> None:
    set_probe(session, (session.trainer.probe_index - 1) % len(session.trainer.dataset.y_test))


@command
def probe_random(session: Session) -> None:
    set_probe(session, session._random.randrange(len(session.trainer.dataset.y_test)))

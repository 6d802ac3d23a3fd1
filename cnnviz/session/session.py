"""The training session as a command loop, without Qt (the GUI's worker thread just calls ``run``).

Commands arrive on a thread-safe queue and are read between batches and between layer steps
(rule 6); snapshots leave through the ``Mailbox`` (rule 5); errors, status sentences and state
changes go to ``notify(kind, text)`` with kind "error", "message" or "state". Nothing here raises
out of ``run``: every failure becomes one sentence and the loop goes on.
"""

from __future__ import annotations

import queue
import random
import threading
import time
from pathlib import Path

import numpy as np

from cnnviz.errors import CnnvizError, TrainingError
from cnnviz.session.builder import live_snapshot, stepper_snapshot
from cnnviz.session.mailbox import Mailbox
from cnnviz.session.session_commands import CommandsMixin
from cnnviz.session.stepper import Stepper, StepRefused
from cnnviz.session.timeline import Timeline
from cnnviz.session.trainer import Trainer

STATES = ("playing", "paused", "stepping", "stopped")
COMMANDS = (
    "play", "pause", "step_batch", "step_forward", "step_backward", "step_back", "apply_update", "reset",
    "set_lr", "set_batch_size", "set_optimizer", "set_speed", "set_dataset", "set_preset",
    "load_checkpoint", "save_checkpoint", "set_probe", "probe_next", "probe_prev", "probe_random",
    "set_step_batch", "set_probe_image", "set_schedule", "set_paper_settings",
)
IDLE_WAIT = 0.1   # seconds a paused loop sleeps on the queue before looking at the stop flag again


def load_named_dataset(name: str):
    """The data layer's loader, imported late so the session works with a dataset object alone."""
    from cnnviz.data import load_dataset

    return load_dataset(name)


class Session(CommandsMixin):
    """Owns the trainer and stepper; ``run()`` is the worker thread's whole life."""

    def __init__(self, dataset: str = "digits", preset: str = "seed", lr: float | None = None,
                 batch_size: int | None = None, optimizer: str | None = None, seed: int = 0, dataset_obj=None, notify=None,
                 loader=None, trainer_options: dict | None = None) -> None:
        self.settings = dict(preset=preset, lr=lr, batch_size=batch_size, optimizer=optimizer, seed=seed,
                             **(trainer_options or {}))
        self.dataset_name, self.dataset_obj = dataset, dataset_obj
        self.loader = loader or (lambda name: load_named_dataset(name))   # looked up late: tests patch it
        self.notify = notify or (lambda kind, text: None)
        self.commands: queue.Queue = queue.Queue()
        self.mailbox = Mailbox()
        self.timeline = Timeline()   # live snapshots every TIMELINE_EVERY steps, for scrubbing back
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

    # -- the loop -------------------------------------------------------------------------
    def run(self) -> None:
        """Load the data, publish the first snapshot, then serve commands and train until stopped."""
        self.start_up()
        while not self._stop.is_set():
            self.tick()
        self._set_state("stopped")

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
        self._use_dataset(dataset)

    def _use_dataset(self, dataset) -> None:
        step_batch = self.stepper.step_batch if self.stepper is not None else 1
        self.trainer = Trainer(dataset, **self.settings)
        self.stepper = Stepper(self.trainer)
        self.stepper.step_batch = step_batch
        self.timeline.clear()
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

    def _handle(self, command: str, kwargs: dict) -> None:
        if command not in COMMANDS:
            self.notify("error", f"Unknown command {command!r}; the worker knows: {', '.join(COMMANDS)}.")
            return
        if self.trainer is None and command != "set_dataset":
            self.notify("error", f"Cannot {command.replace('_', ' ')}: no dataset is loaded; choose one first.")
            return
        self._guarded(getattr(self, f"cmd_{command}"), **kwargs)

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
            self._pause_quietly()
            self.notify("error", str(error))
            self.publish_idle(str(error))
        except (CnnvizError, ValueError) as error:
            self.notify("error", str(error))
        except Exception as error:   # a bug must not kill the worker silently
            self._pause_quietly()
            self.notify("error", f"Internal error in the training thread ({type(error).__name__}: {error}); "
                                 f"training is paused.")

    # -- live training --------------------------------------------------------------------
    def _train_tick(self) -> None:
        """One batch (respecting the speed limit), then a snapshot if the GUI wants one."""
        if self.speed:
            delay = self._next_batch_at - time.monotonic()
            if delay > 0:
                self._drain(wait=min(delay, IDLE_WAIT))
                return
            self._next_batch_at = max(self._next_batch_at + 1 / self.speed, time.monotonic())
        self.trainer.train_batch()
        wanted, kept = self.mailbox.wants_live(), self.timeline.due(self.trainer.step)
        if wanted or kept:   # one snapshot serves both
            started = time.perf_counter()
            snapshot = live_snapshot(self.trainer, self.mailbox.next_seq())
            if wanted:
                self.mailbox.put_live(snapshot, time.perf_counter() - started)
            if kept:
                self.timeline.offer(self.trainer.step, snapshot)

    # -- state and publishing -------------------------------------------------------------
    def _set_state(self, state: str) -> None:
        if state != self.state:
            self.state = state
            self.notify("state", state)

    def _pause_quietly(self) -> None:
        if self.state == "playing":
            self._set_state("paused")
        if self.trainer is not None:
            self.trainer.mark_paused()

    def publish_idle(self, message: str = "") -> None:
        """A snapshot of the current weights with the probe (after pause, reset, load, ...)."""
        if self.trainer is not None:
            snapshot = live_snapshot(self.trainer, self.mailbox.next_seq(), "idle", message)
            self.mailbox.put_live(snapshot)
            self.timeline.offer(self.trainer.step, snapshot)   # e.g. step 0 of a fresh run

    def publish_step(self, message: str = "") -> None:
        snapshot = stepper_snapshot(self.trainer, self.stepper, self.mailbox.next_seq(), message)
        self.mailbox.put_step(snapshot)
        if self.stepper.walk is None:   # the probe, as live; a walk's training image would not compare
            self.timeline.offer(self.trainer.step, snapshot)

    @staticmethod
    def file_name(path) -> str:
        return Path(path).name

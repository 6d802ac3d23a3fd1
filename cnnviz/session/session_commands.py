"""The worker's commands, one method each (``cmd_<name>``), mixed into ``Session``.

Keyword names are the GUI's: ``set_lr(lr)``, ``set_batch_size(n)``, ``set_optimizer(name)``,
``set_speed(batches_per_second)``, ``set_dataset(name)``, ``set_preset(name)``,
``load_checkpoint(path)``, ``save_checkpoint(path)``, ``set_probe(index)``,
``set_probe_image(image)``, ``set_step_batch(n)``, ``set_schedule(kind, epochs=None)``,
``set_paper_settings(on)``.
"""

from __future__ import annotations

import math

from cnnviz.errors import CheckpointError
from cnnviz.nn import load_checkpoint, save_checkpoint
from cnnviz.session.trainer import OPTIMIZERS, new_optimizer


class CommandsMixin:
    # -- running --------------------------------------------------------------------------
    def cmd_play(self) -> None:
        self.stepper.abandon()   # live training moves on; the step history no longer applies
        self._next_batch_at = 0.0
        self._set_state("playing")

    def cmd_pause(self) -> None:
        was_playing = self.state == "playing"
        self._pause_quietly()
        self._set_state("paused")
        if was_playing:
            self.publish_idle("Paused")
            self.notify("message", "Paused")

    def _end_walk(self) -> None:
        """The network changed under the walk (new weights, optimizer or model): forget it."""
        if self.stepper is not None:   # None until a first dataset loaded (e.g. --data named a bad folder)
            self.stepper.abandon()
        if self.state == "stepping":
            self._set_state("paused")

    def _step(self, action, *args) -> None:
        """Run one stepping action (live training pauses first) and deliver its snapshot."""
        self._pause_quietly()
        action(*args)
        self._set_state("stepping")
        self.publish_step()

    def cmd_step_batch(self) -> None:
        self._step(self.stepper.step_batch_live)

    def cmd_step_forward(self) -> None:
        self._step(self.stepper.step_forward)

    def cmd_step_backward(self) -> None:
        self._step(self.stepper.step_backward)

    def cmd_apply_update(self) -> None:
        self._step(self.stepper.apply_update)

    def cmd_step_back(self) -> None:
        self._step(self.stepper.step_back)

    def cmd_set_step_batch(self, n) -> None:
        self.stepper.set_step_batch(n)
        self.notify("message", f"A stepping walk now takes {self.stepper.step_batch} image(s).")

    # -- settings -------------------------------------------------------------------------
    def cmd_reset(self) -> None:
        self.trainer.reset()
        self._end_walk()
        self.timeline.clear()
        self.trainer.validate()
        self.publish_idle("Fresh weights; training starts again.")
        self.notify("message", "Reset: fresh weights with the same settings.")

    def cmd_set_lr(self, lr) -> None:
        self.trainer.set_lr(lr)
        self.settings["lr"] = self.trainer.lr
        self.notify("message", f"Learning rate {self.trainer.lr:g}.")

    def cmd_set_batch_size(self, n) -> None:
        self.trainer.set_batch_size(n)
        self.settings["batch_size"] = self.trainer.batch_size
        self.notify("message", f"Batch size {self.trainer.batch_size}.")

    def cmd_set_optimizer(self, name) -> None:
        if name not in OPTIMIZERS:
            raise ValueError(f"unknown optimizer {name!r}; choose adam or sgd.")
        self.trainer.set_optimizer(name)
        self._end_walk()
        self.settings["optimizer"] = name
        self.notify("message", f"Optimizer {name} (fresh moments, same weights).")

    def cmd_set_schedule(self, kind, epochs=None) -> None:
        """The learning-rate schedule (constant, linear, cosine) over ``epochs`` epochs from fresh
        weights, then its end value; the weights stay."""
        trainer = self.trainer
        trainer.set_schedule(kind, epochs)
        self.settings["schedule"] = kind
        span = "" if kind == "constant" else f" over the first {trainer.schedule_epochs:g} epochs, then held"
        self.notify("message", f"Learning rate schedule: {trainer.schedule.describe()}{span} "
                               f"(now {trainer.current_lr:.3g}).")

    def cmd_set_paper_settings(self, on=True) -> None:
        """The paper's optimizer settings and initialisation (on) or the defaults (off), with fresh weights."""
        trainer = self.trainer
        trainer.use_settings(bool(on))
        self._end_walk()
        for name in ("lr", "batch_size", "optimizer"):
            self.settings[name] = getattr(trainer, name if name != "optimizer" else "optimizer_name")
        self.settings["schedule"], self.settings["paper_settings"] = trainer.schedule.kind, bool(on)
        self.timeline.clear()
        trainer.validate()
        which = ("the paper's settings (they kill ReLU channels: watch the feature maps go black)" if on
                 else "the default settings")
        self.publish_idle(f"Fresh weights with {which}.")
        self.notify("message", f"Fresh weights with {which}: learning rate {trainer.lr:g}.")

    def cmd_set_speed(self, batches_per_second=None) -> None:
        """A limit in batches per second (slow motion for lectures); None or inf: full speed."""
        if batches_per_second is None:
            self.speed = None
        else:
            try:
                speed = float(batches_per_second)
            except (TypeError, ValueError):
                speed = float("nan")
            if not speed > 0:   # also NaN
                raise ValueError(f"the speed must be a positive number of batches per second, not {batches_per_second!r}.")
            self.speed = None if math.isinf(speed) else speed
        self._next_batch_at = 0.0
        self.notify("message", "Full speed." if self.speed is None else f"Speed limit {self.speed:g} batches/s.")

    def cmd_set_dataset(self, name) -> None:
        dataset = self.loader(name)   # on a DatasetError the current data and network stay
        self._pause_quietly()
        self._end_walk()
        self._use_dataset(dataset)
        self.dataset_name = name

    def cmd_set_preset(self, name) -> None:
        self.trainer.set_preset(name)
        self._end_walk()
        self.settings["preset"] = name
        self.settings["lr"] = self.trainer.lr   # a preset may recommend its own
        self.timeline.clear()
        self.trainer.validate()
        self.publish_idle(f"Preset {name}: fresh weights.")

    # -- checkpoints ----------------------------------------------------------------------
    def cmd_save_checkpoint(self, path) -> None:
        trainer = self.trainer
        meta = dict(getattr(trainer.dataset, "meta", lambda: {})())
        meta.update(dataset=str(trainer.dataset.name), images_seen=trainer.images_seen, epoch=trainer.cursor.epoch)
        save_checkpoint(path, trainer.model, trainer.optimizer, trainer.step, meta)
        self.notify("message", f"Saved checkpoint {self.file_name(path)} (step {trainer.step}).")

    def cmd_load_checkpoint(self, path) -> None:
        trainer = self.trainer
        checkpoint = load_checkpoint(path)
        model, dataset = checkpoint.model, trainer.dataset
        if tuple(model.input_shape) != tuple(dataset.input_shape) or model.num_classes != len(dataset.class_names):
            shape = "x".join(map(str, model.input_shape))
            want = "x".join(map(str, dataset.input_shape))
            raise CheckpointError(
                f"{path} holds a network for {shape} images and {model.num_classes} classes, but the dataset "
                f"{dataset.name} has {want} images and {len(dataset.class_names)} classes.")
        optimizer = checkpoint.optimizer or new_optimizer(trainer.optimizer_name, model, trainer.lr, trainer.settings)
        trainer.use_model(model, optimizer, checkpoint.step)
        trainer.optimizer_name, trainer.preset = optimizer.kind, model.preset or trainer.preset
        trainer.images_seen = int(checkpoint.meta.get("images_seen", 0))
        trainer.curves.clear()
        self._end_walk()
        self.timeline.clear()   # another run's weights: its snapshots would not compare
        trainer.validate()
        text = f"Loaded checkpoint {self.file_name(path)} (step {checkpoint.step})."
        self.publish_idle(text)
        self.notify("message", text)

    # -- the probe image ------------------------------------------------------------------
    def cmd_set_probe(self, index) -> None:
        self.trainer.set_probe(index)
        if self.stepper.walk is None and self.state != "playing":
            self.publish_idle(f"Probe: test image {self.trainer.probe_index}.")

    def cmd_set_probe_image(self, image) -> None:
        """A drawn image (C, H, W) or (H, W) in 0..1 becomes the probe; ``set_probe`` goes back to
        the test set. While playing, the next live snapshots show it."""
        self.trainer.set_probe_image(image)
        if self.stepper.walk is not None:
            self.notify("message", "The drawn image becomes the probe when training plays again; "
                                   "this stepping walk shows its own image.")
        elif self.state != "playing":
            self.publish_idle("Probe: the drawn image (no true label; its gradients aim at the predicted class).")

    def cmd_probe_next(self) -> None:
        self.cmd_set_probe((self.trainer.probe_index + 1) % len(self.trainer.dataset.y_test))

    def cmd_probe_prev(self) -> None:
        self.cmd_set_probe((self.trainer.probe_index - 1) % len(self.trainer.dataset.y_test))

    def cmd_probe_random(self) -> None:
        self.cmd_set_probe(self._random.randrange(len(self.trainer.dataset.y_test)))

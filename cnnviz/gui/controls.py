"""Toolbars: the run controls (play, step, back, update, reset) and the training settings, the rows they
sit in (ToolbarRows), and the message bar that shows errors and explanations in the window.

Every control turns into one worker command, emitted as ``command_requested(name, kwargs)``; the main
window forwards it to ``SessionController.send``. The actions carry the keyboard shortcuts and are
also added to the window itself, so the keys work even when a toolbar is hidden. Widgets that would
swallow the shortcut keys (Space, arrows, Backspace) hand the focus back once a choice is made.
"""

from __future__ import annotations

import math

from PyQt6.QtCore import QSize, Qt, QTimer, pyqtSignal
from PyQt6.QtGui import QAction, QKeySequence, QValidator
from PyQt6.QtWidgets import (QAbstractSpinBox, QComboBox, QDoubleSpinBox, QFrame, QHBoxLayout, QLabel, QMainWindow,
                             QSlider, QSpinBox, QStyle, QToolBar, QToolButton, QWidget, QCheckBox)

from cnnviz.nn.defaults import DEFAULTS, PAPER_SETTINGS
from cnnviz.nn.schedule import SCHEDULES

DEFAULT_DATASETS = ("digits", "mnist", "fashion-mnist", "cifar10")
# Speed limit steps in batches per second; the last notch removes the limit.
SPEEDS = (0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 50.0, math.inf)


def dataset_choices() -> list[str]:
    """The registry's dataset names when the data package offers them, else the four built in."""
    try:
        import cnnviz.data as data
    except Exception:  # data package still being written: the known names will do
        return list(DEFAULT_DATASETS)
    for name in ("dataset_names", "DATASET_NAMES", "DATASETS", "REGISTRY"):
        found = getattr(data, name, None)
        names = found() if callable(found) else found
        if names:
            return [str(n) for n in names]
    return list(DEFAULT_DATASETS)


def preset_choices() -> list[str]:
    from cnnviz.nn import preset_names

    names = preset_names()
    return sorted(names, key=lambda n: (n != "seed", n))  # the paper's network first


def speed_text(batches_per_second: float) -> str:
    if math.isinf(batches_per_second):
        return "max"
    return f"{batches_per_second:g} batch/s"


def enlarge(bar: QToolBar, factor: float = 1.2) -> None:
    """Bigger text and icons than the desktop default: the window is often shown on a projector."""
    font = bar.font()
    font.setPointSizeF(font.pointSizeF() * factor)
    bar.setFont(font)
    bar.setIconSize(QSize(22, 22))


def rate_text(value: float) -> str:
    """A learning rate as people write it: 0.01, 0.0003, 500, 1e-6 (all its digits, no padding)."""
    text = f"{value:.10g}"
    return text.replace("e-0", "e-").replace("e+0", "e").replace("e+", "e")


class LearningRateBox(QDoubleSpinBox):
    """The learning rate, 1e-6 .. 1000 (wider if the worker reports a rate outside that), shown with
    every significant digit and in scientific notation when tiny (0.00001 read as 0.00000 before);
    arrows step about 10% (adaptive decimal steps); typing accepts 3e-4 as well as 0.0003."""

    LOW, HIGH = 1e-6, 1e3
    DIGITS = 12          # the spin box rounds to this many decimals; 1e-6 keeps 6 significant digits

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setDecimals(self.DIGITS)
        self.setRange(self.LOW, self.HIGH)
        self.setStepType(QAbstractSpinBox.StepType.AdaptiveDecimalStepType)

    def sizeHint(self) -> QSize:
        """Room for a rate like 0.000123: the range's ends (1e-6, 1000) are short texts."""
        hint = super().sizeHint()
        return QSize(max(hint.width(), self.fontMetrics().horizontalAdvance("0.0001234") + 30), hint.height())

    def make_room_for(self, value: float) -> None:
        if value > 0:
            self.setRange(min(self.LOW, value), max(self.HIGH, value))

    def textFromValue(self, value: float) -> str:
        return rate_text(value)

    def valueFromText(self, text: str) -> float:
        try:
            return float(text.strip())
        except ValueError:
            return self.value()

    def validate(self, text: str, pos: int):
        stripped = text.strip()
        try:
            value = float(stripped)
        except ValueError:     # on the way to a number ("", "3e", "0.")?
            partial = stripped == "" or all(c in "0123456789.eE+-" for c in stripped)
            state = QValidator.State.Intermediate if partial else QValidator.State.Invalid
            return state, text, pos
        if self.minimum() <= value <= self.maximum():
            return QValidator.State.Acceptable, text, pos
        return QValidator.State.Intermediate, text, pos

    def fixup(self, text: str) -> str:
        return rate_text(self.value())


class RunBar(QToolBar):
    """Play/Pause, step batch, layer back/forward, undo step, apply update, reset."""

    command_requested = pyqtSignal(str, dict)

    # name, text, standard icon, shortcuts, command, tooltip
    ACTIONS = (
        ("play", "Play", "SP_MediaPlay", ("Space",), None,
         "Start or pause training (Space). While paused, Forward, Backward and Update walk the "
         "Walk box's images (1 by default) through the network a layer at a time."),
        ("step_batch", "Batch", "SP_MediaSkipForward", ("B",), "step_batch",
         "Train on exactly one batch, then pause (B)."),
        ("step_forward", "Forward", "SP_ArrowRight", ("Right",), "step_forward",
         "Forward pass: run the next layer on the walk's images; after the last layer, the loss "
         "(Right arrow)."),
        ("step_backward", "Backward", "SP_ArrowLeft", ("Left",), "step_backward",
         "Backward pass: send the gradient down through the next layer (Left arrow). "
         "Do the forward pass and the loss first."),
        ("apply_update", "Update", "SP_DialogApplyButton", ("U",), "apply_update",
         "Apply the optimizer update ΔW to every weight once the backward pass is done (U)."),
        ("step_back", "Undo step", "SP_MediaSeekBackward", ("Backspace", "Ctrl+Z"), "step_back",
         "Go back one step in time: undo the last layer step or update (Backspace or Ctrl+Z)."),
        ("reset", "Reset", "SP_BrowserReload", ("R",), "reset",
         "Start again from fresh random weights with the same settings (R)."),
    )

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Run", parent)
        self.setObjectName("run_toolbar")
        enlarge(self)
        self.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.actions_by_name: dict[str, QAction] = {}
        for name, text, icon, keys, command, tip in self.ACTIONS:
            action = QAction(self.style().standardIcon(getattr(QStyle.StandardPixmap, icon)), text, self)
            action.setObjectName(name)
            action.setShortcuts([QKeySequence(k) for k in keys])
            action.setToolTip(tip)
            action.setStatusTip(tip)
            if command is None:
                action.triggered.connect(self._play_pause)
            else:
                action.triggered.connect(lambda _=False, c=command: self.command_requested.emit(c, {}))
            self.addAction(action)
            self.actions_by_name[name] = action
        self.insertSeparator(self.actions_by_name["step_batch"])
        self.insertSeparator(self.actions_by_name["step_forward"])
        self.insertSeparator(self.actions_by_name["step_back"])
        self.state = "paused"

    def action(self, name: str) -> QAction:
        return self.actions_by_name[name]

    def set_state(self, state: str) -> None:
        """Follow the worker's state: the play button says what pressing it will do."""
        self.state = state
        play = self.actions_by_name["play"]
        icon = "SP_MediaPause" if state == "playing" else "SP_MediaPlay"
        play.setIcon(self.style().standardIcon(getattr(QStyle.StandardPixmap, icon)))
        play.setText("Pause" if state == "playing" else "Play")

    def _play_pause(self) -> None:
        self.command_requested.emit("pause" if self.state == "playing" else "play", {})


class SettingsBar(QToolBar):
    """Dataset, preset, learning rate, batch size, the stepping walk's size and the optimizer."""

    command_requested = pyqtSignal(str, dict)

    def __init__(self, parent: QWidget | None = None, datasets=None, presets=None) -> None:
        super().__init__("Training settings", parent)
        self.setObjectName("settings_toolbar")
        enlarge(self)
        self.dataset = self._combo(datasets or dataset_choices(), "set_dataset",
                                   "Images to train on: built-in synthetic digits (no download), "
                                   "MNIST, Fashion-MNIST or CIFAR-10 (downloaded once, then cached).")
        self._add("Data", self.dataset)
        self.preset = self._combo(presets or preset_choices(), "set_preset",
                                  "Network architecture. 'seed' is the paper's network: conv 8@5x5, "
                                  "conv 8@5x5, max-pool 2x2, dense 128, dense 10.")
        self._add("Network", self.preset)

        self.lr = LearningRateBox()
        self.lr.setValue(DEFAULTS.lr)
        self.lr.setKeyboardTracking(False)  # one command per finished edit, not per keystroke
        self.lr.setToolTip("Learning rate: how far each update moves the weights (ΔW = -lr x step "
                           "direction). The arrows change it by about 10% per click; type a value and press Enter.")
        self.lr.valueChanged.connect(lambda v: (self._send("set_lr", lr=float(v)), self._give_back_focus()))
        self.lr.editingFinished.connect(self._give_back_focus)
        self._add("Learning rate", self.lr)
        # the rate the next update really uses: the base rate, scaled by the schedule (shown beside it)
        self.lr_now = QLabel("")
        self.lr_now.setToolTip("The learning rate the next update uses: the base rate scaled by the schedule.")
        self.schedule = QComboBox()
        self.schedule.addItems(list(SCHEDULES))
        self.schedule.setCurrentText(DEFAULTS.schedule)
        self.schedule.setToolTip(f"Learning-rate schedule: constant, or a linear or cosine decay to "
                                 f"{DEFAULTS.final:.0%} of the base rate over the first "
                                 f"{DEFAULTS.schedule_epochs:g} epochs, then held.")
        self.schedule.activated.connect(lambda i: (self._send("set_schedule", kind=self.schedule.itemText(i)),
                                                   self._give_back_focus()))
        self.schedule_caption = QLabel(" Schedule ")
        self.schedule_caption.setToolTip(self.schedule.toolTip())
        self.paper = QCheckBox("paper's settings")
        self.paper.setToolTip(f"The paper's settings: Adam lr {PAPER_SETTINGS.lr:g}, beta1 {PAPER_SETTINGS.beta1:g}, "
                              f"beta2 {PAPER_SETTINGS.beta2:g}, constant rate, its initialisation; fresh weights. "
                              "With real Adam they kill ReLU channels: a lesson on dying ReLUs.")
        self.paper.toggled.connect(lambda on: (self._send("set_paper_settings", on=bool(on)), self._give_back_focus()))

        self.batch = QSpinBox()
        self.batch.setRange(1, 1024)
        self.batch.setValue(DEFAULTS.batch_size)
        self.batch.setKeyboardTracking(False)
        self.batch.setToolTip("Batch size: images averaged into each gradient and update.")
        self.batch.valueChanged.connect(lambda v: (self._send("set_batch_size", n=int(v)), self._give_back_focus()))
        self.batch.editingFinished.connect(self._give_back_focus)
        self._add("Batch", self.batch)

        # the stepping walk (→, ←, Update) is not a batch of 32: by default it is one image
        # 0 = the probe (the image every panel shows); n = the next n training images
        self.walk = QSpinBox()
        self.walk.setRange(0, self.batch.value())
        self.walk.setSpecialValueText("the probe")
        self.walk.setValue(0)
        self.walk.setKeyboardTracking(False)
        self.walk.setToolTip("Walk: what one forward/backward walk (Forward, Backward, Update) steps: the "
                             "probe (the image every panel shows), or the next n training images (dL/dW is "
                             "their mean). Play and Batch train on the batch size.")
        self.walk.valueChanged.connect(self._walk_changed)
        self.walk.editingFinished.connect(self._give_back_focus)
        self.batch.valueChanged.connect(lambda n: self.walk.setMaximum(max(1, int(n))))
        self._add("Walk", self.walk)
        self._walk_changed(self.walk.value(), send=False)

        self.optimizer = self._combo(["adam", "sgd"], "set_optimizer",
                                     f"Optimizer: Adam (beta1 {DEFAULTS.beta1:g}, beta2 {DEFAULTS.beta2:g}) "
                                     "or plain stochastic gradient descent.")
        self._add("Optimizer", self.optimizer)

    def move_rate_controls_to(self, bar: QToolBar) -> None:
        """Put the schedule and the paper's-settings switch on ``bar`` (the window gives its speed bar:
        the settings bar with them was wider than a 1024-px projector). They send through this bar."""
        bar.addSeparator()
        for widget in (self.schedule_caption, self.schedule, self.lr_now, self.paper):
            bar.addWidget(widget)

    def _add(self, caption: str, widget: QWidget) -> None:
        label = QLabel(f" {caption} ")
        label.setToolTip(widget.toolTip())
        self.addWidget(label)
        self.addWidget(widget)
        self.addSeparator()

    def _combo(self, items, command: str, tip: str) -> QComboBox:
        combo = QComboBox()
        combo.addItems(list(items))
        combo.setToolTip(tip)
        combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        # activated: only the user's choices, never our own set_values() syncing
        combo.activated.connect(lambda i, c=combo: (self._send(command, name=c.itemText(i)),
                                                    self._give_back_focus()))
        return combo

    def _send(self, command: str, **kwargs) -> None:
        self.command_requested.emit(command, kwargs)

    def _give_back_focus(self) -> None:
        """Return the keyboard to the window so Space and the arrows step again."""
        window = self.window()
        if window is not None and window.centralWidget() is not None:
            window.centralWidget().setFocus(Qt.FocusReason.OtherFocusReason)

    def _walk_changed(self, n: int, send: bool = True) -> None:
        self.walk.setSuffix(" image" if n == 1 else " images")
        if send:
            if n == 0:
                self._send("set_walk_probe", on=True)
            else:
                self._send("set_step_batch", n=int(n))
                self._send("set_walk_probe", on=False)
            self._give_back_focus()

    def show_rate(self, current_lr: float | None, schedule: str = "", paper: bool | None = None,
                  preset: str = "") -> None:
        """The scheduled rate now ("now 0.0029"), the schedule and settings really in use."""
        text = "" if current_lr is None else f"now {current_lr:.2g} "
        if text != self.lr_now.text():
            self.lr_now.setText(text)
        kind = schedule.split(" ")[0] if schedule else ""
        if kind in SCHEDULES and self.schedule.currentText() != kind:
            self.schedule.setCurrentText(kind)
        if paper is not None and self.paper.isChecked() != paper:
            self.paper.blockSignals(True)
            self.paper.setChecked(paper)
            self.paper.blockSignals(False)
        tip = ("The sigmoid preset learns slowly: its own rate is used; its gradients shrink layer by layer."
               if "sigmoid" in preset else "The learning rate the next update uses: the base rate scaled by the schedule.")
        if self.lr_now.toolTip() != tip:
            self.lr_now.setToolTip(tip)

    def set_values(self, dataset: str | None = None, preset: str | None = None, lr: float | None = None,
                   batch_size: int | None = None, optimizer: str | None = None,
                   walk_images: int | None = None) -> None:
        """Show what the worker really uses (after a checkpoint load, say) without sending commands."""
        for combo, value in ((self.dataset, dataset), (self.preset, preset), (self.optimizer, optimizer)):
            if value and combo.currentText() != value:
                if combo.findText(value) < 0:
                    combo.addItem(value)
                combo.setCurrentIndex(combo.findText(value))
        if lr and not self.lr.hasFocus():
            self.lr.make_room_for(lr)     # the rate really in use is shown, never clipped to the range
        for box, value in ((self.lr, lr), (self.batch, batch_size)):
            if value and not box.hasFocus() and not math.isclose(box.value(), value, rel_tol=1e-9):
                box.blockSignals(True)
                box.setValue(value)
                box.blockSignals(False)
        if batch_size:    # a walk longer than the new batch is cut to it, and the worker told so
            self.walk.setMaximum(max(1, int(batch_size)))
        if walk_images and not self.walk.hasFocus() and self.walk.value() != walk_images:
            self.walk.blockSignals(True)    # a walk's snapshot says how many images it really runs
            self.walk.setMaximum(max(self.walk.maximum(), int(walk_images)))
            self.walk.setValue(int(walk_images))
            self.walk.blockSignals(False)
            self._walk_changed(int(walk_images), send=False)


class SpeedBar(QToolBar):
    """The speed limit for slow motion; a bar of its own so that on a narrow screen it can take a
    row of its own rather than hide in the toolbar's overflow menu."""

    command_requested = pyqtSignal(str, dict)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Speed", parent)
        self.setObjectName("speed_toolbar")
        enlarge(self)
        self.speed = QSlider(Qt.Orientation.Horizontal)
        self.speed.setRange(0, len(SPEEDS) - 1)
        self.speed.setValue(len(SPEEDS) - 1)
        self.speed.setFixedWidth(150)
        self.speed.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # arrows stay layer steps
        self.speed.setToolTip("Speed limit for slow motion: batches per second while playing; "
                              "far right is as fast as the machine can go.")
        self.speed_label = QLabel()
        self.speed_label.setMinimumWidth(90)
        self.speed_label.setToolTip(self.speed.toolTip())
        self.speed.valueChanged.connect(self._speed_changed)
        label = QLabel(" Speed ")
        label.setToolTip(self.speed.toolTip())
        self.addWidget(label)
        self.addWidget(self.speed)
        self.addWidget(self.speed_label)
        self._speed_changed(self.speed.value(), send=False)

    def _speed_changed(self, notch: int, send: bool = True) -> None:
        speed = SPEEDS[notch]
        self.speed_label.setText(speed_text(speed))
        if send:
            self.command_requested.emit("set_speed", {"batches_per_second": None if math.isinf(speed) else speed})


class MessageBar(QFrame):
    """A coloured line above the panels for errors and notices; errors stay until closed."""

    STYLES = {"error": "background:#fde2e1; color:#8a1111; border-bottom:2px solid #d33;",
              "info": "background:#e3eefc; color:#123d6b; border-bottom:2px solid #5b8fd6;"}

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("message_bar")
        self.label = QLabel()
        self.label.setWordWrap(True)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        font = self.label.font()
        font.setPointSizeF(font.pointSizeF() * 1.2)
        self.label.setFont(font)
        close = QToolButton()
        close.setText("✕")
        close.setToolTip("Hide this message")
        close.setAutoRaise(True)
        close.clicked.connect(self.hide)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(10, 4, 4, 4)
        layout.addWidget(self.label, 1)
        layout.addWidget(close)
        self.kind = ""
        self._timer = QTimer(self, singleShot=True, timeout=self._expire)
        self.hide()

    def text(self) -> str:
        return self.label.text() if self.isVisibleTo(self.parentWidget()) else ""

    def show_message(self, text: str, kind: str = "info", seconds: float | None = 8.0) -> None:
        self.kind = kind
        self.label.setText(text)
        self.setStyleSheet(f"QFrame#message_bar {{{self.STYLES[kind]}}} QLabel {{{self.STYLES[kind]} border:none;}}")
        self.show()
        self._timer.stop()
        if seconds:
            self._timer.start(int(seconds * 1000))

    def _expire(self) -> None:
        if self.kind != "error":
            self.hide()


class ToolbarRows:
    """Where the window's toolbars sit: the speed bar beside the settings when both fit, else at the
    end of the run bar's row, else on a row of its own (a 1024-px projector): every control stays
    in view, none in a toolbar's "»" overflow menu. ``arrange()`` after every resize."""

    def __init__(self, window: QMainWindow, run_bar: QToolBar, settings_bar: QToolBar, speed_bar: QToolBar) -> None:
        self.window, self.bars = window, (run_bar, settings_bar, speed_bar)
        self.place = ""             # "settings", "run" or "own row": the speed bar's place now

    def arrange(self) -> None:
        window, (run_bar, settings_bar, speed_bar) = self.window, self.bars
        width, room = window.width(), 16
        run, settings, speed = (bar.sizeHint().width() for bar in self.bars)
        place = ("settings" if settings + speed + room <= width else
                 "run" if run + speed + room <= width else "own row")
        if place == self.place:
            return
        self.place = place
        shown = [bar.isVisibleTo(window) for bar in self.bars]     # removeToolBar hides; the user's choice stays
        for bar in self.bars:
            window.removeToolBar(bar)
        window.addToolBar(run_bar)
        if place == "run":
            window.addToolBar(speed_bar)
        window.addToolBarBreak()
        window.addToolBar(settings_bar)
        if place == "own row":
            window.addToolBarBreak()
        if place != "run":
            window.addToolBar(speed_bar)
        for bar, visible in zip(self.bars, shown):
            bar.setVisible(visible)

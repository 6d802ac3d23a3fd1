"""The pieces of training that the command line and the window share, without Qt: the optimizer made
from a name and the training settings, the divergence rule, the checkpoint-fits check, the batch order, copies of the weights
(to step back, to fall back after NaN, to show ΔW), one plain training step and evaluation.

Arrays are NCHW float32: images (N, C, H, W), labels (N,) int.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from cnnviz.errors import CheckpointError, TrainingError
from cnnviz.nn import Optimizer, Sequential, SoftmaxCrossEntropy
from cnnviz.nn.defaults import DEFAULTS, TrainingSettings
from cnnviz.nn.memory import max_batch_size
from cnnviz.nn.optim import optimizer_for
from cnnviz.session.snapshot import freeze

OPTIMIZERS = ("adam", "sgd")
# a mean batch loss above this many times ln(classes) (what a network that guesses scores) counts as
# diverged, like NaN: with Adam at lr 1e6 the loss climbed to 4e30 and stayed finite, so training
# went on at chance level without a word. No run that is learning comes anywhere near it.
DIVERGED_FACTOR = 100


# -- settings --------------------------------------------------------------------------------------
def new_optimizer(name: str, model: Sequential, lr: float, settings: TrainingSettings = DEFAULTS) -> Optimizer:
    """Adam or plain SGD with ``settings``' betas / momentum (``nn.optim.optimizer_for``, over the one
    factory ``make_optimizer``); ValueError (one sentence) for another name."""
    if name not in OPTIMIZERS:
        raise ValueError(f"unknown optimizer {name!r}; choose adam or sgd.")
    return optimizer_for(replace(settings, optimizer=name), model.parameters(), lr)


def check_lr(lr) -> float:
    try:
        value = float(lr)
    except (TypeError, ValueError):
        value = float("nan")
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"the learning rate must be a positive number, not {lr!r}.")
    return value


def is_whole(n) -> bool:
    """True for 3 or 3.0, False for 2.5, "3", None or anything else."""
    try:
        return not isinstance(n, (str, bytes, bool)) and int(n) == n
    except (TypeError, ValueError, OverflowError):
        return False


def divergence(loss: float, num_classes: int) -> str | None:
    """The one divergence rule, for the command line and the window alike: None while ``loss`` is
    one a learning network can have; else what is wrong with it, to go into a sentence ("NaN",
    "infinite", or "4.1e+30, over 100 times the 2.30 of guessing (it diverged)")."""
    limit = DIVERGED_FACTOR * math.log(max(2, num_classes))
    if math.isfinite(loss) and loss <= limit:
        return None
    if math.isnan(loss):
        return "NaN"
    if math.isinf(loss):
        return "infinite"
    return f"{loss:.3g}, over {DIVERGED_FACTOR} times the {limit / DIVERGED_FACTOR:.2f} of guessing (it diverged)"


def check_fits(model: Sequential, dataset, path) -> None:
    """CheckpointError unless the network ``path`` holds takes this dataset's images (C, H, W) and has
    one output per class. The one check for ``eval`` and the window's Open."""
    got, want = tuple(model.input_shape or ()), tuple(int(n) for n in dataset.input_shape)
    classes = len(dataset.class_names)
    if got != want or model.num_classes != classes:
        raise CheckpointError(
            f"checkpoint {path} takes {'x'.join(map(str, got))} images into {model.num_classes} classes, "
            f"but dataset {dataset.name} has {'x'.join(map(str, want))} images in {classes} classes.")


# -- the batch order -------------------------------------------------------------------------------
@dataclass(frozen=True)
class CursorState:
    order: np.ndarray   # (n_train,) permutation of this epoch; replaced, never mutated
    position: int
    epoch: int


class BatchCursor:
    """Which training images come next: a shuffled order per epoch, shared by live training and the
    stepper (pausing, stepping through the next image and resuming continues the same order).
    ``take(n)`` -> indices (k,) into the training set, k <= n; a batch never spans two epochs."""

    def __init__(self, n_train: int, seed: int = 0) -> None:
        if n_train < 1:
            raise ValueError("the training set is empty")
        self.n_train = n_train
        self._rng = np.random.default_rng(seed)
        self.epoch = 0
        self.position = 0
        self.order = self._rng.permutation(n_train)

    def take(self, n: int) -> np.ndarray:
        if self.position >= self.n_train:
            self.order = self._rng.permutation(self.n_train)
            self.position = 0
            self.epoch += 1
        indices = self.order[self.position : self.position + n]
        self.position += len(indices)
        return indices

    def state(self) -> CursorState:
        return CursorState(self.order, self.position, self.epoch)

    def restore(self, state: CursorState) -> None:
        self.order, self.position, self.epoch = state.order, state.position, state.epoch

    @property
    def rng_state(self) -> dict:
        """The shuffling generator's state (JSON-able): with ``state()`` it is all a run file needs
        to go on with exactly the batches this cursor would give."""
        return self._rng.bit_generator.state

    @rng_state.setter
    def rng_state(self, state) -> None:
        self._rng.bit_generator.state = dict(state)


# -- copies of the weights, restored in place --------------------------------------------------------
# Restoring writes into the existing arrays (np.copyto) rather than swapping them, because layers,
# the optimizer and the probe twin all hold references to the same weight arrays.
def copy_arrays(per_layer: list[dict[str, np.ndarray]]) -> tuple[dict[str, np.ndarray], ...]:
    """Read-only copies of per-layer dicts of arrays (e.g. every layer's params or grads)."""
    return tuple({key: freeze(value) for key, value in arrays.items()} for arrays in per_layer)


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
    state = {name: freeze(value) for name, value in optimizer.state_arrays().items()}
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


# -- one plain step and evaluation -----------------------------------------------------------------
def train_step(model, loss_fn, optimizer, x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """One gradient step on a batch, the engine alone (the Trainer adds curves, statistics, ΔW, ...).

    x : float32 (N, C, H, W), normalised; y : int64 (N,).
    Returns (mean loss of the batch, fraction of the batch classified right) *before* the update.
    Raises TrainingError, before updating anything, when the loss has diverged (``divergence``):
    the weights are still those that gave the last acceptable loss.

    Overflow on the way there (logits of a diverging network pass float32's range) is what the
    divergence rule is for, so it is not also reported as NumPy RuntimeWarnings.
    """
    with np.errstate(over="ignore", invalid="ignore"):
        logits = model.forward(x)
        loss = loss_fn.forward(logits, y)
    problem = divergence(loss, logits.shape[1])
    if problem is not None:
        raise TrainingError(f"the loss became {problem}")
    accuracy = float((logits.argmax(axis=1) == y).mean())
    model.backward(loss_fn.backward())
    optimizer.step()
    return loss, accuracy


def evaluate(model, x: np.ndarray, y: np.ndarray, batch_size: int = 500) -> dict:
    """Score ``model`` on images x float32 (N, C, H, W) with labels y int64 (N,).

    Returns {"loss": mean cross-entropy, "accuracy": fraction right,
             "confusion": int64 (classes, classes), row = true class, column = predicted}.
    """
    loss_fn = SoftmaxCrossEntropy()
    if getattr(model, "input_shape", None) is not None:   # chunks that fit the memory budget
        batch_size = max(1, min(batch_size, max_batch_size(model)))
    num_classes = model.num_classes or int(y.max()) + 1
    confusion = np.zeros((num_classes, num_classes), dtype=np.int64)
    total_loss = 0.0
    # huge (finite) weights overflow float32 on the way: the loss is then inf or NaN, which the
    # caller says in a sentence; NumPy's RuntimeWarnings would only print before it
    with np.errstate(over="ignore", invalid="ignore"):
        for start in range(0, len(x), batch_size):
            xb, yb = x[start:start + batch_size], y[start:start + batch_size]
            logits = model.forward(xb)
            total_loss += loss_fn.forward(logits, yb) * len(xb)
            np.add.at(confusion, (yb, logits.argmax(axis=1)), 1)
    n = max(len(x), 1)
    return {"loss": total_loss / n, "accuracy": float(np.trace(confusion)) / n,
            "confusion": confusion}

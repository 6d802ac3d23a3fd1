"""Real Snapshots for GUI tests, built from the engine on real MNIST digits (no worker needed).

``make_snapshot(preset="seed", phase="backward")`` runs one batch forward (+ backward for every phase
after "loss", + an Adam step for "update"/"training") and captures the probe example, exactly what the
worker will send. Results are cached: Snapshots are frozen, so tests can share them.
"""

from __future__ import annotations

import functools
import gzip
from pathlib import Path

import numpy as np
import pytest

from cnnviz.nn import Adam, SoftmaxCrossEntropy, build_model
from cnnviz.session.snapshot import Snapshot, capture_layers, freeze

MNIST = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "mnist"
PRESETS = ("seed", "lenet", "tiny")
BATCH = 8


@functools.lru_cache(maxsize=4)
def mnist_batch(n: int = 64) -> tuple[np.ndarray, np.ndarray]:
    """The first ``n`` MNIST test digits as (n, 1, 28, 28) float32 in 0..1 and int labels;
    random digits-like noise when the shared data is missing (tests still exercise the panels)."""
    images_path = MNIST / "t10k-images-idx3-ubyte.gz"
    labels_path = MNIST / "t10k-labels-idx1-ubyte.gz"
    if images_path.is_file() and labels_path.is_file():
        with gzip.open(images_path, "rb") as f:
            images = np.frombuffer(f.read(16 + n * 784)[16:], dtype=np.uint8).reshape(n, 1, 28, 28)
        with gzip.open(labels_path, "rb") as f:
            labels = np.frombuffer(f.read(8 + n)[8:], dtype=np.uint8).astype(np.int64)
        return images.astype(np.float32) / 255.0, labels
    rng = np.random.default_rng(0)
    return rng.random((n, 1, 28, 28), dtype=np.float32), rng.integers(0, 10, n)


def fake_curves(n: int = 60) -> dict[str, np.ndarray]:
    """Plausible training curves: name -> read-only (2, n) array (images seen, value)."""
    rng = np.random.default_rng(1)
    seen = np.arange(1, n + 1, dtype=np.float64) * 32
    loss = 2.3 * np.exp(-seen / 600) + 0.15 + 0.1 * rng.random(n)
    acc = np.clip(1 - loss / 2.5 + 0.05 * rng.standard_normal(n), 0, 1)
    val_seen = seen[9::10]
    val = np.clip(1 - (2.3 * np.exp(-val_seen / 600) + 0.15) / 2.5, 0, 1)
    return {k: freeze(np.stack(v)) for k, v in
            {"loss": (seen, loss), "accuracy": (seen, acc), "val_accuracy": (val_seen, val)}.items()}


@functools.lru_cache(maxsize=None)
def build_snapshot(preset: str = "seed", phase: str = "backward", probe: int = 0, seq: int = 1,
                   train_steps: int = 0) -> Snapshot:
    """train_steps: Adam steps (batches of 32) first, so the pictures look like a learning network."""
    images, labels = mnist_batch(max(64, probe + BATCH, 32 * min(train_steps, 30)))
    model = build_model(preset, seed=0)
    loss_fn = SoftmaxCrossEntropy()
    if train_steps:
        opt = Adam(model.parameters(), lr=0.01)
        for step in range(train_steps):
            i = (step * 32) % (len(images) - 32)
            xb = ((images[i:i + 32] - 0.1307) / 0.3081).astype(np.float32)
            loss_fn.forward(model.forward(xb), labels[i:i + 32])
            model.backward(loss_fn.backward())
            opt.step()
    x = (images[probe:probe + BATCH] - 0.1307) / 0.3081
    y = labels[probe:probe + BATCH]
    loss = loss_fn.forward(model.forward(x.astype(np.float32)), y)
    probs = loss_fn.probs[0]
    updates = None
    if phase in ("backward", "update", "training"):
        model.backward(loss_fn.backward())
    if phase in ("update", "training"):
        before = [{k: v.copy() for k, v in p.items()} for p, _ in model.parameters()]
        Adam(model.parameters(), lr=0.01).step()
        it = iter(zip(before, model.parameters()))
        updates = []
        for layer in model.layers:
            if layer.params:
                old, (new, _) = next(it)
                updates.append({k: new[k] - old[k] for k in new})
            else:
                updates.append(None)
    return Snapshot(
        seq=seq, layers=capture_layers(model, example=0, updates=updates), phase=phase,
        step=1 if updates else 0, images_seen=BATCH, batch_loss=float(loss),
        probe_image=freeze(x[0]), probe_display=freeze(images[probe]), probe_label=int(y[0]),
        probe_index=probe, probs=freeze(probs), probe_loss=float(-np.log(probs[y[0]] + 1e-12)),
        class_names=tuple("0123456789"), dataset="mnist", preset=preset,
        curves=fake_curves(), lr=0.01)


# the ``gui`` mark on every test here (and on any other test that needs Qt) is set by tests/conftest.py


@pytest.fixture(autouse=True, scope="session")
def _garbage_collected_in_the_event_loop(qapp):
    """As in the program (MainWindow does it): no automatic garbage collection in the middle of a Qt
    call, also for the tests that build panels without a window (see cnnviz.gui.pg_compat)."""
    import gc

    from cnnviz.gui.pg_compat import collect_garbage_in_gui_thread

    collect_garbage_in_gui_thread()
    yield
    gc.enable()          # the Qt-free tests after these run with Python's own collection
    gc.collect()


@pytest.fixture
def make_snapshot():
    """make_snapshot(preset="seed", phase="backward", probe=0) -> a real, frozen Snapshot."""
    return build_snapshot



# -- the window around the shared fake controller (tests/gui/fakes.py) -------------------------------
@pytest.fixture
def settings(tmp_path):
    """A throw-away settings file: the user's remembered layout is neither read nor changed."""
    from PyQt6.QtCore import QSettings

    return QSettings(str(tmp_path / "cnnviz.ini"), QSettings.Format.IniFormat)


@pytest.fixture
def fake():
    from fakes import FakeController

    return FakeController()


@pytest.fixture
def clock():
    from fakes import FakeClock

    return FakeClock()


@pytest.fixture
def window(qtbot, fake, settings):
    from fakes import open_window

    win = open_window(qtbot, fake, settings)
    yield win
    win.close()


@pytest.fixture
def clocked_window(qtbot, fake, settings, clock):
    """The window with every rate limit on ``clock``, which moves only when the test moves it."""
    from fakes import open_window

    win = open_window(qtbot, fake, settings, clock=clock)
    yield win
    win.close()

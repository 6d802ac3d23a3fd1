"""bench-gui's measuring and reporting, run briefly on a stand-in trainer (the real one is timed by
`python main.py bench-gui`, never in tests)."""

from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path

import pytest

from PyQt6.QtCore import QObject, QTimer, pyqtSignal

from cnnviz.gui import bench

KEYS = ("headless_images_per_second", "window_images_per_second", "ratio", "panel_fps", "ui_latency_p95_ms")


class TickingController(QObject):
    """Pretends to train 1000 images/s, with a new snapshot every 10 ms while playing."""

    error = pyqtSignal(str)
    message = pyqtSignal(str)
    state_changed = pyqtSignal(str)
    made = []

    def __init__(self, snapshot) -> None:
        super().__init__()
        self.base, self.snap, self.pending, self.seen = snapshot, None, [], 0
        self.state = "paused"
        self.timer = QTimer(self, interval=10, timeout=self._tick)
        self.stopped = False
        TickingController.made.append(self)

    def start(self):
        self.timer.start()

    def send(self, command, **kwargs):
        if command == "play":
            self.state, self.since = "playing", time.perf_counter()

    def _tick(self):
        # by the clock, not by ticks: a busy GUI thread delays the timer but not a real worker
        self.seen = int(1000 * (time.perf_counter() - self.since)) if self.state == "playing" else 0
        self.snap = dataclasses.replace(self.base, seq=self.seen + 1, images_seen=self.seen, phase="training")
        self.pending = [self.snap]

    def take(self):
        out, self.pending = self.pending, []
        return out

    def latest(self):
        return self.snap

    def stop(self, timeout=1.0):
        self.timer.stop()
        self.stopped = True
        return True


def test_bench_reports_every_figure_as_one_json_line(qtbot, make_snapshot, monkeypatch, capsys):
    monkeypatch.setattr(bench, "WARM_UP_S", 0.1)
    TickingController.made.clear()
    base = make_snapshot("seed", "training")
    result = bench.bench_gui(0.6, as_json=True, controller_factory=lambda: TickingController(base))
    printed = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert printed == result
    assert all(isinstance(result[k], float) for k in KEYS)
    assert 600 <= result["headless_images_per_second"] <= 1100
    assert 0.5 <= result["ratio"] <= 1.5
    assert result["panel_fps"] > 5 and result["ui_latency_p95_ms"] >= 0
    assert result["panels_visible"] == result["panels"]
    assert result["rounds"] == 2
    assert all(c.stopped for c in TickingController.made) and len(TickingController.made) == 1


def test_rounds_alternate_abba_with_equal_time_in_each_mode():
    plan = bench.round_plan(10)
    assert [m for m, _ in plan] == ["headless", "window", "window", "headless"] * 2
    for mode in ("headless", "window"):
        assert sum(t for m, t in plan if m == mode) == 10


def test_summary_names_each_figure_and_flags_misses():
    text = bench.summary({"preset": "seed", "dataset": "digits", "seconds": 5, "platform": "xcb",
                          "headless_images_per_second": 1000.0, "window_images_per_second": 600.0,
                          "ratio": 0.6, "panel_fps": 30.0, "ui_latency_p95_ms": 12.0, "ui_latency_max_ms": 40.0,
                          "startup_seconds": 1.2, "panels_visible": 7, "panels": 7})
    assert "ratio 0.60" in text and "BELOW AIM" in text.splitlines()[2]
    assert "ok" in text.splitlines()[3] and "ms" in text


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="thread CPU times are read from /proc (Linux only)")
def test_a_training_process_counts_as_training_cpu():
    import subprocess
    import sys

    child = subprocess.Popen([sys.executable, "-c", "import time\nt = time.process_time()\n"
                              "while time.process_time() - t < 0.6: pass"])
    try:
        child.wait(30)
        # reaped: /proc no longer has it; this process is still counted, the child not at all
        reading = bench.thread_cpu(child.pid)
        assert reading["gui"] > 0 and reading["training"] == 0
    finally:
        child.kill() if child.poll() is None else None
    child = subprocess.Popen([sys.executable, "-c", "import time\nt = time.process_time()\n"
                              "while time.process_time() - t < 30: pass"])
    try:
        time.sleep(0.2)
        before = bench.thread_cpu(child.pid)
        time.sleep(0.6)
        after = bench.thread_cpu(child.pid)
    finally:
        child.kill()
        child.wait()
    assert after["training"] - before["training"] > 0.2   # the spinning child: training
    assert after["gui"] - before["gui"] < 0.2             # this process's main thread slept

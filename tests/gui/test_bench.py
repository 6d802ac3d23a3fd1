"""bench-gui's measuring and reporting, run briefly on a stand-in trainer (the real one is timed by
`python main.py bench-gui`, never in tests)."""

from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path

import pytest

from PyQt6.QtCore import QTimer

from cnnviz.gui import bench
from fakes import FakeController

KEYS = ("headless_images_per_second", "window_images_per_second", "ratio", "panel_fps", "ui_latency_p95_ms")


class TickingController(FakeController):
    """The shared fake, pretending to train 1000 images/s with a new snapshot every 10 ms while playing."""

    made = []

    def __init__(self, snapshot) -> None:
        super().__init__()
        self.base, self.seen = snapshot, 0
        self.timer = QTimer(self, interval=10, timeout=self._tick)
        TickingController.made.append(self)

    def start(self):
        super().start()
        self.timer.start()

    def send(self, command, **kwargs):
        super().send(command, **kwargs)
        if command == "play":
            self.since = time.perf_counter()

    def _tick(self):
        # by the clock, not by ticks: a busy GUI thread delays the timer but not a real worker
        self.seen = int(1000 * (time.perf_counter() - self.since)) if self.state == "playing" else 0
        self.pending = []
        self.push(dataclasses.replace(self.base, seq=self.seen + 1, images_seen=self.seen, phase="training"))

    def stop(self, timeout=1.0):
        self.timer.stop()
        return super().stop(timeout)


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
        before = bench.thread_cpu(child.pid)
        # until the child has spun 0.3 s of CPU, however long a loaded machine takes to give it that
        # (a fixed 0.6 s wait saw 0.15 s with the other core busy); this thread sleeps meanwhile
        deadline = time.monotonic() + 60
        while (after := bench.thread_cpu(child.pid))["training"] - before["training"] <= 0.3:
            assert time.monotonic() < deadline, "the spinning child was never counted as training"
            time.sleep(0.05)
    finally:
        child.kill()
        child.wait()
    assert after["gui"] - before["gui"] < after["training"] - before["training"]   # this thread slept

"""``python main.py bench-gui --seconds S [--json]``: what the window costs the trainer.

The same worker trains S seconds headless (no window: hidden, its pull timer stopped, so nobody takes
snapshots and none are built) and S seconds with the real window, every panel visible, training live.
The two modes alternate in short rounds (headless, window, window, headless, ...) so that load from
other programs, which on a shared machine swings throughput several-fold within seconds, falls on
both alike. Reported: training images/s of both and their ratio (aim >= 0.9), panel frames/s in the
window (aim >= 25 on the seed network), UI latency: the p95 lateness of a 10 ms QTimer probe while
the window trains, in ms (aim < 50), and where the CPU went. The window uses a throw-away settings
file, so the user's remembered layout is neither used nor changed.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from pathlib import Path

import numpy as np
from PyQt6.QtCore import QElapsedTimer, QEventLoop, QSettings, Qt, QTimer

AIMS = {"ratio": 0.9, "panel_fps": 25.0, "ui_latency_p95_ms": 50.0}
PROBE_MS = 10
WARM_UP_S = 1.0


def run_for(seconds: float) -> None:
    """Let Qt run (timers, queued signals, painting) for ``seconds``."""
    loop = QEventLoop()
    QTimer.singleShot(max(0, int(seconds * 1000)), loop.quit)
    loop.exec()


def wait_until(predicate, timeout: float, what: str) -> float:
    """Run Qt until predicate() is true; returns the seconds it took. TimeoutError after timeout."""
    start = time.perf_counter()
    while not predicate():
        if time.perf_counter() - start > timeout:
            raise TimeoutError(f"bench-gui: {what} did not happen within {timeout:.0f} s.")
        run_for(0.02)
    return time.perf_counter() - start


def fresh_count(controller, timeout: float = 30.0) -> tuple[float, int]:
    """(time, images seen) from a snapshot made now. The worker builds a live snapshot only after
    the last one was taken, so take it, then wait for the next; headless, nothing else takes any."""
    before = controller.latest()
    controller.take()
    wait_until(lambda: controller.latest() is not before, timeout, "a fresh snapshot")
    return time.perf_counter(), controller.latest().images_seen


def thread_cpu(child_pid: int | None = None) -> dict[str, float]:
    """CPU seconds used so far, grouped as gui (this process's main thread), training (the training
    process ``child_pid``, or a thread named "cnnviz training") and other (BLAS and Qt helpers, the
    thread receiving the process's snapshots). Linux only; else empty."""
    groups = {"gui": 0.0, "training": 0.0, "other": 0.0}
    pids = [os.getpid()] + ([child_pid] if child_pid else [])
    tick = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    for pid in pids:
        try:
            tasks = list(Path(f"/proc/{pid}/task").iterdir())
        except OSError:   # no /proc (not Linux): nothing to say; a child that has ended: count the rest
            if pid == os.getpid():
                return {}
            continue
        for task in tasks:
            try:
                task_id, stat = task.name, (task / "stat").read_text()
            except OSError:   # the thread ended since the listing
                continue
            try:
                name = stat[stat.index("(") + 1:stat.rindex(")")]
                fields = stat[stat.rindex(")") + 2:].split()
                cpu = (int(fields[11]) + int(fields[12])) / tick      # utime + stime
            except (ValueError, IndexError):
                return {}
            if pid == child_pid or name == "cnnviz training":
                group = "training"
            else:
                group = "gui" if task_id == str(pid) else "other"
            groups[group] += cpu
    return groups


def cpu_share(before: dict, after: dict, seconds: float, prefix: str) -> dict:
    """Cores used per thread group between two thread_cpu() readings (1.0 = one core busy)."""
    return {f"{prefix}_{k}_cores": (after[k] - before.get(k, 0.0)) / seconds for k in after} if after else {}


class LatencyProbe:
    """A 10 ms timer that records how late each of its ticks is (a busy GUI thread makes it late)."""

    def __init__(self) -> None:
        self.lateness_ms: list[float] = []
        self.clock = QElapsedTimer()
        self.timer = QTimer()
        self.timer.setTimerType(Qt.TimerType.PreciseTimer)
        self.timer.setInterval(PROBE_MS)
        self.timer.timeout.connect(self._tick)
        self._last = None

    def start(self) -> None:
        self.clock.start()
        self._last = self.clock.nsecsElapsed()
        self.timer.start()

    def stop(self) -> None:
        self.timer.stop()

    def _tick(self) -> None:
        now = self.clock.nsecsElapsed()
        self.lateness_ms.append(max(0.0, (now - self._last) / 1e6 - PROBE_MS))
        self._last = now

    def p95(self) -> float:
        return float(np.percentile(self.lateness_ms, 95)) if self.lateness_ms else float("nan")


ROUND_S = 2.5      # seconds per round; modes alternate ABBA so a steady drift in load cancels
SETTLE_S = 0.4     # after switching mode, before counting


def round_plan(seconds: float) -> list[tuple[str, float]]:
    """[(mode, seconds)]: an even number of rounds, ABBA order, S seconds in each mode."""
    pairs = max(1, round(seconds / ROUND_S))
    length = seconds / pairs
    order = []
    for i in range(pairs):
        order += ["headless", "window"] if i % 2 == 0 else ["window", "headless"]
    return [(mode, length) for mode in order]


class Tally:
    """Images, seconds and CPU summed over the rounds of one mode."""

    def __init__(self) -> None:
        self.images = 0
        self.seconds = 0.0
        self.cpu: dict[str, float] = {}

    def add(self, images: int, seconds: float, cpu0: dict, cpu1: dict) -> None:
        self.images += images
        self.seconds += seconds
        for key in cpu1:
            self.cpu[key] = self.cpu.get(key, 0.0) + cpu1[key] - cpu0.get(key, 0.0)

    def rate(self) -> float:
        return self.images / self.seconds if self.seconds else float("nan")

    def cpu_rate(self) -> float | None:
        """Images per CPU second of the training thread or process: what training costs, whatever
        other programs on the machine take (wall-clock rates mostly measure those on a busy machine).
        None when that CPU time is unknown (no /proc, or nothing trained in a process of its own)."""
        cpu = self.cpu.get("training", 0.0)
        return self.images / cpu if cpu > 0 else None

    def cores(self, prefix: str) -> dict:
        return {f"{prefix}_{k}_cores": v / self.seconds for k, v in self.cpu.items()} if self.seconds else {}


def set_mode(window, mode: str) -> None:
    if mode == "window":
        window.show()
        window.timer.start()
    else:
        window.timer.stop()
        window.hide()


def measure(make_controller, seconds: float) -> dict:
    from cnnviz.gui.main_window import MainWindow

    folder = tempfile.mkdtemp(prefix="cnnviz-bench-")
    settings = QSettings(str(Path(folder) / "bench.ini"), QSettings.Format.IniFormat)
    opened = time.perf_counter()
    controller = make_controller()
    window = MainWindow(controller, settings=settings, restore_layout=False)
    window.resize(1600, 1000)
    window.show()
    controller.start()
    probe = LatencyProbe()
    tallies = {"headless": Tally(), "window": Tally()}
    frames, frame_seconds, snapshots = 0, 0.0, 0
    try:
        wait_until(lambda: window.frames_drawn > 0, 60, "the window's first frame")
        startup = time.perf_counter() - opened
        visible = sum(window.panel_visible(p.title) for p in window.panels)
        controller.send("play")
        run_for(WARM_UP_S)
        for mode, length in round_plan(seconds):
            set_mode(window, mode)
            run_for(SETTLE_S)
            t0, n0 = fresh_count(controller)
            f0, s0, cpu0 = window.frames_drawn, window.snapshots_received, thread_cpu(getattr(controller, "worker_pid", None))
            if mode == "window":
                probe.start()
            run_for(length)
            probe.stop()
            cpu1 = thread_cpu(getattr(controller, "worker_pid", None))
            if mode == "window":
                frames += window.frames_drawn - f0
                snapshots += window.snapshots_received - s0
            t1, n1 = fresh_count(controller)
            tallies[mode].add(n1 - n0, t1 - t0, cpu0, cpu1)
            if mode == "window":
                frame_seconds += t1 - t0
    finally:
        window.close()
        window.stop_controller()
    return {"headless_images_per_second": tallies["headless"].rate(),
            "window_images_per_second": tallies["window"].rate(),
            "panel_fps": frames / frame_seconds, "snapshots_per_second": snapshots / frame_seconds,
            "ui_latency_p95_ms": probe.p95(),
            "ui_latency_max_ms": max(probe.lateness_ms) if probe.lateness_ms else float("nan"),
            "startup_seconds": startup, "panels_visible": visible, "panels": len(window.panels),
            "rounds": len(round_plan(seconds)),
            "headless_images_per_training_cpu_second": tallies["headless"].cpu_rate(),
            "window_images_per_training_cpu_second": tallies["window"].cpu_rate(),
            **tallies["headless"].cores("headless"), **tallies["window"].cores("window")}


def bench_gui(seconds: float = 10.0, as_json: bool = False, args=None, controller_factory=None) -> dict:
    """Measure, print the result (a readable summary, or one JSON line when ``as_json``) and return
    it as a dict with the keys headless_images_per_second, window_images_per_second, ratio,
    panel_fps, ui_latency_p95_ms (plus startup_seconds, panels_visible, snapshots_per_second, the
    cores busy per thread group, load_average, platform, preset, dataset).
    args: optional argparse Namespace with data/preset/lr/batch_size/optimizer/seed.
    controller_factory: makes the controller (default: the real SessionController)."""
    if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY") or os.environ.get("QT_QPA_PLATFORM")):
        os.environ["QT_QPA_PLATFORM"] = "offscreen"   # no screen: still render every panel, off screen
    from cnnviz.gui.app import application, make_controller, option

    app = application()
    factory = controller_factory or (lambda: make_controller(args))
    result = {"seconds": seconds, "dataset": option(args, "data"), "preset": option(args, "preset"),
              "platform": app.platformName(),
              "load_average": os.getloadavg()[0] if hasattr(os, "getloadavg") else None}
    result.update(measure(factory, seconds))
    headless = result["headless_images_per_second"]
    result["ratio"] = result["window_images_per_second"] / headless if headless > 0 else float("nan")
    cpu_rates = (result["window_images_per_training_cpu_second"], result["headless_images_per_training_cpu_second"])
    result["cpu_ratio"] = cpu_rates[0] / cpu_rates[1] if None not in cpu_rates else None
    result = {k: (round(v, 3) if isinstance(v, float) else v) for k, v in result.items()}
    print(json.dumps(result) if as_json else summary(result), flush=True)
    return result


def summary(r: dict) -> str:
    def verdict(ok: bool) -> str:
        return "ok" if ok else "BELOW AIM"

    return "\n".join([
        f"bench-gui: {r['preset']} on {r['dataset']}, training in a child process, "
        f"{r['seconds']:g} s in each mode "
        f"({r.get('rounds', 2)} alternating rounds), Qt platform {r['platform']}",
        f"  headless training      {r['headless_images_per_second']:9.0f} images/s",
        f"  training in the window {r['window_images_per_second']:9.0f} images/s   ratio {r['ratio']:.2f} "
        f"(aim >= {AIMS['ratio']})  {verdict(r['ratio'] >= AIMS['ratio'])}",
        f"  panel frames/s         {r['panel_fps']:9.1f}            (aim >= {AIMS['panel_fps']:g})  "
        f"{verdict(r['panel_fps'] >= AIMS['panel_fps'])}",
        f"  UI latency p95         {r['ui_latency_p95_ms']:9.1f} ms         (aim < {AIMS['ui_latency_p95_ms']:g})  "
        f"{verdict(r['ui_latency_p95_ms'] < AIMS['ui_latency_p95_ms'])}   max {r['ui_latency_max_ms']:.1f} ms",
        f"  window open to first frame {r['startup_seconds']:.2f} s; "
        f"{r['panels_visible']} of {r['panels']} panels visible; "
        f"{r.get('snapshots_per_second', 0):.1f} snapshots/s arrived",
    ] + cpu_lines(r))


def cpu_lines(r: dict) -> list[str]:
    """Where the CPU went (cores busy per thread group), to tell GUI cost from trainer cost."""
    lines = []
    if r.get("cpu_ratio") is not None:
        lines.append(f"  images per training CPU second, window over headless: {r['cpu_ratio']:.2f} "
                     f"(what the window costs training itself, apart from the machine's other load)")
    for run in ("headless", "window"):
        parts = [f"{k} {r[f'{run}_{k}_cores']:.2f}" for k in ("gui", "training", "other") if f"{run}_{k}_cores" in r]
        if parts:
            lines.append(f"  cores busy, {run:8s}: " + ", ".join(parts))
    if r.get("load_average") is not None:
        lines.append(f"  machine load average at start {r['load_average']:.1f} (other processes skew every figure)")
    return lines

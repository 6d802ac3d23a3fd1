"""The timeline: snapshots kept every N steps, bounded by bytes, thinned evenly, cleared for a new run."""

import threading

import numpy as np

from cnnviz.session.snapshot import Snapshot, freeze
from cnnviz.session.outlet import Timeline, snapshot_nbytes

from session_helpers import run_commands

KB = np.zeros(256, np.float32)   # 1 KiB


def small_snapshot(step: int) -> Snapshot:
    return Snapshot(seq=step, layers=(), step=step, probe_image=freeze(KB))


def test_keeps_every_n_steps_then_thins_keeping_first_and_newest():
    timeline = Timeline(every=5, max_bytes=10 * KB.nbytes)
    kept = [step for step in range(0, 301) if timeline.offer(step, small_snapshot(step))]
    assert kept[:3] == [0, 5, 10]
    steps = [step for step, _ in timeline.entries()]
    assert len(steps) <= 10 and timeline.nbytes <= 10 * KB.nbytes
    assert steps[0] == 0 and steps[-1] == kept[-1] and 300 - kept[-1] < timeline.interval
    assert timeline.interval > 5 and max(np.diff(steps)) <= 2 * timeline.interval
    assert all(snap.step == step for step, snap in timeline.entries())


def test_entries_share_the_snapshots_and_clear_starts_again():
    timeline = Timeline(every=1)
    snap = small_snapshot(0)
    assert timeline.offer(0, snap) and not timeline.offer(0, small_snapshot(0))
    assert timeline.entries()[0][1] is snap and snapshot_nbytes(snap) == KB.nbytes
    timeline.clear()
    assert len(timeline) == 0 and timeline.nbytes == 0 and timeline.due(0)


def test_reading_while_the_worker_adds():
    timeline = Timeline(every=1, max_bytes=20 * KB.nbytes)
    done = threading.Event()

    def add():
        for step in range(3000):
            timeline.offer(step, small_snapshot(step))
        done.set()

    worker = threading.Thread(target=add)
    worker.start()
    while not done.is_set():
        steps = [step for step, _ in timeline.entries()]
        assert steps == sorted(steps) and len(steps) <= 20
    worker.join()
    assert 2999 - timeline.entries()[-1][0] < timeline.interval


def play(session, batches: int) -> None:
    run_commands(session, "play")
    for _ in range(batches):
        session.tick()


def test_training_keeps_live_snapshots_and_a_new_run_clears_them(session):
    session.outlet.timeline.every = session.outlet.timeline.interval = 3
    play(session, 7)
    entries = session.outlet.timeline.entries()
    assert [step for step, _ in entries] == [0, 3, 6]
    assert [snap.phase for _, snap in entries] == ["idle", "training", "training"]
    assert all(snap.step == step and snap.probe_split == "test" for step, snap in entries)
    assert not np.array_equal(entries[0][1].layers[0].params["W"], entries[-1][1].layers[0].params["W"])
    for command, kwargs in (("reset", {}), ("set_preset", {"name": "tiny"}), ("set_dataset", {"name": "tiny"})):
        play(session, 4)
        session.loader = lambda name: session.trainer.dataset
        run_commands(session, "pause", (command, kwargs))
        assert [step for step, _ in session.outlet.timeline.entries()] == [0], command


def test_stepping_whole_batches_feeds_the_timeline_but_a_walk_does_not(session):
    session.outlet.timeline.every = session.outlet.timeline.interval = 2
    run_commands(session, "step_batch", "step_batch", "step_forward")
    assert [step for step, _ in session.outlet.timeline.entries()] == [0, 2]
    assert session.outlet.timeline.entries()[-1][1].phase == "training"


def test_shared_arrays_are_counted_once_and_released_when_thinned():
    shared = freeze(np.zeros(1024, np.float32))   # 4 KiB, e.g. one validation record for many snapshots
    timeline = Timeline(every=1, max_bytes=10 * KB.nbytes + shared.nbytes)
    snaps = [Snapshot(seq=s, layers=(), step=s, probe_image=freeze(KB), validation={"images": shared})
             for s in range(40)]
    for step, snap in enumerate(snaps):
        timeline.offer(step, snap)
        kept = [s for _, s in timeline.entries()]
        assert timeline.nbytes == len(kept) * KB.nbytes + shared.nbytes <= timeline.max_bytes
    assert timeline.entries()[0][0] == 0 and 39 - timeline.entries()[-1][0] < timeline.interval

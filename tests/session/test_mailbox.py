"""The one-slot mailbox and its live pacer: newest live snapshot only, every step in order, bounded however
flooded, live snapshots only when asked and within their CPU budget."""

import tracemalloc

import numpy as np

from cnnviz.session.outlet import LivePacer, Mailbox
from cnnviz.session.snapshot import Snapshot


class FakeClock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def snap(box: Mailbox, **fields) -> Snapshot:
    return Snapshot(seq=box.next_seq(), layers=(), **fields)


def test_live_slot_keeps_only_the_newest():
    box = Mailbox()
    for _ in range(5):
        box.put_live(snap(box))
    taken = box.take()
    assert [s.seq for s in taken] == [5]
    assert box.take() == []
    assert box.latest().seq == 5


def test_steps_are_all_delivered_in_order_with_the_live_one():
    box = Mailbox()
    box.put_live(snap(box, phase="idle"))
    for i in range(3):
        box.put_step(snap(box, phase="forward", layer_index=i))
    taken = box.take()
    assert [s.seq for s in taken] == [1, 2, 3, 4]
    assert [s.layer_index for s in taken[1:]] == [0, 1, 2]


def test_live_snapshots_only_when_asked_and_not_too_often():
    clock = FakeClock()
    box = Mailbox(pacer=LivePacer(min_interval=1 / 30, clock=clock))
    assert box.wants_live()
    box.put_live(snap(box))
    clock.now = 1.0
    assert not box.wants_live(), "the GUI has not taken the last one yet"
    box.take()
    assert box.wants_live()
    box.put_live(snap(box))
    box.take()
    clock.now += 0.01
    assert not box.wants_live(), "at most one every 1/30 s"
    clock.now += 0.03
    assert box.wants_live()


def test_latest_also_asks_for_a_fresh_snapshot():
    box = Mailbox(pacer=LivePacer(min_interval=0))
    box.put_live(snap(box))
    assert not box.wants_live()
    box.latest()
    assert box.wants_live()


def test_unread_steps_are_bounded():
    box = Mailbox(max_steps=10)
    for _ in range(100):
        box.put_step(snap(box))
    assert box.pending == 10
    assert [s.seq for s in box.take()] == list(range(91, 101))


def test_a_flood_of_10000_requests_keeps_memory_bounded():
    box = Mailbox(max_steps=16, pacer=LivePacer(min_interval=0))
    payload = np.zeros(10_000, np.float32)   # 40 kB per snapshot: 400 MB if anything queued up
    tracemalloc.start()
    try:
        for i in range(10_000):
            box.latest()
            if box.wants_live():
                box.put_live(snap(box, probs=payload.copy()))
            box.put_step(snap(box, probs=payload.copy()))
            if i % 3 == 0:
                box.take()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 5_000_000
    assert box.pending <= 17


def test_slow_builds_are_spaced_to_stay_within_the_budget():
    clock = FakeClock()
    box = Mailbox(pacer=LivePacer(min_interval=1 / 30, clock=clock, budget=0.04))
    box.put_live(snap(box), build_seconds=0.004)     # 4 ms a build: at most one per 100 ms
    box.take()
    clock.now = 0.05
    assert not box.wants_live()
    clock.now = 0.1
    assert box.wants_live()
    box.put_live(snap(box), build_seconds=0.0001)    # fast again: the average comes down
    box.take()
    clock.now = 0.1 + 1 / 30 + 0.08
    assert box.wants_live()


def test_build_cost_is_the_builders_cpu_time_not_its_wait_for_the_gil():
    clock, cpu = FakeClock(), FakeClock()
    box = Mailbox(pacer=LivePacer(min_interval=1 / 30, clock=clock, budget=0.04, cpu_clock=cpu))
    assert box.wants_live()
    cpu.now += 0.001                                 # 1 ms of work ...
    box.put_live(snap(box), build_seconds=0.008)     # ... in 8 ms of wall clock (the GUI held the GIL)
    assert box.pacer.build_seconds == 0.001
    box.take()
    clock.now = 1 / 30
    assert box.wants_live(), "1 ms builds fit the budget at 30 snapshots/s"
    box.put_live(snap(box, phase="idle"))            # an untimed snapshot leaves the average alone
    assert box.pacer.build_seconds == 0.001
    box.put_live(snap(box), build_seconds=0.002)     # no wants_live before it: the given time counts
    assert abs(box.pacer.build_seconds - 0.0012) < 1e-12


def test_a_gui_pulling_at_30_hz_gets_a_fresh_snapshot_at_every_pull_within_the_budget():
    """Batches end every 12 ms, snapshots cost 1.6 ms of CPU, the GUI takes one every 1/30 s: each pull
    finds a new one (builds do not drift out of step with the pulls), and building stays in budget."""
    clock, cpu = FakeClock(), FakeClock()
    box = Mailbox(pacer=LivePacer(clock=clock, budget=0.06, cpu_clock=cpu))
    fresh, pulls, built = 0, 0, 0.0
    next_pull, t = 1 / 30, 0.0
    while t < 3.0:
        t = round(t + 0.012, 9)
        while next_pull <= t:                    # the GUI's timer ticks between two batches
            clock.now = next_pull
            fresh += len(box.take())
            pulls += 1
            next_pull += 1 / 30
        clock.now = t
        if box.wants_live():
            cpu.now += 0.0016
            built += 0.0016
            box.put_live(snap(box), build_seconds=0.002)
    assert fresh >= 0.95 * pulls
    assert built <= 0.06 * 3.0 + 0.06 * 0.25

"""Helpers for the session tests: a small real dataset (generated digits, built once), a recorder
of the session's notices, and a way to drive a Session by hand."""

from __future__ import annotations

import functools

import numpy as np

from cnnviz.data import Dataset, generate_digits
from cnnviz.session.session import Session

SMALL = dict(val_size=60, val_every=5)   # validation often and on few images, so tests see it


@functools.lru_cache(maxsize=None)
def tiny_dataset(n_train: int = 256, n_test: int = 64) -> Dataset:
    """Generated digits: (n_train, 1, 28, 28) and (n_test, 1, 28, 28), normalised; shared, so read-only use."""
    train, train_labels = generate_digits(n_train, seed=[7, 0])
    test, test_labels = generate_digits(n_test, seed=[7, 1])
    raw = train[:, None].astype(np.float32) / 255.0
    return Dataset(name="tiny-digits", class_names=tuple(str(d) for d in range(10)),
                   mean=float(raw.mean()), std=float(raw.std()),
                   raw_train=train[:, None], y_train=train_labels, raw_test=test[:, None], y_test=test_labels)


class Recorder:
    """Collects the session's notices: kind -> [text]."""

    def __init__(self) -> None:
        self.events: list[tuple[str, str]] = []

    def __call__(self, kind: str, text: str) -> None:
        self.events.append((kind, text))

    def texts(self, kind: str) -> list[str]:
        return [text for k, text in self.events if k == kind]


def run_commands(session: Session, *commands) -> list:
    """Send each command (a name or (name, kwargs)), handle them, and return the snapshots taken."""
    for command in commands:
        name, kwargs = (command, {}) if isinstance(command, str) else command
        session.send(name, **kwargs)
    session.tick(wait=0)
    return session.outlet.mailbox.take()


def slow_loader(name: str) -> Dataset:
    """A dataset loader that takes a minute (a child process must be stoppable while it loads)."""
    import time

    time.sleep(60)
    return tiny_dataset()


def noisy_loader(name: str) -> Dataset:
    """A dataset loader that prints to stdout, as careless code does: in the training process that
    must not corrupt the stream of records to the window."""
    import os
    import sys

    print("a stray print from the loader")
    sys.stdout.flush()
    os.write(1, b"and bytes written straight to file descriptor 1\n")
    return tiny_dataset()

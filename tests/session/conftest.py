"""Fixtures for the session tests (helpers live in session_helpers.py, a name no other conftest shadows)."""

from __future__ import annotations

import pytest

from cnnviz.data import Dataset
from cnnviz.session.outlet import LocalOutlet
from cnnviz.session.session import Session
from session_helpers import SMALL, Recorder, tiny_dataset


@pytest.fixture
def dataset() -> Dataset:
    return tiny_dataset()


@pytest.fixture
def session(dataset):
    """A started Session driven by hand (``send`` then ``tick``), no thread."""
    recorder = Recorder()
    s = Session(dataset_obj=dataset, preset="seed", lr=0.01, batch_size=16, outlet=LocalOutlet(recorder),
                trainer_options=SMALL)
    s.recorder = recorder
    s.start_up()
    return s

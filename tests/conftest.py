"""Shared test set-up: headless Qt, and where the shared MNIST data lives."""

import os
from pathlib import Path

import pytest

if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

REPO = Path(__file__).resolve().parents[1]
SHARED_MNIST = REPO.parent / "shared" / "data" / "mnist"


@pytest.fixture
def mnist_dir() -> Path:
    """The real MNIST test set (10,000 digits) shipped beside the repository in ../shared."""
    if not (SHARED_MNIST / "t10k-images-idx3-ubyte.gz").is_file():
        pytest.fail(f"the shared MNIST data is missing at {SHARED_MNIST}")
    return SHARED_MNIST

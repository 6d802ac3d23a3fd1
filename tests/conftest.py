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


@pytest.fixture
def read_only(monkeypatch):
    """``read_only(folder)``: make ``folder`` refuse new files and folders, as a read-only mount would.

    ``chmod 0555`` does that for a normal user. Root writes anyway, so when the chmod does not stop a
    real write (the tests may run as root), ``os.open`` and ``os.mkdir`` (what ``cnnviz.files``'s temp
    files, ``Path.touch`` and ``Path.mkdir`` go through) are patched to fail with EACCES inside it."""
    import errno

    folders = []
    real_open, real_mkdir = os.open, os.mkdir

    def refused(path) -> bool:
        return any(Path(os.path.abspath(path)).parent == folder for folder in folders)

    def refusing_open(path, flags, *args, **kwargs):
        if flags & os.O_CREAT and refused(path) and not os.path.exists(path):
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(path))
        return real_open(path, flags, *args, **kwargs)

    def refusing_mkdir(path, *args, **kwargs):
        if refused(path):
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(path))
        return real_mkdir(path, *args, **kwargs)

    def make(folder: Path) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        folder.chmod(0o555)
        probe = folder / ".probe"
        try:
            probe.touch()
        except PermissionError:
            return folder
        probe.unlink()
        if not folders:
            monkeypatch.setattr(os, "open", refusing_open)
            monkeypatch.setattr(os, "mkdir", refusing_mkdir)
        folders.append(folder)
        return folder

    made = []
    yield lambda folder: made.append(folder) or make(folder)
    for folder in made:
        if folder.exists():
            folder.chmod(0o755)   # so tmp_path can be cleaned up

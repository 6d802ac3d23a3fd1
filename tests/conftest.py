"""Shared test set-up: headless Qt, where the shared MNIST data lives (tests that need it skip, with the
reason, when it is absent: a fresh clone has no ../shared beside it), and the ``gui`` mark on every test
that needs Qt (so ``-m "not gui"`` runs the rest with Qt uninstalled)."""

import importlib.util
import inspect
import os
import re
from pathlib import Path

import pytest

if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

REPO = Path(__file__).resolve().parents[1]
SHARED_MNIST = REPO.parent / "shared" / "data" / "mnist"
GUI_TESTS = Path(__file__).resolve().parent / "gui"
HAVE_QT = all(importlib.util.find_spec(name) is not None for name in ("PyQt6", "pyqtgraph", "pytestqt"))
QT_FIXTURES = {"qtbot", "qapp", "qtlog", "qtmodeltester"}
QT_IMPORT = re.compile(r"^\s*(from|import)\s+(PyQt6|pyqtgraph|pytestqt|cnnviz\.gui)\b", re.MULTILINE)

# Without Qt the GUI test modules cannot even be imported: leave them out of the collection.
collect_ignore_glob = [] if HAVE_QT else ["gui/*"]


def needs_qt(item) -> bool:
    """A test needs Qt when it lives in tests/gui, uses a pytest-qt fixture, or imports Qt itself."""
    if GUI_TESTS in Path(str(item.path)).parents or QT_FIXTURES & set(getattr(item, "fixturenames", ())):
        return True
    try:
        source = inspect.getsource(item.function)
    except (AttributeError, OSError, TypeError):
        return False
    return QT_IMPORT.search(source) is not None


def pytest_collection_modifyitems(config, items):
    skip = pytest.mark.skip(reason="PyQt6, pyqtgraph and pytest-qt are not installed")
    for item in items:
        if needs_qt(item):
            item.add_marker(pytest.mark.gui)
            if not HAVE_QT:
                item.add_marker(skip)


@pytest.fixture
def mnist_dir() -> Path:
    """The real MNIST test set (10,000 digits) beside the repository in ../shared, or a skip."""
    if not (SHARED_MNIST / "t10k-images-idx3-ubyte.gz").is_file():
        pytest.skip(f"the shared MNIST test set is not at {SHARED_MNIST} (it is beside the repository in CI)")
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

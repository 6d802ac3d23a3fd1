"""Writing files so that a failure never damages what the user already saved (rule 8)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Callable

from cnnviz.errors import CnnvizError


def atomic_write(path, write: Callable[[str], None], error: type[CnnvizError] = CnnvizError,
                 what: str = "") -> Path:
    """Call ``write(tmp_path)`` to fill a temp file beside ``path`` (same suffix, so writers that pick
    the format from the name still work), flush it to disk, then rename it over ``path``. On any
    failure the temp file is removed, ``path`` is left as it was, and ``error`` says why in one
    sentence naming the file (``what``, e.g. "checkpoint", says what it is)."""
    path = Path(path)
    label = f"{what} {path}" if what else str(path)
    folder = path.parent if str(path.parent) else Path(".")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=f".tmp{path.suffix}", dir=folder)
        os.close(fd)
    except OSError as exc:
        raise error(f"cannot write {label}: {exc.strerror or exc}.") from exc
    try:
        write(tmp)
        if os.path.getsize(tmp) == 0:
            raise error(f"cannot write {label}: nothing was written.")
        with open(tmp, "rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise error(f"cannot write {label}: {exc.strerror or exc}.") from exc
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path

"""Files: the one atomic writer, the checks that run before long work, and the one guard that turns
any failure of reading a file into one sentence (rule 8).

Every file the program writes (checkpoints, IDX and PNG files, downloads, exports) goes through
``atomic_write``: the bytes go to a temp file beside the target, are flushed to disk, and the temp
file is renamed over the target only when whole, so a failed or interrupted write never damages
what the user already has. Temp files carry ``TMP_MARK`` in their name, so ones left behind by a
killed process (SIGKILL cannot be caught) are recognised and swept on a later save to that folder.
"""

from __future__ import annotations

import contextlib
import errno
import math
import os
import re
import secrets
import shutil
import signal
import stat
import threading
import time
from pathlib import Path
from typing import Callable, Iterator

from cnnviz.errors import CnnvizError

TMP_MARK = "cnnviz-tmp"
# A temp file untouched this long belongs to no running write (a save takes seconds, and a
# download refreshes its temp file's mtime with every chunk): it was left by a killed process.
STALE_SECONDS = 10 * 60
_OURS = re.compile(rf"^\..+\.{TMP_MARK}-[0-9a-f]{{8}}(\.[^./]*)?$")


def _target(path, error: type[CnnvizError], what: str) -> tuple[Path, Path, str]:
    """(path as given, the real file to replace, label for sentences). A symlink is written
    through: its target is replaced (in the target's folder) and the link stays a link."""
    if path is None or str(path).strip() == "":
        raise error(f"no file name given for the {what or 'file'}.")
    given = Path(path).expanduser()
    label = f"{what} {given}" if what else str(given)
    real = Path(os.path.realpath(given)) if given.is_symlink() else given
    return given, real, label


def _existing_mode(real: Path, error: type[CnnvizError], label: str) -> int | None:
    """The permission bits of the file about to be replaced (None when it is new); refuses a folder
    and a read-only file, which the user protected on purpose (even root's writes respect that)."""
    try:
        info = real.stat()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise error(f"cannot write {label}: {exc.strerror or exc}.") from None
    if stat.S_ISDIR(info.st_mode):
        raise error(f"cannot write {label}: it is a folder.")
    mode = stat.S_IMODE(info.st_mode)
    if not mode & 0o222 or not os.access(real, os.W_OK):
        raise error(f"cannot write {label}: the file is read-only, so it is not replaced.")
    return mode


def _create_temp(real: Path) -> str:
    """A new empty temp file beside ``real``. Created with mode 0666 so the umask decides, as for
    any new file (mkstemp's 0600 made every saved checkpoint private)."""
    folder = real.parent if str(real.parent) else Path(".")
    for _ in range(100):
        name = f".{real.name}.{TMP_MARK}-{secrets.token_hex(4)}{real.suffix}"
        tmp = str(folder / name)
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        except FileExistsError:
            continue
        os.close(fd)
        return tmp
    raise FileExistsError(f"no free temp file name in {folder}")


def sweep_stale(folder: Path, target: Path | None = None, now: float | None = None) -> list[Path]:
    """Remove temp files of ours in ``folder`` that no write has touched for STALE_SECONDS: only
    regular files we own whose names carry TMP_MARK, or (written by versions before the mark)
    ``.<target name>.XXXXXXXX.tmp<suffix>`` of the file being saved now. Returns what it removed."""
    now = time.time() if now is None else now
    legacy = None
    if target is not None:
        legacy = re.compile(rf"^\.{re.escape(target.name)}\.[a-z0-9_]{{8}}\.tmp{re.escape(target.suffix)}$")
    removed = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    for entry in entries:
        name = entry.name
        if not name.startswith(".") or not (_OURS.match(name) or (legacy and legacy.match(name))):
            continue
        try:
            info = entry.stat(follow_symlinks=False)
            if (stat.S_ISREG(info.st_mode) and info.st_uid == os.geteuid()
                    and now - info.st_mtime > STALE_SECONDS):
                os.unlink(entry.path)
                removed.append(Path(entry.path))
        except OSError:
            pass   # gone meanwhile, or not ours to remove: leave it
    return removed


@contextlib.contextmanager
def _removed_on_sigterm() -> Iterator[None]:
    """While writing, SIGTERM raises SystemExit(143) instead of ending the process at once, so the
    temp file is removed on the way out. Only in the main thread (the only one Python delivers
    signals to) and only where nobody installed a handler of their own."""
    if threading.current_thread() is not threading.main_thread() or \
            signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL:
        yield
        return

    def terminate(signum, frame):
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, terminate)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _fsync_folder(folder: Path) -> None:
    """Make the rename itself durable; not every system can open a folder, which is harmless."""
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def atomic_write(path, write: Callable[[str], None], error: type[CnnvizError] = CnnvizError,
                 what: str = "") -> Path:
    """Call ``write(tmp_path)`` to fill a temp file beside ``path`` (same suffix, so writers that pick
    the format from the name still work), flush it to disk, then rename it over ``path``.

    A replaced file keeps its permission bits; a new one gets the umask's. A read-only file or a
    folder at ``path`` is refused; a symlink's target is replaced and the link stays. On any failure,
    KeyboardInterrupt or SIGTERM the temp file is removed and ``path`` is left as it was; failures
    raise ``error`` with one sentence naming the file (``what``, e.g. "checkpoint", says what it is).
    Returns ``path`` as given."""
    given, real, label = _target(path, error, what)
    mode = _existing_mode(real, error, label)
    folder = real.parent if str(real.parent) else Path(".")
    sweep_stale(folder, real)
    try:
        tmp = _create_temp(real)
    except OSError as exc:
        raise error(f"cannot write {label}: {_reason(exc, folder)}.") from None
    with _removed_on_sigterm():
        try:
            write(tmp)
            if os.path.getsize(tmp) == 0:
                raise error(f"cannot write {label}: nothing was written.")
            if mode is not None:
                os.chmod(tmp, mode)
            with open(tmp, "rb+") as handle:
                os.fsync(handle.fileno())
            os.replace(tmp, real)
        except OSError as exc:
            Path(tmp).unlink(missing_ok=True)
            raise error(f"cannot write {label}: {_reason(exc, folder)}.") from None
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    _fsync_folder(folder)
    return given


def _reason(exc: OSError, folder: Path) -> str:
    if isinstance(exc, FileNotFoundError) and not folder.is_dir():
        return f"the folder {folder} does not exist"
    if isinstance(exc, NotADirectoryError):
        return f"{folder} is not a folder"
    return one_line(exc.strerror or exc)


def check_writable(path, what: str = "file", error: type[CnnvizError] = CnnvizError,
                   size: int = 0) -> Path:
    """Refuse now, before long work starts, what ``atomic_write(path, ...)`` would refuse at its end:
    an empty name, a missing folder or one that is not a folder, a folder that does not take files
    (it really tries: a temp file is created there and removed), a folder or a read-only file at
    ``path``, and (when ``size`` bytes are expected) too little free space: the bytes are reserved
    on the disk, then given back. Returns ``path``; raises ``error`` with one sentence."""
    given, real, label = _target(path, error, what)
    folder = real.parent if str(real.parent) else Path(".")
    if not folder.exists():
        raise error(f"cannot write {label}: the folder {folder} does not exist.")
    if not folder.is_dir():
        raise error(f"cannot write {label}: {folder} is not a folder.")
    _existing_mode(real, error, label)
    try:
        tmp = _create_temp(real)
    except OSError as exc:
        raise error(f"cannot write {label}: {_reason(exc, folder)}.") from None
    try:
        if size > 0:
            _reserve(tmp, int(size))
    except OSError as exc:
        raise error(f"cannot write {label}: {_reason(exc, folder)} "
                    f"(it needs about {size / 1e6:.1f} MB).") from None
    finally:
        Path(tmp).unlink(missing_ok=True)
    return given


def _reserve(tmp: str, size: int) -> None:
    """Claim ``size`` bytes for ``tmp`` on its disk (ENOSPC when they are not there)."""
    fd = os.open(tmp, os.O_WRONLY)
    try:
        try:
            os.posix_fallocate(fd, 0, size)
            return
        except (AttributeError, OSError) as exc:   # no fallocate here: ask for the free space
            if isinstance(exc, OSError) and exc.errno not in (errno.EOPNOTSUPP, errno.EINVAL):
                raise
        if shutil.disk_usage(os.path.dirname(os.path.abspath(tmp))).free < size:   # also on Windows
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    finally:
        os.close(fd)


def writable_folder(folder, what: str = "folder", error: type[CnnvizError] = CnnvizError) -> Path:
    """``folder``, created if missing, after checking that files can be written into it (a temp file
    is created and removed); ``error`` with one sentence when it is a file, cannot be created or
    does not take files (read-only mount, no permission)."""
    if folder is None or str(folder).strip() == "":
        raise error(f"no folder given for the {what}.")
    folder = Path(folder).expanduser()
    if folder.exists() and not folder.is_dir():
        raise error(f"{what} {folder} is a file, not a folder.")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        tmp = _create_temp(folder / "probe")
        os.unlink(tmp)
    except FileExistsError:
        raise error(f"{what} {folder} cannot be created: a file is in the way.") from None
    except NotADirectoryError:
        raise error(f"{what} {folder} cannot be created: part of its path is a file.") from None
    except OSError as exc:
        raise error(f"cannot write into {what} {folder}: {one_line(exc.strerror or exc)}.") from None
    return folder


def one_line(text, limit: int = 200) -> str:
    """``text`` on one line (whitespace runs become one space), at most ``limit`` characters."""
    text = " ".join(str(text).split()).rstrip(".")
    return text if len(text) <= limit else text[: limit - 1] + "…"


@contextlib.contextmanager
def reading(path, error: type[CnnvizError], what: str) -> Iterator[None]:
    """The one guarded place for reading a file: inside it, any failure (a damaged or truncated
    file, an unreadable disk, a library's own exception, running out of memory) becomes ``error``
    with one sentence naming ``path``; a CnnvizError raised inside passes through unchanged."""
    try:
        yield
    except CnnvizError:
        raise
    except MemoryError:
        raise error(f"{what} {path} is too large to read into memory.") from None
    except FileNotFoundError:
        raise error(f"{what} {path} does not exist.") from None
    except IsADirectoryError:
        raise error(f"{what} {path} is a folder, not a file.") from None
    except OSError as exc:
        raise error(f"{what} {path} cannot be read: {one_line(exc.strerror or exc)}.") from None
    except RecursionError:
        raise error(f"{what} {path} is damaged: it is nested too deeply.") from None
    except Exception as exc:   # noqa: BLE001 - this is the guard: anything else is a damaged file
        raise error(f"{what} {path} is damaged or not a {what} ({one_line(exc) or type(exc).__name__}).") from None


MAX_JSON_DEPTH = 32
_JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_JSON_BRACKETS = re.compile(r"[\[\]{}]")


def parse_json(text: str, label: str, error: type[CnnvizError], max_depth: int = MAX_JSON_DEPTH):
    """``json.loads(text)``, but: nesting deeper than ``max_depth`` is refused before parsing (the
    parser would recurse once per level), and NaN / Infinity, which JSON does not have, are refused
    too. ``error`` names ``label`` (e.g. "the metadata of checkpoint a.npz") in one sentence."""
    import json

    depth = 0
    for bracket in _JSON_BRACKETS.findall(_JSON_STRING.sub("", text)):   # none inside strings count
        depth += 1 if bracket in "[{" else -1
        if depth > max_depth:
            raise error(f"{label} is nested more than {max_depth} levels deep.")

    def no_constant(name):
        raise ValueError(f"{name} is not a JSON number")

    def finite(digits):
        value = float(digits)
        if not math.isfinite(value):
            raise ValueError(f"{digits[:20]} is too large a number")
        return value

    try:
        return json.loads(text, parse_constant=no_constant, parse_float=finite)
    except ValueError as exc:
        raise error(f"{label} is not valid JSON ({one_line(exc)}).") from None

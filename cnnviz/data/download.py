"""Download a named dataset into the cache, checked, so nothing half-written or wrong lands there.

Each file is streamed from the first mirror that answers into a temp file *in the destination
folder*, checked against its known digest (see ``registry.RemoteFile`` for what is hashed), and only
then renamed into place, all by the project's one ``cnnviz.files.atomic_write`` (a rename is atomic
on one file system). A mirror that fails (HTTP error, network error, cut-off body, wrong checksum) is
skipped for the next one. A file already in the cache that passes its check is kept and not
downloaded again.

Progress goes to a callback ``progress(file_name, bytes_done, bytes_total_or_None)`` so the terminal
and the window can each draw it their own way.
"""

from __future__ import annotations

import errno
import functools
import gzip
import hashlib
import http.client
import socket
import sys
import tarfile
import time
import urllib.error
import urllib.request
import zlib
from pathlib import Path
from typing import Callable, Sequence

from cnnviz.data import registry
from cnnviz.data.registry import RemoteFile
from cnnviz.errors import DatasetError
from cnnviz.files import atomic_write, one_line, writable_folder

Progress = Callable[[str, int, "int | None"], None]
CHUNK = 1 << 16
# A mirror must deliver at least MIN_RATE bytes/s over every RATE_WINDOW seconds (a slow mobile link
# does 50 KB/s); one that drips is dropped for the next mirror.
MIN_RATE = 10_000
RATE_WINDOW = 30.0


def file_digest(path: Path, spec: RemoteFile) -> str:
    """The digest of ``path`` the way ``spec`` says (of the bytes, or of the gunzipped content)."""
    h = hashlib.new(spec.algorithm)
    opener = gzip.open if spec.of == "decompressed" else open
    try:
        with opener(path, "rb") as f:
            while chunk := f.read(CHUNK):
                h.update(chunk)
    except (EOFError, zlib.error, OSError) as e:
        raise DatasetError(f"{path.name}: the gzip stream is broken or truncated ({e}).") from None
    return h.hexdigest()


def is_valid(path: Path, spec: RemoteFile) -> bool:
    try:
        return path.is_file() and file_digest(path, spec) == spec.digest
    except DatasetError:
        return False


def _stream(url: str, out, name: str, progress: Progress | None, timeout: float) -> None:
    """Copy the body at ``url`` into the open file ``out``; DatasetError if it is cut short.

    ``timeout`` bounds every single wait for the server; besides, every RATE_WINDOW seconds at least
    MIN_RATE * RATE_WINDOW bytes must have arrived, so a server that drips a byte now and then (each
    read well inside the timeout) cannot hold the download forever."""
    min_rate, window = MIN_RATE, RATE_WINDOW
    with urllib.request.urlopen(url, timeout=timeout) as response:
        total = response.headers.get("Content-Length")
        total = int(total) if total and total.isdigit() else None
        done, window_start, window_done = 0, time.monotonic(), 0
        while True:
            try:
                chunk = response.read1(CHUNK)   # what has arrived, not a wait for a whole CHUNK
            except http.client.IncompleteRead as e:
                done += len(e.partial)
                raise DatasetError(f"{url}: the connection closed after {done} bytes.") from None
            if not chunk:
                break
            out.write(chunk)
            done += len(chunk)
            window_done += len(chunk)
            if progress:
                progress(name, done, total)
            now = time.monotonic()
            if now - window_start >= window:
                if window_done < min_rate * window:
                    raise _MirrorFailed(f"{url}: too slow ({window_done} bytes in {now - window_start:.0f} s)",
                                        reached=True)
                window_start, window_done = now, 0
    if total is not None and done != total:
        raise DatasetError(f"{url}: received {done} of {total} bytes.")


DISK_ERRORS = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EFBIG}


class _MirrorFailed(Exception):
    """One mirror could not deliver the file. Deliberately not an OSError (urllib's errors are), so
    ``atomic_write`` passes it on as it is instead of reporting it as a failure to write the file.
    ``reached``: the server answered (so the computer is not simply offline)."""

    def __init__(self, message: str, reached: bool) -> None:
        super().__init__(message)
        self.message, self.reached = message, reached


def _download_checked(tmp: str, url: str, spec: RemoteFile, progress: Progress | None,
                      timeout: float) -> None:
    """Stream ``url`` into the temp file ``tmp``, then check its digest; ``atomic_write`` renames the
    temp file into place only when this returns, so a wrong or cut-off body never lands in the cache."""
    try:
        with open(tmp, "wb") as out:
            _stream(url, out, spec.name, progress, timeout)
    except urllib.error.HTTPError as e:
        raise _MirrorFailed(f"{url}: HTTP {e.code}", reached=True) from None
    except http.client.HTTPException as e:   # it answered, but not in HTTP (BadStatusLine, ...)
        raise _MirrorFailed(f"{url}: not an HTTP answer ({type(e).__name__})", reached=True) from None
    except (socket.timeout, TimeoutError) as e:
        raise _MirrorFailed(f"{url}: no answer within {timeout:g} s", reached=False) from None
    except (urllib.error.URLError, ConnectionError) as e:
        reason = getattr(e, "reason", e)
        if isinstance(reason, (socket.timeout, TimeoutError)):
            raise _MirrorFailed(f"{url}: no answer within {timeout:g} s", reached=False) from None
        raise _MirrorFailed(f"{url}: {one_line(reason)}", reached=False) from None
    except OSError as e:  # the connection reset mid-way, or the disk refused the bytes
        if e.errno in DISK_ERRORS:   # not a network matter: no "offline?" hint
            raise DatasetError(f"cannot write {spec.name} into {Path(tmp).parent}: {e.strerror}") from None
        raise _MirrorFailed(f"{url}: {e.strerror or e}", reached=False) from None
    if file_digest(Path(tmp), spec) != spec.digest:
        raise DatasetError(f"{url}: {spec.algorithm.upper()} checksum does not match.")


def fetch_file(spec: RemoteFile, mirrors: Sequence[str], folder: Path,
               progress: Progress | None = None, timeout: float = 30.0) -> Path:
    """Put a checked copy of ``spec`` in ``folder``, trying ``mirrors`` (base URLs) in turn."""
    dest = folder / spec.name
    if is_valid(dest, spec):
        return dest
    created = not folder.exists()
    writable_folder(folder, "dataset folder", DatasetError)
    failures, reached = [], False
    for base in mirrors:
        url = base.rstrip("/") + "/" + spec.name
        write = functools.partial(_download_checked, url=url, spec=spec, progress=progress,
                                  timeout=timeout)
        try:
            return atomic_write(dest, write, DatasetError, what="dataset file")
        except _MirrorFailed as e:
            failures.append(e.message)
            reached = reached or e.reached
        except DatasetError as e:  # a cut-off body, a wrong checksum, or the disk
            failures.append(str(e).rstrip("."))
            reached = True
    if created and not any(folder.iterdir()):
        folder.rmdir()  # leave no empty dataset folder behind a failed download
    hint = "" if reached else " (is this computer offline?)"
    raise DatasetError(f"could not download {spec.name} from any mirror{hint}: "
                       + "; ".join(failures) + ".")


def extract_cifar(archive: Path, folder: Path) -> None:
    """Unpack only CIFAR-10's binary batches and class list from ``archive`` into ``folder``."""
    wanted = set(registry.CIFAR_TRAIN) | {registry.CIFAR_TEST, "batches.meta.txt"}
    try:
        with tarfile.open(archive, "r:gz") as tar:
            members = [m for m in tar.getmembers()
                       if m.isfile() and Path(m.name).name in wanted]
            for m in members:
                m.name = f"{registry.CIFAR_FOLDER}/{Path(m.name).name}"  # no path tricks
            # Names are rewritten above; the "data" filter (where Python has it) also refuses
            # links and device files.
            safe = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}
            tar.extractall(folder, members=members, **safe)
    except (tarfile.TarError, EOFError, zlib.error, OSError) as e:
        raise DatasetError(f"{archive}: cannot unpack the archive ({e}).") from None


def download(name: str, cache_dir=None, mirrors: Sequence[str] | None = None,
             files: Sequence[RemoteFile] | None = None, progress: Progress | None = None,
             timeout: float = 30.0) -> Path:
    """Download the named dataset into ``<cache>/<name>`` and return that folder.

    mirrors, files: override the registry's (tests point them at a local server)."""
    info = registry.dataset_info(name)
    if info.kind == "generated":
        raise DatasetError(f"{name!r} is built in and needs no download.")
    root = registry.cache_root(cache_dir)
    folder = root / name
    mirrors = tuple(mirrors if mirrors is not None else info.mirrors)
    existed = folder.exists()
    # A cache that is a file, read-only or not creatable is one sentence before any download.
    if root.exists() and not root.is_dir():
        raise DatasetError(f"cache folder {root} is a file, not a folder.")
    writable_folder(folder, "cache folder", DatasetError)
    try:
        for spec in (files if files is not None else info.files):
            if info.kind == "cifar10" and registry.cifar_folder(folder) is not None:
                break
            path = fetch_file(spec, mirrors, folder, progress, timeout)
            if info.kind == "cifar10":
                extract_cifar(path, folder)
                path.unlink()  # the batches are what is read; keep the cache small
    except BaseException:
        if not existed and folder.is_dir() and not any(folder.iterdir()):
            folder.rmdir()   # leave no empty dataset folder behind a failed download
        raise
    return folder


class TerminalProgress:
    """A one-line progress bar for a terminal: ``name [#####.....] 45% 4.1/9.9 MB 2.3 MB/s``."""

    def __init__(self, stream=None, width: int = 30):
        self.stream = stream or sys.stderr
        self.width = width
        self.start = time.monotonic()
        self.name = None

    def __call__(self, name: str, done: int, total: int | None) -> None:
        if name != self.name:
            if self.name is not None:
                self.stream.write("\n")
            self.name, self.start = name, time.monotonic()
        rate = done / max(time.monotonic() - self.start, 1e-6) / 1e6
        if total:
            filled = int(self.width * done / total)
            bar = "#" * filled + "." * (self.width - filled)
            text = f"\r{name} [{bar}] {done / total:4.0%} {done / 1e6:.1f}/{total / 1e6:.1f} MB"
        else:
            text = f"\r{name} {done / 1e6:.1f} MB"
        self.stream.write(f"{text} {rate:.1f} MB/s")
        self.stream.flush()

    def close(self) -> None:
        if self.name is not None:
            self.stream.write("\n")
            self.stream.flush()

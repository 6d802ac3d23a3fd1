"""The one atomic writer and the checks before long work (cnnviz.files), under injected faults."""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from cnnviz import files
from cnnviz.errors import CheckpointError, CnnvizError, DatasetError
from cnnviz.files import atomic_write, check_writable, reading, sweep_stale, writable_folder

REPO = Path(__file__).resolve().parents[1]


def writer(data: bytes):
    def write(tmp):
        with open(tmp, "wb") as handle:
            handle.write(data)
    return write


def test_a_replaced_file_keeps_its_mode_and_a_new_one_gets_the_umasks(tmp_path):
    target = tmp_path / "model.npz"
    target.write_bytes(b"old")
    target.chmod(0o644)
    atomic_write(target, writer(b"new"))
    assert target.read_bytes() == b"new" and (target.stat().st_mode & 0o777) == 0o644
    target.chmod(0o640)
    atomic_write(target, writer(b"newer"))
    assert target.stat().st_mode & 0o777 == 0o640
    umask = os.umask(0o022)
    try:
        atomic_write(tmp_path / "fresh.npz", writer(b"x"))
    finally:
        os.umask(umask)
    assert (tmp_path / "fresh.npz").stat().st_mode & 0o777 == 0o644   # not mkstemp's 0600


def test_a_read_only_file_is_refused_not_replaced(tmp_path):
    target = tmp_path / "keep.npz"
    target.write_bytes(b"precious")
    target.chmod(0o444)
    with pytest.raises(CheckpointError, match="keep.npz.*read-only"):
        atomic_write(target, writer(b"new"), CheckpointError, "checkpoint")
    assert target.read_bytes() == b"precious"
    assert [p.name for p in tmp_path.iterdir()] == ["keep.npz"]
    with pytest.raises(CheckpointError, match="read-only"):
        check_writable(target, "checkpoint", CheckpointError)


def test_a_symlink_is_written_through_and_stays_a_link(tmp_path):
    real_dir = tmp_path / "store"
    real_dir.mkdir()
    real = real_dir / "model.npz"
    real.write_bytes(b"old")
    link = tmp_path / "latest.npz"
    link.symlink_to(real)
    assert atomic_write(link, writer(b"new")) == link
    assert link.is_symlink() and os.readlink(link) == str(real)
    assert real.read_bytes() == b"new"
    assert sorted(p.name for p in real_dir.iterdir()) == ["model.npz"]   # temp in the target's folder


def test_an_empty_name_and_a_folder_are_refused(tmp_path):
    for path in ("", "  ", None):
        with pytest.raises(CheckpointError, match="no file name"):
            atomic_write(path, writer(b"x"), CheckpointError, "checkpoint")
        with pytest.raises(CheckpointError, match="no file name"):
            check_writable(path, "checkpoint", CheckpointError)
    for check in (lambda p: atomic_write(p, writer(b"x"), CheckpointError, "checkpoint"),
                  lambda p: check_writable(p, "checkpoint", CheckpointError)):
        with pytest.raises(CheckpointError, match="is a folder"):
            check(tmp_path)


def test_the_temp_file_goes_on_any_exception(tmp_path):
    target = tmp_path / "a.npz"
    target.write_bytes(b"old")

    def failing(tmp):
        Path(tmp).write_bytes(b"half")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        atomic_write(target, failing)
    assert [p.name for p in tmp_path.iterdir()] == ["a.npz"] and target.read_bytes() == b"old"


def test_a_full_disk_during_the_write_keeps_the_old_file(tmp_path):
    target = tmp_path / "a.npz"
    target.write_bytes(b"old")

    def full(tmp):
        with open(tmp, "wb") as handle:
            handle.write(b"ha")
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    with pytest.raises(CheckpointError, match="checkpoint .*a.npz: No space left on device"):
        atomic_write(target, full, CheckpointError, "checkpoint")
    assert [p.name for p in tmp_path.iterdir()] == ["a.npz"] and target.read_bytes() == b"old"


def test_sigterm_during_a_save_removes_the_temp_file(tmp_path):
    target = tmp_path / "model.npz"
    target.write_bytes(b"old")
    ready = tmp_path / "ready"
    script = textwrap.dedent(f"""
        import time
        from pathlib import Path
        from cnnviz.files import atomic_write

        def slow(tmp):
            Path(tmp).write_bytes(b"part of a checkpoint")
            Path({str(ready)!r}).touch()
            time.sleep(60)

        atomic_write({str(target)!r}, slow)
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], env={**os.environ, "PYTHONPATH": str(REPO)},
                            stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while not ready.exists():
            assert proc.poll() is None, proc.stderr.read()
            assert time.monotonic() < deadline
            time.sleep(0.02)
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(30)
    finally:
        proc.kill()
        proc.wait()
    assert code == 128 + signal.SIGTERM
    assert "Traceback" not in proc.stderr.read()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.npz", "ready"]
    assert target.read_bytes() == b"old"


def test_stale_temp_files_of_a_killed_save_are_swept_on_the_next_save(tmp_path):
    old = time.time() - files.STALE_SECONDS - 60
    stale = tmp_path / f".model.npz.{files.TMP_MARK}-0123abcd.npz"        # ours, left by SIGKILL
    legacy = tmp_path / ".model.npz.k2j_9xq0.tmp.npz"                     # mkstemp's, older versions
    fresh = tmp_path / f".other.npz.{files.TMP_MARK}-89abcdef.npz"        # a save running right now
    foreign = tmp_path / ".notes.txt.swp"                                 # not ours at all
    for path in (stale, legacy, fresh, foreign):
        path.write_bytes(b"x" * 100)
    for path in (stale, legacy, foreign):
        os.utime(path, (old, old))
    atomic_write(tmp_path / "model.npz", writer(b"new"))
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["model.npz", fresh.name, foreign.name])
    assert sweep_stale(tmp_path) == []


def test_check_writable_refuses_a_missing_folder_or_a_file_as_folder(tmp_path):
    with pytest.raises(CheckpointError, match="folder .*no.such does not exist"):
        check_writable(tmp_path / "no.such" / "m.npz", "checkpoint", CheckpointError)
    (tmp_path / "afile").write_text("x")
    with pytest.raises(CheckpointError, match="afile is not a folder"):
        check_writable(tmp_path / "afile" / "m.npz", "checkpoint", CheckpointError)
    assert check_writable(tmp_path / "m.npz", "checkpoint", CheckpointError) == tmp_path / "m.npz"
    assert list(tmp_path.iterdir()) == [tmp_path / "afile"]   # the probe file is gone again


def test_check_writable_refuses_a_read_only_folder(tmp_path, read_only):
    folder = read_only(tmp_path / "ro")
    with pytest.raises(CheckpointError, match="cannot write checkpoint .*ro.m.npz: Permission denied"):
        check_writable(folder / "m.npz", "checkpoint", CheckpointError)
    with pytest.raises(CheckpointError, match="Permission denied"):
        atomic_write(folder / "m.npz", writer(b"x"), CheckpointError, "checkpoint")


def test_check_writable_reserves_the_space_it_will_need(tmp_path, monkeypatch):
    check_writable(tmp_path / "m.npz", "checkpoint", CheckpointError, size=1 << 20)

    def full(fd, offset, length):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "posix_fallocate", full)
    with pytest.raises(CheckpointError, match=r"No space left on device \(it needs about 1.0 MB\)"):
        check_writable(tmp_path / "m.npz", "checkpoint", CheckpointError, size=1 << 20)
    assert list(tmp_path.iterdir()) == []


def test_writable_folder_creates_or_refuses_in_one_sentence(tmp_path, read_only):
    assert writable_folder(tmp_path / "a" / "b", "cache folder", DatasetError).is_dir()
    (tmp_path / "file").write_text("x")
    with pytest.raises(DatasetError, match="cache folder .*file is a file, not a folder"):
        writable_folder(tmp_path / "file", "cache folder", DatasetError)
    with pytest.raises(DatasetError, match="part of its path is a file"):
        writable_folder(tmp_path / "file" / "sub", "cache folder", DatasetError)
    ro = read_only(tmp_path / "ro")
    with pytest.raises(DatasetError, match="cannot write into cache folder .*ro: Permission denied"):
        writable_folder(ro, "cache folder", DatasetError)
    with pytest.raises(DatasetError, match="Permission denied"):
        writable_folder(ro / "mnist", "cache folder", DatasetError)


def test_reading_turns_every_failure_into_one_sentence(tmp_path):
    cases = [OSError(errno.EIO, "Input/output error"), ValueError("bad\nvalue"), KeyError("x"),
             TypeError("nope"), MemoryError(), RecursionError(), FileNotFoundError(2, "gone")]
    for exc in cases:
        with pytest.raises(CheckpointError) as info:
            with reading(tmp_path / "a.npz", CheckpointError, "checkpoint"):
                raise exc
        message = str(info.value)
        assert "a.npz" in message and "\n" not in message, message
    with pytest.raises(CnnvizError, match="^mine$"):
        with reading(tmp_path, DatasetError, "IDX file"):
            raise DatasetError("mine")

"""Under a 4 GB address-space limit (``setrlimit(RLIMIT_AS)`` in a child process) no hostile input makes
the command line run out of memory: each is refused with its own sentence, exit 2, and the child's
peak resident memory stays small (issue 14, item 5). benchmarks/bench_memory_limit.py runs the same
cases and prints the figures."""

from __future__ import annotations

import gzip
import os
import resource
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO / "tests" / "data"), str(REPO / "tests" / "nn")]

from idx_hostile import gzip_bomb, idx_header  # noqa: E402
from npz_hostile import deflate_bomb, good_checkpoint, npy_header, stored, with_member, zip_bytes  # noqa: E402

LIMIT = 4 << 30


def run_limited(args, limit: int = LIMIT) -> tuple[int, str, int]:
    """(exit status, stderr, peak RSS in bytes) of ``python -m cnnviz.cli *args`` under ``limit``."""
    def cap():
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    proc = subprocess.Popen([sys.executable, "-m", "cnnviz.cli", *args], cwd=REPO, preexec_fn=cap,
                            env={**os.environ, "PYTHONPATH": str(REPO)}, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    try:
        err = proc.stderr.read()
        _, status, usage = os.wait4(proc.pid, 0)
    finally:
        proc.stderr.close()
        proc.returncode = 0   # reaped by wait4
    return os.waitstatus_to_exitcode(status), err, usage.ru_maxrss * 1024


def hostile_cases(tmp: Path) -> list[tuple[str, list[str], str]]:
    """(what, command line, words the one sentence must hold) for each memory bomb of issue 14."""
    cases = []
    bomb = tmp / "gzip-bomb"
    bomb.mkdir()
    (bomb / "train-images-idx3-ubyte.gz").write_bytes(gzip_bomb(idx_header((300, 28, 28)), 4 << 30))
    (bomb / "train-labels-idx1-ubyte.gz").write_bytes(gzip.compress(idx_header((300,)) + bytes(300)))
    cases.append(("4 MB .gz inflating to 4 GB", ["train", "--data", str(bomb)], "longer than its header says"))
    claim = tmp / "huge-header"
    claim.mkdir()
    (claim / "train-images-idx3-ubyte.gz").write_bytes(gzip.compress(idx_header((2**31, 28, 28)) + bytes(100)))
    (claim / "train-labels-idx1-ubyte.gz").write_bytes(gzip.compress(idx_header((2**31,)) + bytes(100)))
    cases.append(("IDX header of 2^31 images", ["train", "--data", str(claim)], "MB are read"))
    _, members, _ = good_checkpoint(tmp)
    extra = tmp / "extra.npz"
    extra.write_bytes(zip_bytes([*members.values(), deflate_bomb("extra.npy", b"", 3 << 30)]))
    cases.append(("3 GB deflated extra member", ["eval", "--model", str(extra), "--data", str(bomb)],
                  "longer than its header says"))   # the checkpoint loads; the bomb dataset is refused
    big = tmp / "big-member.npz"
    big.write_bytes(zip_bytes(with_member(members, deflate_bomb("param/0/W.npy", npy_header("<f4", (4, 1, 3, 3)), 3 << 30))))
    cases.append(("weights member declaring 3 GB", ["eval", "--model", str(big)], "more than a checkpoint may hold"))
    shape = tmp / "shape.npz"
    shape.write_bytes(zip_bytes(with_member(members, stored("param/0/W.npy", npy_header("<f4", (2**31,)) + bytes(64)))))
    cases.append(("array header of shape (2^31,)", ["eval", "--model", str(shape)], "does not fit"))
    cases.append(("--batch-size 1000000", ["train", "--batch-size", "1000000"], "too large for this network"))
    return cases


@pytest.fixture(scope="module")
def cases(tmp_path_factory):
    return hostile_cases(tmp_path_factory.mktemp("bombs"))


@pytest.mark.parametrize("index", range(6))
def test_no_hostile_input_runs_out_of_memory_under_4_gb(cases, index):
    what, args, words = cases[index]
    code, err, peak = run_limited(args)
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1, (what, err)
    assert words in lines[0] and "MemoryError" not in err and "memory" not in lines[0], (what, lines)
    assert peak < 600 << 20, (what, peak)   # not the gigabytes the input asked for


def test_the_limit_really_binds():
    # a child under the same limit that asks for 5 GB fails: the limit is in force
    script = "import numpy as np; np.ones(5 << 30, np.uint8)"

    def cap():
        resource.setrlimit(resource.RLIMIT_AS, (LIMIT, LIMIT))

    proc = subprocess.run([sys.executable, "-c", script], preexec_fn=cap, capture_output=True, text=True)
    assert proc.returncode != 0 and "MemoryError" in proc.stderr

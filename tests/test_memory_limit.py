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
import tempfile
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO / "tests" / "data"), str(REPO / "tests" / "nn")]

from idx_hostile import gzip_bomb, idx_header  # noqa: E402
from npz_hostile import deflate_bomb, good_checkpoint, npy_header, stored, with_member, zip_bytes  # noqa: E402

LIMIT = 4 << 30


# Runs ``python -m MODULE ...`` or ``python -c CODE ...`` and, at exit, writes the process's own peak
# resident memory (VmHWM) to the file named first. Not wait4's ru_maxrss: preexec_fn makes Python fork,
# and Linux keeps the forked copy of the (large) pytest process's memory in the child's maxrss.
PEAK_WRAPPER = """
import atexit, runpy, sys
out = sys.argv[1]
def report():
    hwm = [l for l in open("/proc/self/status") if l.startswith("VmHWM:")][0].split()[1]
    open(out, "w").write(hwm)
atexit.register(report)
if sys.argv[2] == "-m":
    sys.argv = sys.argv[3:]
    runpy.run_module(sys.argv[0], run_name="__main__", alter_sys=True)
else:
    code, sys.argv = sys.argv[3], ["-c", *sys.argv[4:]]
    exec(compile(code, "<script>", "exec"), {"__name__": "__main__"})
"""


def run_limited(args, limit: int = LIMIT, python_args=("-m", "cnnviz.cli")) -> tuple[int, str, int, str]:
    """(exit status, stderr, peak RSS in bytes, stdout) of ``python -m cnnviz.cli *args`` (or of
    ``python *python_args *args``) in a child process under an address-space limit of ``limit``."""
    def cap():
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    with tempfile.NamedTemporaryFile("r", suffix=".hwm") as peak:
        proc = subprocess.run([sys.executable, "-c", PEAK_WRAPPER, peak.name, *python_args, *args], cwd=REPO,
                              preexec_fn=cap, env={**os.environ, "PYTHONPATH": str(REPO)},
                              capture_output=True, text=True, timeout=600)
        kb = peak.read().strip()
    return proc.returncode, proc.stderr, int(kb or 0) * 1024, proc.stdout


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
    code, err, peak, _ = run_limited(args)
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1, (what, err)
    assert words in lines[0] and "MemoryError" not in err and "memory" not in lines[0], (what, lines)
    assert 0 < peak < 300 << 20, (what, peak)   # not the gigabytes the input asked for


def test_the_limit_really_binds():
    # a child under the same limit that asks for 5 GB fails: the limit is in force
    script = "import numpy as np; np.ones(5 << 30, np.uint8)"

    def cap():
        resource.setrlimit(resource.RLIMIT_AS, (LIMIT, LIMIT))

    proc = subprocess.run([sys.executable, "-c", script], preexec_fn=cap, capture_output=True, text=True)
    assert proc.returncode != 0 and "MemoryError" in proc.stderr

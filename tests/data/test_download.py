"""The downloader against a local HTTP server: mirrors in turn, and nothing bad lands in the cache."""

from __future__ import annotations

import hashlib
import socket

import numpy as np
import pytest

from cnnviz.data import download as download_module
from cnnviz.data.download import download, fetch_file
from cnnviz.data.idx import read_idx
from cnnviz.data.registry import DATASETS, RemoteFile
from cnnviz.errors import DatasetError

LABELS = "t10k-labels-idx1-ubyte.gz"
IMAGES = "t10k-images-idx3-ubyte.gz"


def spec_for(name: str) -> RemoteFile:
    """The registry's real MNIST entry: SHA-256 of the decompressed content."""
    return next(f for f in DATASETS["mnist"].files if f.name == name)


def test_404_on_first_mirror_then_second_mirror_succeeds(http_server, tmp_path):
    server, base = http_server
    seen = []
    path = fetch_file(spec_for(LABELS), [f"{base}/missing", f"{base}/good"], tmp_path,
                      progress=lambda name, done, total: seen.append((name, done, total)))
    assert path == tmp_path / LABELS
    assert read_idx(path).shape == (10000,)
    assert server.requests == [f"/missing/{LABELS}", f"/good/{LABELS}"]
    assert seen[-1] == (LABELS, path.stat().st_size, path.stat().st_size)
    assert [p.name for p in tmp_path.iterdir()] == [LABELS]  # no temp files left behind


@pytest.mark.parametrize("mirror", ["short", "cut"])
def test_truncated_body_is_an_error_and_leaves_nothing(http_server, tmp_path, mirror):
    _, base = http_server
    with pytest.raises(DatasetError, match=IMAGES) as info:
        fetch_file(spec_for(IMAGES), [f"{base}/{mirror}"], tmp_path)
    assert any(word in str(info.value) for word in ("closed after", "received", "truncated"))
    assert list(tmp_path.iterdir()) == []


def test_wrong_checksum_is_an_error_and_leaves_nothing(http_server, tmp_path):
    _, base = http_server
    wrong = RemoteFile(LABELS, "0" * 64)
    with pytest.raises(DatasetError, match="checksum"):
        fetch_file(wrong, [f"{base}/good"], tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_hash_of_download_is_checked_when_so_declared(http_server, tmp_path, mnist_dir):
    _, base = http_server
    digest = hashlib.sha256((mnist_dir / LABELS).read_bytes()).hexdigest()
    spec = RemoteFile(LABELS, digest, of="download")
    # The reversed bytes of /wrong/ fail the check; the next mirror's good copy passes it.
    fetch_file(spec, [f"{base}/wrong", f"{base}/good"], tmp_path)
    assert (tmp_path / LABELS).read_bytes() == (mnist_dir / LABELS).read_bytes()


def test_good_file_in_cache_is_kept_and_not_fetched_again(http_server, tmp_path, mnist_dir):
    server, base = http_server
    good = (mnist_dir / LABELS).read_bytes()
    (tmp_path / LABELS).write_bytes(good)
    fetch_file(spec_for(LABELS), [f"{base}/wrong"], tmp_path)
    assert server.requests == []
    assert (tmp_path / LABELS).read_bytes() == good


def test_failed_download_never_overwrites_existing_file(http_server, tmp_path):
    _, base = http_server
    # A file the check rejects (here: another file's content) is replaced only by a good download.
    existing = b"user data that must survive"
    (tmp_path / LABELS).write_bytes(existing)
    with pytest.raises(DatasetError):
        fetch_file(spec_for(LABELS), [f"{base}/short", f"{base}/wrong", f"{base}/missing"], tmp_path)
    assert (tmp_path / LABELS).read_bytes() == existing
    assert [p.name for p in tmp_path.iterdir()] == [LABELS]


def test_disk_full_mid_download_leaves_the_existing_file_and_no_temp_file(http_server, tmp_path,
                                                                          disk_full):
    _, base = http_server
    existing = b"user data that must survive"
    (tmp_path / LABELS).write_bytes(existing)
    disk_full(download_module)
    with pytest.raises(DatasetError, match=f"cannot write {LABELS} into .*: No space left on device") as info:
        fetch_file(spec_for(LABELS), [f"{base}/good"], tmp_path)
    assert "\n" not in str(info.value)
    assert "offline" not in str(info.value)   # the disk, not the network, failed
    assert (tmp_path / LABELS).read_bytes() == existing
    assert [p.name for p in tmp_path.iterdir()] == [LABELS]


def test_download_is_renamed_into_place_only_after_its_checksum_matched(http_server, tmp_path,
                                                                        mnist_dir, monkeypatch):
    _, base = http_server
    dest = tmp_path / LABELS
    dest.write_bytes(b"old")
    checked = []   # (file whose digest was taken, what dest held at that moment)
    real_digest = download_module.file_digest

    def spy(path, spec):
        checked.append((path, dest.read_bytes()))
        return real_digest(path, spec)

    monkeypatch.setattr(download_module, "file_digest", spy)
    fetch_file(spec_for(LABELS), [f"{base}/good"], tmp_path)
    temp, held = checked[-1]
    assert temp.parent == tmp_path and temp != dest   # the download is checked in its temp file...
    assert held == b"old"                             # ...while dest is still the old file
    assert not temp.exists()
    assert dest.read_bytes() == (mnist_dir / LABELS).read_bytes()


def test_download_named_set_with_injected_mirrors_and_files(http_server, tmp_path):
    _, base = http_server
    files = [spec_for(LABELS), spec_for(IMAGES)]
    folder = download("mnist", cache_dir=tmp_path, mirrors=[f"{base}/missing", f"{base}/good"],
                      files=files)
    assert folder == tmp_path / "mnist"
    assert sorted(p.name for p in folder.iterdir()) == sorted([IMAGES, LABELS])


def unused_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_unreachable_mirrors_give_an_offline_sentence(tmp_path):
    url = f"http://127.0.0.1:{unused_port()}"
    with pytest.raises(DatasetError, match="offline") as info:
        download("mnist", cache_dir=tmp_path, mirrors=[url], timeout=2)
    assert "\n" not in str(info.value)
    assert list(tmp_path.iterdir()) == []  # not even an empty mnist folder


def test_built_in_digits_need_no_download(tmp_path):
    with pytest.raises(DatasetError, match="built in"):
        download("digits", cache_dir=tmp_path)


def cifar_archive(rng) -> bytes:
    """A tiny stand-in for cifar-10-binary.tar.gz, plus members that must not be unpacked."""
    import io
    import tarfile

    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        def add(name, data):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        for name in [f"data_batch_{i}.bin" for i in range(1, 6)] + ["test_batch.bin"]:
            records = rng.integers(0, 256, (4, 3073)).astype(np.uint8)
            records[:, 0] %= 10
            add(f"cifar-10-batches-bin/{name}", records.tobytes())
        add("cifar-10-batches-bin/batches.meta.txt", b"airplane\n")
        add("cifar-10-batches-py/data_batch_1", b"\x80\x04pickle")
        add("../escaped.txt", b"outside")
    return buffer.getvalue()


def test_cifar10_archive_is_checked_and_only_binary_batches_unpacked(http_server, tmp_path):
    from cnnviz.data.pipeline import load_dataset

    server, base = http_server
    archive = cifar_archive(np.random.default_rng(0))
    server.files["cifar-10-binary.tar.gz"] = archive
    spec = RemoteFile("cifar-10-binary.tar.gz", hashlib.md5(archive).hexdigest(), "download", "md5")
    folder = download("cifar10", cache_dir=tmp_path / "cache", mirrors=[f"{base}/good"], files=[spec])
    files = sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())
    assert files == sorted(f"cifar-10-batches-bin/{n}" for n in
                           ["batches.meta.txt", "test_batch.bin"] + [f"data_batch_{i}.bin" for i in range(1, 6)])
    assert not (tmp_path / "escaped.txt").exists() and not (tmp_path / "cache" / "escaped.txt").exists()
    data = load_dataset("cifar10", cache_dir=tmp_path / "cache")
    assert data.x_train.shape == (20, 3, 32, 32) and data.x_test.shape == (4, 3, 32, 32)


def test_a_mirror_that_does_not_speak_http_is_skipped_for_the_next(http_server, not_http_server, tmp_path):
    _, base = http_server
    path = fetch_file(spec_for(LABELS), [not_http_server, f"{base}/good"], tmp_path)
    assert read_idx(path).shape == (10000,)
    with pytest.raises(DatasetError, match="not an HTTP answer") as info:
        fetch_file(spec_for(LABELS), [not_http_server], tmp_path / "other")
    assert "\n" not in str(info.value) and "offline" not in str(info.value)


def test_a_mirror_that_sends_nothing_times_out_and_the_next_is_tried(http_server, tmp_path):
    server, base = http_server
    path = fetch_file(spec_for(LABELS), [f"{base}/stall", f"{base}/good"], tmp_path, timeout=0.3)
    assert read_idx(path).shape == (10000,)
    assert server.requests == [f"/stall/{LABELS}", f"/good/{LABELS}"]


def test_a_mirror_that_drips_is_dropped_by_the_minimum_rate(http_server, tmp_path, monkeypatch):
    # One byte every 0.05 s: every read returns well inside the 5 s timeout, so only the rate rule
    # (here 1000 bytes/s over 0.3 s windows; the real one is 10 KB/s over 30 s) can stop it.
    server, base = http_server
    monkeypatch.setattr(download_module, "MIN_RATE", 1000)
    monkeypatch.setattr(download_module, "RATE_WINDOW", 0.3)
    path = fetch_file(spec_for(LABELS), [f"{base}/drip", f"{base}/good"], tmp_path, timeout=5)
    assert read_idx(path).shape == (10000,)
    with pytest.raises(DatasetError, match=r"drip/.*too slow \(\d+ bytes in 0 s\)"):
        fetch_file(spec_for(LABELS), [f"{base}/drip"], tmp_path / "other", timeout=5)
    assert sorted(p.name for p in tmp_path.iterdir()) == [LABELS]   # no temp file, no 'other' folder


def test_a_cache_that_is_a_file_or_read_only_is_one_sentence(tmp_path, read_only, http_server):
    _, base = http_server
    (tmp_path / "file").write_text("x")
    with pytest.raises(DatasetError, match="is a file, not a folder"):
        download("mnist", cache_dir=tmp_path / "file", mirrors=[f"{base}/good"], files=[spec_for(LABELS)])
    with pytest.raises(DatasetError, match="part of its path is a file"):
        download("mnist", cache_dir=tmp_path / "file" / "sub", mirrors=[f"{base}/good"], files=[spec_for(LABELS)])
    ro = read_only(tmp_path / "ro")
    with pytest.raises(DatasetError, match="cache folder .*ro.mnist.*Permission denied"):
        download("mnist", cache_dir=ro, mirrors=[f"{base}/good"], files=[spec_for(LABELS)])
    existing = read_only(tmp_path / "cache" / "mnist")   # the dataset's own folder read-only
    with pytest.raises(DatasetError, match="cannot write into cache folder .*mnist: Permission denied"):
        download("mnist", cache_dir=existing.parent, mirrors=[f"{base}/good"], files=[spec_for(LABELS)])

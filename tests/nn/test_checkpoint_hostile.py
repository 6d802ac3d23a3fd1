"""The checkpoint reader against the files that gave tracebacks or ate memory (issue 14, items 5, 6, 12):
each is refused in one sentence naming the file, before anything big is allocated."""

from __future__ import annotations

import copy
import json
import tracemalloc

import numpy as np
import pytest
from npz_hostile import (deflate_bomb, deflated, good_checkpoint, meta_member, npy_bytes, npy_header,
                         replace, stored, with_member, zip_bytes)

from cnnviz.errors import CheckpointError
from cnnviz.nn import build_model, load_checkpoint, load_into, save_checkpoint
from cnnviz.nn.checkpoint import read_checkpoint_file


@pytest.fixture
def good(tmp_path):
    return good_checkpoint(tmp_path)


def refused(path, *words) -> str:
    with pytest.raises(CheckpointError) as info:
        load_checkpoint(path)
    message = str(info.value)
    assert str(path) in message and "\n" not in message, message
    for word in words:
        assert word in message, message
    return message


def write(tmp_path, members, name="bad.npz"):
    path = tmp_path / name
    path.write_bytes(zip_bytes(list(members)))
    return path


def peak_bytes(action) -> int:
    tracemalloc.start()
    try:
        action()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_the_hand_built_zip_of_a_good_checkpoint_loads(tmp_path, good):
    _, members, _ = good
    path = write(tmp_path, members.values(), "rebuilt.npz")
    assert load_checkpoint(path).step == 3
    path = write(tmp_path, [deflated(m.name, m.data) for m in members.values()], "deflated.npz")
    assert load_checkpoint(path).optimizer.t == 3


@pytest.mark.parametrize("method", [12, 14, 99])   # bzip2, lzma, nonsense
def test_unsupported_compression_is_one_sentence(tmp_path, good, method):
    _, members, _ = good
    bad = replace(members["param/0/W.npy"], method=method)
    refused(write(tmp_path, with_member(members, bad)), "param/0/W", f"zip method {method}")


def test_the_encrypted_flag_is_one_sentence(tmp_path, good):
    _, members, _ = good
    bad = replace(members["meta.npy"], flags=1)
    refused(write(tmp_path, with_member(members, bad)), "encrypted")


def test_an_npy_file_named_npz_is_one_sentence(tmp_path):
    path = tmp_path / "weights.npz"
    np.save(path.with_suffix(".tmp"), np.zeros(3))
    path.with_suffix(".tmp.npy").rename(path)
    refused(path, "single NumPy array")


def test_empty_and_non_zip_files_and_folders_are_one_sentence(tmp_path):
    (tmp_path / "empty.npz").write_bytes(b"")
    refused(tmp_path / "empty.npz", "empty")
    (tmp_path / "pk.npz").write_bytes(b"PK\x03\x04" + bytes(100))
    refused(tmp_path / "pk.npz", "not a readable .npz")
    (tmp_path / "dir.npz").mkdir()
    refused(tmp_path / "dir.npz", "folder")


def test_a_huge_deflated_extra_member_is_never_opened(tmp_path, good):
    _, members, _ = good
    bomb = deflate_bomb("extra.npy", b"", 3 << 30)   # 3 MB in the file, 3 GB inflated
    path = write(tmp_path, [*members.values(), bomb])
    assert path.stat().st_size < 4 << 20
    assert peak_bytes(lambda: load_checkpoint(path)) < 8 << 20


def test_a_member_declaring_gigabytes_is_refused_before_reading(tmp_path, good):
    _, members, _ = good
    bomb = deflate_bomb("param/0/W.npy", npy_header("<f4", (4, 1, 3, 3)), 3 << 30)
    path = write(tmp_path, with_member(members, bomb))
    message = peak_bytes(lambda: refused(path, "param/0/W", "declares 3,2"))
    assert message < 4 << 20


def test_a_member_whose_stream_outgrows_its_declared_size_is_cut(tmp_path, good):
    _, members, _ = good
    bomb = replace(deflate_bomb("param/0/W.npy", npy_header("<f4", (4, 1, 3, 3)), 64 << 20), size=272)
    path = write(tmp_path, with_member(members, bomb))
    assert peak_bytes(lambda: refused(path)) < 4 << 20


def test_an_array_header_declaring_2_to_the_31_values_allocates_nothing(tmp_path, good):
    _, members, _ = good
    header = npy_header("<f4", (2**31,))
    path = write(tmp_path, with_member(members, stored("param/0/W.npy", header + bytes(64))))
    assert peak_bytes(lambda: refused(path, "(2147483648,)", "does not fit")) < 1 << 20


@pytest.mark.parametrize("descr, words", [("|O", "object"), ("<i4", "int32"), ("<c8", "complex")])
def test_members_of_other_dtypes_are_refused(tmp_path, good, descr, words):
    _, members, _ = good
    header = npy_header(descr, (4, 1, 3, 3))
    body = bytes(np.dtype(descr).itemsize * 36) if descr != "|O" else b""
    refused(write(tmp_path, with_member(members, stored("param/0/W.npy", header + body))), words)


def test_a_fortran_ordered_member_is_refused(tmp_path, good):
    _, members, _ = good
    header = npy_header("<f4", (4, 1, 3, 3), fortran=True)
    refused(write(tmp_path, with_member(members, stored("param/0/W.npy", header + bytes(144)))), "Fortran")


def test_two_members_of_one_name_are_refused(tmp_path, good):
    _, members, _ = good
    refused(write(tmp_path, [*members.values(), members["param/0/W.npy"]]), "two members")


def test_more_members_than_a_checkpoint_has_are_refused_from_the_end_record(tmp_path, good):
    _, members, _ = good
    extra = [stored(f"x{i}.npy", b"") for i in range(5000)]
    refused(write(tmp_path, [*members.values(), *extra]), f"{len(members) + 5000} members")


def mutated(header, change):
    header = copy.deepcopy(header)
    change(header)
    return header


def set_path(keys, value):
    def change(header):
        target = header
        for key in keys[:-1]:
            target = target[key]
        target[keys[-1]] = value
    return change


BAD_HEADERS = [
    (("optimizer", "config", "type"), "bogus", "optimizer type 'bogus' is unknown"),
    (("optimizer", "config", "warp"), 9, "has no setting 'warp'"),
    (("optimizer", "config", "lr"), -1, "optimizer setting lr must be a finite number above 0"),
    (("optimizer", "config", "beta1"), float("nan"), "NaN is not a JSON number"),
    (("optimizer", "t"), None, "optimizer step count t must be a whole number"),
    (("optimizer",), [], "optimizer must be a JSON object"),
    (("architecture", "layers", 0, "filters"), "abc", "filters must be a whole number"),
    (("architecture", "layers", 0, "filters"), float("inf"), "Infinity is not a JSON number"),
    (("architecture", "layers", 0, "filters"), 2.5, "filters must be a whole number"),
    (("architecture", "layers", 0, "kernel"), True, "kernel must be a whole number"),
    (("architecture", "layers", 4, "units"), 10**9, "units must be a whole number from 1 to"),
    (("architecture", "layers", 0, "type"), "magic", "unknown layer type 'magic'"),
    (("architecture", "layers"), {}, "must be a JSON object whose \"layers\" is a list"),
    (("architecture", "input_shape"), [1, 28], "input shape must be channels, height and width"),
    (("architecture", "input_shape"), [1, -28, 28], "input height must be a whole number"),
    (("architecture",), "seed", "architecture must be a JSON object"),
    (("step",), None, "step must be a whole number of at least 0"),
    (("step",), -3, "step must be a whole number of at least 0"),
    (("step",), "7", "step must be a whole number"),
    (("meta",), [], "meta must be a JSON object"),
    (("meta", "seed"), -1, "meta.seed must be a whole number from 0"),
    (("meta", "holdout"), None, "meta.holdout must be a finite number above 0 and below 1"),
    (("meta", "holdout"), 1.5, "meta.holdout must be a finite number"),
    (("meta", "std"), 0, "meta.std must be a finite number above 0"),
    (("meta", "mean"), "x", "meta.mean must be a finite number"),
    (("meta", "class_names"), [1, 2], "meta.class_names must be a list of names"),
    (("meta", "input_shape"), "1x28x28", "meta.input_shape must be [channels, height, width]"),
    (("version",), 2, "format version 2"),
    (("format",), "other", "is not a cnnviz checkpoint"),
]


@pytest.mark.parametrize("keys, value, words", BAD_HEADERS, ids=[".".join(map(str, k)) + f"={v!r}" for k, v, _ in BAD_HEADERS])
def test_valid_json_with_wrong_values_is_one_sentence(tmp_path, good, keys, value, words):
    _, members, header = good
    bad = mutated(header, set_path(keys, value))
    refused(write(tmp_path, with_member(members, meta_member(bad))), words)


def test_json_nested_100000_deep_is_one_sentence(tmp_path, good):
    _, members, _ = good
    text = '{"format": "cnnviz-checkpoint", "x": ' + "[" * 100_000 + "]" * 100_000 + "}"
    refused(write(tmp_path, with_member(members, meta_member(None, text))), "nested more than 32 levels")


def test_metadata_that_is_not_text_is_one_sentence(tmp_path, good):
    _, members, _ = good
    refused(write(tmp_path, with_member(members, stored("meta.npy", npy_bytes(np.zeros(3))))), "meta")


def test_weights_with_nan_or_inf_are_refused_at_load(tmp_path):
    for bad in (np.nan, np.inf):
        model = build_model("tiny", seed=0)
        model.layers[0].params["W"][0, 0, 0, 0] = bad
        path = save_checkpoint(tmp_path / "diverged.npz", model, meta={})
        refused(path, "param/0/W", "NaN or infinite", "diverged")
        fresh = build_model("tiny", seed=1)
        before = fresh.layers[0].params["W"].copy()
        with pytest.raises(CheckpointError, match="NaN or infinite"):
            load_into(path, fresh)
        np.testing.assert_array_equal(fresh.layers[0].params["W"], before)   # nothing half-copied


def test_an_optimizer_state_with_inf_is_refused(tmp_path, good):
    _, members, _ = good
    name = next(n for n in members if n.startswith("optim/"))
    shape = read_checkpoint_file(tmp_path / "good.npz")[1][name[:-4]].shape
    refused(write(tmp_path, with_member(members, stored(name, npy_bytes(np.full(shape, np.inf, np.float32))))),
            "optimizer state", "NaN or infinite")


def test_a_checkpoint_without_its_metadata_or_a_weight(tmp_path, good):
    _, members, _ = good
    refused(write(tmp_path, [m for n, m in members.items() if n != "meta.npy"]), "no metadata")
    refused(write(tmp_path, [m for n, m in members.items() if n != "param/0/b.npy"], "nob.npz"),
            "param/0/b is missing")


def test_the_header_round_trips_with_its_defaults(tmp_path, good):
    path, _, header = good
    checked, arrays = read_checkpoint_file(path)
    assert checked["step"] == 3 and checked["meta"]["seed"] == 0 and set(arrays) == {
        "param/0/W", "param/0/b", "param/4/W", "param/4/b", *(f"optim/{k}_{i}" for k in "mv" for i in range(4))}
    assert json.dumps(checked["architecture"]) == json.dumps(header["architecture"])

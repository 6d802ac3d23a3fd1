"""--preset names only the presets shipped in resources/presets (issue 14, item 9), and a preset file
that is not a network description is one ArchitectureError sentence."""

from __future__ import annotations

import json
import os

import pytest

from cnnviz.errors import ArchitectureError
from cnnviz.nn import build_model, preset_names
from cnnviz.nn import presets


@pytest.mark.parametrize("name", ["../../../tmp/listpreset", "/etc/passwd", "seed/../seed", "..", "",
                                  "seed.json", "~/x", "a" * 65, "se\0ed", 3, None])
def test_a_path_like_name_is_refused_and_nothing_is_read(name, monkeypatch):
    read = []
    monkeypatch.setattr(presets, "parse_json", lambda *args: read.append(args))
    with pytest.raises(ArchitectureError) as info:
        build_model(name)
    message = str(info.value)
    assert "unknown preset" in message and "the presets are: " + ", ".join(preset_names()) in message
    assert read == [] and "\n" not in message


def test_a_preset_outside_the_folder_is_not_loaded_even_if_it_exists(tmp_path):
    outside = tmp_path / "listpreset.json"
    outside.write_text(json.dumps({"layers": [{"type": "flatten"}, {"type": "dense", "units": 10}]}))
    relative = os.path.relpath(outside.with_suffix(""), presets.PRESET_DIR)
    with pytest.raises(ArchitectureError, match="unknown preset"):
        build_model(relative)


@pytest.mark.parametrize("content, words", [
    ("[1, 2, 3]", "is not a network description"),
    ('{"name": "x"}', 'whose "layers" is a list'),
    ('{"layers": "conv"}', 'whose "layers" is a list'),
    ('{"layers": []}', "has 0 layers"),
    ('{"layers": [7]}', "unknown layer type 7"),
    ('{"layers": [{"type": "conv", "filters": 8}]}', "lacks the setting 'kernel'"),
    ('{"layers": [{"type": "conv", "filters": 1e400, "kernel": 3}]}', "not valid JSON"),
    ("{" * 40 + "}" * 40, "nested more than"),
    ("not json", "not valid JSON"),
    ('{"layers": [{"type": "flatten"}, {"type": "dense", "units": 100000}, {"type": "dense", "units": 1000}]}',
     "more than 16,000,000 parameters"),
])
def test_a_broken_preset_file_is_one_sentence(tmp_path, monkeypatch, content, words):
    monkeypatch.setattr(presets, "PRESET_DIR", tmp_path)
    (tmp_path / "broken.json").write_text(content)
    with pytest.raises(ArchitectureError) as info:
        build_model("broken")
    assert words in str(info.value) and "\n" not in str(info.value), str(info.value)


def test_the_shipped_presets_still_build():
    for name in preset_names():
        assert build_model(name, seed=0).num_parameters() > 0

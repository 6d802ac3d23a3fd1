"""Architecture presets, stored as JSON data in ``resources/presets/<name>.json``.

A preset lists layers without their input sizes (``{"type": "conv", "filters": 8, "kernel": 5}``);
the sizes are inferred from the input shape, so the same preset fits MNIST (1x28x28) and CIFAR-10
(3x32x32). ``"units": "classes"`` on a dense layer means the number of classes.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np

from cnnviz.errors import ArchitectureError
from cnnviz.files import one_line, parse_json, reading
from cnnviz.nn.activations import ReLU, Sigmoid, Tanh
from cnnviz.nn.conv import Conv2D
from cnnviz.nn.dense import Dense, Flatten
from cnnviz.nn.initializers import INITS
from cnnviz.nn.layer import Layer
from cnnviz.nn.model import Sequential
from cnnviz.nn.pool import AvgPool2D, MaxPool2D

PRESET_DIR = Path(__file__).resolve().parents[2] / "resources" / "presets"
SIMPLE_LAYERS = {"relu": ReLU, "sigmoid": Sigmoid, "tanh": Tanh, "flatten": Flatten}
LAYER_TYPES = tuple(SIMPLE_LAYERS) + ("conv", "maxpool", "avgpool", "dense")
PRESET_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")   # a name, never a path
MAX_PRESET_BYTES = 64 * 1024
# Stated limits on what a description (a preset, or a checkpoint's architecture) may ask for, checked
# before anything is allocated: a few lines of JSON must not be able to ask for gigabytes.
# The seed net has 105,634 parameters; 16 M take 64 MB, 192 MB with Adam's two moments.
MAX_PARAMETERS = 16_000_000
MAX_LAYERS = 64
MAX_SETTING = {"filters": 4096, "kernel": 64, "stride": 64, "padding": 64, "size": 64, "units": 1 << 20}
MAX_INPUT = (64, 1024, 1024)   # channels, height, width of one image
MAX_CLASSES = 10_000


def preset_names() -> list[str]:
    return sorted(p.stem for p in PRESET_DIR.glob("*.json"))


def load_preset(name: str) -> dict:
    """The preset's JSON description; ArchitectureError for an unknown name or a broken file.

    Only the names of ``resources/presets`` are accepted: a name that looks like a path is refused,
    so nothing outside that folder is read."""
    path = PRESET_DIR / f"{name}.json" if isinstance(name, str) and PRESET_NAME.match(name) else None
    if path is None or not path.is_file():
        known = ", ".join(preset_names()) or "none"
        raise ArchitectureError(f"unknown preset {name!r}; the presets are: {known}.")
    with reading(path, ArchitectureError, "preset file"):
        if path.stat().st_size > MAX_PRESET_BYTES:
            raise ArchitectureError(f"preset file {path} is larger than {MAX_PRESET_BYTES // 1024} KB.")
        config = parse_json(path.read_text(encoding="utf-8"), f"preset file {path}", ArchitectureError)
    check_description(config, f"preset file {path}")
    return config


def check_description(config, where: str) -> None:
    """ArchitectureError unless ``config`` is a JSON object with a list of layer objects."""
    if not isinstance(config, dict) or not isinstance(config.get("layers"), list):
        raise ArchitectureError(f"{where} is not a network description: it must be a JSON object "
                                f"whose \"layers\" is a list of layers.")
    if not 1 <= len(config["layers"]) <= MAX_LAYERS:
        raise ArchitectureError(f"{where} has {len(config['layers'])} layers; a network has 1 to {MAX_LAYERS}.")
    for index, layer in enumerate(config["layers"]):
        if not isinstance(layer, dict) or layer.get("type") not in LAYER_TYPES:
            kind = one_line(repr(layer.get("type") if isinstance(layer, dict) else layer), 40)
            raise ArchitectureError(f"{where}: layer {index}: unknown layer type {kind} (the types "
                                    f"are {', '.join(LAYER_TYPES)}).")


def whole(value, what: str, low: int, high: int) -> int:
    """``value`` if it is a whole number (not a bool, a float or a string) in low..high."""
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ArchitectureError(f"{what} must be a whole number from {low} to {high:,}, not {one_line(repr(value), 40)}.")
    return value


def _setting(config: dict, key: str, where: str, default=None, low: int = 1) -> int:
    if key not in config and default is None:
        raise ArchitectureError(f"{where} lacks the setting {key!r}.")
    return whole(config.get(key, default), f"{where}: {key}", low, MAX_SETTING[key])


def parameter_count(config: dict, input_shape: tuple[int, ...], num_classes: int, index: int) -> int:
    """Parameters the layer ``config`` will have on ``input_shape``, before it is built."""
    kind, where = config.get("type"), f"layer {index} ({config.get('type')})"
    if kind == "conv":
        channels = input_shape[0] if len(input_shape) == 3 else 1
        filters, kernel = _setting(config, "filters", where), _setting(config, "kernel", where)
        return filters * channels * kernel * kernel + filters
    if kind == "dense":
        units = num_classes if config.get("units") == "classes" else _setting(config, "units", where)
        return (math.prod(input_shape) + 1) * units
    return 0


def layer_from_config(config: dict, input_shape: tuple[int, ...], num_classes: int,
                      seed: int | None, index: int, init: str | None = None) -> Layer:
    """One layer from its JSON config, sized for ``input_shape`` (one example, no batch axis);
    ``init`` names the weights' initialisation (None: ``LAYER_INIT``)."""
    kind = config.get("type")
    where = f"layer {index} ({kind})"
    if kind in SIMPLE_LAYERS:
        return SIMPLE_LAYERS[kind]()
    if kind == "conv":
        if len(input_shape) != 3:
            raise ArchitectureError(f"{where} needs a CxHxW input, but gets {input_shape}.")
        return Conv2D(input_shape[0], _setting(config, "filters", where), _setting(config, "kernel", where),
                      _setting(config, "stride", where, 1), _setting(config, "padding", where, 0, low=0),
                      seed=seed, init=init)
    if kind in ("maxpool", "avgpool"):
        cls = MaxPool2D if kind == "maxpool" else AvgPool2D
        size = _setting(config, "size", where, 2)
        return cls(size, _setting(config, "stride", where, size))
    if kind == "dense":
        if len(input_shape) != 1:
            raise ArchitectureError(
                f"{where} is fed shape {'x'.join(map(str, input_shape))}; put a flatten layer before it.")
        units = num_classes if config.get("units") == "classes" else _setting(config, "units", where)
        return Dense(input_shape[0], units, seed=seed, init=init)
    raise ArchitectureError(f"{where}: unknown layer type {kind!r}.")


def model_from_config(config: dict, input_shape=None, num_classes: int | None = None,
                      seed: int | None = None, preset: str | None = None, init: str | None = None) -> Sequential:
    """Build a Sequential from a preset-style dict; shapes are inferred and checked layer by layer,
    and the parameters counted against MAX_PARAMETERS before each layer is allocated.
    The weights start as ``init`` says, else as the config's optional ``"init"`` (e.g. glorot for a
    sigmoid net), else ``LAYER_INIT`` (LeCun)."""
    check_description(config, "the network description")
    init = init or config.get("init")
    if init is not None and init not in INITS:
        raise ArchitectureError(f"unknown weight initialisation {one_line(repr(init), 40)}; "
                                f"choose one of {', '.join(INITS)}.")
    shape = input_shape or config.get("input_shape") or (1, 28, 28)
    if not isinstance(shape, (list, tuple)) or len(shape) != 3:
        raise ArchitectureError(f"the input shape must be channels, height and width, not {one_line(repr(shape), 40)}.")
    shape = tuple(whole(n, f"input {axis}", 1, high) for n, axis, high in zip(shape, ("channels", "height", "width"), MAX_INPUT))
    classes = whole(num_classes or config.get("num_classes") or 10, "the number of classes", 1, MAX_CLASSES)
    name = preset or config.get("preset") or config.get("name")
    if name is not None and not isinstance(name, str):
        raise ArchitectureError(f"the preset name must be text, not {one_line(repr(name), 40)}.")
    seeds = np.random.SeedSequence(seed).generate_state(len(config["layers"])) if seed is not None else None
    layers, current, total = [], shape, 0
    for index, layer_config in enumerate(config["layers"]):
        total += parameter_count(layer_config, current, classes, index)
        if total > MAX_PARAMETERS:
            raise ArchitectureError(f"the network has more than {MAX_PARAMETERS:,} parameters by layer "
                                    f"{index} ({layer_config.get('type')}); at most {MAX_PARAMETERS:,} fit.")
        layer_seed = int(seeds[index]) if seeds is not None else None
        layer = layer_from_config(layer_config, current, classes, layer_seed, index, init)
        layer.name = f"layer {index} ({layer.kind})"
        current = layer.output_shape(current)
        layers.append(layer)
    return Sequential(layers, input_shape=shape, preset=name)


def build_model(name: str, seed: int | None = None, input_shape=None,
                num_classes: int | None = None, init: str | None = None) -> Sequential:
    """The preset ``name`` (``seed``, ``lenet``, ``tiny``, ``sigmoid``) as a fresh model.

    input_shape: (C, H, W) of one image (default the preset's, 1x28x28); num_classes default 10;
    init: the weights' initialisation (default: the preset's own, else ``LAYER_INIT``).
    The same seed always gives the same weights."""
    return model_from_config(load_preset(name), input_shape, num_classes, seed, preset=name, init=init)

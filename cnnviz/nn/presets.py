"""Architecture presets, stored as JSON data in ``resources/presets/<name>.json``.

A preset lists layers without their input sizes (``{"type": "conv", "filters": 8, "kernel": 5}``);
the sizes are inferred from the input shape, so the same preset fits MNIST (1x28x28) and CIFAR-10
(3x32x32). ``"units": "classes"`` on a dense layer means the number of classes.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from cnnviz.errors import ArchitectureError
from cnnviz.nn.activations import ReLU, Sigmoid, Tanh
from cnnviz.nn.conv import Conv2D
from cnnviz.nn.dense import Dense, Flatten
from cnnviz.nn.layer import Layer
from cnnviz.nn.model import Sequential
from cnnviz.nn.pool import AvgPool2D, MaxPool2D

PRESET_DIR = Path(__file__).resolve().parents[2] / "resources" / "presets"
SIMPLE_LAYERS = {"relu": ReLU, "sigmoid": Sigmoid, "tanh": Tanh, "flatten": Flatten}


def preset_names() -> list[str]:
    return sorted(p.stem for p in PRESET_DIR.glob("*.json"))


def load_preset(name: str) -> dict:
    """The preset's JSON description; ArchitectureError for an unknown name or a broken file."""
    path = PRESET_DIR / f"{name}.json"
    if not path.is_file():
        known = ", ".join(preset_names()) or "none"
        raise ArchitectureError(f"unknown preset {name!r}; the presets are: {known}.")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ArchitectureError(f"preset file {path} cannot be read: {exc}.") from exc


def layer_from_config(config: dict, input_shape: tuple[int, ...], num_classes: int,
                      seed: int | None, index: int, init: str | None = None) -> Layer:
    """One layer from its JSON config, sized for ``input_shape`` (one example, no batch axis);
    ``init`` names the weights' initialisation (None: ``LAYER_INIT``)."""
    kind = config.get("type")
    where = f"layer {index} ({kind})"
    try:
        if kind in SIMPLE_LAYERS:
            return SIMPLE_LAYERS[kind]()
        if kind == "conv":
            if len(input_shape) != 3:
                raise ArchitectureError(f"{where} needs a CxHxW input, but gets {input_shape}.")
            return Conv2D(input_shape[0], config["filters"], config["kernel"], config.get("stride", 1),
                          config.get("padding", 0), seed=seed, init=init)
        if kind in ("maxpool", "avgpool"):
            cls = MaxPool2D if kind == "maxpool" else AvgPool2D
            size = config.get("size", 2)
            return cls(size, config.get("stride", size))
        if kind == "dense":
            if len(input_shape) != 1:
                raise ArchitectureError(
                    f"{where} is fed shape {'x'.join(map(str, input_shape))}; put a flatten layer before it.")
            units = num_classes if config.get("units") == "classes" else config["units"]
            return Dense(input_shape[0], units, seed=seed, init=init)
    except KeyError as exc:
        raise ArchitectureError(f"{where} lacks the setting {exc.args[0]!r}.") from None
    raise ArchitectureError(f"{where}: unknown layer type {kind!r}.")


def model_from_config(config: dict, input_shape=None, num_classes: int | None = None,
                      seed: int | None = None, preset: str | None = None, init: str | None = None) -> Sequential:
    """Build a Sequential from a preset-style dict; shapes are inferred and checked layer by layer.
    The weights start as ``init`` says, else as the config's optional ``"init"`` (e.g. glorot for a
    sigmoid net), else ``LAYER_INIT`` (LeCun)."""
    init = init or config.get("init")
    shape = tuple(input_shape or config.get("input_shape") or (1, 28, 28))
    classes = int(num_classes or config.get("num_classes") or 10)
    seeds = np.random.SeedSequence(seed).generate_state(len(config["layers"])) if seed is not None else None
    layers, current = [], shape
    for index, layer_config in enumerate(config["layers"]):
        layer_seed = int(seeds[index]) if seeds is not None else None
        layer = layer_from_config(layer_config, current, classes, layer_seed, index, init)
        layer.name = f"layer {index} ({layer.kind})"
        current = layer.output_shape(current)
        layers.append(layer)
    return Sequential(layers, input_shape=shape, preset=preset or config.get("preset") or config.get("name"))


def build_model(name: str, seed: int | None = None, input_shape=None,
                num_classes: int | None = None, init: str | None = None) -> Sequential:
    """The preset ``name`` (``seed``, ``lenet``, ``tiny``, ``sigmoid``) as a fresh model.

    input_shape: (C, H, W) of one image (default the preset's, 1x28x28); num_classes default 10;
    init: the weights' initialisation (default: the preset's own, else ``LAYER_INIT``).
    The same seed always gives the same weights."""
    return model_from_config(load_preset(name), input_shape, num_classes, seed, preset=name, init=init)

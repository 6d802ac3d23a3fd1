"""Checkpoints: one ``.npz`` file, read with ``allow_pickle=False`` (loading a pickle runs code).

Inside: ``param/<layer>/<key>`` arrays, ``optim/<name>`` moment buffers, and ``meta``: a JSON string
with the format version, the architecture (``Sequential.config()``), the optimizer's settings and
step count, the training step and whatever the caller adds (dataset, class names, normalisation).
Writes go to a temporary file in the same folder that is renamed over the target only when whole,
so a failed save never damages an earlier checkpoint.
"""

from __future__ import annotations

import json
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from cnnviz.errors import ArchitectureError, CheckpointError
from cnnviz.files import atomic_write
from cnnviz.nn.model import Sequential
from cnnviz.nn.optim import Optimizer, make_optimizer
from cnnviz.nn.presets import model_from_config

FORMAT = "cnnviz-checkpoint"
VERSION = 1


@dataclass
class Checkpoint:
    model: Sequential
    optimizer: Optimizer | None
    step: int
    meta: dict = field(default_factory=dict)


def checkpoint_bytes(model: Sequential, optimizer: Optimizer | None = None) -> int:
    """About how many bytes ``save_checkpoint`` writes for these (arrays plus headers and metadata)."""
    arrays = [a for params, _ in model.parameters() for a in params.values()]
    if optimizer is not None:
        arrays += list(optimizer.state_arrays().values())
    return sum(a.nbytes + 256 for a in arrays) + 64 * 1024


def save_checkpoint(path, model: Sequential, optimizer: Optimizer | None = None, step: int = 0,
                    meta: dict | None = None) -> Path:
    """Write model (+ optimizer state) to ``path`` atomically; returns the path written."""
    path = Path(path)
    arrays = {f"param/{i}/{key}": value for i in model.parameter_layers()
              for key, value in model.layers[i].params.items()}
    header = {"format": FORMAT, "version": VERSION, "architecture": model.config(),
              "step": int(step), "meta": meta or {}, "optimizer": None}
    if optimizer is not None:
        header["optimizer"] = {"config": optimizer.config(), "t": optimizer.t}
        arrays.update({f"optim/{name}": value for name, value in optimizer.state_arrays().items()})
    arrays["meta"] = np.array(json.dumps(header))

    def write(tmp: str) -> None:
        with open(tmp, "wb") as handle:  # a handle: np.savez would add ".npz" to other names
            np.savez(handle, **arrays)

    atomic_write(path, write, CheckpointError, what="checkpoint")
    return path


def read_checkpoint_file(path) -> tuple[dict, dict[str, np.ndarray]]:
    """(header, arrays) of a checkpoint file; CheckpointError with a clear sentence otherwise."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint {path} does not exist.")
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {name: data[name] for name in data.files}
    except (zipfile.BadZipFile, EOFError, ValueError, OSError, KeyError) as exc:
        raise CheckpointError(f"{path} is not a readable cnnviz checkpoint (truncated or not an .npz file).") from exc
    if "meta" not in arrays:
        raise CheckpointError(f"{path} is an .npz file but not a cnnviz checkpoint (it has no metadata).")
    try:
        header = json.loads(str(arrays.pop("meta")))
    except ValueError as exc:
        raise CheckpointError(f"{path}: the checkpoint's metadata is not valid JSON.") from exc
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise CheckpointError(f"{path} is not a cnnviz checkpoint.")
    if header.get("version") != VERSION:
        raise CheckpointError(f"{path} is a checkpoint of format version {header.get('version')}; "
                              f"this cnnviz reads version {VERSION}.")
    return header, arrays


def load_checkpoint(path) -> Checkpoint:
    """Rebuild the model (and optimizer) a checkpoint describes, with its weights."""
    header, arrays = read_checkpoint_file(path)
    try:
        model = model_from_config(header["architecture"])
    except (ArchitectureError, KeyError, TypeError) as exc:
        raise CheckpointError(f"{path}: the architecture stored in the checkpoint is invalid ({exc}).") from exc
    _copy_params(path, model, arrays)
    optimizer = None
    if header.get("optimizer"):
        optimizer = make_optimizer(header["optimizer"]["config"], model.parameters())
        _copy_optimizer(path, optimizer, arrays, header["optimizer"]["t"])
    return Checkpoint(model, optimizer, int(header.get("step", 0)), header.get("meta", {}))


def load_into(path, model: Sequential, optimizer: Optimizer | None = None) -> Checkpoint:
    """Load a checkpoint's weights into an existing model of the same architecture, in place."""
    header, arrays = read_checkpoint_file(path)
    stored = header.get("architecture", {})
    if stored.get("layers") != model.config()["layers"] or \
            list(stored.get("input_shape", [])) != list(model.input_shape or []):
        raise CheckpointError(
            f"{path} holds a different network ({_summary(stored)}) than the current one "
            f"({_summary(model.config())}).")
    _copy_params(path, model, arrays)
    if optimizer is not None and header.get("optimizer"):
        if header["optimizer"]["config"].get("type") == optimizer.kind:
            _copy_optimizer(path, optimizer, arrays, header["optimizer"]["t"])
    return Checkpoint(model, optimizer, int(header.get("step", 0)), header.get("meta", {}))


def _summary(config: dict) -> str:
    kinds = [layer.get("type", "?") for layer in config.get("layers", [])]
    return f"preset {config.get('preset')}, {len(kinds)} layers: {' '.join(kinds)}"


def _copy_params(path, model: Sequential, arrays: dict) -> None:
    for i in model.parameter_layers():
        for key, target in model.layers[i].params.items():
            name = f"param/{i}/{key}"
            if name not in arrays:
                raise CheckpointError(f"{path} lacks the weights {name}; it was saved for another network.")
            if arrays[name].shape != target.shape:
                raise CheckpointError(f"{path}: {name} has shape {arrays[name].shape}, "
                                      f"but the network needs {target.shape}.")
            target[...] = arrays[name]


def _copy_optimizer(path, optimizer: Optimizer, arrays: dict, t: int) -> None:
    state = {}
    for name, target in optimizer.state_arrays().items():
        stored = arrays.get(f"optim/{name}")
        if stored is None or stored.shape != target.shape:
            raise CheckpointError(f"{path}: the optimizer state {name} is missing or has the wrong shape.")
        state[name] = stored
    optimizer.load_state_arrays(state, t)

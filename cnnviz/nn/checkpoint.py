"""Checkpoints: one ``.npz`` file, read with ``allow_pickle=False`` (loading a pickle runs code).

Inside: ``param/<layer>/<key>`` arrays, ``optim/<name>`` moment buffers, and ``meta``: a JSON string
with the format version, the architecture (``Sequential.config()``), the optimizer's settings and
step count, the training step and whatever the caller adds (dataset, class names, normalisation).
Writes go to a temporary file in the same folder that is renamed over the target only when whole,
so a failed save never damages an earlier checkpoint.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from cnnviz.errors import ArchitectureError, CheckpointError
from cnnviz.files import atomic_write, one_line, parse_json, reading
from cnnviz.nn.checkpoint_schema import FORMAT, VERSION, check_header
from cnnviz.nn.model import Sequential
from cnnviz.nn.npz import NpzReader
from cnnviz.nn.optim import Optimizer, make_optimizer
from cnnviz.nn.presets import MAX_PARAMETERS, model_from_config

ARRAY_NAME = re.compile(r"^(param/[0-9]{1,3}/[A-Za-z]{1,16}|optim/[A-Za-z]{1,16}_[0-9]{1,4})$")
# Stated limits: the weights and two optimizer moments of the largest network a description may ask
# for (MAX_PARAMETERS float32 values each), and metadata of at most 1 MB (a checkpoint's is ~2 KB).
MAX_ARRAY_BYTES = 3 * 4 * MAX_PARAMETERS + (1 << 20)
MAX_META_BYTES = 1 << 20


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
    """(header, arrays) of a checkpoint file; CheckpointError with one clear sentence otherwise.

    Reads the metadata first and checks it (``checkpoint_schema``); then only the members the
    format defines (``param/<layer>/<key>``, ``optim/<name>``), each checked from its headers
    before its body is read (``npz.NpzReader``), MAX_ARRAY_BYTES in all. Any other member is
    never opened."""
    path = Path(path)
    with reading(path, CheckpointError, "checkpoint"):
        if not path.exists():
            raise CheckpointError(f"checkpoint {path} does not exist.")
        with NpzReader(path, CheckpointError, "checkpoint", MAX_ARRAY_BYTES) as archive:
            if "meta" not in archive:
                raise CheckpointError(f"{path} is an .npz file but not a cnnviz checkpoint (it has no metadata).")
            text = archive.read("meta", "U", MAX_META_BYTES, shape_rank=0)[()]
            header = check_header(parse_json(str(text), f"the metadata of checkpoint {path}", CheckpointError), path)
            arrays = {name: archive.read(name, "f", MAX_ARRAY_BYTES) for name in archive.names
                      if ARRAY_NAME.match(name)}
    return header, arrays


def load_checkpoint(path) -> Checkpoint:
    """Rebuild the model (and optimizer) a checkpoint describes, with its weights."""
    header, arrays = read_checkpoint_file(path)
    with reading(path, CheckpointError, "checkpoint"):
        try:
            model = model_from_config(header["architecture"])
        except ArchitectureError as exc:
            raise CheckpointError(f"{path}: the architecture stored in the checkpoint is invalid ({one_line(exc)}).") from None
        _copy_params(path, model, arrays)
        optimizer = None
        if header["optimizer"]:
            optimizer = make_optimizer(header["optimizer"]["config"], model.parameters())
            _copy_optimizer(path, optimizer, arrays, header["optimizer"]["t"])
    return Checkpoint(model, optimizer, header["step"], header["meta"])


def load_into(path, model: Sequential, optimizer: Optimizer | None = None) -> Checkpoint:
    """Load a checkpoint's weights into an existing model of the same architecture, in place.
    Nothing in ``model`` changes unless every array fits (the weights are checked first)."""
    header, arrays = read_checkpoint_file(path)
    stored = header["architecture"]
    if stored.get("layers") != model.config()["layers"] or \
            list(stored.get("input_shape") or []) != list(model.input_shape or []):
        raise CheckpointError(
            f"{path} holds a different network ({_summary(stored)}) than the current one "
            f"({_summary(model.config())}).")
    _copy_params(path, model, arrays)
    if optimizer is not None and header["optimizer"]:
        if header["optimizer"]["config"].get("type") == optimizer.kind:
            _copy_optimizer(path, optimizer, arrays, header["optimizer"]["t"])
    return Checkpoint(model, optimizer, header["step"], header["meta"])


def _summary(config: dict) -> str:
    layers = config.get("layers") if isinstance(config.get("layers"), list) else []
    kinds = [str(layer.get("type", "?")) if isinstance(layer, dict) else "?" for layer in layers]
    return f"preset {config.get('preset')}, {len(kinds)} layers: {' '.join(kinds)}"


def _checked(path, name: str, stored: np.ndarray, shape: tuple[int, ...], what: str) -> np.ndarray:
    """``stored`` if it has ``shape`` and only finite values: weights with NaN or inf come from a
    run that diverged, and are refused rather than evaluated as if they meant something."""
    if stored is None or stored.shape != shape:
        got = "missing" if stored is None else f"of shape {stored.shape}"
        raise CheckpointError(f"{path}: {what} {name} is {got}, but the network needs {shape}.")
    if not np.isfinite(stored).all():
        raise CheckpointError(f"{path}: {what} {name} holds NaN or infinite values (saved from a run "
                              f"that diverged); the checkpoint is not loaded.")
    return stored


def _copy_params(path, model: Sequential, arrays: dict) -> None:
    """Copy every weight into ``model``, after checking all of them (a refusal changes nothing)."""
    pairs = [(target, _checked(path, f"param/{i}/{key}", arrays.get(f"param/{i}/{key}"), target.shape, "the weights"))
             for i in model.parameter_layers() for key, target in model.layers[i].params.items()]
    for target, stored in pairs:
        target[...] = stored


def _copy_optimizer(path, optimizer: Optimizer, arrays: dict, t: int) -> None:
    state = {name: _checked(path, f"optim/{name}", arrays.get(f"optim/{name}"), target.shape,
                            "the optimizer state")
             for name, target in optimizer.state_arrays().items()}
    optimizer.load_state_arrays(state, t)

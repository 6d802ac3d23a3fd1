"""Saving what is on screen as files, without Qt: a Snapshot's arrays as .npz, the curves as CSV.

Every write goes to a temp file in the target's folder and is renamed over the target only once it is
complete (rule 8): a failed export never damages a file the user already has.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Callable

import numpy as np

from cnnviz.errors import CnnvizError
from cnnviz.files import atomic_write as write_atomically
from cnnviz.session.stats import series

LAYER_FIELDS = ("input", "output", "pre_activation", "dL_dout", "dL_dinput", "mask")
PROBE_FIELDS = ("probe_image", "probe_display", "probs")
CSV_HEADER = ("curve", "images_seen", "value")
STATS_SERIES = ("grad_norm", "weight_norm", "update_ratio")


class ExportError(CnnvizError):
    """A file could not be written; the sentence names the file and the reason."""


def atomic_write(path, write: Callable[[str], None]) -> Path:
    """``cnnviz.files.atomic_write`` raising ExportError: ``path`` is replaced only when whole."""
    return write_atomically(path, write, ExportError)


def layer_key(state) -> str:
    """'layer2_conv': the prefix of one layer's arrays in the .npz."""
    return f"layer{state.index}_{state.kind}"


def snapshot_arrays(snapshot) -> dict[str, np.ndarray]:
    """Every array of the Snapshot under a readable name: ``layer2_conv/output``, ``layer0_conv/W``,
    ``layer0_conv/dL_dW``, ``layer0_conv/delta_W``, ``probe_image``, ``curves/loss``,
    ``validation/confusion`` (and its misclassified images), ``stats/steps`` and
    ``stats/grad_norm/layer0_conv`` (one (T,) series per layer and STATS_SERIES field); and ``meta``,
    a JSON string with the scalar fields (step, phase, lr, probe label, class names ...)."""
    arrays: dict[str, np.ndarray] = {}
    for state in snapshot.layers:
        prefix = layer_key(state)
        for name in LAYER_FIELDS:
            value = getattr(state, name)
            if value is not None:
                arrays[f"{prefix}/{name}"] = np.asarray(value)
        for key, value in state.params.items():
            arrays[f"{prefix}/{key}"] = np.asarray(value)
        for key, value in state.grads.items():
            arrays[f"{prefix}/dL_d{key}"] = np.asarray(value)
        for key, value in state.update.items():
            arrays[f"{prefix}/delta_{key}"] = np.asarray(value)
    for name in PROBE_FIELDS:
        value = getattr(snapshot, name)
        if value is not None:
            arrays[name] = np.asarray(value)
    for name, value in (snapshot.curves or {}).items():
        arrays[f"curves/{name}"] = np.asarray(value)
    arrays.update(history_arrays(snapshot))
    meta = {key: getattr(snapshot, key) for key in
            ("seq", "phase", "layer_index", "step", "epoch", "images_seen", "batch_loss", "batch_accuracy",
             "val_accuracy", "lr", "probe_label", "probe_index", "probe_split", "probe_loss", "dataset",
             "preset", "message")}
    meta["class_names"] = list(snapshot.class_names)
    meta["layers"] = [{"key": layer_key(s), "name": s.name, "label": s.label, "kind": s.kind,
                       "config": dict(getattr(s, "config", None) or {}),
                       "input_shape": list(s.input_shape), "output_shape": list(s.output_shape)}
                      for s in snapshot.layers]
    arrays["meta"] = np.array(json.dumps(meta))
    return arrays


def history_arrays(snapshot) -> dict[str, np.ndarray]:
    """The last validation's arrays and the statistics series (absent from older snapshots)."""
    arrays = {f"validation/{name}": value for name, value in (getattr(snapshot, "validation", None) or {}).items()
              if isinstance(value, np.ndarray)}
    records = list(getattr(snapshot, "stats", ()) or ())
    if records:
        keys = {state.index: layer_key(state) for state in snapshot.layers}
        for field in STATS_SERIES:
            steps, values = series(records, field)
            arrays["stats/steps"] = steps
            for index, ys in values.items():
                arrays[f"stats/{field}/{keys.get(index, f'layer{index}')}"] = ys
    return arrays


def export_snapshot_npz(snapshot, path) -> Path:
    """Write every array of ``snapshot`` (see ``snapshot_arrays``) to one .npz, readable with
    ``np.load(path, allow_pickle=False)``; atomic. Returns the path."""
    arrays = snapshot_arrays(snapshot)
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)

    def write(tmp):
        with open(tmp, "wb") as handle:
            handle.write(buffer.getvalue())

    return atomic_write(path, write)


def curve_rows(curves) -> list[tuple[str, float, float]]:
    """(name, images_seen, value) for every point of every curve, curves in name order.

    curves: name -> (2, n) array (images seen, value), a Snapshot's ``curves``, or a ``Curves``."""
    if hasattr(curves, "as_arrays"):
        curves = curves.as_arrays()
    rows = []
    for name in sorted(curves):
        data = np.asarray(curves[name], dtype=np.float64)
        if data.ndim != 2 or data.shape[0] != 2:
            raise ExportError(f"curve {name!r} should be a (2, n) array of images seen and values, "
                              f"not shape {data.shape}.")
        rows.extend((name, float(x), float(y)) for x, y in zip(data[0], data[1]))
    return rows


def export_curves_csv(curves, path) -> Path:
    """Write the curves as CSV, one point per row: ``curve,images_seen,value`` (long format, since
    the curves have different x values: validation is measured less often). Atomic."""
    rows = curve_rows(curves)
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(CSV_HEADER)
    for name, x, y in rows:
        writer.writerow((name, f"{x:.10g}", repr(y)))

    def write(tmp):
        with open(tmp, "w", encoding="utf-8", newline="") as handle:
            handle.write(text.getvalue())

    return atomic_write(path, write)

"""What a checkpoint's JSON metadata may say, checked before anything is built from it.

Valid JSON can still be wrong: ``"step": null``, an optimizer of type "bogus" or with a setting
Adam does not have, a seed of -1, a holdout of null, a filter count of "abc". Each becomes one
sentence naming the file and the field, instead of a TypeError somewhere later.
"""

from __future__ import annotations

import math

from cnnviz.errors import CheckpointError

FORMAT = "cnnviz-checkpoint"
VERSION = 1
# settings each optimizer type has, with the range each value must lie in: (low, high, low included)
OPTIMIZER_SETTINGS = {
    "adam": {"lr": (0.0, math.inf, False), "beta1": (0.0, 1.0, True), "beta2": (0.0, 1.0, True),
             "eps": (0.0, 1.0, False)},
    "sgd": {"lr": (0.0, math.inf, False), "momentum": (0.0, 1.0, True)},
}
MAX_STEP = 2**53   # beyond this a float64 would not count the steps exactly


def _where(path, field: str) -> str:
    return f"checkpoint {path}: {field}"


def whole(value, path, field: str, low: int = 0, high: int = MAX_STEP) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        rule = f"of at least {low}" if high == MAX_STEP else f"from {low} to {high:,}"
        raise CheckpointError(f"{_where(path, field)} must be a whole number {rule}, not {_short(value)}.")
    return value


def number(value, path, field: str, low: float = -math.inf, high: float = math.inf,
           low_included: bool = True, high_included: bool = False) -> float:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    if ok:
        ok = (value >= low if low_included else value > low) and (value <= high if high_included else value < high)
    if not ok:
        low_text = "" if low == -math.inf else f"{'at least' if low_included else 'above'} {low:g}"
        high_text = "" if high == math.inf else f"{'at most' if high_included else 'below'} {high:g}"
        rule = " and ".join(t for t in (low_text, high_text) if t)
        raise CheckpointError(f"{_where(path, field)} must be a finite number{' ' + rule if rule else ''}, "
                              f"not {_short(value)}.")
    return float(value)


def _text(value, path, field: str) -> str:
    if not isinstance(value, str):
        raise CheckpointError(f"{_where(path, field)} must be text, not {_short(value)}.")
    return value


def _object(value, path, field: str) -> dict:
    if not isinstance(value, dict):
        raise CheckpointError(f"{_where(path, field)} must be a JSON object, not {_short(value)}.")
    return value


def _short(value) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:39] + "…"


def check_header(header, path) -> dict:
    """``header`` (parsed JSON) if it is a valid checkpoint header; CheckpointError otherwise.
    Absent optional fields get their defaults (step 0, meta {}, optimizer None)."""
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise CheckpointError(f"{path} is not a cnnviz checkpoint.")
    if header.get("version") != VERSION:
        raise CheckpointError(f"{path} is a checkpoint of format version {_short(header.get('version'))}; "
                              f"this cnnviz reads version {VERSION}.")
    header = dict(header)
    header["step"] = whole(header.get("step", 0), path, "step")
    header["architecture"] = _object(header.get("architecture"), path, "architecture")
    header["meta"] = check_meta(header.get("meta", {}), path)
    if header.get("optimizer") is not None:
        header["optimizer"] = check_optimizer(header["optimizer"], path)
    else:
        header["optimizer"] = None
    return header


def check_optimizer(state, path) -> dict:
    """{"config": {"type": ..., settings...}, "t": updates applied}, every setting known and in range."""
    state = _object(state, path, "optimizer")
    config = _object(state.get("config"), path, "optimizer config")
    kind = config.get("type")
    if kind not in OPTIMIZER_SETTINGS:
        raise CheckpointError(f"{_where(path, 'optimizer type')} {_short(kind)} is unknown; "
                              f"the optimizers are {', '.join(OPTIMIZER_SETTINGS)}.")
    allowed = OPTIMIZER_SETTINGS[kind]
    for key, value in config.items():
        if key == "type":
            continue
        if key not in allowed:
            raise CheckpointError(f"{_where(path, 'optimizer')} {kind} has no setting {_short(key)}; "
                                  f"its settings are {', '.join(allowed)}.")
        low, high, low_included = allowed[key]
        number(value, path, f"optimizer setting {key}", low, high, low_included)
    whole(state.get("t"), path, "optimizer step count t")
    return state


META_FIELDS = {   # what cnnviz itself writes into "meta"; other keys are kept as they are
    "dataset": lambda v, p, f: _text(v, p, f),
    "mean": lambda v, p, f: number(v, p, f),
    "std": lambda v, p, f: number(v, p, f, 0.0, low_included=False),
    "holdout": lambda v, p, f: number(v, p, f, 0.0, 1.0, low_included=False),
    "seed": lambda v, p, f: whole(v, p, f, 0, 2**32 - 1),
    "images_seen": lambda v, p, f: whole(v, p, f),
    "epoch": lambda v, p, f: whole(v, p, f),
    "test_accuracy": lambda v, p, f: number(v, p, f, 0.0, 1.0, high_included=True),
}


def check_meta(meta, path) -> dict:
    meta = _object(meta, path, "meta")
    for key, check in META_FIELDS.items():
        if key in meta:
            check(meta[key], path, f"meta.{key}")
    if "class_names" in meta:
        names = meta["class_names"]
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            raise CheckpointError(f"{_where(path, 'meta.class_names')} must be a list of names, not {_short(names)}.")
    if "input_shape" in meta:
        shape = meta["input_shape"]
        if not isinstance(shape, list) or len(shape) != 3:
            raise CheckpointError(f"{_where(path, 'meta.input_shape')} must be [channels, height, width], "
                                  f"not {_short(shape)}.")
        for n in shape:
            whole(n, path, "meta.input_shape", 1, 4096)
    return meta

"""Reading a Snapshot for the explain dialogs: a layer's geometry from its label, the configs that
``receptive_field`` needs, the weights that produced the maps shown, and the network rebuilt for the
finite-difference check. No drawing here."""

from __future__ import annotations

import re

import numpy as np

from cnnviz.errors import CnnvizError
from cnnviz.gui.teach.grid import number_text as n3

ACTIVATIONS = {"relu": "ReLU(z) = max(0, z)", "sigmoid": "σ(z) = 1/(1+e<sup>−z</sup>)", "tanh": "tanh(z)"}


def actual_update_line(actual: float, name: str = "ΔW", sgd_step: float | None = None) -> str:
    """The optimizer's real last ΔW, set beside plain SGD's −lr·dL/dW (``sgd_step``, when not said
    already). Only plain SGD makes them equal; Adam (the default) divides each weight's step by its
    running gradient size. Which optimizer ran is not in the snapshot: the sentence names the rule."""
    sgd = f"plain SGD: {n3(sgd_step)}; " if sgd_step is not None else ""
    return (f"the optimizer's actual last {name} = <b>{n3(actual)}</b> ({sgd}Adam, the default, scales "
            f"each weight's step by its own running gradient size)")


def layer_geometry(state) -> tuple[int, int, int]:
    """(k, stride, padding) of a conv or pooling LayerState: from its ``config`` (the layer's own
    settings), or for an older snapshot without one, parsed from its label ("Conv 8@5x5 s1 p0")."""
    config = getattr(state, "config", None) or {}
    if config.get("type") == "conv":
        return int(config["kernel"]), int(config.get("stride", 1)), int(config.get("padding", 0))
    if config.get("type") in ("maxpool", "avgpool"):
        size = int(config.get("size", 2))
        return size, int(config.get("stride", size)), 0
    numbers = dict(re.findall(r"\b([sp])(\d+)\b", state.label))
    size = re.search(r"(\d+)x\1", state.label)
    k = int(state.params["W"].shape[-1]) if "W" in state.params else int(size.group(1)) if size else 2
    return k, int(numbers.get("s", 1)), int(numbers.get("p", 0))


def layer_configs(layers) -> list[dict]:
    """Each layer's config, as ``receptive_field`` wants it (rebuilt from the geometry if missing)."""
    configs = []
    for state in layers:
        if getattr(state, "config", None):
            configs.append(dict(state.config))
        elif state.kind == "conv":
            k, s, p = layer_geometry(state)
            configs.append({"type": "conv", "kernel": k, "stride": s, "padding": p})
        elif state.kind in ("maxpool", "avgpool"):
            k, s, _ = layer_geometry(state)
            configs.append({"type": state.kind, "size": k, "stride": s})
        else:
            configs.append({"type": state.kind})
    return configs


def forward_params(snapshot, state) -> dict:
    """The weights that produced the activations shown: in the "update" phase the snapshot's params
    are already updated while the maps are from before, so W - ΔW; otherwise the params."""
    if snapshot.phase == "update" and state.update:
        return {key: np.asarray(value) - np.asarray(state.update.get(key, 0)) for key, value in state.params.items()}
    return dict(state.params)


def snapshot_model(snapshot):
    """(model, x (1, C, H, W), y (1,)): the snapshot's preset rebuilt with the snapshot's weights, and
    its probe image and label (the predicted class for a drawn probe, which has no label).
    CnnvizError when that is impossible."""
    from cnnviz.nn import build_model

    if not snapshot.preset or snapshot.probe_image is None:
        raise CnnvizError("this snapshot has no preset name or no probe image, so the check cannot rebuild the network.")
    label = snapshot.probe_label
    if label is None:      # a drawn digit has no true class: check the loss of the predicted one
        if snapshot.probs is None:
            raise CnnvizError("this probe has neither a label nor a prediction, so the check has no loss to differentiate.")
        label = int(np.argmax(snapshot.probs))
    first = snapshot.layers[0]
    classes = len(snapshot.probs) if snapshot.probs is not None else None
    model = build_model(snapshot.preset, input_shape=first.input_shape, num_classes=classes)
    if [layer.kind for layer in model.layers] != [s.kind for s in snapshot.layers]:
        raise CnnvizError(f"preset {snapshot.preset!r} no longer has the layers this snapshot was taken from.")
    for layer, state in zip(model.layers, snapshot.layers):
        for key, value in forward_params(snapshot, state).items():
            layer.params[key][...] = value
    x = np.asarray(snapshot.probe_image, np.float32)[None]
    return model, x, np.array([label])


def resolve_unit(layers, layer_index: int):
    """(z_state, activation_state or None): a click on an activation's map explains the conv/dense
    before it; a click on a conv/dense also shows the activation after it."""
    state = layers[layer_index]
    if state.kind in ACTIVATIONS and layer_index > 0 and layers[layer_index - 1].kind in ("conv", "dense", "maxpool", "avgpool"):
        return layers[layer_index - 1], state
    following = layers[layer_index + 1] if layer_index + 1 < len(layers) else None
    if state.kind in ("conv", "dense") and following is not None and following.kind in ACTIVATIONS:
        return state, following
    return state, None


def html_rows(rows) -> str:
    return "<table cellspacing='2' cellpadding='1'>" + "".join(
        "<tr>" + "".join(f"<td>{cell}</td>" for cell in row) + "</tr>" for row in rows) + "</table>"

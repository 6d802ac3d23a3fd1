"""Sequential model: layers run in order; the forward and backward passes can also be run one layer
at a time, so a stepper can walk the network (forward 0, 1, ..., loss, backward last, ..., 0)."""

from __future__ import annotations

import numpy as np

from cnnviz.errors import ArchitectureError
from cnnviz.nn.layer import DTYPE, Layer


class Sequential:
    """A chain of layers.

    ``forward(x (N, C, H, W) float32) -> logits (N, classes)``; ``backward(dL/dlogits) -> dL/dx``.
    ``parameters()`` lists ``(params, grads)`` pairs, one per layer that has parameters, for the
    optimizers. ``input_gradient``: whether ``backward`` computes dL/dx for the input images (a
    saliency map); training loops switch it off, since the first layer's dL/dx is the costliest
    part of the backward pass that no update needs. When ``input_shape`` (C, H, W) is given every layer's shape is checked at once and an
    impossible chain raises ArchitectureError naming the layer and the shapes.
    """

    def __init__(self, layers: list[Layer], input_shape: tuple[int, int, int] | None = None,
                 preset: str | None = None) -> None:
        self.layers = list(layers)
        self.preset = preset
        self.input_shape = tuple(input_shape) if input_shape is not None else None
        for index, layer in enumerate(self.layers):
            layer.name = f"layer {index} ({layer.kind})"
        self.shapes = self.infer_shapes() if self.input_shape is not None else None
        self.input_gradient = True

    @property
    def input_gradient(self) -> bool:
        return self.layers[0].needs_input_grad if self.layers else True

    @input_gradient.setter
    def input_gradient(self, wanted: bool) -> None:
        if self.layers:
            self.layers[0].needs_input_grad = bool(wanted)

    @property
    def param_gradients(self) -> bool:
        """Whether ``backward`` fills the layers' ``grads`` (dL/dW, dL/db). Training needs them; a
        model run only to show what flows backward (dL/d(out) per layer) can switch them off."""
        return all(layer.needs_param_grads for layer in self.layers)

    @param_gradients.setter
    def param_gradients(self, wanted: bool) -> None:
        for layer in self.layers:
            layer.needs_param_grads = bool(wanted)

    # -- shapes ---------------------------------------------------------------------------
    def infer_shapes(self) -> list[tuple[int, ...]]:
        """Per-example output shape of every layer, from ``input_shape``."""
        if self.input_shape is None:
            raise ArchitectureError("the model has no input shape to infer shapes from.")
        shapes, shape = [], self.input_shape
        for layer in self.layers:
            shape = layer.output_shape(shape)
            shapes.append(shape)
        return shapes

    @property
    def num_classes(self) -> int:
        return int(self.shapes[-1][0]) if self.shapes else 0

    # -- passes ---------------------------------------------------------------------------
    def forward(self, x: np.ndarray) -> np.ndarray:
        x = self._check_input(x)
        for layer in self.layers:
            x = layer.forward(x)
        return x

    def backward(self, dlogits: np.ndarray) -> np.ndarray | None:
        """Fill every layer's grads from dL/dlogits (N, classes); returns dL/dx (N, C, H, W), or
        None when ``input_gradient`` is off."""
        grad = dlogits
        for layer in reversed(self.layers):
            grad = layer.backward(grad)
        return grad

    def forward_layer(self, index: int, x: np.ndarray | None = None) -> np.ndarray:
        """Run layer ``index`` forward on x (default: the previous layer's last output)."""
        if x is None:
            if index == 0:
                raise ValueError("layer 0 needs the input batch")
            x = self.layers[index - 1].output
        elif index == 0:
            x = self._check_input(x)
        return self.layers[index].forward(x)

    def backward_layer(self, index: int, dy: np.ndarray | None = None) -> np.ndarray:
        """Run layer ``index`` backward on dy (default: the next layer's last dL/dinput)."""
        if dy is None:
            if index == len(self.layers) - 1:
                raise ValueError("the last layer needs dL/dlogits from the loss")
            dy = self.layers[index + 1].dL_dinput
        return self.layers[index].backward(dy)

    def predict_proba(self, x: np.ndarray, batch_size: int = 500) -> np.ndarray:
        """Softmax probabilities (N, classes) without disturbing what the layers remember."""
        saved = [layer.cache_state() for layer in self.layers]
        try:
            chunks = []
            for start in range(0, len(x), batch_size):
                logits = self.forward(x[start : start + batch_size])
                shifted = logits - logits.max(axis=1, keepdims=True)
                e = np.exp(shifted)
                chunks.append(e / e.sum(axis=1, keepdims=True))
            return np.concatenate(chunks) if chunks else np.zeros((0, self.num_classes), DTYPE)
        finally:
            for layer, state in zip(self.layers, saved):
                layer.restore_cache(state)

    def parameters(self) -> list[tuple[dict[str, np.ndarray], dict[str, np.ndarray]]]:
        return [(layer.params, layer.grads) for layer in self.layers if layer.params]

    def parameter_layers(self) -> list[int]:
        """Indices of the layers that have parameters, in the order of ``parameters()``."""
        return [i for i, layer in enumerate(self.layers) if layer.params]

    def num_parameters(self) -> int:
        return sum(a.size for params, _ in self.parameters() for a in params.values())

    def config(self) -> dict:
        """JSON-able architecture: rebuild with ``cnnviz.nn.presets.model_from_config``."""
        return {"preset": self.preset, "input_shape": list(self.input_shape or ()),
                "layers": [layer.config() for layer in self.layers]}

    def describe(self) -> list[str]:
        """One line per layer: ``Conv 8@5x5 s1 p0 -> 8x24x24``."""
        shapes = self.shapes or [None] * len(self.layers)
        return [f"{layer.describe()} -> {'x'.join(map(str, s))}" if s else layer.describe()
                for layer, s in zip(self.layers, shapes)]

    def clear(self) -> None:
        for layer in self.layers:
            layer.clear()

    def _check_input(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x)
        if x.dtype != DTYPE:
            x = x.astype(DTYPE)
        if self.input_shape is not None and tuple(x.shape[1:]) != self.input_shape:
            want = "x".join(map(str, self.input_shape))
            raise ArchitectureError(
                f"the network expects images of {want} (as N x {want}), got an array of shape {x.shape}."
            )
        return x

"""The layer contract every part of the engine follows.

Array layout (stated once for the whole engine): images and feature maps are NCHW float32,
i.e. (batch, channels, height, width); flat activations are (batch, features).

A layer has ``forward(x)`` and ``backward(dy)`` and two dicts with the same keys, ``params`` and
``grads``. ``backward`` overwrites ``grads`` with the gradient of the *mean* batch loss (the loss's
own backward already divides by the batch size, so layers just sum over the batch).

What the GUI draws is kept on the layer after each pass, so nothing is recomputed to show it:
``input`` (last x), ``output`` (last y), ``pre_activation`` (z), ``dL_dout`` and ``dL_dinput``.
``cache_state()`` / ``restore_cache(state)`` save and put back all a layer remembers (these plus any
buffer of its own, e.g. a conv's im2col columns), so a stepped walk can be rewound exactly.
"""

from __future__ import annotations

import numpy as np

from cnnviz.errors import ArchitectureError

DTYPE = np.float32


class Layer:
    """Base class. Subclasses set ``kind`` and implement ``_forward`` / ``_backward``."""

    kind = "layer"

    def __init__(self) -> None:
        self.params: dict[str, np.ndarray] = {}
        self.grads: dict[str, np.ndarray] = {}
        self.name = self.kind
        self.input: np.ndarray | None = None
        self.output: np.ndarray | None = None
        self.dL_dout: np.ndarray | None = None
        self.dL_dinput: np.ndarray | None = None
        # False for the network's first layer by default: nobody needs dL/d(image) to train,
        # and skipping it saves the costliest scatter of the backward pass
        self.needs_input_grad = True
        # False: backward leaves ``grads`` as they are and only passes dL/d(input) down (a probe
        # image run to show its maps and dL/d(out) needs no dL/dW: a quarter of a snapshot's cost)
        self.needs_param_grads = True

    # -- passes ---------------------------------------------------------------------------
    def forward(self, x: np.ndarray) -> np.ndarray:
        """Run the layer on a batch; remembers input and output for backward and for display."""
        self.input = x
        self.output = self._forward(x)
        return self.output

    def backward(self, dy: np.ndarray) -> np.ndarray:
        """Given dL/d(output), fill ``grads`` (unless ``needs_param_grads`` is False) and return
        dL/d(input), shaped like the input (None when ``needs_input_grad`` is False and the layer
        can skip it)."""
        if self.input is None:
            raise RuntimeError(f"{self.name}: backward called before forward")
        self.dL_dout = dy
        self.dL_dinput = self._backward(dy)
        return self.dL_dinput

    def _forward(self, x: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _backward(self, dy: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    @property
    def pre_activation(self) -> np.ndarray | None:
        """z of this layer: its output for conv/dense/pool, its input for an activation."""
        return self.output

    # -- remembered arrays, for an exact rewind --------------------------------------------
    def cache_state(self) -> dict[str, np.ndarray | None]:
        """Everything the layer remembers between passes, by name: what ``backward`` reads and the
        GUI shows. Each value is None before the pass that makes it.

        ``input`` (N, ...) the last x (NCHW float32 or (N, features)), ``output`` (N, ...) the last y,
        ``dL_dout`` shaped like ``output``, ``dL_dinput`` shaped like ``input`` (None when skipped).
        Subclasses add what their backward needs besides these.

        The values are the layer's own arrays, not copies: forward and backward replace them with new
        arrays and never write into them, so a saved state stays valid and costs no memory."""
        return {"input": self.input, "output": self.output, "dL_dout": self.dL_dout,
                "dL_dinput": self.dL_dinput}

    def restore_cache(self, state: dict[str, np.ndarray | None]) -> None:
        """Put back a ``cache_state()`` of this layer: the next ``backward`` then gives bit for bit
        the gradients of the batch it was saved after, and the GUI shows that batch again.

        Raises ValueError when ``state`` has other keys (a state of another kind of layer)."""
        expected = self.cache_state().keys()
        if state.keys() != expected:
            raise ValueError(f"{self.name}: a cache state of this layer has the keys "
                             f"{sorted(expected)}, not {sorted(state)}.")
        self.input, self.output = state["input"], state["output"]
        self.dL_dout, self.dL_dinput = state["dL_dout"], state["dL_dinput"]

    # -- description ----------------------------------------------------------------------
    def output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        """Shape of one example's output (no batch axis) for one example's input shape.

        Raises ArchitectureError when the input cannot feed this layer."""
        return tuple(input_shape)

    def config(self) -> dict:
        """JSON-able description from which ``cnnviz.nn.presets.layer_from_config`` rebuilds it."""
        return {"type": self.kind}

    def describe(self) -> str:
        """Short human label, e.g. ``Conv 8@5x5 s1 p0``."""
        return self.kind.capitalize()

    def clear(self) -> None:
        """Forget remembered arrays (e.g. before saving memory or swapping data)."""
        self.input = self.output = self.dL_dout = self.dL_dinput = None

    def __repr__(self) -> str:
        return f"<{self.describe()}>"


def rng_for(seed: int | None) -> np.random.Generator:
    return np.random.default_rng(seed)


def check_image_shape(layer: Layer, input_shape: tuple[int, ...]) -> tuple[int, int, int]:
    if len(input_shape) != 3:
        raise ArchitectureError(
            f"{layer.name} ({layer.describe()}) needs a CxHxW input, but gets shape "
            f"{'x'.join(map(str, input_shape))}; put it before Flatten."
        )
    return tuple(int(s) for s in input_shape)  # type: ignore[return-value]


def windowed_size(layer: Layer, size_in: int, k: int, stride: int, padding: int, axis: str) -> int:
    """out = floor((in + 2p - k)/s) + 1, with a clear error when the window does not fit."""
    span = size_in + 2 * padding
    if k > span:
        raise ArchitectureError(
            f"{layer.name} ({layer.describe()}): its {k}x{k} window is larger than its padded "
            f"input {axis} of {span} (input {size_in}, padding {padding})."
        )
    return (span - k) // stride + 1

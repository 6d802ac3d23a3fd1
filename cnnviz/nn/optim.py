"""Optimizers. Both take ``model.parameters()`` (a list of (params, grads) dict pairs) and update every
params array in place from the same key of its grads dict."""

from __future__ import annotations

import numpy as np

from cnnviz.nn.defaults import DEFAULTS, PAPER_SETTINGS, TrainingSettings
from cnnviz.nn.layer import DTYPE


class Optimizer:
    kind = "optimizer"

    def __init__(self, parameters, lr: float) -> None:
        self.parameters = list(parameters)
        self.lr = float(lr)
        self.t = 0  # number of updates applied

    def _slots(self) -> list[tuple[dict, dict, str]]:
        return [(p, g, key) for p, g in self.parameters for key in sorted(p)]

    def _zeros(self) -> list[np.ndarray]:
        return [np.zeros_like(p[key]) for p, _, key in self._slots()]

    def step(self) -> None:
        raise NotImplementedError

    def state_arrays(self) -> dict[str, np.ndarray]:
        """Moment buffers by name (for checkpoints); same order and shapes as ``_slots``."""
        return {}

    def load_state_arrays(self, arrays: dict[str, np.ndarray], t: int) -> None:
        own = self.state_arrays()
        for name, value in arrays.items():
            np.copyto(own[name], value)
        self.t = int(t)

    def config(self) -> dict:
        return {"type": self.kind, "lr": self.lr}


class SGD(Optimizer):
    """Stochastic gradient descent with (heavy-ball) momentum:
    v <- momentum * v - lr * g;  w <- w + v.  With momentum 0 this is w <- w - lr * g."""

    kind = "sgd"

    def __init__(self, parameters, lr: float = DEFAULTS.lr, momentum: float = DEFAULTS.momentum) -> None:
        super().__init__(parameters, lr)
        self.momentum = float(momentum)
        self.velocity = self._zeros()

    def step(self) -> None:
        lr, mu = DTYPE(self.lr), DTYPE(self.momentum)
        for (params, grads, key), v in zip(self._slots(), self.velocity):
            v *= mu
            v -= lr * grads[key]
            params[key] += v
        self.t += 1

    def state_arrays(self):
        return {f"velocity_{i}": v for i, v in enumerate(self.velocity)}

    def config(self):
        return {"type": "sgd", "lr": self.lr, "momentum": self.momentum}


class Adam(Optimizer):
    """Adam with bias correction (Kingma & Ba):
    m <- b1 m + (1-b1) g;  v <- b2 v + (1-b2) g^2;  w <- w - lr * m_hat / (sqrt(v_hat) + eps),
    m_hat = m / (1 - b1^t), v_hat = v / (1 - b2^t).

    Unlike the paper's code, which re-creates m and v at zero for every batch and has no bias
    correction (so every update is a plain rescaled first step), the moments here persist across
    batches and are bias-corrected, as Adam is defined.
    """

    kind = "adam"

    # The constructor keeps the paper's values, as DESIGN.md's public interface states them
    # (scripts and lessons are written against it); the program trains with ``DEFAULTS`` through
    # ``optimizer_for``, so the two never disagree silently.
    def __init__(self, parameters, lr: float = PAPER_SETTINGS.lr, beta1: float = PAPER_SETTINGS.beta1,
                 beta2: float = PAPER_SETTINGS.beta2, eps: float = PAPER_SETTINGS.eps) -> None:
        super().__init__(parameters, lr)
        self.beta1, self.beta2, self.eps = float(beta1), float(beta2), float(eps)
        self.m = self._zeros()
        self.v = self._zeros()

    def step(self) -> None:
        self.t += 1
        b1, b2 = self.beta1, self.beta2
        step_size = DTYPE(self.lr * np.sqrt(1 - b2**self.t) / (1 - b1**self.t))
        eps_hat = DTYPE(self.eps * np.sqrt(1 - b2**self.t))  # eps added to sqrt(v_hat), rescaled
        for (params, grads, key), m, v in zip(self._slots(), self.m, self.v):
            g = grads[key]
            m *= DTYPE(b1)
            m += DTYPE(1 - b1) * g
            v *= DTYPE(b2)
            v += DTYPE(1 - b2) * (g * g)
            params[key] -= step_size * m / (np.sqrt(v) + eps_hat)

    def state_arrays(self):
        arrays = {f"m_{i}": m for i, m in enumerate(self.m)}
        arrays.update({f"v_{i}": v for i, v in enumerate(self.v)})
        return arrays

    def config(self):
        return {"type": "adam", "lr": self.lr, "beta1": self.beta1, "beta2": self.beta2, "eps": self.eps}


def optimizer_for(settings: TrainingSettings, parameters, lr: float | None = None) -> Optimizer:
    """The optimizer ``settings`` name with its settings (Adam's betas and eps, SGD's momentum), at
    ``lr`` (default ``settings.lr``), made by ``make_optimizer``; ValueError for an unknown name."""
    config = {"type": settings.optimizer, "lr": settings.lr if lr is None else lr}
    if settings.optimizer == "adam":
        config.update(beta1=settings.beta1, beta2=settings.beta2, eps=settings.eps)
    elif settings.optimizer == "sgd":
        config.update(momentum=settings.momentum)
    else:
        raise ValueError(f"unknown optimizer {settings.optimizer!r}; choose adam or sgd.")
    return make_optimizer(config, parameters)


def make_optimizer(config: dict, parameters) -> Optimizer:
    """The one place an optimizer is made: from ``Optimizer.config()`` output (a checkpoint's) or
    from training settings (``optimizer_for``)."""
    kind = config.get("type")
    kwargs = {k: v for k, v in config.items() if k != "type"}
    if kind == "adam":
        return Adam(parameters, **kwargs)
    if kind == "sgd":
        return SGD(parameters, **kwargs)
    raise ValueError(f"unknown optimizer type {kind!r}")

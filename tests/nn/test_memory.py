"""The per-image memory estimate behind the batch-size limit is an honest upper bound."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

from cnnviz.nn import Adam, SoftmaxCrossEntropy, build_model, model_from_config, preset_names
from cnnviz.nn import memory
from cnnviz.nn.memory import batch_size_problem, bytes_per_image, max_batch_size

ODD = [  # overlapping pools, padding, stride, average pooling
    {"input_shape": [3, 32, 32], "layers": [{"type": "conv", "filters": 6, "kernel": 3, "padding": 2, "stride": 2},
                                            {"type": "tanh"}, {"type": "maxpool", "size": 3, "stride": 1},
                                            {"type": "avgpool", "size": 2}, {"type": "flatten"},
                                            {"type": "dense", "units": 10}]},
]


def measured_per_image(model, n=64) -> float:
    model.input_gradient = False   # as training runs it
    rng = np.random.default_rng(0)
    x = rng.standard_normal((n, *model.input_shape)).astype(np.float32)
    y = rng.integers(0, 10, n)
    loss, optimizer = SoftmaxCrossEntropy(), Adam(model.parameters(), lr=0.001)
    model.clear()
    tracemalloc.start()
    try:
        loss.forward(model.forward(x), y)
        model.backward(loss.backward())
        optimizer.step()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return (peak - x.nbytes) / n


@pytest.mark.parametrize("model", [build_model(p, seed=0) for p in preset_names()]
                         + [model_from_config(c, seed=0) for c in ODD], ids=preset_names() + ["odd"])
def test_the_estimate_bounds_what_a_training_step_really_allocates(model):
    real = measured_per_image(model)
    estimate = bytes_per_image(model)
    assert real <= estimate <= 2 * real, (real, estimate)


def test_the_limit_follows_the_budget(monkeypatch):
    model = build_model("seed", seed=0)
    model.input_gradient = False
    monkeypatch.setattr(memory, "memory_budget", lambda: 1 << 30)
    most = max_batch_size(model)
    assert 900 < most < 1100   # ~1 MB per image
    assert batch_size_problem(model, most) is None
    problem = batch_size_problem(model, 1_000_000)
    assert f"at most {most:,} images fit in the 1,024 MB" in problem
    monkeypatch.setattr(memory, "memory_budget", lambda: 1000)
    assert "more than the 0 MB" in batch_size_problem(model, 1)

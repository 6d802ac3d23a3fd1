"""How much memory one training step takes per image, so a batch too large for the computer is refused
in one sentence before training starts instead of ending in MemoryError (``--batch-size 1000000``
ran for 28 s first).

The estimate counts, layer by layer, the float32 arrays a forward and backward pass keep or make
for one image (input, output, dL/d(out), dL/d(in), a conv's im2col columns and their gradient, a
max-pool's winner indices ...). It is an upper bound of what ``tracemalloc`` measures (tests/nn
compare the two on every preset): seed 1.00 MB estimated, 0.83 MB measured (lenet 0.39 and 0.28).
"""

from __future__ import annotations

import math
import os

from cnnviz.nn.model import Sequential

# A training step may use this much for its batch (the dataset, ~1.3 GB at most, comes on top), or
# a quarter of the computer's memory if that is less.
STEP_BUDGET = 1 << 30
FLOAT = 4   # bytes


def memory_budget() -> int:
    """Bytes a training step may use: STEP_BUDGET, or a quarter of the physical memory if less."""
    try:
        physical = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):
        return STEP_BUDGET
    return min(STEP_BUDGET, physical // 4) if physical > 0 else STEP_BUDGET


def bytes_per_image(model: Sequential) -> int:
    """Upper bound on the bytes one image adds to a training step of ``model`` (forward + backward)."""
    shapes = [model.input_shape, *model.shapes]
    floats = 0
    for layer, shape_in, shape_out in zip(model.layers, shapes, shapes[1:]):
        n_in, n_out = math.prod(shape_in), math.prod(shape_out)
        if layer.kind == "flatten":
            continue   # views of its neighbours' arrays
        floats += n_out + n_in   # its output, and the dL/d(in) it hands back
        if layer.kind == "conv":
            c, h, w = shape_in
            k, p = layer.kernel_size, layer.padding
            cols = c * k * k * shape_out[1] * shape_out[2]
            floats += cols + n_out   # im2col columns, dL/dz made contiguous
            if layer.needs_input_grad:
                floats += cols + 2 * c * (h + 2 * p) * (w + 2 * p)   # their gradient, the padded scatter
        elif layer.kind == "maxpool":
            floats += 3 * n_in + 8 * n_out   # float64 scatter + cast, mask; int64 winners, rows, cols
        elif layer.kind == "avgpool":
            floats += n_out
        elif layer.kind != "dense":
            floats += n_in   # an activation's temporaries
    return FLOAT * floats


def max_batch_size(model: Sequential, budget: int | None = None) -> int:
    """The largest batch whose training step fits ``budget`` bytes (default ``memory_budget()``); 0
    when not even one image fits."""
    budget = memory_budget() if budget is None else budget
    return int(budget // max(bytes_per_image(model), 1))


def batch_size_problem(model: Sequential, batch_size: int) -> str | None:
    """None if a batch of ``batch_size`` images fits the budget; else the sentence saying why not."""
    most = max_batch_size(model)
    if batch_size <= most:
        return None
    per_image = bytes_per_image(model) / 2**20
    budget = memory_budget() / 2**20
    if most == 0:
        return (f"this network takes about {per_image:,.0f} MB per image to train, more than the "
                f"{budget:,.0f} MB a training step may use.")
    return (f"a batch of {batch_size:,} images is too large for this network: a training step takes "
            f"about {per_image:.2f} MB per image, so at most {most:,} images fit in the {budget:,.0f} MB "
            f"a step may use.")

"""Training-step speed of the seed network: cnnviz's NumPy engine, its plain-loop twin, and PyTorch.

One full step = forward, loss, backward, Adam update. Reports medians over rounds in images/s and the
ratios, all measured in this one run: PyTorch (if importable) runs in its own process, and its
rounds alternate with ours so both see the same load on a shared machine. It also reports what two
per-step extras cost as a fraction of a batch-32 step: the exact loss gradient (float64 log-softmax,
against the former float32 p - 1) and the ActivityTracker's observe().
Usage: python benchmarks/bench_engine.py [--rounds R] [--json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cnnviz.nn import ActivityTracker, Adam, SoftmaxCrossEntropy, build_model, naive  # noqa: E402


class EngineRunner:
    """Times rounds of training steps of the seed network in this process."""

    def __init__(self, batch: int, steps: int) -> None:
        rng = np.random.default_rng(0)
        self.batch, self.steps = batch, steps
        self.x = rng.standard_normal((batch * steps, 1, 28, 28)).astype(np.float32)
        self.y = rng.integers(0, 10, batch * steps)
        self.model, self.loss = build_model("seed", seed=0), SoftmaxCrossEntropy()
        self.model.input_gradient = False  # no dL/d(image) when training, as PyTorch's inputs
        self.opt = Adam(self.model.parameters(), lr=0.001, beta1=0.95, beta2=0.99)

    def round(self) -> float:
        start = time.perf_counter()
        for s in range(self.steps):
            sl = slice(s * self.batch, (s + 1) * self.batch)
            self.loss.forward(self.model.forward(self.x[sl]), self.y[sl])
            self.model.backward(self.loss.backward())
            self.opt.step()
        return self.batch * self.steps / (time.perf_counter() - start)


def rounded_loss(logits, labels):
    """The loss as it was before the exact gradient: p rounded to float32, then p - onehot (for timing)."""
    wide = logits.astype(np.float64)
    shifted = wide - wide.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    probs = np.exp(log_probs).astype(np.float32)
    loss = float(-log_probs[np.arange(len(labels)), labels].mean())
    grad = probs.copy()
    grad[np.arange(len(labels)), labels] -= 1
    return loss, grad / len(labels)


def median_seconds(action, calls: int, rounds: int) -> float:
    """Median over rounds of the mean seconds per call of ``action``."""
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(calls):
            action()
        times.append((time.perf_counter() - start) / calls)
    return statistics.median(times)


def extras(rounds: int) -> dict:
    """Seconds per batch-32 step of the seed network, and what the exact loss and the activity
    tracker add to it, measured side by side in this run."""
    engine = EngineRunner(32, 16)
    engine.round()   # warm-up
    step = statistics.median(1 / engine.round() * 32 for _ in range(rounds))
    rng = np.random.default_rng(1)
    logits = (rng.standard_normal((32, 10)) * 10).astype(np.float32)
    labels = rng.integers(0, 10, 32)
    loss = SoftmaxCrossEntropy()
    exact = median_seconds(lambda: (loss.forward(logits, labels), loss.backward()), 2000, rounds)
    before = median_seconds(lambda: rounded_loss(logits, labels), 2000, rounds)
    model = engine.model
    model.forward(engine.x[:32])
    tracker = ActivityTracker(model, window=1000)
    observe = median_seconds(lambda: tracker.observe(model), 500, rounds)
    return {"step_ms": step * 1e3, "exact_loss_us": exact * 1e6, "rounded_loss_us": before * 1e6,
            "exact_loss_extra_of_step": (exact - before) / step, "tracker_us": observe * 1e6,
            "tracker_of_step": observe / step}


def loop_images_per_second(images: int) -> float:
    """The same step computed with the plain-loop twins (one image at a time, as the paper's code)."""
    rng = np.random.default_rng(0)
    model = build_model("seed", seed=0)
    w = [layer.params for layer in model.layers]
    start = time.perf_counter()
    for _ in range(images):
        x = rng.standard_normal((1, 1, 28, 28))
        z1 = naive.conv_forward_naive(x, w[0]["W"], w[0]["b"]); a1 = np.maximum(z1, 0)
        z2 = naive.conv_forward_naive(a1, w[2]["W"], w[2]["b"]); a2 = np.maximum(z2, 0)
        p, _ = naive.maxpool_forward_naive(a2)
        z3 = naive.dense_forward_naive(p.reshape(1, -1), w[6]["W"], w[6]["b"]); a3 = np.maximum(z3, 0)
        z4 = naive.dense_forward_naive(a3, w[8]["W"], w[8]["b"])
        _, _, g = naive.softmax_xent_naive(z4, [3])
        g, _, _ = naive.dense_backward_naive(a3, w[8]["W"], g)
        g, _, _ = naive.dense_backward_naive(p.reshape(1, -1), w[6]["W"], g * (z3 > 0))
        g = naive.maxpool_backward_naive(a2, g.reshape(p.shape))
        g, _, _ = naive.conv_backward_naive(a1, w[2]["W"], g * (z2 > 0))
        naive.conv_backward_naive(x, w[0]["W"], g * (z1 > 0))
    return images / (time.perf_counter() - start)


TORCH_SCRIPT = r"""
import json, sys, time, torch
torch.manual_seed(0)
batch, steps = int(sys.argv[1]), int(sys.argv[2])
net = torch.nn.Sequential(
    torch.nn.Conv2d(1, 8, 5), torch.nn.ReLU(), torch.nn.Conv2d(8, 8, 5), torch.nn.ReLU(),
    torch.nn.MaxPool2d(2), torch.nn.Flatten(), torch.nn.Linear(800, 128), torch.nn.ReLU(),
    torch.nn.Linear(128, 10))
opt = torch.optim.Adam(net.parameters(), lr=0.001, betas=(0.95, 0.99))
x = torch.randn(batch * steps, 1, 28, 28); y = torch.randint(0, 10, (batch * steps,))
lossf = torch.nn.CrossEntropyLoss()
print(json.dumps({"version": torch.__version__, "threads": torch.get_num_threads()}), flush=True)
for line in sys.stdin:                     # one line in = one timed round out
    t = time.perf_counter()
    for s in range(steps):
        xb, yb = x[s * batch:(s + 1) * batch], y[s * batch:(s + 1) * batch]
        opt.zero_grad(); lossf(net(xb), yb).backward(); opt.step()
    print(batch * steps / (time.perf_counter() - t), flush=True)
"""


class TorchRunner:
    """The same network in PyTorch, in its own process, timed a round at a time on request, so
    its rounds interleave with ours and both see the same machine load."""

    def __init__(self, batch: int, steps: int) -> None:
        self.process = subprocess.Popen([sys.executable, "-c", TORCH_SCRIPT, str(batch), str(steps)],
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        stderr=subprocess.DEVNULL, text=True)
        header = self.process.stdout.readline()
        if not header:
            self.process.wait()
            raise RuntimeError("torch is not importable")
        self.info = json.loads(header)

    def round(self) -> float:
        self.process.stdin.write("go\n")
        self.process.stdin.flush()
        return float(self.process.stdout.readline())

    def close(self) -> None:
        self.process.stdin.close()
        self.process.wait(timeout=30)


def measure(batch: int, rounds: int) -> dict:
    steps = max(1, 2048 // batch)
    engine = EngineRunner(batch, steps)
    try:
        torch_runner = TorchRunner(batch, steps)
    except (OSError, RuntimeError):
        torch_runner = None
    ours, theirs = [], []
    for round_index in range(rounds + 1):  # round 0 warms caches and thread pools
        rate = engine.round()
        other = torch_runner.round() if torch_runner else None
        if round_index:
            ours.append(rate)
            if other is not None:
                theirs.append(other)
    row = {"cnnviz_images_per_second": statistics.median(ours)}
    if torch_runner:
        torch_runner.close()
        row.update(torch_images_per_second=statistics.median(theirs), torch_version=torch_runner.info["version"],
                   cnnviz_over_torch=row["cnnviz_images_per_second"] / statistics.median(theirs))
    return row


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--loop-images", type=int, default=2)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    results: dict = {"loop_images_per_second": loop_images_per_second(args.loop_images)}
    for batch in (32, 128):
        row = measure(batch, args.rounds)
        row["vs_loops"] = row["cnnviz_images_per_second"] / results["loop_images_per_second"]
        results[f"batch_{batch}"] = row
    results["extras"] = extras(args.rounds)
    if args.json:
        print(json.dumps(results))
        return 0
    print(f"plain loops (paper's equations, 1 image at a time): {results['loop_images_per_second']:.2f} images/s")
    for batch in (32, 128):
        row = results[f"batch_{batch}"]
        line = f"batch {batch:>3}: cnnviz {row['cnnviz_images_per_second']:7.0f} images/s ({row['vs_loops']:.0f}x the loops)"
        if "torch_images_per_second" in row:
            line += (f", PyTorch {row['torch_version']} {row['torch_images_per_second']:7.0f} images/s,"
                     f" cnnviz/PyTorch = {row['cnnviz_over_torch']:.2f}")
        else:
            line += ", PyTorch not installed"
        print(line)
    e = results["extras"]
    print(f"batch 32 step {e['step_ms']:.2f} ms; exact loss forward+backward {e['exact_loss_us']:.0f} us "
          f"(float32-rounded before: {e['rounded_loss_us']:.0f} us; extra {e['exact_loss_extra_of_step']:.2%} "
          f"of a step); ActivityTracker.observe {e['tracker_us']:.0f} us ({e['tracker_of_step']:.2%} of a step)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

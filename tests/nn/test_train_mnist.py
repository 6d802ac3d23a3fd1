"""End to end: the paper's network learns real MNIST digits."""

import gzip

import numpy as np

from cnnviz.nn import DEFAULTS, SoftmaxCrossEntropy, build_model, optimizer_for


def read_idx(path, offset):
    with gzip.open(path) as handle:
        return np.frombuffer(handle.read(), np.uint8, offset=offset)


def test_seed_network_one_epoch_on_8000_mnist_digits_scores_95_percent(mnist_dir):
    images = read_idx(mnist_dir / "t10k-images-idx3-ubyte.gz", 16).reshape(-1, 1, 28, 28).astype(np.float32)
    labels = read_idx(mnist_dir / "t10k-labels-idx1-ubyte.gz", 8).astype(np.int64)
    train_x, test_x = images[:8000], images[8000:]
    mean, std = train_x.mean(), train_x.std()  # the paper's normalisation, train statistics only
    train_x, test_x = (train_x - mean) / std, (test_x - mean) / std

    model = build_model("seed", seed=0)
    loss_fn = SoftmaxCrossEntropy()
    optimizer = optimizer_for(DEFAULTS, model.parameters())   # the defaults, schedule included
    schedule, steps = DEFAULTS.schedule_object(), 8000 // 32
    order = np.random.default_rng(0).permutation(8000)
    losses = []
    for start in range(0, 8000, 32):
        optimizer.lr = schedule.lr(DEFAULTS.lr, start // 32, steps)
        batch = order[start : start + 32]
        losses.append(loss_fn.forward(model.forward(train_x[batch]), labels[batch]))
        model.backward(loss_fn.backward())
        optimizer.step()

    accuracy = (model.predict_proba(test_x).argmax(axis=1) == labels[8000:]).mean()
    assert np.mean(losses[:10]) > 1.5 and np.mean(losses[-25:]) < 0.3
    assert accuracy >= 0.95, f"test accuracy {accuracy:.4f}"

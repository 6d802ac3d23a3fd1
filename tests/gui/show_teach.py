"""Open one teaching tool with real data, for looking at and for the docs screenshots (not a test).

    /work/shared/tools/screenshot docs/teach_conv.png -s 6 -g 1400x800 -- python tests/gui/show_teach.py conv
    tools: explain-conv, explain-conv2, explain-pool, explain-dense, weight-conv, weight-dense, conv,
    conv-snap, draw, stats (--sigmoid)
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parents[1]), str(HERE)]

import numpy as np  # noqa: E402
from PyQt6 import QtCore, QtWidgets  # noqa: E402


def snapshot(phase="backward", steps=30, preset="seed"):
    from conftest import build_snapshot
    return build_snapshot(preset, phase, probe=3, train_steps=steps)


def stats_history(preset="seed", steps=60, every=3):
    """layer_stats every ``every`` Adam steps on real MNIST digits, as the trainer will record them."""
    from conftest import mnist_batch
    from cnnviz.nn import Adam, SoftmaxCrossEntropy, build_model
    from cnnviz.session.stats import layer_stats
    images, labels = mnist_batch(32 * steps)
    x = ((images - 0.1307) / 0.3081).astype(np.float32)
    model = build_model(preset, seed=0)
    model.input_gradient = False
    opt, loss_fn, history = Adam(model.parameters(), lr=0.01), SoftmaxCrossEntropy(), []
    for step in range(steps):
        xb, yb = x[32 * step:32 * (step + 1)], labels[32 * step:32 * (step + 1)]
        loss_fn.forward(model.forward(xb), yb)
        model.backward(loss_fn.backward())
        before = [{k: v.copy() for k, v in l.params.items()} for l in model.layers]
        opt.step()
        if step % every == 0:
            updates = [{k: l.params[k] - b[k] for k in b} for l, b in zip(model.layers, before)]
            history.append(layer_stats(model, updates, step=step))
    stats_history.model = model
    return history


def validation(n=300):
    """(display images (n, 1, 28, 28) in 0..1, labels, validation_stats) of the last trained model."""
    from conftest import mnist_batch
    from cnnviz.session.stats import validation_stats
    images, labels = mnist_batch(2000)
    images, labels = images[-n:], labels[-n:]
    x = ((images - 0.1307) / 0.3081).astype(np.float32)
    return images, labels, validation_stats(stats_history.model, x, labels, 10)


def make(tool: str) -> QtWidgets.QWidget:
    if tool == "conv":
        from cnnviz.gui.teach.conv_animation import ConvAnimation
        w = ConvAnimation()
        w.padding_box.setValue(1)
        for _ in range(10):
            w.step()
        return w
    if tool == "conv-snap":
        from cnnviz.gui.teach.conv_animation import ConvAnimation
        w = ConvAnimation()
        w.use_snapshot(snapshot(), f=2)
        w.flip_box.setChecked(True)
        for _ in range(5):
            w.step()
        return w
    if tool == "draw":
        from cnnviz.gui.teach.draw_digit import DrawDigitCanvas
        w = DrawDigitCanvas()
        w.paint_area.draw_stroke([(150, 60), (110, 60), (90, 120), (150, 115), (170, 160), (140, 220), (90, 210)])
        w.paint_area.draw_stroke([(110, 60), (190, 60)])
        return w
    if tool.startswith("explain"):
        from cnnviz.gui.teach.explain_dialog import ExplainUnitDialog
        snap = snapshot("update")
        where = {"explain-conv": (0, 3, 10, 12), "explain-conv2": (3, 5, 6, 8),
                 "explain-pool": (4, 2, 4, 5), "explain-dense": (8, 7, 0, 0)}[tool]
        if tool == "explain-conv2":   # the conv2 unit that received the largest gradient
            dz = snap.layers[2].dL_dout
            where = (3,) + tuple(int(v) for v in np.unravel_index(int(np.argmax(np.abs(dz))), dz.shape))
        if tool == "explain-pool":    # the pooled cell with the largest value
            out = snap.layers[4].output
            where = (4,) + tuple(int(v) for v in np.unravel_index(int(np.argmax(out)), out.shape))
        w = ExplainUnitDialog(snap, *where)
        if "--check" in sys.argv:
            QtCore.QTimer.singleShot(500, w.check_button.click)
        return w
    if tool.startswith("weight"):
        from cnnviz.gui.teach.explain_weight import ExplainWeightDialog
        where = {"weight-conv": (2, 0, 4, 1, 1), "weight-dense": (6, 5, 3, 4, 6)}[tool]
        snap = snapshot("update")
        if tool == "weight-dense":   # the unit with the largest dL/dz, its largest input
            u = int(np.argmax(np.abs(snap.layers[6].dL_dout)))
            c, i, j = np.unravel_index(int(np.argmax(snap.layers[6].input)), (8, 10, 10))
            where = (6, u, int(c), int(i), int(j))
        w = ExplainWeightDialog(snap, *where)
        if "--check" in sys.argv:
            QtCore.QTimer.singleShot(500, w.check_button.click)
        return w
    if tool == "stats":
        from cnnviz.gui.teach.stats_panel import StatsPanel
        w = StatsPanel()
        history = (stats_history("sigmoid", steps=24, every=1) if "--sigmoid" in sys.argv
                   else stats_history("seed"))
        w.set_history(history)
        images, labels, stats = validation()
        w.set_validation(stats, images, labels)
        cell = [a for a in sys.argv if a.startswith("--cell=")]
        if cell:   # e.g. --cell=4,9: the 4s taken for 9s
            w.select_confusion_cell(*map(int, cell[0][7:].split(",")))
        return w
    raise SystemExit(f"unknown tool {tool!r}")


def main() -> None:
    app = QtWidgets.QApplication(sys.argv)
    tool = sys.argv[1] if len(sys.argv) > 1 else "conv"
    w = make(tool)
    w.setWindowTitle(f"cnnviz — {tool}")
    size = [a for a in sys.argv if a.startswith("--size=")]
    width, height = map(int, size[0][7:].split("x")) if size else (1300, 760)
    w.resize(width, height)
    w.move(0, 0)
    w.show()
    out = [a for a in sys.argv if a.startswith("--png=")]
    if out:   # offscreen: render the widget itself to a PNG and quit
        from cnnviz.gui.teach.export import export_widget_png
        QtCore.QTimer.singleShot(1500, lambda: (export_widget_png(w, out[0][6:]), app.quit()))
    sys.exit(app.exec())


if __name__ == "__main__":
    main()

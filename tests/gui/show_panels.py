"""Open every panel in one window with a real Snapshot, for looking at (not a test).

    /work/shared/tools/screenshot /tmp/p.png -s 8 -g 2000x1300 -- python tests/gui/show_panels.py
    python tests/gui/show_panels.py --preset lenet --phase forward --layer 3 --only PoolingPanel
    python tests/gui/show_panels.py --time     # per-panel update ms (show_snapshot + repaint)
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parents[1]), str(HERE)]

from PyQt6 import QtWidgets  # noqa: E402

from conftest import build_snapshot  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--preset", default="seed")
    ap.add_argument("--phase", default="update")
    ap.add_argument("--layer", type=int, default=None, help="selected layer (default: each panel's own)")
    ap.add_argument("--probe", type=int, default=3)
    ap.add_argument("--steps", type=int, default=30, help="Adam steps before the snapshot")
    ap.add_argument("--only", default=None, help="one panel class name, shown large")
    ap.add_argument("--time", action="store_true", help="print update ms per panel and quit")
    ap.add_argument("--all-channels", action="store_true", help="pooling: all channels as a mosaic")
    ap.add_argument("--pool-mode", default="auto", choices=["auto", "values", "gradients"])
    args = ap.parse_args()
    app = QtWidgets.QApplication(sys.argv)
    from cnnviz.gui.panels import ALL_PANELS

    snap = build_snapshot(args.preset, args.phase, probe=args.probe, train_steps=args.steps)
    win = QtWidgets.QWidget()
    win.setWindowTitle(f"cnnviz panels — preset {args.preset}, phase {args.phase}")
    grid = QtWidgets.QGridLayout(win)
    classes = [c for c in ALL_PANELS if args.only in (None, c.__name__)]
    places = {"InputPanel": (0, 0, 1, 1), "KernelsPanel": (0, 1, 1, 1), "FeatureMapsPanel": (0, 2, 1, 2),
              "PoolingPanel": (1, 0, 1, 2), "GradientsPanel": (1, 2, 1, 2),
              "PredictionPanel": (2, 0, 1, 1), "CurvesPanel": (2, 1, 1, 1)}
    panels = []
    for cls in classes:
        box = QtWidgets.QGroupBox(cls.title)
        lay = QtWidgets.QVBoxLayout(box)
        panel = cls()
        lay.addWidget(panel)
        panels.append(panel)
        if len(classes) == 1:
            grid.addWidget(box, 0, 0)
        else:
            grid.addWidget(box, *places[cls.__name__])
    for r in range(3):
        grid.setRowStretch(r, 1)
    screen = app.primaryScreen().availableGeometry()
    want = (1900, 1250) if len(classes) > 1 else (1100, 700)
    win.resize(min(want[0], screen.width()), min(want[1], screen.height()))
    win.show()
    for panel in panels:
        if hasattr(panel, "set_mode"):
            panel.set_mode(args.pool_mode)
            panel.select_channel(None if args.all_channels else 0)
        panel.show_snapshot(snap, args.layer)
    if args.time:
        win.hide()
        # two different snapshots in turn, so every frame carries new numbers; each panel alone at a
        # dock-like size of 800x500 (the offscreen screen would squeeze the grid window)
        snaps = [snap, build_snapshot(args.preset, args.phase, probe=args.probe + 1, train_steps=args.steps)]
        for cls in classes:
            panel = cls()
            panel.resize(800, 500)
            panel.show()
            panel.show_snapshot(snap, args.layer)
            for _ in range(3):
                app.processEvents()
            update, paint = [], []
            for i in range(40):
                t0 = time.perf_counter()
                panel.show_snapshot(snaps[i % 2], args.layer)
                t1 = time.perf_counter()
                for view in panel.findChildren(QtWidgets.QGraphicsView):
                    view.viewport().repaint()    # synchronous paint of the plots
                panel.repaint()
                t2 = time.perf_counter()
                update.append(t1 - t0)
                paint.append(t2 - t1)
            med = lambda v: 1000 * sorted(v)[len(v) // 2]   # noqa: E731
            total = [u + p for u, p in zip(update, paint)]
            print(f"{type(panel).__name__:18s} show_snapshot {med(update):5.2f} ms + paint {med(paint):5.2f} ms"
                  f" = {med(total):5.2f} ms median, {1000 * min(total):5.2f} ms best of 40")
            panel.close()
            panel.deleteLater()
        return
    sys.exit(app.exec())


if __name__ == "__main__":
    main()

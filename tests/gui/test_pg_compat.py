"""One test per workaround in cnnviz/gui/pg_compat.py: each fails when the workaround is taken out or
when pyqtgraph stops behaving as the workaround assumes (checked with pyqtgraph 0.13.7 and 0.14.0)."""

from __future__ import annotations

import gc
import weakref

import numpy as np
import pyqtgraph as pg
import pytest
from PyQt6 import QtCore, QtGui
from pyqtgraph.dockarea import Dock, DockArea

from cnnviz.gui import pg_compat, theme
from fakes import lay_out_now


def test_the_tested_pyqtgraph_range_is_the_pinned_one():
    import tomllib
    from pathlib import Path

    project = tomllib.loads((Path(__file__).resolve().parents[2] / "pyproject.toml").read_text())
    pin = next(d for d in project["project"]["dependencies"] if d.startswith("pyqtgraph"))
    assert pin == "pyqtgraph>=0.13.7,<0.15"
    if pg.__version__ not in pg_compat.TESTED:
        pytest.skip(f"pyqtgraph {pg.__version__} is in the pinned range but was not checked by hand")


# -- garbage collection only in the GUI thread's event loop ----------------------------------------
class Cycle:
    """Garbage only the cyclic collector can free."""

    def __init__(self) -> None:
        self.me = self


def test_the_window_collects_garbage_only_from_the_event_loop(qtbot, window):
    """The window turned automatic collection off (a collection inside a Qt layout pass or
    destructor freed items Qt was still using: pyqtgraph issue #472 and segfaults); cycles are
    still freed, from a timer of the GUI thread."""
    assert not gc.isenabled()
    assert pg_compat.collect_garbage_in_gui_thread() is pg_compat.collect_garbage_in_gui_thread()
    threshold = gc.get_threshold()[0]
    garbage = [weakref.ref(Cycle()) for _ in range(threshold + 1)]   # more than one generation's worth
    assert all(ref() is not None for ref in garbage)                 # nothing collects meanwhile
    qtbot.waitUntil(lambda: all(ref() is None for ref in garbage), timeout=10_000)


# -- FastImage --------------------------------------------------------------------------------------
def test_fast_image_colours_are_exactly_pyqtgraphs(qtbot):
    rng = np.random.default_rng(0)
    image = (rng.standard_normal((13, 21)) * 3).astype(np.float32)
    image[0, :4] = [-100.0, 100.0, 0.0, 1e-9]           # clipped at both ends, exact zero
    for lut in (theme.lut(theme.DIVERGING), theme.lut(theme.SEQUENTIAL)):
        for levels in ((-2.5, 2.5), (0.0, 4.0), (1.0, 1.0)):
            ours, theirs = pg_compat.FastImage(axisOrder="row-major"), pg.ImageItem(axisOrder="row-major")
            for item in (ours, theirs):
                item.setLookupTable(lut)
                item.setImage(image, autoLevels=False, levels=levels)
                item.render()
            assert ours.qimage.format() == QtGui.QImage.Format.Format_RGB32
            ref = theirs.qimage.convertToFormat(QtGui.QImage.Format.Format_RGB32)
            for y in range(13):
                assert [ours.qimage.pixel(x, y) for x in range(21)] == [ref.pixel(x, y) for x in range(21)]


def test_fast_image_renders_once_per_new_image_not_at_every_paint(qtbot):
    """ImageItem.paint renders again while its render-required flag is set: FastImage must clear it
    as pyqtgraph's render does, or every repaint pays for a render."""
    item = pg_compat.FastImage(axisOrder="row-major")
    item.setLookupTable(theme.lut(theme.DIVERGING))
    item.setImage(np.linspace(-1, 1, 12, dtype=np.float32).reshape(3, 4), autoLevels=False, levels=(-1, 1))
    renders = []
    original = item._render_mono
    item._render_mono = lambda: renders.append(1) or original()
    picture = QtGui.QImage(8, 8, QtGui.QImage.Format.Format_RGB32)
    for _ in range(3):
        painter = QtGui.QPainter(picture)
        item.paint(painter)
        painter.end()
    assert renders == [1]
    item.setImage(np.zeros((3, 4), np.float32), autoLevels=False)
    painter = QtGui.QPainter(picture)
    item.paint(painter)
    painter.end()
    assert renders == [1, 1]


# -- narrow labels ------------------------------------------------------------------------------------
def test_a_narrow_label_stays_narrow_through_new_text_and_resizes(qtbot):
    canvas = pg.GraphicsLayoutWidget()
    qtbot.addWidget(canvas)
    canvas.resize(400, 300)
    canvas.show()
    plot = canvas.addPlot()
    long_title = "a title far longer than the forty pixels the label may claim in its plot's layout"
    plot.setTitle(long_title)
    full = plot.titleLabel.effectiveSizeHint(QtCore.Qt.SizeHint.MinimumSize).width()
    assert full > 200                                  # pyqtgraph: the minimum is the text's width
    pg_compat.narrow_label(plot.titleLabel, 40)
    for step in ("now", "new text", "resized"):
        if step == "new text":
            plot.setTitle(long_title + " and then some more")
        elif step == "resized":
            canvas.resize(300, 250)
            lay_out_now(canvas)
        for which in (QtCore.Qt.SizeHint.MinimumSize, QtCore.Qt.SizeHint.PreferredSize):
            assert plot.titleLabel.effectiveSizeHint(which).width() == 40, (step, which)
    assert plot.titleLabel.effectiveSizeHint(QtCore.Qt.SizeHint.MinimumSize).height() > 0


# -- colour bars and axes ---------------------------------------------------------------------------
def test_colour_bar_levels_keep_the_axis_picture_when_the_labels_read_the_same(qtbot):
    canvas = pg.GraphicsLayoutWidget()
    qtbot.addWidget(canvas)
    canvas.resize(500, 400)
    canvas.show()
    plot = canvas.addPlot()
    image = pg.ImageItem(np.zeros((4, 4), np.float32))
    plot.addItem(image)
    bar = pg.ColorBarItem(values=(-1.0, 1.0), colorMap=theme.DIVERGING, interactive=False)
    bar.setImageItem(image, insert_in=plot)
    ticks = theme.bar_ticks((-1.0, 1.0), 3)
    pg_compat.set_bar_levels(bar, (-1.0, 1.0), ticks, relayout=True)
    assert pg_compat.axis_ticks(bar.axis) == ticks
    qtbot.waitUntil(lambda: bar.axis.picture is not None, timeout=5000)    # painted once
    picture = bar.axis.picture
    pg_compat.set_bar_levels(bar, (-1.00001, 1.00001), ticks, relayout=False)
    assert bar.axis.picture is picture                          # not laid out again
    assert bar.levels() == pytest.approx((-1.00001, 1.00001))   # what the bar and its axis report
    assert list(bar.axis.range) == pytest.approx([-1.00001, 1.00001])
    bar.setLevels((-2.0, 2.0))                                  # pyqtgraph's own way still agrees
    assert bar.levels() == (-2.0, 2.0) and list(bar.axis.range) == [-2.0, 2.0]
    new = theme.bar_ticks((-3.0, 3.0), 3)
    pg_compat.set_bar_levels(bar, (-3.0, 3.0), new, relayout=True)
    assert bar.axis.picture is None and pg_compat.axis_ticks(bar.axis) == new


# -- a zoomed GraphicsView ------------------------------------------------------------------------------
def test_a_zoomed_view_keeps_its_zoom_through_resizes_and_gives_it_back(qtbot):
    view = pg.GraphicsLayoutWidget()
    qtbot.addWidget(view)
    view.resize(400, 300)
    view.show()
    zoom = pg_compat.Zoom(1.5)
    zoom.attach(view)
    assert view.transform().m11() == pytest.approx(1.5, rel=0.02)   # (its frame takes a pixel or two)
    view.resize(600, 450)                     # a visible widget gets its resize event at once
    assert view.transform().m11() == pytest.approx(1.5, rel=0.02)   # (its frame takes a pixel or two)
    assert view.range.width() == pytest.approx(600 / 1.5)
    zoom.detach(view)
    view.resize(500, 400)
    assert view.transform().m11() == pytest.approx(1.0) and view.range.width() == pytest.approx(500)


# -- dock titles -----------------------------------------------------------------------------------------
def test_a_dock_title_changes_its_size_after_construction(qtbot):
    area = DockArea()
    qtbot.addWidget(area)
    dock = Dock("Kernels", fontSize="14px")
    area.addDock(dock)
    pg_compat.set_dock_title_px(dock, 21)
    assert "font-size: 21px" in dock.label.styleSheet()
    pg_compat.set_dock_title_px(dock, 14)
    assert "font-size: 14px" in dock.label.styleSheet() and "21px" not in dock.label.styleSheet()


# -- the rules these workarounds keep ---------------------------------------------------------------
def gui_sources():
    import ast
    from pathlib import Path

    root = Path(__file__).resolve().parents[2] / "cnnviz" / "gui"
    return [(path, ast.parse(path.read_text())) for path in sorted(root.rglob("*.py"))]


def test_no_module_but_pg_compat_reaches_into_another_objects_privates():
    """pyqtgraph's (and the parts' own) underscored attributes are read or written in pg_compat
    only; everywhere else an object touches its own (self, cls) and others' public interfaces."""
    import ast

    found = []
    for path, tree in gui_sources():
        if path.name == "pg_compat.py":
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.startswith("__"):
                if not (isinstance(node.value, ast.Name) and node.value.id in ("self", "cls")):
                    found.append(f"{path.name}:{node.lineno} {ast.unparse(node)}")
    assert found == []


def test_the_window_is_composed_not_mixed_in():
    import ast

    mixed = [f"{path.name}: {node.name}({', '.join(ast.unparse(b) for b in node.bases)})"
             for path, tree in gui_sources() for node in ast.walk(tree)
             if isinstance(node, ast.ClassDef) and (len(node.bases) > 1 or "mixin" in node.name.lower())]
    assert mixed == []

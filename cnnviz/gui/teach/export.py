"""Saving what is on screen: a widget or the whole window as PNG, a pyqtgraph plot as PNG or SVG.

Every file is written to a temp file beside the target and renamed over it only when complete
(``cnnviz.session.records.atomic_write``), so a failed export never damages an existing file; failures
raise ExportError with one sentence naming the file. The Qt-free exports (snapshot .npz, curves CSV) are
re-exported from ``cnnviz.session.records``.
"""

from __future__ import annotations

from pathlib import Path

import pyqtgraph as pg
from pyqtgraph import exporters
from PyQt6 import QtCore, QtGui, QtWidgets
from PyQt6.QtSvg import QSvgGenerator

from cnnviz.session.records import ExportError, atomic_write, export_curves_csv, export_snapshot_npz

__all__ = ["ExportError", "export_curves_csv", "export_plot_png", "export_plot_svg", "export_snapshot_npz", "export_widget_svg",
           "export_widget_png", "export_window_png"]


def _save_image(image: QtGui.QImage, path) -> Path:
    if image.isNull() or image.width() == 0 or image.height() == 0:
        raise ExportError(f"cannot write {path}: there is nothing on screen to save (zero size).")

    def write(tmp):
        if not image.save(tmp, "PNG"):
            raise OSError(f"Qt could not encode a {image.width()}x{image.height()} PNG")

    return atomic_write(path, write)


def export_widget_png(widget: QtWidgets.QWidget, path, scale: float = 1.0) -> Path:
    """Render ``widget`` (and its children, as on screen) to a PNG at ``path``; ``scale`` > 1 renders
    it larger (e.g. 2 for a sharper figure on a slide). Works for hidden and offscreen widgets too."""
    size = widget.size()
    if size.width() <= 0 or size.height() <= 0:
        widget.adjustSize()
        size = widget.size()
    image = QtGui.QImage(max(1, round(size.width() * scale)), max(1, round(size.height() * scale)),
                         QtGui.QImage.Format.Format_ARGB32)
    image.fill(QtGui.QColor("white"))
    painter = QtGui.QPainter(image)
    try:
        painter.scale(scale, scale)
        widget.render(painter)
    finally:
        painter.end()
    return _save_image(image, path)


def export_window_png(window: QtWidgets.QWidget, path, scale: float = 1.0) -> Path:
    """The whole main window (menus, toolbars, every dock) as one PNG."""
    return export_widget_png(window.window() if window.window() is not None else window, path, scale)


def _export_target(plot):
    """What a pyqtgraph exporter accepts: a PlotItem / GraphicsLayout item, or a widget's scene."""
    if isinstance(plot, pg.PlotWidget):
        return plot.getPlotItem()
    if isinstance(plot, QtWidgets.QGraphicsView):      # GraphicsLayoutWidget, GraphicsView
        return plot.scene()
    if hasattr(plot, "canvas") and isinstance(plot.canvas, QtWidgets.QGraphicsView):   # a Panel
        return plot.canvas.scene()
    if isinstance(plot, (QtWidgets.QGraphicsItem, QtWidgets.QGraphicsScene)):
        return plot
    raise ExportError(f"cannot export a {type(plot).__name__}: it is not a pyqtgraph plot.")


def _qt_svg(target) -> bytes:
    """Render a scene or a graphics item with Qt's own SVG generator (used when pyqtgraph's exporter
    fails: its path rewriting does not parse the path syntax newer Qt versions write)."""
    scene = target if isinstance(target, QtWidgets.QGraphicsScene) else target.scene()
    if isinstance(target, QtWidgets.QGraphicsScene):
        views = scene.views()
        source = (views[0].mapToScene(views[0].viewport().rect()).boundingRect() if views
                  else scene.itemsBoundingRect())
    else:
        source = target.sceneBoundingRect()
    buffer = QtCore.QBuffer()
    buffer.open(QtCore.QIODevice.OpenModeFlag.WriteOnly)
    generator = QSvgGenerator()
    generator.setOutputDevice(buffer)
    generator.setSize(source.size().toSize())
    generator.setViewBox(QtCore.QRectF(0, 0, source.width(), source.height()))
    generator.setTitle("cnnviz")
    painter = QtGui.QPainter(generator)
    try:
        scene.render(painter, QtCore.QRectF(0, 0, source.width(), source.height()), source)
    finally:
        painter.end()
    return bytes(buffer.data())


def export_plot_svg(plot_item_or_widget, path) -> Path:
    """A pyqtgraph plot (PlotItem, PlotWidget, GraphicsLayoutWidget or a Panel with a ``canvas``) as
    SVG: vector lines and text, images embedded as bitmaps."""
    target = _export_target(plot_item_or_widget)
    try:
        data = exporters.SVGExporter(target).export(toBytes=True)
    except (ValueError, IndexError):
        data = _qt_svg(target)

    def write(tmp):
        with open(tmp, "wb") as handle:
            handle.write(data)

    return atomic_write(path, write)


def export_plot_png(plot_item_or_widget, path, width: int | None = None) -> Path:
    """A pyqtgraph plot as PNG through pyqtgraph's ImageExporter; ``width`` in pixels (the height
    follows the aspect ratio), default the size on screen."""
    exporter = exporters.ImageExporter(_export_target(plot_item_or_widget))
    if width:
        exporter.parameters()["width"] = int(width)
    if int(exporter.parameters()["width"]) <= 0 or int(exporter.parameters()["height"]) <= 0:
        raise ExportError(f"cannot write {path}: the plot has no size yet (is it shown?).")
    return _save_image(exporter.export(toBytes=True), path)


def export_widget_svg(widget: QtWidgets.QWidget, path) -> Path:
    """Any widget (one that is not a pyqtgraph plot, such as the network strip) as SVG, painted by
    Qt's SVG generator: its text and lines stay vectors."""
    size = widget.size()
    if size.width() <= 0 or size.height() <= 0:
        raise ExportError(f"cannot write {path}: the panel has no size yet (is it shown?).")
    buffer = QtCore.QBuffer()
    buffer.open(QtCore.QIODevice.OpenModeFlag.WriteOnly)
    generator = QSvgGenerator()
    generator.setOutputDevice(buffer)
    generator.setSize(size)
    generator.setViewBox(QtCore.QRect(0, 0, size.width(), size.height()))
    generator.setTitle("cnnviz")
    painter = QtGui.QPainter(generator)
    try:
        widget.render(painter)
    finally:
        painter.end()
    data = bytes(buffer.data())

    def write(tmp):
        with open(tmp, "wb") as handle:
            handle.write(data)

    return atomic_write(path, write)

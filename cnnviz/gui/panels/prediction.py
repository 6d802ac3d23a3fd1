"""Prediction: the softmax probabilities of the probe image as horizontal bars (one BarGraphItem),
class names on the axis, the true class in green with a "true" mark, the predicted class (largest p) marked
and red when it is wrong (blue when there is no label)."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PyQt6 import QtGui

from cnnviz.gui import theme
from cnnviz.gui.panels.common import LIVE_CAPTION_INTERVAL, Panel, cache_paint


# the smallest font for the class names beside the bars (about 9 px at 96 dpi: still readable)
MIN_NAME_PT = 7


class PredictionPanel(Panel):
    title = "Prediction"

    def __init__(self, parent=None):
        super().__init__(parent)
        self._shown_at = -float("inf")
        self.plot = self.canvas.addPlot(row=0, col=0)
        p = self.plot
        p.hideButtons()
        p.setMenuEnabled(False)
        p.setMouseEnabled(x=False, y=False)
        p.invertY(True)    # class 0 at the top
        p.setXRange(0, 1.32, padding=0)   # room right of the bars for the value and the marks
        p.getAxis("bottom").setTicks([[(v, f"{v:.1f}") for v in np.linspace(0, 1, 6)], []])
        p.showGrid(x=True, y=False, alpha=0.25)
        p.getAxis("bottom").setStyle(maxTickLevel=1)
        for name in ("left", "bottom"):
            p.getAxis(name).setTickFont(theme.font(self.theme.title_pt if name == "left" else self.theme.font_pt))
            p.getAxis(name).setTextPen(theme.TEXT)
        p.setLabel("bottom", "probability p (softmax)", **{"font-size": f"{self.theme.font_pt}pt"})
        cache_paint(p.getAxis("left"), p.getAxis("bottom"))   # the grid axis spans the bars: repainted by a copy
        self.bars = pg.BarGraphItem(x0=[], y=[], height=[], width=[])
        p.addItem(self.bars)
        self.value_items: list[pg.TextItem] = []
        self.placeholder = pg.TextItem("", color=theme.MUTED, anchor=(0.5, 0.5))
        self.placeholder.setFont(theme.font(self.theme.title_pt))
        p.addItem(self.placeholder)
        self.placeholder.hide()
        p.getViewBox().sigResized.connect(self._fit_labels)
        self.probs: np.ndarray | None = None
        self.true_class: int | None = None
        self.predicted: int | None = None
        self.brushes: list = []
        self._names = None
        self._brushes: dict = {}
        self._pens: dict = {}
        self._label_keys: dict[int, tuple] = {}   # row -> what its value label shows (text, place, colour, size)

    def _set_classes(self, names: tuple[str, ...]) -> None:
        if names == self._names:
            return
        self._names = names
        n = len(names)
        self._ticks_shown = None   # _fit_labels sets the axis ticks
        self.plot.setYRange(-0.6, n - 0.4, padding=0)
        for item in self.value_items:
            self.plot.removeItem(item)
        self.value_items = []
        self._label_keys.clear()
        for i in range(n):
            item = pg.TextItem("", color=theme.TEXT, anchor=(0, 0.5))
            item.setFont(theme.font(self.theme.small_pt))
            self.plot.addItem(item)
            self.value_items.append(item)

    def show_snapshot(self, snapshot, layer_index: int | None) -> None:
        # live, the bars follow the caption's pace (LIVE_CAPTION_INTERVAL): its percentages and the
        # bars' labels must come from one snapshot, or the screen shows two values for one probability
        now = self.clock()
        if snapshot.phase == "training" and self.snapshot is not None and getattr(self.snapshot, "phase", None) == \
                "training" and now - self._shown_at < LIVE_CAPTION_INTERVAL:
            return
        self._shown_at = now
        self._remember(snapshot, layer_index)
        probs = snapshot.probs
        if probs is None:
            self.probs = None
            self.bars.setOpts(x0=[], y=[], height=[], width=[])
            for item in self.value_items:
                item.setText("")
            self._label_keys.clear()
            self.true_class = self.predicted = None
            self.placeholder.setText("no prediction yet — run the forward pass")
            self.placeholder.setPos(0.66, 4.5)
            self.placeholder.show()
            self.set_caption("Softmax probabilities of the probe image.")
            return
        self.placeholder.hide()
        probs = np.asarray(probs, dtype=np.float64)
        n = len(probs)
        names = tuple(snapshot.class_names) if len(snapshot.class_names) == n else tuple(str(i) for i in range(n))
        self._set_classes(names)
        true = snapshot.probe_label
        pred = int(np.argmax(probs))
        has_true = true is not None and 0 <= true < n
        colours = [None] * n     # None: a plain grey bar
        colours[pred] = self.theme.predicted
        if has_true:
            colours[true] = self.theme.true_class
            if pred != true:
                colours[pred] = self.theme.wrong
        brushes = [self._brush(c or theme.BAR) for c in colours]
        pens = [self._pen(c) for c in colours]
        self.bars.setOpts(x0=np.zeros(n), y=np.arange(n), height=np.full(n, 0.75), width=probs,
                          brushes=brushes, pens=pens)
        roles = []
        for i in range(n):
            role, colour = "", theme.TEXT
            if has_true and i == true:
                role, colour = ("true = predicted" if pred == true else "true class"), self.theme.true_class
            elif i == pred:
                role, colour = "predicted", (self.theme.wrong if has_true else self.theme.predicted)
            roles.append((role, colour))
        self.probs, self.true_class, self.predicted, self.brushes = probs, true, pred, brushes
        self._roles = roles
        self._fit_labels()
        self.set_caption(self._caption(names, probs, true, pred, snapshot.probe_loss))

    def _brush(self, colour: str) -> QtGui.QBrush:
        """One brush per colour, made once (mkBrush per bar per frame was a tenth of the panel's time)."""
        if colour not in self._brushes:
            self._brushes[colour] = pg.mkBrush(colour)
        return self._brushes[colour]

    def _pen(self, colour: str | None) -> QtGui.QPen:
        if colour not in self._pens:
            self._pens[colour] = pg.mkPen(colour, width=3) if colour else pg.mkPen(None)
        return self._pens[colour]

    def theme_changed(self, old_scale: float) -> None:
        super().theme_changed(old_scale)
        self._names = None        # value labels made again in the new font size
        self._tick_pt = None      # and the class names' font chosen again
        self._brushes.clear()
        self._pens.clear()

    def _fit_labels(self, *_args) -> None:
        """In a low dock (rows lower than a label) only the true and predicted bars keep their value
        labels, the role labels in the small font; each label sits inside its bar only when it fits
        there. The class names on the axis stay whenever a small font fits the rows."""
        px_x, px_y = self.plot.getViewBox().viewPixelSize()
        row_px = 1.0 / max(px_y, 1e-9)
        unit_px = 1.0 / max(px_x, 1e-9)         # screen pixels per probability 1
        roles = {self.true_class, self.predicted}
        room = row_px >= 1.1 * self._metrics(self.theme.small_pt, False).height()
        big = row_px >= 1.1 * self._metrics(self.theme.font_pt, True).height()
        probs = self.probs
        for i, item in enumerate(self.value_items):
            item.setVisible(room or i in roles)
            if probs is not None and i < len(probs) and i < len(getattr(self, "_roles", ())):
                role, colour = self._roles[i]
                self._label(item, probs[i], i, role, colour, unit_px, big)
        # class names on the axis too: all of them in the largest tick font whose lines do not
        # overlap at this row height (at step 0 every bar is ~10%: unnamed bars cannot be told
        # apart); only in a really low dock just the two that matter
        names = self._names or ()
        tick_pt = self.name_font_pt(row_px)
        all_names = tick_pt is not None
        shown = tuple(i for i in range(len(names)) if all_names or i in roles)
        tick_pt = tick_pt or self.theme.title_pt
        if tick_pt != getattr(self, "_tick_pt", None):
            self._tick_pt = tick_pt
            self.plot.getAxis("left").setTickFont(theme.font(tick_pt))
        if shown != getattr(self, "_ticks_shown", None):
            self._ticks_shown = shown
            self.plot.getAxis("left").setTicks([[(i, self._tick_name(i, names[i])) for i in shown], []])

    def name_font_pt(self, row_px: float) -> int | None:
        """The largest tick font (down to MIN_NAME_PT) in which every class name fits its row:
        pyqtgraph's axis gives a label 0.8 of its font's line height, so names do not overlap when
        that is at most the row's height. None: rows are too low even for the smallest."""
        for pt in sorted({self.theme.title_pt, self.theme.font_pt, self.theme.small_pt, 9, 8, MIN_NAME_PT}, reverse=True):
            if pt >= MIN_NAME_PT and 0.8 * self._metrics(pt, False).height() <= row_px:
                return pt
        return None

    @staticmethod
    def _tick_name(i: int, name: str) -> str:
        return f"{i}: {name}" if name != str(i) else name

    @property
    def true_item(self):
        """The label beside the true class's bar (it says "true class"), or None."""
        return self.value_items[self.true_class] if self.true_class is not None else None

    @property
    def pred_item(self):
        return self.value_items[self.predicted] if self.predicted is not None else None

    _fonts: dict = {}     # (pt, bold) -> (font, metrics, {text: width}): made once per font

    @classmethod
    def _metrics(cls, pt: int, bold: bool) -> QtGui.QFontMetrics:
        return cls._font_entry(pt, bold)[1]

    @classmethod
    def _font_entry(cls, pt: int, bold: bool):
        key = (pt, bold)
        if key not in cls._fonts:
            f = theme.font(pt, bold=bold)
            cls._fonts[key] = (f, QtGui.QFontMetrics(f), {})
        return cls._fonts[key]

    @classmethod
    def _width(cls, text: str, pt: int, bold: bool) -> int:
        _font, metrics, widths = cls._font_entry(pt, bold)
        if text not in widths:
            if len(widths) > 4000:
                widths.clear()
            widths[text] = metrics.horizontalAdvance(text)
        return widths[text]

    def _label(self, item, p: float, row: int, role: str, colour: str, unit_px: float = 0.0,
               big: bool = True) -> None:
        """"12.3%" beside the bar's end, plus the bar's role ("true class", "predicted") in its colour.
        Inside the bar, in white, only when the whole text fits in it (with a margin), so it never
        sticks out of a short bar; a long bar whose label would not fit right of it keeps it inside.
        unit_px: screen pixels per probability 1 (0: not laid out yet, guess by p)."""
        pct = f"{100 * p:.1f}%"
        pt, bold = (self.theme.font_pt if (role and big) else self.theme.small_pt), bool(role)
        font = self._font_entry(pt, bold)[0]
        inner = f"{role} ▶ {pct}" if role else pct
        outer = f"{pct}  ◀ {role}" if role else pct
        if unit_px > 0:
            bar_px = p * unit_px
            fits_in = self._width(inner, pt, bold) + 12 <= bar_px
            fits_out = (1.32 - p - 0.01) * unit_px >= self._width(outer, pt, bold) + 4
            inside = fits_in and (not fits_out or p > 0.62)
        else:
            inside = p > 0.62
        text = inner if inside else outer
        key = (text, inside, colour, font.pointSize())
        if self._label_keys.get(row) != key:
            self._label_keys[row] = key
            item.setText(text)
            item.setColor("w" if inside else colour)
            # inside: on a box of the bar's colour, so white text taller than a thin bar stays legible
            item.fill = pg.mkBrush(colour if inside else None)
            item.setFont(font)
            item.setAnchor((1, 0.5) if inside else (0, 0.5))
        item.setPos(p - 0.01 if inside else p + 0.01, row)
        item.inside = inside

    def _caption(self, names, probs, true, pred, loss) -> str:
        colour = self.theme.true_class if pred == true else self.theme.wrong
        got = f"predicted <b style='color:{colour}'>{names[pred]}</b> " \
              f"({100 * probs[pred]:.1f}%)"
        if true is None:
            return f"Softmax of the probe: {got}."
        verdict = "right" if pred == true else "wrong"
        loss_txt = f"; this image's loss −ln p<sub>true</sub> = {loss:.3f}" if loss is not None else ""
        return (f"True class <b style='color:{self.theme.true_class}'>{names[true]}</b> ({self.theme.words['true']} bar), {got}: "
                f"{verdict}{loss_txt}.")

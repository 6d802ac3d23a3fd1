"""One look for every panel: pyqtgraph options, colours, fonts, colour maps and level rules.

Importing this module sets pyqtgraph's global options once (rule 7): row-major images, a light
background with dark text (readable on a projector), no OpenGL.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PyQt6 import QtCore, QtGui

pg.setConfigOptions(imageAxisOrder="row-major", background="w", foreground="k",
                    antialias=False, useOpenGL=False)


def _tolerate_half_built_labels() -> None:
    """pyqtgraph's LabelItem answers Qt's sizeHint from ``self._sizeHint``, which it sets only at the
    end of __init__; when Qt asks for a layout in between (or after Python has torn the wrapper
    down), the exception escapes into the event loop (pyqtgraph issue #472; seen here intermittently
    in the window's tests). Such a label has no size yet, so it says so instead of raising."""
    original = pg.LabelItem.sizeHint
    if getattr(original, "tolerant", False):
        return

    def size_hint(self, hint, constraint):
        if not hasattr(self, "_sizeHint"):
            return QtCore.QSizeF(0, 0)
        return original(self, hint, constraint)

    size_hint.tolerant = True
    pg.LabelItem.sizeHint = size_hint


_tolerate_half_built_labels()

# -- colours ----------------------------------------------------------------------------------
BACKGROUND = "#ffffff"
TEXT = "#1a1a1a"
MUTED = "#666666"
GRID = "#c8c8c8"          # mosaic separators
WINDOW_GRID = "#8a8a8a"   # pooling windows
WINNER = "#ff7f00"        # max-pool winners (orange: visible on greys and on blue/red)
TRUE_CLASS = "#1b9e3a"    # green
PREDICTED = "#2166ac"     # blue
WRONG = "#c0392b"         # red: predicted but not the true class
BAR = "#b0b0b0"
RAW_LINE = "#9ecae1"
SMOOTH_LINE = "#08519c"
ACC_RAW = "#fdd0a2"
ACC_SMOOTH = "#d94801"
VAL_LINE = "#238b45"

# -- fonts ------------------------------------------------------------------------------------
FONT_PT = 11          # axis ticks, labels
TITLE_PT = 12         # panel captions
SMALL_PT = 10         # tile numbers inside mosaics (never below 10 pt)


def font(point_size: int = FONT_PT, bold: bool = False) -> QtGui.QFont:
    f = QtGui.QFont()
    f.setPointSize(point_size)
    f.setBold(bold)
    return f


# -- colour maps (256-entry lookup tables) ---------------------------------------------------
DIVERGING = pg.ColorMap(
    pos=np.linspace(0.0, 1.0, 5),
    color=[(5, 48, 97), (67, 147, 195), (247, 247, 247), (214, 96, 77), (103, 0, 31)],
    name="blue-white-red")
# white = 0 like the diverging map's centre, so a ReLU's a looks like its z with the blue cut away
SEQUENTIAL = pg.ColorMap(
    pos=np.linspace(0.0, 1.0, 5),
    color=[(255, 255, 255), (253, 204, 138), (252, 141, 89), (215, 48, 31), (127, 0, 0)],
    name="white-orange-red")
GREYS_INK = pg.ColorMap(pos=[0.0, 1.0], color=[(255, 255, 255), (0, 0, 0)], name="ink")  # 0 white, 1 black

LUT_SIZE = 256


def lut(cmap: pg.ColorMap) -> np.ndarray:
    """The (256, 3) uint8 lookup table of ``cmap``."""
    return cmap.getLookupTable(nPts=LUT_SIZE, alpha=False)


# -- lecture mode: a global font scale and a colour-blind-safe palette ---------------------------
# Panels read the names above when they draw; set_font_scale / set_palette rebind them and bump
# ``generation``, and a panel that drew under an older generation re-applies fonts and colour maps
# on its next frame (Panel.sync_theme). Code that reads theme.X at drawing time needs nothing else.
BASE_PT = {"FONT_PT": FONT_PT, "TITLE_PT": TITLE_PT, "SMALL_PT": SMALL_PT}
PALETTES = {
    "default": {
        "DIVERGING": DIVERGING, "SEQUENTIAL": SEQUENTIAL, "WINNER": WINNER, "TRUE_CLASS": TRUE_CLASS,
        "PREDICTED": PREDICTED, "WRONG": WRONG, "VAL_LINE": VAL_LINE,
        "WORDS": {"negative": "blue", "positive": "red", "winner": "orange", "true": "green", "wrong": "red",
                  "predicted": "blue", "validation": "green"},
    },
    # the same colours as lecture mode's: blue - white - orange for signed data (no red/green), white
    # then cividis for unsigned data (monotone in lightness), Okabe-Ito colours for classes and winners
    "colorblind": {
        "DIVERGING": pg.ColorMap(pos=np.linspace(0.0, 1.0, 5),
                                 color=[(8, 48, 107), (90, 160, 210), (247, 247, 247), (250, 160, 70), (127, 50, 0)],
                                 name="blue-white-orange"),
        "SEQUENTIAL": pg.ColorMap(pos=np.linspace(0.0, 1.0, 9),
                                  color=[(255, 255, 255), (224, 203, 93), (188, 175, 111), (155, 148, 119),
                                         (124, 123, 120), (96, 100, 111), (64, 77, 107), (5, 54, 110), (0, 32, 77)],
                                  name="white-cividis"),
        "WINNER": "#CC79A7", "TRUE_CLASS": "#009E73", "PREDICTED": "#0072B2", "WRONG": "#D55E00",
        "VAL_LINE": "#009E73",
        "WORDS": {"negative": "blue", "positive": "orange", "winner": "pink", "true": "green",
                  "wrong": "vermilion", "predicted": "blue", "validation": "green"},
    },
}
WORDS = PALETTES["default"]["WORDS"]
font_scale = 1.0
palette = "default"
generation = 0        # bumped by every change of font scale or palette


def set_font_scale(scale: float) -> None:
    """Every panel's text ``scale`` times its normal size (e.g. 1.5 on a projector), from the next
    frame on. Clamped to 0.5..3."""
    global font_scale, generation
    scale = min(3.0, max(0.5, float(scale)))
    if scale != font_scale:
        font_scale = scale
        for name, base in BASE_PT.items():
            globals()[name] = max(6, round(base * scale))
        generation += 1


def set_palette(name: str) -> None:
    """"default" or "colorblind" (colour maps, winner and class colours safe for red-green colour
    blindness); panels pick it up on their next frame."""
    global palette, generation
    if name not in PALETTES:
        raise ValueError(f"Unknown palette {name!r}: choose one of {', '.join(PALETTES)}.")
    if name != palette:
        palette = name
        globals().update(PALETTES[name])
        generation += 1


def signed_words() -> str:
    """'blue &lt; 0 &lt; red' in the colours of the current palette (HTML)."""
    return f"{WORDS['negative']} &lt; 0 &lt; {WORDS['positive']}"


# -- levels -----------------------------------------------------------------------------------
TINY = 1e-12


def symmetric_levels(data: np.ndarray | None) -> tuple[float, float]:
    """(-m, m) with m = max|data| (never 0, so an all-zero array still has a valid range)."""
    if data is None or data.size == 0:
        return (-1.0, 1.0)
    m = float(np.max(np.abs(data)))
    if not np.isfinite(m) or m == 0.0:
        return (-1.0, 1.0)            # all zero: any range draws it white; ±1 reads as "nothing here"
    return (-m, m)


def sequential_levels(data: np.ndarray | None) -> tuple[float, float]:
    """(min(0, lo), hi) for unsigned data such as activations; never an empty range."""
    if data is None or data.size == 0:
        return (0.0, 1.0)
    lo, hi = float(np.min(data)), float(np.max(data))
    lo = min(lo, 0.0)
    if not (np.isfinite(lo) and np.isfinite(hi)):
        return (0.0, 1.0)
    if hi - lo <= TINY:
        hi = lo + 1.0 if hi <= TINY else hi * 1.0001 + TINY
    return (lo, hi)


def value_range(data: np.ndarray | None) -> tuple[float, float]:
    """(min, max) of the data, never an empty range."""
    if data is None or data.size == 0:
        return (0.0, 1.0)
    lo, hi = float(np.min(data)), float(np.max(data))
    if not (np.isfinite(lo) and np.isfinite(hi)):
        return (0.0, 1.0)
    if hi - lo <= TINY:
        return (lo - 0.5, hi + 0.5) if lo == 0 else (lo - abs(lo) * 0.01, hi + abs(hi) * 0.01)
    return (lo, hi)


def colouring(data: np.ndarray, signed: bool | None = None, levels=None):
    """Rule 7 in one place: (levels, colour map) for ``data``. Signed data (any value < 0, unless
    ``signed`` says otherwise) gets the diverging map with levels symmetric about 0; unsigned the
    sequential map. Given ``levels`` are kept."""
    if signed is None:
        signed = is_signed(data)
    if levels is None:
        levels = symmetric_levels(data) if signed else sequential_levels(data)
    return levels, (DIVERGING if signed else SEQUENTIAL)


def is_signed(data: np.ndarray | None) -> bool:
    return data is not None and data.size > 0 and float(np.min(data)) < 0.0


def fmt(value: float) -> str:
    """A number in few characters: 0.0123, 1.2e-05, 134."""
    value = float(value)
    if value == 0 or 1e-3 <= abs(value) < 1e4:
        return f"{value:.3g}"
    return f"{value:.2e}"


def tick_text(value: float) -> str:
    """Short tick label for a colour bar: 0, 0.25, 1.5, 2e-4, -3.1e-5."""
    value = float(value)
    if value == 0:   # only a true zero: a confident probe's gradients are ~1e-17, and read "0" they
        return "0"   # made the bar's range 0..0 (bar_ticks already rounds the middle tick to 0)
    if 1e-2 <= abs(value) < 1e4:
        return f"{value:.3g}"
    mantissa, exponent = f"{value:.1e}".split("e")
    mantissa = mantissa.rstrip("0").rstrip(".")
    return f"{mantissa}e{int(exponent)}"


def readable_ticks(axis) -> None:
    """Colour-bar axis: every tick written out in short form (no hidden SI prefix), wide enough."""
    axis.enableAutoSIPrefix(False)
    axis.tickStrings = lambda values, scale, spacing: [tick_text(v * scale) for v in values]
    fit_bar_axis(axis)


def fit_bar_axis(axis) -> int:
    """Size a colour bar's axis for its tick font (again after a font-scale change): pyqtgraph silently
    drops a label wider than the axis or sticking out past its ends, and at 1.5x the fixed 68 px and
    15 px overhang lost the end labels (the range). Returns the overhang an end label needs (px)."""
    metrics = QtGui.QFontMetrics(axis.style.get("tickFont") or font(SMALL_PT))
    overhang = metrics.height() // 2 + 2
    axis.setStyle(hideOverlappingLabels=overhang)   # keep the end labels: they are the range
    # "-4.2e-10" must fit
    axis.setWidth(metrics.horizontalAdvance("-4.2e-10") + max(0, axis.style["tickLength"])
                  + axis.style["tickTextOffset"][0] + 6)
    return overhang


def bar_ticks(levels: tuple[float, float], count: int = 5) -> list:
    """``count`` labelled ticks from the low to the high level: the exact range is readable at the
    ends (fewer ticks on a short bar, so the labels never overlap)."""
    lo, hi = levels
    values = np.linspace(lo, hi, max(2, count))
    span = hi - lo
    # the end ticks sit a hair inside the range: exactly at the ends, rounding can drop them
    places = np.clip(values, lo + 1e-6 * span, hi - 1e-6 * span)
    major = [(float(p), tick_text(v if abs(v) > 1e-6 * max(abs(lo), abs(hi)) else 0.0))
             for p, v in zip(places, values)]
    return [major, []]


def shape_text(shape) -> str:
    return "x".join(str(int(s)) for s in shape)


STYLE_SHEET = f"""
QLabel#caption {{ font-size: {TITLE_PT}pt; color: {TEXT}; }}
QLabel#placeholder {{ font-size: {TITLE_PT}pt; color: {MUTED}; }}
"""

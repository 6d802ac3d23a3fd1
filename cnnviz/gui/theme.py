"""One look for every panel: pyqtgraph options, colours, fonts, colour maps and level rules.

Importing this module sets pyqtgraph's global options once (rule 7): row-major images, a light
background with dark text (readable on a projector), no OpenGL. What lecture mode and the
colour-blind switch change is a frozen ``Theme`` (``make_theme(palette, font_scale)``), handed to
each part by the window's ``apply_theme``; the constants here never change.
"""

from __future__ import annotations

import dataclasses
import functools
import types

import numpy as np
import pyqtgraph as pg
from PyQt6 import QtGui

pg.setConfigOptions(imageAxisOrder="row-major", background="w", foreground="k",
                    antialias=False, useOpenGL=False)

# -- colours ----------------------------------------------------------------------------------
BACKGROUND = "#ffffff"
TEXT = "#1a1a1a"
MUTED = "#666666"
GRID = "#c8c8c8"          # mosaic separators
WINDOW_GRID = "#8a8a8a"   # pooling windows
DEAD = "#d4009b"          # dead channels' cross (magenta: apart from the diverging map's red and blue)
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
FONT_PT = 11          # axis ticks, labels (at font scale 1: a Theme scales them)
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


# -- a look: palette and font scale, frozen ------------------------------------------------------
# The colours and sizes that change with lecture mode or the colour-blind switch live in a Theme, a
# frozen object. A part keeps the one it was given and draws with it; a switch builds a new Theme and
# the window applies it to every part once (``apply_theme``): nothing is rebound, nothing is polled.
PALETTES = {
    "default": {
        "diverging": DIVERGING, "sequential": SEQUENTIAL, "winner": WINNER, "true_class": TRUE_CLASS,
        "predicted": PREDICTED, "wrong": WRONG, "val_line": VAL_LINE,
        "words": {"negative": "blue", "positive": "red", "winner": "orange", "true": "green", "wrong": "red",
                  "predicted": "blue", "validation": "green"},
    },
    # blue - white - orange for signed data (no red/green), white then cividis for unsigned data
    # (monotone in lightness), Okabe-Ito colours for classes and winners
    "colorblind": {
        "diverging": pg.ColorMap(pos=np.linspace(0.0, 1.0, 5),
                                 color=[(8, 48, 107), (90, 160, 210), (247, 247, 247), (250, 160, 70), (127, 50, 0)],
                                 name="blue-white-orange"),
        "sequential": pg.ColorMap(pos=np.linspace(0.0, 1.0, 9),
                                  color=[(255, 255, 255), (224, 203, 93), (188, 175, 111), (155, 148, 119),
                                         (124, 123, 120), (96, 100, 111), (64, 77, 107), (5, 54, 110), (0, 32, 77)],
                                  name="white-cividis"),
        "winner": "#CC79A7", "true_class": "#009E73", "predicted": "#0072B2", "wrong": "#D55E00",
        "val_line": "#009E73",
        "words": {"negative": "blue", "positive": "orange", "winner": "pink", "true": "green",
                  "wrong": "vermilion", "predicted": "blue", "validation": "green"},
    },
}


@dataclasses.dataclass(frozen=True, eq=False)
class Theme:
    """One look: the palette's colour maps and colours, and the font sizes at ``font_scale`` (1.5
    on a projector). Made by ``make_theme`` (one object per palette and scale, so a part can tell
    "same look" by identity); never changed: a new look is a new Theme."""

    palette: str
    font_scale: float
    font_pt: int                 # axis ticks, labels
    title_pt: int                # panel captions
    small_pt: int                # tile numbers inside mosaics
    diverging: pg.ColorMap       # signed data: kernels, gradients, z
    sequential: pg.ColorMap      # unsigned data: activations
    winner: str                  # max-pool winners
    true_class: str
    predicted: str
    wrong: str                   # predicted but not the true class
    val_line: str
    words: types.MappingProxyType   # the colours' names, for captions ("blue", "orange", ...)

    def scaled(self, font_scale: float) -> "Theme":
        return make_theme(self.palette, font_scale)

    def with_palette(self, palette: str) -> "Theme":
        return make_theme(palette, self.font_scale)

    def colouring(self, data: np.ndarray, signed: bool | None = None, levels=None):
        """Rule 7 in one place: (levels, colour map) for ``data``. Signed data (any value < 0, unless
        ``signed`` says otherwise) gets the diverging map with levels symmetric about 0; unsigned the
        sequential map. Given ``levels`` are kept."""
        if signed is None:
            signed = is_signed(data)
        if levels is None:
            levels = symmetric_levels(data) if signed else sequential_levels(data)
        return levels, (self.diverging if signed else self.sequential)

    def signed_words(self) -> str:
        """'blue &lt; 0 &lt; red' in this palette's colours (HTML)."""
        return f"{self.words['negative']} &lt; 0 &lt; {self.words['positive']}"


def make_theme(palette: str = "default", font_scale: float = 1.0) -> Theme:
    """The Theme of ``palette`` ("default" or "colorblind") with every text ``font_scale`` times its
    normal size (clamped to 0.5..3); the same object for the same look."""
    if palette not in PALETTES:
        raise ValueError(f"Unknown palette {palette!r}: choose one of {', '.join(PALETTES)}.")
    return _theme(palette, min(3.0, max(0.5, float(font_scale))))


@functools.lru_cache(maxsize=None)
def _theme(palette: str, scale: float) -> Theme:
    colours = dict(PALETTES[palette])
    words = types.MappingProxyType(dict(colours.pop("words")))
    sizes = {name: max(6, round(base * scale)) for name, base in
             (("font_pt", FONT_PT), ("title_pt", TITLE_PT), ("small_pt", SMALL_PT))}
    return Theme(palette=palette, font_scale=scale, words=words, **sizes, **colours)


DEFAULT = make_theme()


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

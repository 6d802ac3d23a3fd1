"""Pen paths of the built-in handwritten digits: how people write each digit, with its variations.

Each digit has a few *styles* (a 1 with or without a flag and a base, an open or closed 4, a 7 with or
without a bar, a 2 with a corner or a loop, an 8 in one stroke or as two loops...). A style is a
function of a ``Pen``, which draws every random number for ``n`` digits at once, and returns strokes:
arrays (n, m, 2) of control points (x to the right, y downwards, roughly in the unit box) through
which a Catmull-Rom spline is drawn. A sharp corner is two strokes sharing the corner point. The
positions are random over ranges rather than fixed, so a style is a continuum of shapes (a 6's
stem from straight to round, its loop from small to half the height); slant, aspect, rotation and
elastic distortion are added later, for all styles alike. The ranges were set by looking at real
MNIST digits and are checked, with the ink, against statistics measured on them (``digit_stats``).
"""

from __future__ import annotations

import numpy as np

from cnnviz.data.digit_strokes import Pen, arc, join, lerp, line, path


# ---- 0 -------------------------------------------------------------------------------------
def zero_oval(p: Pen):
    # From the top, anticlockwise (as most people write it), ending short of, on or past the start.
    egg = p.u(-0.12, 0.12)
    ring = arc(0.5, 0.5, 0.5, 0.5, p.u(-125, -60), -p.u(330, 400), 15, spiral=p.u(0.85, 1.05))
    ring[..., 0] = 0.5 + (ring[..., 0] - 0.5) * (1 + egg[:, None] * (ring[..., 1] - 0.5) * 2)
    return [ring]


def zero_clockwise(p: Pen):
    return [arc(0.5, 0.5, 0.5, 0.5, p.u(-110, -50), p.u(330, 390), 15, spiral=p.u(0.85, 1.05))]


def zero_hooked(p: Pen):
    # The pen starts inside at the top right and curls down into the ring.
    start = path((p.u(0.6, 0.8), p.u(0.1, 0.25)))
    ring = arc(0.5, 0.52, 0.5, 0.48, -70, -p.u(340, 370), 14)
    return [join(start, ring)]


# ---- 1 -------------------------------------------------------------------------------------
def _one_stem(p: Pen, top=0.0):
    x = 0.5 + p.u(-0.04, 0.04)
    return line((x, top), (x + p.u(-0.06, 0.06), 1.0), 5, bow=p.u(-0.05, 0.05))


def one_plain(p: Pen):
    return [_one_stem(p)]


def one_flag(p: Pen):
    stem = _one_stem(p)
    flag = line((0.5 - p.u(0.1, 0.3), p.u(0.08, 0.3)), (stem[:, 0, 0], 0.0), 3, bow=p.u(-0.1, 0.15))
    return [flag, stem]


def one_flag_base(p: Pen):
    flag, stem = one_flag(p)
    bottom = stem[:, -1]
    base = line((bottom[:, 0] - p.u(0.2, 0.4), 1.0), (bottom[:, 0] + p.u(0.2, 0.4), p.u(0.96, 1.03)), 4)
    return [flag, stem, base]


# ---- 2 -------------------------------------------------------------------------------------
def _two_top(p: Pen):
    """The hook and the diagonal of a 2, down to its bottom-left corner."""
    corner = (p.u(0.0, 0.15), p.u(0.92, 1.0))
    bend = p.u(-0.08, 0.1)  # > 0: the diagonal sags like an S, < 0: it bulges out
    return path((p.u(0.0, 0.2), p.u(0.1, 0.32)), (p.u(0.25, 0.42), p.u(0.0, 0.07)),
                (p.u(0.55, 0.72), p.u(-0.02, 0.03)), (p.u(0.82, 1.0), p.u(0.15, 0.35)),
                (p.u(0.62, 0.8) - bend, p.u(0.45, 0.6)), (p.u(0.3, 0.45) - bend, p.u(0.72, 0.84)),
                corner), corner


def two_corner(p: Pen):
    top, (cx, cy) = _two_top(p)
    base = line((cx, cy), (p.u(0.85, 1.1), p.u(0.9, 1.04)), 4, bow=p.u(-0.06, 0.04))
    return [top, base]


def two_loop(p: Pen):
    top, (cx, cy) = _two_top(p)
    size = p.u(0.08, 0.22)
    loop = path((cx + p.u(-0.03, 0.05), cy - size), (cx + size * p.u(1.0, 1.6), cy - size * 0.4),
                (p.u(0.5, 0.65), p.u(0.95, 1.02)), (p.u(0.85, 1.1), p.u(0.9, 1.02)))
    return [join(top, loop)]


# ---- 3 -------------------------------------------------------------------------------------
def _three_parts(p: Pen):
    # The points either side of the middle sit right of it, above and below, so that drawn in one
    # stroke the middle turns round smoothly instead of looping (which would read as an 8).
    mx, my = p.u(0.38, 0.56), p.u(0.42, 0.52)
    arm = p.u(0.15, 0.3)
    top = path((p.u(0.0, 0.22), p.u(0.05, 0.25)), (p.u(0.3, 0.5), p.u(-0.02, 0.04)),
               (p.u(0.72, 0.92), p.u(0.1, 0.24)), (mx + arm, my - p.u(0.05, 0.1)), (mx, my))
    bottom = path((mx, my), (mx + arm * p.u(0.8, 1.2), my + p.u(0.03, 0.08)),
                  (p.u(0.78, 0.98), p.u(0.64, 0.74)), (p.u(0.5, 0.7), p.u(0.96, 1.02)),
                  (p.u(0.0, 0.2), p.u(0.8, 0.95)))
    return top, bottom


def three_cusp(p: Pen):
    return list(_three_parts(p))


def three_round(p: Pen):
    return [join(*_three_parts(p))]


def three_flat(p: Pen):
    # A flat top and a diagonal down to the middle, like a 'Z' over a belly.
    top_y = p.u(-0.02, 0.06)
    right = (p.u(0.75, 0.95), p.u(-0.03, 0.05))
    mid = (p.u(0.3, 0.5), p.u(0.38, 0.48))
    bar = line((p.u(0.0, 0.15), top_y), right, 3)
    diag = line(right, mid, 3, bow=p.u(-0.05, 0.05))
    _, bottom = _three_parts(p)
    bottom[:, 0] = np.stack(mid, axis=-1)
    return [bar, diag, bottom]


# ---- 4 -------------------------------------------------------------------------------------
def _four_parts(p: Pen, top_x):
    bar_y = p.u(0.52, 0.74)
    stem_x = p.u(0.62, 0.82)
    left = (p.u(0.0, 0.1), bar_y)
    arm = line((top_x, p.u(-0.02, 0.08)), left, 4, bow=p.u(-0.06, 0.06))
    bar = line(left, (p.u(0.88, 1.08), bar_y + p.u(-0.08, 0.03)), 4)
    stem = line((stem_x, p.u(-0.05, 0.2)), (stem_x + p.u(-0.12, 0.05), 1.0), 5, bow=p.u(-0.03, 0.03))
    return arm, bar, stem


def four_closed(p: Pen):
    return list(_four_parts(p, p.u(0.42, 0.7)))


def four_open(p: Pen):
    arm, bar, stem = _four_parts(p, p.u(0.0, 0.32))
    stem[:, 0, 1] = p.u(-0.03, 0.12)      # an open 4's stem starts at the top
    return [join(arm, bar), stem]


def four_cup(p: Pen):
    # One stroke down, round the bottom and up to the right, like a 'u' or 'y': the stem crosses it.
    bar_y = p.u(0.5, 0.68)
    cup = path((p.u(0.0, 0.25), p.u(-0.02, 0.06)), (p.u(0.0, 0.12), bar_y - 0.15),
               (p.u(0.2, 0.35), bar_y + p.u(0.0, 0.05)), (p.u(0.65, 0.9), bar_y - p.u(0.0, 0.08)),
               (p.u(0.85, 1.05), bar_y - p.u(0.05, 0.15)))
    x = p.u(0.6, 0.8)
    return [cup, line((x, p.u(-0.03, 0.1)), (x + p.u(-0.12, 0.04), 1.0), 5)]


STYLES_0_TO_4 = {
    0: [(5, zero_oval), (1, zero_clockwise), (1, zero_hooked)],
    1: [(8, one_plain), (1.5, one_flag), (0.3, one_flag_base)],
    2: [(4, two_corner), (3, two_loop)],
    3: [(3, three_cusp), (3, three_round), (1, three_flat)],
    4: [(2, four_closed), (6, four_open), (1, four_cup)],
}


# ---- 5 -------------------------------------------------------------------------------------
def _five_belly(p: Pen, neck):
    nx, ny = neck
    return path(neck, (p.u(0.42, 0.6), ny - p.u(0.02, 0.1)), (p.u(0.8, 0.98), p.u(0.52, 0.68)),
                (p.u(0.72, 0.92), p.u(0.84, 0.95)), (p.u(0.35, 0.52), p.u(0.97, 1.03)),
                (p.u(0.0, 0.15), p.u(0.78, 0.95)))


def five_lifted(p: Pen):
    # Neck and belly in one stroke, the bar added after lifting the pen (often overshooting left).
    top = (p.u(0.12, 0.35), p.u(-0.02, 0.05))
    neck = (top[0] + p.u(-0.12, 0.02), p.u(0.35, 0.52))
    down = line(top, neck, 3, bow=p.u(-0.05, 0.05))
    bar = line((top[0] + p.u(-0.08, 0.02), top[1] + p.u(-0.02, 0.02)), (p.u(0.75, 1.05), p.u(-0.08, 0.05)),
               4, bow=p.u(-0.05, 0.05))
    return [down, _five_belly(p, neck), bar]


def five_one_stroke(p: Pen):
    # The bar from right to left, a corner, the neck down and the belly, without lifting the pen.
    top = (p.u(0.12, 0.35), p.u(-0.02, 0.05))
    neck = (top[0] + p.u(-0.12, 0.02), p.u(0.35, 0.52))
    bar = line((p.u(0.75, 1.05), p.u(-0.08, 0.04)), top, 4, bow=p.u(-0.04, 0.04))
    down = line(top, neck, 3)
    return [bar, join(down, _five_belly(p, neck))]


# ---- 6 -------------------------------------------------------------------------------------
def six(p: Pen):
    # The stem sweeps from the top right down the left side, which is also the loop's left side,
    # round the bottom, up the right and over the loop's top back to the stem. The stem goes from
    # straight to round, the loop from a third to over half the height, closed or open.
    r = p.u(0.18, 0.3)                  # loop half-height
    lx, rx = p.u(0.42, 0.58), p.u(0.26, 0.42)
    ly = 1.0 - r
    left = (p.u(0.0, 0.15), p.u(0.55, 0.75))
    top = (p.u(0.55, 0.85), p.u(-0.02, 0.03))
    curve = p.u(-0.05, 0.2)             # how far the stem's middle bulges out to the left
    mid = ((top[0] + left[0]) / 2 - curve, (top[1] + left[1]) / 2 - 0.05)
    end = (lx - rx * p.u(0.4, 0.95), ly + p.u(-0.08, 0.12))
    return [path(top, mid, left, (lx, 1.0), (lx + rx, ly), (lx, ly - r * p.u(0.9, 1.1)), end)]


# ---- 7 -------------------------------------------------------------------------------------
def _seven_parts(p: Pen):
    left = (p.u(0.0, 0.1), p.u(0.0, 0.15))
    right = (p.u(0.82, 1.02), p.u(-0.04, 0.06))
    bar = line(left, right, 4, bow=p.u(-0.08, 0.06))
    foot = (p.u(0.15, 0.6), 1.0)
    stem = line(right, foot, 5, bow=p.u(-0.1, 0.08))
    return bar, stem


def seven_plain(p: Pen):
    return list(_seven_parts(p))


def seven_round(p: Pen):
    return [join(*_seven_parts(p))]


def seven_barred(p: Pen):
    bar, stem = _seven_parts(p)
    x = stem[:, 2, 0]
    y = stem[:, 2, 1] + p.u(-0.05, 0.05)
    cross = line((x - p.u(0.15, 0.32), y + p.u(-0.03, 0.03)), (x + p.u(0.12, 0.3), y + p.u(-0.05, 0.02)), 4)
    return [bar, stem, cross]


def seven_serif(p: Pen):
    bar, stem = _seven_parts(p)
    hook = line((bar[:, 0, 0] + p.u(-0.03, 0.05), bar[:, 0, 1] + p.u(0.12, 0.3)), bar[:, 0].T, 3)
    return [hook, bar, stem]


# ---- 8 -------------------------------------------------------------------------------------
def eight_one_stroke(p: Pen):
    # From the top right, anticlockwise over the top loop, down through the waist, clockwise round
    # the bottom loop and back up through the waist, crossing the first pass like an X, to the
    # start (or past it). The second pass is a curve or, for some writers, one straight diagonal.
    cx, cy = p.u(0.42, 0.58), p.u(0.4, 0.52)
    wt, wb = p.u(0.26, 0.42), p.u(0.28, 0.46)
    a, d = p.u(0.05, 0.18), p.u(0.06, 0.14)
    tx, bx = cx + p.u(-0.06, 0.08), cx + p.u(-0.08, 0.06)
    start = (tx + wt * p.u(0.7, 1.1), cy * p.u(0.15, 0.5))
    down = path(start, (tx, 0.0), (tx - wt, cy * p.u(0.3, 0.6)), (cx - a, cy - d), (cx, cy),
                (cx + a, cy + d), (bx + wb, lerp(cy, 1.0, p.u(0.4, 0.65))), (bx, 1.0),
                (bx - wb, lerp(cy, 1.0, p.u(0.4, 0.65))))
    end = (start[0] + p.u(-0.12, 0.1), start[1] + p.u(-0.1, 0.08))
    a2, d2 = p.u(0.04, 0.16), p.u(0.06, 0.14)
    up_x, up_y = cx + p.u(-0.03, 0.03), cy + p.u(-0.03, 0.03)
    curve = path((up_x - a2, up_y + d2), (up_x, up_y), (up_x + a2, up_y - d2), end)
    straight = line((up_x - a2, up_y + d2), end, 4)
    second = np.where(p.coin(0.3)[:, None, None], straight, curve)
    return [join(down, second)]


def eight_loops(p: Pen):
    # A snowman: two rings, the top one usually the smaller.
    cy = p.u(0.38, 0.5)
    cx = p.u(0.45, 0.55)
    top = arc(cx + p.u(-0.06, 0.06), cy / 2, p.u(0.25, 0.4), cy / 2, 90, p.u(340, 380), 11)
    bottom = arc(cx + p.u(-0.06, 0.06), (1 + cy) / 2, p.u(0.3, 0.5), (1 - cy) / 2, -90, -p.u(340, 380), 11)
    return [top, bottom]


# ---- 9 -------------------------------------------------------------------------------------
def _nine_loop(p: Pen, m=11):
    r = p.u(0.2, 0.3)
    lx, rx = p.u(0.4, 0.55), r * p.u(1.0, 1.6)
    loop = arc(lx, r, rx, r, p.u(-20, 20), -p.u(330, 380), m, spiral=p.u(0.85, 1.05))
    return loop, lx + rx * p.u(0.8, 1.0), r


def nine_lifted(p: Pen):
    loop, x, r = _nine_loop(p)
    foot = (x + p.u(-0.15, 0.05), 1.0)
    stem = line((x, r * p.u(0.0, 1.2)), foot, 5, bow=p.u(-0.06, 0.06))
    return [loop, stem]


def nine_one_stroke(p: Pen):
    loop, x, r = _nine_loop(p)
    foot = (x + p.u(-0.15, 0.05), 1.0)
    stem = line(loop[:, -1].T, foot, 5, bow=p.u(-0.06, 0.06))
    return [join(loop, stem[:, 1:])]


def nine_hooked(p: Pen):
    loop, stem = nine_lifted(p)
    end = stem[:, -1]
    hook = path((end[:, 0] - p.u(0.1, 0.25), end[:, 1] - p.u(0.0, 0.12)))
    return [loop, join(stem, hook)]


STYLES_5_TO_9 = {
    5: [(3, five_lifted), (2, five_one_stroke)],
    6: [(1, six)],
    7: [(4, seven_plain), (2, seven_round), (1.5, seven_barred), (1, seven_serif)],
    8: [(5, eight_one_stroke), (1, eight_loops)],
    9: [(3, nine_lifted), (3, nine_one_stroke), (1, nine_hooked)],
}

STYLES = {**STYLES_0_TO_4, **STYLES_5_TO_9}

"""The mosaic helper: maps land exactly where the layout says, separators are NaN-free, and image
points map back to (map, y, x)."""

import numpy as np
import pytest

from cnnviz.gui.mosaic import grid_shape, make_layout, segments_to_curve, tile


def test_every_map_value_lands_at_its_origin():
    rng = np.random.default_rng(0)
    maps = rng.standard_normal((7, 3, 5)).astype(np.float32)
    image, layout = tile(maps, cols=3, fill=-9.0)
    assert image.dtype == np.float32 and image.flags.c_contiguous
    assert (layout.rows, layout.cols) == (3, 3)
    assert image.shape == layout.shape == (3 * 4 - 1, 3 * 6 - 1)
    for i in range(7):
        y, x = layout.origin(i)
        np.testing.assert_array_equal(image[y:y + 3, x:x + 5], maps[i])
    # everything else (separators, the two unused tiles) is the fill value
    covered = np.zeros(image.shape, bool)
    for y, x in layout.origins():
        covered[y:y + 3, x:x + 5] = True
    assert np.all(image[~covered] == -9.0)
    assert covered.sum() == maps.size


def test_row_major_order_and_one_map():
    maps = np.arange(2 * 2 * 2, dtype=np.float32).reshape(2, 2, 2)
    image, layout = tile(maps, cols=2)
    np.testing.assert_array_equal(image, [[0, 1, 0, 4, 5], [2, 3, 0, 6, 7]])
    single, lay1 = tile(maps[0])
    np.testing.assert_array_equal(single, maps[0])
    assert (lay1.rows, lay1.cols) == (1, 1)


def test_nan_and_inf_become_zero():
    maps = np.array([[[np.nan, 1.0], [np.inf, -np.inf]]], dtype=np.float32)
    image, _ = tile(maps)
    assert np.isfinite(image).all()
    np.testing.assert_array_equal(image, [[0, 1], [0, 0]])


def test_locate_inverts_origin_and_rejects_separators():
    layout = make_layout(5, 4, 6, cols=3)
    for i in range(5):
        y, x = layout.origin(i)
        assert layout.locate(x + 2.7, y + 1.2) == (i, 1, 2)
    assert layout.locate(6.5, 0.5) is None          # the vertical separator after tile 0
    assert layout.locate(0.5, 4.5) is None          # the horizontal separator
    y, x = layout.origin(5)                         # an unused tile of the last row
    assert layout.locate(x + 1, y + 1) is None
    assert layout.locate(-0.1, 0) is None and layout.locate(0, layout.height) is None
    assert layout.locate(float("nan"), 1) is None


def test_separator_lines_sit_in_the_gaps():
    layout = make_layout(6, 3, 3, cols=3)
    x, y, connect = layout.separator_lines()
    assert len(x) == 2 * (2 + 1) and connect.tolist() == [1, 0] * 3
    np.testing.assert_array_equal(x[:4], [3.5, 3.5, 7.5, 7.5])   # vertical lines at gap centres
    np.testing.assert_array_equal(y[4:], [3.5, 3.5])              # the horizontal one
    assert segments_to_curve([])[0].size == 0


def test_grid_shape_follows_aspect():
    assert grid_shape(8, 10, 10, cols=None, aspect=2.0) == (2, 4)
    assert grid_shape(8, 10, 10, cols=None, aspect=0.5) == (4, 2)
    assert grid_shape(3, cols=10) == (1, 3)


def test_bad_shapes_are_refused():
    with pytest.raises(ValueError):
        tile(np.zeros((2, 2, 2, 2)))
    with pytest.raises(ValueError):
        tile(np.zeros((3, 2, 2)), layout=make_layout(2, 2, 2))


def test_unused_tiles_are_listed():
    layout = make_layout(4, 3, 3, cols=3)
    assert layout.unused_tiles() == [(4, 4, 3, 3), (8, 4, 3, 3)]
    assert make_layout(4, 3, 3, cols=2).unused_tiles() == []

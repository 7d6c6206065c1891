"""nnlab.explore._pointer: a point on a panel's PNG -> the array cell matplotlib drew there.

Checked two independent ways: against matplotlib's own transforms (cell centres, the Axes'
edges, points outside), and against the pixels Agg actually drew (every cell a colour of
its own), so the PNG's top-left origin and the figure's dpi are tested, not assumed.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from nnlab.explore._pointer import cell_under_pointer  # noqa: E402
from nnlab.explore._view import CSS_DPI, PIXEL_RATIO, FigureView  # noqa: E402


def _panel(shape, extent=None, origin="upper", colorbar=True):
    """A FigureView panel (drawn once) showing an array of ``shape``; returns the AxesImage."""
    view = FigureView(panels=1, size=(3.6, 3.3))
    ax = view.axes[0]
    rows, cols = shape
    # every cell a distinct value, so a rendered colour names its cell
    values = np.arange(rows * cols, dtype=float).reshape(rows, cols)
    image = ax.imshow(
        values, extent=extent, origin=origin, cmap="viridis", interpolation="nearest"
    )
    if colorbar:  # as in the explorers: the colour bar narrows the Axes
        ax.get_figure(root=True).colorbar(image, ax=ax)
    view.render()
    return view, image


def _png_point(image, data_x, data_y):
    """matplotlib's transform of a data point to the PNG (top-left origin, image pixels)."""
    figure = image.get_figure(root=True)
    display_x, display_y = image.axes.transData.transform((data_x, data_y))
    return display_x, figure.bbox.height - display_y


def _cell_centre(image, row, col):
    rows, cols = image.get_array().shape
    left, right, bottom, top = image.get_extent()
    first, last = (top, bottom) if image.origin == "upper" else (bottom, top)
    return (
        left + (col + 0.5) * (right - left) / cols,
        first + (row + 0.5) * (last - first) / rows,
    )


CASES = [
    ((6, 9), None, "upper"),
    ((6, 9), (1, 10, 7, 1), "upper"),  # the explorer's kind of extent: shifted
    ((5, 4), None, "lower"),
    ((5, 4), (0.0, 2.0, -3.0, 3.0), "lower"),
    ((158, 118), (0.5, 118.5, 158.5, 0.5), "upper"),  # the explorer's feature map size
]


@pytest.mark.parametrize(("shape", "extent", "origin"), CASES)
def test_every_cell_centre_maps_back_to_its_cell(shape, extent, origin):
    _view, image = _panel(shape, extent, origin)
    rows, cols = shape
    for row in range(rows):
        for col in range(cols):
            x, y = _png_point(image, *_cell_centre(image, row, col))
            assert cell_under_pointer(image, x, y) == (row, col)


@pytest.mark.parametrize(("shape", "extent", "origin"), CASES)
def test_axes_edges_are_the_corner_cells_and_a_pixel_beyond_is_nothing(shape, extent, origin):
    _view, image = _panel(shape, extent, origin)
    rows, cols = shape
    left, right, bottom, top = image.get_extent()
    # imshow sets the Axes' limits to the extent: the Axes' corners are the array's corners
    first_row_y, last_row_y = (top, bottom) if origin == "upper" else (bottom, top)
    corners = {
        (0, 0): (left, first_row_y),
        (0, cols - 1): (right, first_row_y),
        (rows - 1, 0): (left, last_row_y),
        (rows - 1, cols - 1): (right, last_row_y),
    }
    for cell, (data_x, data_y) in corners.items():
        x, y = _png_point(image, data_x, data_y)
        assert cell_under_pointer(image, x, y) == cell
        # one image pixel further out, horizontally or vertically, is outside the Axes
        outward_x = 1.0 if cell[1] == cols - 1 else -1.0
        outward_y = 1.0 if (cell[0] == rows - 1) == (origin == "upper") else -1.0
        assert cell_under_pointer(image, x + outward_x, y) is None
        assert cell_under_pointer(image, x, y + outward_y) is None


def test_points_off_the_axes_or_malformed_are_nothing():
    _view, image = _panel((6, 9))
    figure = image.get_figure(root=True)
    width, height = figure.bbox.width, figure.bbox.height
    colorbar_axes = figure.axes[1]
    bar_x = colorbar_axes.bbox.x0 + colorbar_axes.bbox.width / 2
    bar_y = height - (colorbar_axes.bbox.y0 + colorbar_axes.bbox.height / 2)
    for x, y in [
        (0, 0),  # the figure's corner, in the margin
        (-5, height / 2),
        (width + 5, height / 2),
        (width / 2, height + 5),
        (bar_x, bar_y),  # on the colour bar: another Axes
        (float("nan"), 10),
        (10, float("inf")),
        (None, 3),
        ("left", 3),
    ]:
        assert cell_under_pointer(image, x, y) is None, (x, y)


def test_axes_wider_than_the_array_is_nothing_beside_it():
    view = FigureView(panels=1, size=(3.6, 3.3))
    ax = view.axes[0]
    image = ax.imshow(np.zeros((4, 4)))
    ax.set_xlim(-2.5, 5.5)  # the Axes shows two empty columns of data space on each side
    view.render()
    x, y = _png_point(image, -1.5, 1.0)
    assert cell_under_pointer(image, x, y) is None
    x, y = _png_point(image, 0.0, 1.0)
    assert cell_under_pointer(image, x, y) == (1, 0)


def test_the_cell_under_each_pixel_is_the_cell_agg_painted_there():
    """Pixels of the rendered PNG: the cell's colour is where the function says it is."""
    view, image = _panel((7, 11), extent=(1, 12, 8, 1))
    pixels = view._panels[0].draw()[..., :3].astype(int)  # the PNG's pixels, top-left first
    colours = (image.to_rgba(image.get_array(), bytes=True)[..., :3]).astype(int)
    bbox = image.axes.bbox
    height = image.get_figure(root=True).bbox.height
    checked = 0
    inset = 4  # the Axes' frame is drawn over the outermost pixels
    for py in range(int(height - bbox.y1) + inset, int(height - bbox.y0) - inset, 5):
        for px in range(int(bbox.x0) + inset, int(bbox.x1) - inset, 5):
            corners = {
                cell_under_pointer(image, px + dx, py + dy) for dx in (0, 1) for dy in (0, 1)
            }
            if len(corners) != 1 or None in corners:
                continue  # a pixel on a cell boundary is painted by either neighbour
            (row, col) = corners.pop()
            assert np.abs(pixels[py, px] - colours[row, col]).max() <= 2, (px, py, row, col)
            checked += 1
    assert checked > 1000


def test_png_size_scales_a_point_on_a_smaller_png():
    _view, image = _panel((6, 9))
    figure = image.get_figure(root=True)
    width, height = figure.bbox.width, figure.bbox.height
    # the figure is PIXEL_RATIO image pixels per CSS pixel; a 1x PNG would be half as wide
    assert figure.dpi == CSS_DPI * PIXEL_RATIO
    for row, col in [(0, 0), (2, 5), (5, 8)]:
        x, y = _png_point(image, *_cell_centre(image, row, col))
        small = (width / PIXEL_RATIO, height / PIXEL_RATIO)
        assert cell_under_pointer(image, x / PIXEL_RATIO, y / PIXEL_RATIO, small) == (row, col)

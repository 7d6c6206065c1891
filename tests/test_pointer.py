"""The pointer on a panel: from a point on its PNG to the array cell drawn there, and the
convolution explorer's map linked to its input window by hover and click.

The mapping is checked two independent ways: against matplotlib's own transforms (cell
centres, the Axes' edges, points outside), and against the pixels Agg actually drew (every
cell a colour of its own), so the PNG's top-left origin and the figure's dpi are tested, not
assumed. The explorer is driven by the event dicts ipyevents sends, placed with matplotlib's
transforms over chosen map pixels; the window, the products and the pin are then checked
against the input image and correlate2d.
"""

from __future__ import annotations

import re
import struct

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
    image = ax.imshow(values, extent=extent, origin=origin, cmap="viridis", interpolation="nearest")
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


# ---------------------------------------------------------------- the convolution explorer
def _explorer(**kwargs):
    from nnlab.explore import convolution

    return convolution.convolution_explorer(**kwargs)


def _map_image(explorer):
    return explorer.view.axes[1].images[0]


def _png_size(png: bytes):
    return struct.unpack(">II", bytes(png)[16:24])  # IHDR: width, height


def _event(kind, explorer, row, col):
    """What ipyevents sends for the pointer over the centre of map cell (row, col)."""
    feature = _map_image(explorer)
    x, y = _png_point(feature, *_cell_centre(feature, row, col))
    width, height = _png_size(explorer.view.images[1].value)
    assert 0 < x < width and 0 < y < height  # a point on the PNG the browser shows
    return {"type": kind, "dataX": round(x), "dataY": round(y), "button": 0}


def _probe(explorer):
    return explorer.controls["row"].value, explorer.controls["col"].value


def _highlighted_window(explorer, image):
    """The input pixels inside the window box drawn on the image panel."""
    box = next(p for p in explorer.view.axes[0].patches if p.get_visible() and p.get_width() == 3)
    left, top = box.get_x() + 0.5, box.get_y() + 0.5  # pixel (r, c) spans c - 0.5 .. c + 0.5
    assert left == int(left) and top == int(top)
    return image[int(top) : int(top) + 3, int(left) : int(left) + 3]


def _shown_products(explorer):
    """The nine products the table shows (bold numbers of its cells)."""
    table = explorer.children[4].value  # controls' heading, controls, weights, hint, table
    return [float(v) for v in re.findall(r"= <b>(-?[0-9.]+)</b></td>", table)]


def err_free(capfd) -> bool:
    """Nothing reached stderr since the last look."""
    return capfd.readouterr().err == ""


def _pictures(explorer):
    return [bytes(image.value) for image in explorer.view.images]


def test_map_pixels_are_drawn_centred_on_their_windows_in_input_coordinates():
    explorer = _explorer()
    feature = _map_image(explorer)
    for row, col in [(0, 0), (40, 30), (147, 125)]:
        assert _cell_centre(feature, row, col) == pytest.approx((col + 1, row + 1))
    explorer.controls["mode"].value = "template matching"
    n = explorer.controls["size"].value
    for row, col in [(0, 0), (40, 30)]:
        centre = (n - 1) / 2
        assert _cell_centre(feature, row, col) == pytest.approx((col + centre, row + centre))


def test_hovering_the_feature_map_probes_the_pixel_under_the_pointer(capfd):
    from nnlab.explore import convolution

    explorer = _explorer(kernel="Sobel y")
    image = convolution.explorer_image()
    response = convolution.correlate2d(image, convolution.KERNELS["Sobel y"])
    rows, cols = response.shape
    before = _pictures(explorer)
    for row, col in [(10, 20), (100, 90), (0, 0), (rows - 1, cols - 1), (57, 3)]:
        explorer.on_pointer(_event("mousemove", explorer, row, col))
        assert _probe(explorer) == (row, col)
        np.testing.assert_array_equal(
            _highlighted_window(explorer, image), image[row : row + 3, col : col + 3]
        )
        shown = _shown_products(explorer)
        assert len(shown) == 9
        # nine products rounded to 3 decimals
        assert sum(shown) == pytest.approx(response[row, col], abs=9 * 5e-4)
        assert f"Σ = <b>{response[row, col]:.3f}</b>" in explorer.children[4].value
        assert explorer.state["probe_sum"] == pytest.approx(response[row, col])
        after = _pictures(explorer)
        assert after[0] != before[0] and after[1] != before[1]  # window box, probe square
        before = after
    out, err = capfd.readouterr()
    assert err == ""
    assert explorer.error.value == ""


def test_click_pins_the_probe_and_a_second_click_releases_it(capfd):
    explorer = _explorer()
    explorer.on_pointer(_event("mousemove", explorer, 20, 30))
    explorer.on_pointer(_event("click", explorer, 25, 35))
    assert _probe(explorer) == (25, 35) and explorer.state["pinned"]
    assert "pinned" in explorer.children[3].value
    pinned_pictures = _pictures(explorer)
    renders = []
    render = explorer.view.render
    explorer.view.render = lambda: renders.append(1) or render()
    for row, col in [(60, 60), (5, 100)]:  # moving on: the probe stays where it was pinned
        explorer.on_pointer(_event("mousemove", explorer, row, col))
    assert _probe(explorer) == (25, 35) and renders == []
    assert _pictures(explorer) == pinned_pictures
    explorer.on_pointer(_event("click", explorer, 70, 80))  # released where clicked
    assert _probe(explorer) == (70, 80) and not explorer.state["pinned"]
    assert "pinned" not in explorer.children[3].value
    explorer.on_pointer(_event("mousemove", explorer, 71, 81))  # hover follows again
    assert _probe(explorer) == (71, 81)
    # the sliders drive the same probe, pinned or not (keyboard users)
    explorer.on_pointer(_event("click", explorer, 71, 81))
    explorer.controls["col"].value = 90
    assert explorer.state["probe"] == (71, 90) and explorer.state["pinned"]
    assert err_free(capfd)


def test_pointer_off_the_map_or_malformed_changes_nothing(capfd):
    explorer = _explorer()
    explorer.on_pointer(_event("mousemove", explorer, 30, 40))
    figure = _map_image(explorer).get_figure(root=True)
    width, height = figure.bbox.width, figure.bbox.height
    colour_bar = figure.axes[1].bbox
    state, pictures, probe = explorer.state, _pictures(explorer), _probe(explorer)
    renders = []
    render = explorer.view.render
    explorer.view.render = lambda: renders.append(1) or render()
    off_map = [
        (3, 3),  # the corner of the panel
        (width / 2, 4),  # the title
        (colour_bar.x0 + 4, height - colour_bar.y0 - 20),  # the colour bar
        (width + 40, height / 2),
        (-1, -1),
    ]
    for kind in ("mousemove", "click"):
        for x, y in off_map:
            explorer.on_pointer({"type": kind, "dataX": x, "dataY": y})
    malformed = [
        {"type": "mousemove"},
        {"type": "click", "dataX": "12", "dataY": None},
        {"type": "wheel", "dataX": 300, "dataY": 300},
        {"dataX": 300, "dataY": 300},
        "mousemove",
        None,
    ]
    for event in malformed:
        explorer.on_pointer(event)
    assert renders == [] and explorer.state is state
    assert _pictures(explorer) == pictures and _probe(explorer) == probe
    assert not explorer.state["pinned"]
    assert err_free(capfd)


def test_template_mode_sets_the_window_under_the_pointer_beside_the_patch():
    from nnlab.explore import convolution

    explorer = _explorer(mode="template matching")
    image = convolution.explorer_image()
    top, left, n = convolution.DEFAULT_PATCH
    patch = image[top : top + n, left : left + n]
    response = explorer.state["response"]
    third = explorer.view.axes[2]

    def compared():
        pair = np.ma.getdata(third.images[0].get_array())
        np.testing.assert_array_equal(pair[:, :n], patch)
        assert np.all(np.isnan(pair[:, n]))  # a blank column between the two
        return pair[:, n + 1 :]

    best_row, best_col = explorer.state["best"]  # before pointing: the best match
    np.testing.assert_array_equal(
        compared(), image[best_row : best_row + n, best_col : best_col + n]
    )
    for row, col in [(60, 70), (0, 0), (100, 30)]:
        explorer.on_pointer(_event("mousemove", explorer, row, col))
        assert explorer.state["window"] == (row, col)
        np.testing.assert_array_equal(compared(), image[row : row + n, col : col + n])
        assert f"score {response[row, col]:.2f}" in third.get_title()
        box = [p for p in explorer.view.axes[0].patches if p.get_visible()]
        assert {(p.get_x() + 0.5, p.get_y() + 0.5, p.get_width()) for p in box} == {
            (left, top, n),
            (col, row, n),
        }
    explorer.on_pointer(_event("click", explorer, 100, 30))
    explorer.on_pointer(_event("mousemove", explorer, 10, 10))
    assert explorer.state["window"] == (100, 30) and explorer.state["pinned"]
    explorer.controls["size"].value = n + 2  # another patch: back to its best match, unpinned
    assert explorer.state["window"] == explorer.state["best"]
    assert not explorer.state["pinned"]


def test_pointer_events_come_from_the_map_image_through_ipyevents():
    explorer = _explorer()
    hover, click = explorer.pointer_events
    assert hover.source is explorer.view.images[1] and click.source is explorer.view.images[1]
    assert hover.watched_events == ["mousemove"] and click.watched_events == ["click"]
    assert hover.throttle_or_debounce == "throttle" and 40 <= hover.wait <= 60
    assert click.throttle_or_debounce in (None, "")  # a click is never dropped
    # ipyevents hands a front-end message to the registered handler
    hover._handle_mouse_msg(None, _event("mousemove", explorer, 44, 55), [])
    assert _probe(explorer) == (44, 55)
    click._handle_mouse_msg(None, _event("click", explorer, 45, 56), [])
    assert _probe(explorer) == (45, 56) and explorer.state["pinned"]


def test_without_ipyevents_the_sliders_still_probe_and_the_hint_says_so(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "ipyevents", None)  # "import ipyevents" now fails
    explorer = _explorer()
    assert explorer.pointer_events == []
    hint = explorer.children[3].value
    assert "sliders" in hint and "ipyevents" in hint and "crosshair" not in hint
    explorer.controls["row"].value = 12
    assert explorer.state["probe"][0] == 12


def test_template_code_export_keeps_the_window_pointed_at():
    explorer = _explorer(mode="template matching")
    explorer.on_pointer(_event("mousemove", explorer, 80, 50))
    namespace = {}
    exec(explorer.code(), namespace)  # noqa: S102 - the code the explorer wrote itself
    (call,) = [line for line in explorer.code().splitlines() if not line.startswith("from")]
    rebuilt = eval(call, namespace)  # noqa: S307
    assert rebuilt.state["window"] == (80, 50)
    assert _pictures(rebuilt) == _pictures(explorer)
    # a window that is not one of the map's is ignored: the best match is shown
    beyond = _explorer(mode="template matching", probe=(149, -3))
    assert beyond.state["window"] == beyond.state["best"]

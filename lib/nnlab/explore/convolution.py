"""Convolution explorer: a 3x3 kernel slid over a real photograph, and template matching.

Contract:
  KERNELS: dict name -> (3, 3) kernel (identity, box blur, Sobel x, Sobel y, Laplacian).
  correlate2d(image (H, W), kernel (kh, kw)) -> (H-kh+1, W-kw+1) "valid" cross-correlation,
      out[i, j] = sum_{u,v} kernel[u, v] image[i+u, j+v]  (what nnlab.layers.Conv2D computes;
      the kernel is not flipped).
  template_response(image (H, W), top, left, size) -> (H-size+1, W-size+1) normalised
      cross-correlation in [-1, 1] between each window and the patch image[top:top+size,
      left:left+size]; it is 1 where a window matches the patch up to brightness/contrast.
  explorer_image(max_side) -> (H, W) grayscale sample image, block-averaged to <= max_side.
  window_products(image, kernel, row, col) -> (kh, kw) products kernel * image window whose
      sum is correlate2d(image, kernel)[row, col] (what one output pixel adds up).
  DEFAULT_PATCH: (top, left, size) of the default template, a patch of the
      flag: a star whose best match elsewhere is another star.
  convolution_explorer(kernel, mode, probe, patch) -> Explorer widget. Output pixel (row, col)
      of either map is drawn centred on its window's centre in the input's coordinates, so
      map and image share their axes; the pointer over the map picks that pixel (hover
      follows, a click pins; explorer.on_pointer(event) takes ipyevents' event dicts).
"""

from __future__ import annotations

import html

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from ._pointer import cell_under_pointer
from ._view import Explorer, FigureView, autograding, placeholder, set_title, styled

KERNELS = {
    "identity": np.array([[0.0, 0, 0], [0, 1, 0], [0, 0, 0]]),
    "box blur": np.full((3, 3), 1.0 / 9.0),
    "Sobel x": np.array([[-1.0, 0, 1], [-2, 0, 2], [-1, 0, 1]]),
    "Sobel y": np.array([[-1.0, -2, -1], [0, 0, 0], [1, 2, 1]]),
    "Laplacian": np.array([[0.0, 1, 0], [1, -4, 1], [0, 1, 0]]),
}


def correlate2d(image, kernel) -> np.ndarray:
    """Valid cross-correlation of a (H, W) image with a (kh, kw) kernel -> (H-kh+1, W-kw+1)."""
    image = np.asarray(image, dtype=float)
    kernel = np.asarray(kernel, dtype=float)
    if image.ndim != 2 or kernel.ndim != 2:
        raise ValueError(f"image and kernel must be 2-D, got {image.shape} and {kernel.shape}")
    if kernel.shape[0] > image.shape[0] or kernel.shape[1] > image.shape[1]:
        raise ValueError(f"kernel {kernel.shape} is larger than the image {image.shape}")
    windows = sliding_window_view(image, kernel.shape)
    return np.einsum("ijuv,uv->ij", windows, kernel)


def template_response(image, top: int, left: int, size: int) -> np.ndarray:
    """Normalised cross-correlation map of the image with its own patch (see module doc)."""
    image = np.asarray(image, dtype=float)
    height, width = image.shape
    if not (0 <= top <= height - size and 0 <= left <= width - size and size >= 2):
        raise ValueError(f"patch at ({top}, {left}) of size {size} does not fit {image.shape}")
    patch = image[top : top + size, left : left + size]
    patch = patch - patch.mean()
    windows = sliding_window_view(image, (size, size))
    window_sums = windows.sum(axis=(2, 3))
    # sum (w - mean_w)(p - mean_p) = sum w (p - mean_p), since (p - mean_p) sums to zero.
    numerator = np.einsum("ijuv,uv->ij", windows, patch)
    window_sq = np.einsum("ijuv,ijuv->ij", windows, windows) - window_sums**2 / size**2
    denominator = np.sqrt(np.maximum(window_sq, 0.0) * np.sum(patch**2)) + 1e-12
    return numerator / denominator


DEFAULT_PATCH = (17, 13, 9)  # a star of the flag; its best match is another star
# Pointer moves over the map reach the kernel at most this often (ms): a smooth probe
# without queueing more redraws than a panel takes to draw.
HOVER_THROTTLE_MS = 50
# The probed pixel's square on the map (points); a pinned probe's is larger.
PROBE_SIZE, PINNED_SIZE = 9, 14


def window_products(image, kernel, row: int, col: int) -> np.ndarray:
    """kernel * image[row:row+kh, col:col+kw]: the products one output pixel sums."""
    image, kernel = np.asarray(image, dtype=float), np.asarray(kernel, dtype=float)
    kh, kw = kernel.shape
    if not (0 <= row <= image.shape[0] - kh and 0 <= col <= image.shape[1] - kw):
        raise ValueError(f"output pixel ({row}, {col}) is outside the valid map")
    return kernel * image[row : row + kh, col : col + kw]


def explorer_image(max_side: int = 160) -> np.ndarray:
    """nnlab.data.sample_image() block-averaged so its longer side is at most max_side."""
    from nnlab.data import sample_image

    image = np.asarray(sample_image(), dtype=float)
    factor = int(np.ceil(max(image.shape) / max_side))
    if factor > 1:
        height, width = (image.shape[0] // factor) * factor, (image.shape[1] // factor) * factor
        image = image[:height, :width].reshape(height // factor, factor, width // factor, factor)
        image = image.mean(axis=(1, 3))
    return image


@styled
def convolution_explorer(
    kernel: str = "Sobel x",
    max_side: int = 160,
    mode: str = "kernel",
    probe=None,
    patch=None,
    weights=None,
):
    """Pick a kernel (or type your own 3x3) and see its feature map on a real photograph.

    Mode "kernel": the feature map of the chosen kernel. Move the pointer over the feature
    map: the output pixel under it is probed, its 3x3 input window is boxed on the image
    and the pixel on the map, and a table shows the nine products kernel x window and their
    sum, which is that pixel's value. Click the map to pin the probe where it is (the
    pointer then no longer moves it), so the products can be read; click again to release
    it. The output pixel sliders move the probe too (keyboard, or a notebook shown without
    a live kernel), and always show where it is.
    Mode "template matching": choose a patch of the image; the map shows how well every
    window matches it (normalised cross-correlation, -1 to 1), the best match marked ✕.
    The third panel sets the patch beside one window and gives their score: the best match,
    or the window under the pointer on the map (click to pin it, again to release).
    probe: (row, col) of the probed output pixel (in template mode: of the window set beside
    the patch); patch: (row, col, size) of the template;
    weights: a custom 3x3 kernel (nested lists) instead of a named one.

    Example::

        from nnlab.explore import convolution_explorer
        convolution_explorer()                     # starts with Sobel x
        convolution_explorer(kernel="Laplacian")
        convolution_explorer(mode="template matching")
    """
    if autograding():
        return placeholder("convolution_explorer")
    import ipywidgets as widgets
    import matplotlib
    from matplotlib.patches import Rectangle

    from nnlab import plots

    if kernel not in KERNELS and weights is None:
        raise ValueError(f"kernel must be one of {sorted(KERNELS)}, got {kernel!r}")
    if mode not in ("kernel", "template matching"):
        raise ValueError(f'mode must be "kernel" or "template matching", got {mode!r}')
    image = explorer_image(max_side)
    height, width = image.shape
    start_weights = (
        np.asarray(weights, dtype=float).reshape(3, 3) if weights is not None else KERNELS[kernel]
    )
    probe_row, probe_col = probe if probe is not None else (height // 2, width // 2)
    patch_top, patch_left, patch_size = patch if patch is not None else DEFAULT_PATCH

    view = FigureView(panels=3, size=(3.6, 3.3))
    ax_image, ax_map, ax_third = view.axes
    ax_image.imshow(image, cmap="gray", vmin=0, vmax=1)
    ax_image.set_title("input (grey 0 to 1, not stretched)")
    ax_image.set_xlabel("column")
    ax_image.set_ylabel("row")
    outline = {"edgecolor": plots.PALETTE[1], "lw": 2, "fill": False}
    patch_box = view.dynamic(ax_image.add_patch(Rectangle((0, 0), 1, 1, **outline)))
    # The probed 3x3 window is tiny at this scale: a box around it plus a wide halo.
    window_box = view.dynamic(
        ax_image.add_patch(Rectangle((0, 0), 3, 3, edgecolor=plots.PALETTE[3], lw=1.5, fill=False))
    )
    window_halo = view.dynamic(
        ax_image.add_patch(Rectangle((0, 0), 11, 11, edgecolor="white", lw=1, fill=False, ls="--"))
    )
    feature = view.dynamic(
        ax_map.imshow(np.zeros((height - 2, width - 2)), cmap="PuOr", extent=_map_extent(image, 3))
    )
    feature.set_clim(-1, 1)
    # Its label is static: show_map redraws the panel's background when the label changes.
    colorbar = ax_map.get_figure(root=True).colorbar(feature, ax=ax_map, shrink=0.85)
    best = view.dynamic(
        *ax_map.plot([], [], "X", color=plots.PALETTE[3], mec="white", mew=1.5, markersize=13)
    )
    probe_mark = view.dynamic(
        *ax_map.plot([], [], "s", mfc="none", mec=plots.PALETTE[3], mew=2, markersize=PROBE_SIZE)
    )
    view.dynamic(ax_map.title)
    ax_map.set_xlabel("column")
    ax_map.set_ylabel("row")
    third_image = view.dynamic(ax_third.imshow(np.zeros((3, 3)), cmap="PuOr"))
    # The third panel's box stays (-0.5, 2.5) square whatever its image's extent.
    ax_third.set_autoscale_on(False)
    grey_on_white = matplotlib.colormaps["gray"].with_extremes(bad="white")
    kernel_text = [
        view.dynamic(ax_third.text(c, r, "", ha="center", va="center", fontsize=10))
        for r in range(3)
        for c in range(3)
    ]
    products_table = widgets.HTML()
    hint = widgets.HTML()
    view.images[1].add_class("nnlab-pointable")  # a crosshair says: point here
    view.dynamic(ax_third.title)
    ax_third.set_xticks([])
    ax_third.set_yticks([])
    ax_third.set_ylabel("row")
    ax_third.set_xlabel("column")

    mode_control = widgets.ToggleButtons(
        options=["kernel", "template matching"], value=mode, description="mode"
    )
    choice = widgets.Dropdown(
        options=[*KERNELS, "custom"],
        value=kernel if weights is None else "custom",
        description="kernel",
    )
    cells = [
        widgets.FloatText(value=float(start_weights[r, c]), layout=widgets.Layout(width="64px"))
        for r in range(3)
        for c in range(3)
    ]
    cell_grid = widgets.GridBox(
        cells, layout=widgets.Layout(grid_template_columns="repeat(3, 70px)", width="230px")
    )
    size = widgets.IntSlider(
        value=patch_size, min=4, max=min(height, width) // 3, description="patch size"
    )
    top = widgets.IntSlider(value=patch_top, min=0, max=height - 4, description="patch row")
    left = widgets.IntSlider(value=patch_left, min=0, max=width - 4, description="patch col")
    row_probe = widgets.IntSlider(
        value=probe_row, min=0, max=height - 3, description="output pixel row"
    )
    col_probe = widgets.IntSlider(
        value=probe_col, min=0, max=width - 3, description="output pixel col"
    )
    controls = {
        "mode": mode_control,
        "kernel": choice,
        "row": row_probe,
        "col": col_probe,
        "size": size,
        "top": top,
        "left": left,
    }

    pointer_ready = _pointer_events_available()

    def current_kernel():
        return np.array([c.value for c in cells], dtype=float).reshape(3, 3)

    kernel_only = (choice, cell_grid, row_probe, col_probe, products_table)
    template_only = (size, top, left)
    response_cache = {}
    shown = {"map": None, "third": None, "label": None, "extent": None}
    # What the pointer chose: pinned by a click; in template mode, the window compared
    # with the patch ((row, col) on the map, for the patch "window_for"; None: best match).
    pointer = {"pinned": False, "mode": mode, "window": None, "window_for": None}
    if mode == "template matching" and probe is not None:  # a window chosen by the caller
        pointer.update(window=(int(probe_row), int(probe_col)), window_for="caller")

    def show_map(key, data, extent, label):
        """Set the feature map only when it changes (each set redraws the panel)."""
        if shown["map"] != key:
            feature.set_data(data)
            feature.set_extent(extent)
            shown["map"] = key
        if shown["extent"] != extent:
            view.invalidate(ax_map)  # the axis limits, hence the ticks, moved
            shown["extent"] = extent
        if shown["label"] != label:
            colorbar.set_label(label)
            view.invalidate(ax_map)  # the colour bar's label is drawn with the background
            shown["label"] = label

    def update(values):
        if pointer["mode"] != values["mode"]:  # a pin belongs to the map it was made on
            pointer.update(pinned=False, mode=values["mode"], window=None)
        # Show only the controls that matter in the current mode.
        for control in kernel_only:
            control.layout.display = None if values["mode"] == "kernel" else "none"
        for control in template_only:
            control.layout.display = "none" if values["mode"] == "kernel" else None
        if values["mode"] == "kernel":
            weights = current_kernel()
            key = ("kernel", weights.tobytes())
            if key not in response_cache:
                response_cache.clear()  # one kernel at a time: probing moves are free
                response = correlate2d(image, weights)
                limit = float(np.max(np.abs(response))) or 1.0
                response_cache[key] = (response, limit)
            response, limit = response_cache[key]
            show_map(
                key,
                response / limit,
                _map_extent(image, 3),
                "response / max |response|",
            )
            set_title(ax_map, f"feature map: {values['kernel']}\n(max |response| = {limit:.2g})")
            best.set_data([], [])
            patch_box.set_visible(False)
            row, col = values["row"], values["col"]
            products = window_products(image, weights, row, col)
            total = float(products.sum())
            window_box.set_visible(True)
            window_halo.set_visible(True)
            window_box.set_bounds(col - 0.5, row - 0.5, 3, 3)
            window_halo.set_bounds(col - 4.5, row - 4.5, 11, 11)
            probe_mark.set_visible(True)
            probe_mark.set_data([col + 1], [row + 1])  # the window's centre, as on the map
            probe_mark.set_markersize(PINNED_SIZE if pointer["pinned"] else PROBE_SIZE)
            for mark in (window_box, probe_mark):
                _set_edge_colour(mark, plots.PALETTE[3])
            products_table.value = _products_html(
                weights, image[row : row + 3, col : col + 3], row, col, total, limit
            )
            hint.value = _hint_html("kernel", pointer["pinned"], (row, col), pointer_ready)
            if shown["third"] != key:
                shown["third"] = key
                set_title(ax_third, "kernel weights\n(edit them in the boxes)")
                third_image.set_extent((-0.5, 2.5, 2.5, -0.5))
                klim = float(np.max(np.abs(weights))) or 1.0
                third_image.set_data(weights)
                third_image.set_cmap("PuOr")
                third_image.set_clim(-klim, klim)
                for text, w in zip(kernel_text, weights.ravel(), strict=True):
                    text.set_text(f"{w:.3g}")
                    text.set_color("white" if abs(w) > 0.6 * klim else "black")
            return {
                "mode": "kernel",
                "kernel": weights,
                "response": response,
                "probe": (row, col),
                "window": image[row : row + 3, col : col + 3],
                "products": products,
                "probe_sum": total,
                "pinned": pointer["pinned"],
            }
        window_halo.set_visible(False)
        n = min(values["size"], height - 1, width - 1)
        row = min(values["top"], height - n)
        col = min(values["left"], width - n)
        key = ("template", row, col, n)
        if key not in response_cache:
            response_cache.clear()  # one map at a time: pointing at it is free
            response_cache[key] = template_response(image, row, col, n)
        response = response_cache[key]
        show_map(
            ("template", row, col, n),
            response,
            _map_extent(image, n),
            "normalised cross-correlation",
        )
        # Best match other than the patch itself: mask the patch's own neighbourhood.
        masked = response.copy()
        masked[max(row - n, 0) : row + n, max(col - n, 0) : col + n] = -np.inf
        best_row, best_col = np.unravel_index(np.argmax(masked), masked.shape)
        best_row, best_col = int(best_row), int(best_col)
        centre = (n - 1) / 2  # of an n-wide window, from its first pixel
        best.set_data([best_col + centre], [best_row + centre])
        set_title(ax_map, f"match score, ✕ = best elsewhere\n({masked.max():.2f})")
        patch_box.set_visible(True)
        patch_box.set_bounds(col - 0.5, row - 0.5, n, n)
        # The window compared with the patch: the pointer's, or else the best match.
        if pointer["window_for"] == "caller":  # kept if it is a window of this map
            win_row, win_col = pointer["window"]
            fits = 0 <= win_row <= height - n and 0 <= win_col <= width - n
            pointer.update(window=pointer["window"] if fits else None, window_for=(row, col, n))
        if pointer["window_for"] != (row, col, n):
            pointer.update(window=None, window_for=(row, col, n), pinned=False)
        pointed = pointer["window"] is not None
        win_row, win_col = pointer["window"] if pointed else (best_row, best_col)
        window_box.set_visible(True)
        window_box.set_bounds(win_col - 0.5, win_row - 0.5, n, n)
        probe_mark.set_visible(pointed)
        probe_mark.set_data([win_col + centre], [win_row + centre])
        probe_mark.set_markersize(PINNED_SIZE if pointer["pinned"] else PROBE_SIZE)
        # The best match is boxed in the ✕'s colour; a window pointed at in another.
        for mark in (window_box, probe_mark):
            _set_edge_colour(mark, plots.PALETTE[5] if pointed else plots.PALETTE[3])
        score = float(response[win_row, win_col])
        which = "pinned" if pointer["pinned"] else "pointed at" if pointed else "best match"
        set_title(ax_third, f"template | window ({win_row}, {win_col})\nscore {score:.2f}, {which}")
        if shown["third"] != ("template", row, col, n, win_row, win_col):
            shown["third"] = ("template", row, col, n, win_row, win_col)
            # Patch and window side by side, one blank column apart, in the input's greys.
            pair = np.full((n, 2 * n + 1), np.nan)
            pair[:, :n] = image[row : row + n, col : col + n]
            pair[:, n + 1 :] = image[win_row : win_row + n, win_col : win_col + n]
            third_image.set_data(pair)
            third_image.set_cmap(grey_on_white)
            half = 1.5 * n / (2 * n + 1)  # square pixels in the panel's 3-wide box
            third_image.set_extent((-0.5, 2.5, 1 + half, 1 - half))
            third_image.set_clim(0.0, 1.0)
            for text in kernel_text:
                text.set_text("")
        hint.value = _hint_html(
            "template", pointer["pinned"], (win_row, win_col) if pointed else None, pointer_ready
        )
        return {
            "mode": "template",
            "response": response,
            "best": (best_row, best_col),
            "window": (win_row, win_col),
            "pinned": pointer["pinned"],
        }

    def code():
        values = {name: c.value for name, c in controls.items()}
        if values["mode"] == "template matching":
            window = pointer["window"]  # the window set beside the patch, if not the best
            compared = f", probe=({window[0]}, {window[1]})" if window is not None else ""
            return (
                "from nnlab.explore import convolution_explorer\n"
                f"convolution_explorer(mode='template matching', "
                f"patch=({values['top']}, {values['left']}, {values['size']}){compared})"
            )
        named = (
            f"kernel={values['kernel']!r}"
            if values["kernel"] != "custom"
            else f"weights={current_kernel().tolist()!r}"
        )
        return (
            "from nnlab.explore import convolution_explorer\n"
            f"convolution_explorer({named}, probe=({values['row']}, {values['col']}))"
        )

    explorer = Explorer(
        "Convolution: kernels and template matching",
        controls,
        view,
        update,
        extra=[cell_grid, hint, products_table],
        code=code,
    )

    def on_pointer(event):
        """An ipyevents event on the map panel: hover probes, a click pins or releases.

        event: dict with "type" ("mousemove" or "click") and "dataX", "dataY", the point on
        the map's PNG in its own pixels. A point off the map changes nothing.
        """
        kind = event.get("type") if isinstance(event, dict) else None
        if kind not in ("mousemove", "click"):
            return
        cell = cell_under_pointer(feature, event.get("dataX"), event.get("dataY"))
        if cell is None or (kind == "mousemove" and pointer["pinned"]):
            return
        if kind == "click":
            pointer["pinned"] = not pointer["pinned"]
        if mode_control.value == "kernel":
            if kind == "mousemove" and cell == (row_probe.value, col_probe.value):
                return  # still over the same output pixel
            with explorer.hold_updates():  # both sliders, one redraw
                row_probe.value, col_probe.value = cell
            return
        if kind == "mousemove" and cell == pointer["window"]:
            return
        pointer["window"] = cell
        explorer.update()

    explorer.on_pointer = on_pointer
    explorer.pointer_events = _watch_pointer(view.images[1], on_pointer)

    def on_preset(change):
        if explorer._holding:  # set by on_cell, which redraws itself
            return
        if change["new"] == "custom":
            explorer.update()
            return
        with explorer.hold_updates():
            for cell, value in zip(cells, KERNELS[change["new"]].ravel(), strict=True):
                cell.value = float(value)

    def on_cell(_change):
        if explorer._holding:
            return
        matches = [n for n, k in KERNELS.items() if np.array_equal(k, current_kernel())]
        with explorer.hold_updates():
            choice.value = matches[0] if matches else "custom"

    # The preset handler redraws once after filling the cells (not before, with stale cells).
    choice.unobserve(explorer._on_change, names="value")
    choice.observe(on_preset, names="value")
    for cell in cells:
        cell.observe(on_cell, names="value")
    return explorer


def _map_extent(image, size):
    """imshow extent of a map of size x size windows: each output pixel drawn centred on its
    window's centre, in the input image's pixel coordinates (so the two share axes)."""
    height, width = np.shape(image)
    first = (size - 1) / 2 - 0.5  # left/top edge of output pixel 0
    return (first, first + width - size + 1, first + height - size + 1, first)


def _set_edge_colour(artist, colour) -> None:
    """Edge colour of a Rectangle or a marker, set only if it changes (a set redraws)."""
    from matplotlib.colors import same_color

    if hasattr(artist, "get_markeredgecolor"):
        if not same_color(artist.get_markeredgecolor(), colour):
            artist.set_markeredgecolor(colour)
    elif not same_color(artist.get_edgecolor(), colour):
        artist.set_edgecolor(colour)


def _pointer_events_available() -> bool:
    try:
        import ipyevents  # noqa: F401
    except ImportError:
        return False
    return True


def _watch_pointer(map_image, handler):
    """ipyevents listeners on the map's Image widget: pointer moves (throttled) and clicks.

    Returns the Event widgets (empty without ipyevents: the sliders still probe).
    """
    try:
        from ipyevents import Event
    except ImportError:
        return []
    hover = Event(
        source=map_image,
        watched_events=["mousemove"],
        throttle_or_debounce="throttle",
        wait=HOVER_THROTTLE_MS,
    )
    click = Event(source=map_image, watched_events=["click"])
    for listener in (hover, click):
        listener.on_dom_event(handler)
    return [hover, click]


def _hint_html(mode, pinned, cell, pointer_ready) -> str:
    """One line under the controls saying what the pointer does now."""
    if not pointer_ready:
        text = (
            "Move the output pixel sliders to probe the map (pointing at it needs the "
            "ipyevents package)."
            if mode == "kernel"
            else "The third panel compares the template with its best match."
        )
    elif mode == "kernel" and pinned:
        text = (
            f"Probe pinned at output pixel {cell}: read its products below; "
            "click the feature map again to release it."
        )
    elif mode == "kernel":
        text = (
            "Point at the feature map to probe an output pixel (its window is boxed on the "
            "input); click to pin the probe there."
        )
    elif pinned:
        text = f"Window {cell} pinned beside the template: click the map again to release it."
    else:
        text = "Point at the match map to set that window beside the template; click to pin it."
    crosshair = "<style>.nnlab-pointable{cursor:crosshair}</style>" if pointer_ready else ""
    return f"{crosshair}<div style='font-size:13px;color:#444'>{html.escape(text)}</div>"


def _products_html(weights, window, row, col, total, limit) -> str:
    """The sum one output pixel computes, as a table: weight × input = product, and Σ."""
    cells = []
    for r in range(3):
        row_cells = "".join(
            f"<td style='padding:1px 6px;text-align:right'>{weights[r, c]:.3g} × "
            f"{window[r, c]:.2f} = <b>{weights[r, c] * window[r, c]:.3f}</b></td>"
            for c in range(3)
        )
        cells.append(f"<tr>{row_cells}</tr>")
    return (
        "<div style='font-size:13px'>"
        f"output pixel ({row}, {col}) = Σ kernel × input window "
        f"(window rows {row}–{row + 2}, columns {col}–{col + 2}):"
        f"<table style='border-collapse:collapse;font-family:monospace'>{''.join(cells)}</table>"
        f"Σ = <b>{total:.3f}</b>; shown on the map as {total / limit:.3f} "
        "(divided by the largest |response|)</div>"
    )

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
  convolution_explorer(kernel, mode, probe, patch) -> Explorer widget.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

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

    Mode "kernel": the feature map of the chosen kernel. The probe sliders pick one output
    pixel: its 3x3 input window is boxed on the image and the pixel on the map, and a table
    shows the nine products kernel x window and their sum, which is that pixel's value.
    Mode "template matching": choose a patch of the image; the map shows how well every
    window matches it (normalised cross-correlation, -1 to 1), the best match marked ✕.
    probe: (row, col) of the probed output pixel; patch: (row, col, size) of the template;
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
        ax_map.imshow(np.zeros((height - 2, width - 2)), cmap="PuOr", extent=(0, width, height, 0))
    )
    feature.set_clim(-1, 1)
    colorbar = ax_map.get_figure(root=True).colorbar(feature, ax=ax_map, shrink=0.85)
    view.dynamic(colorbar.ax.yaxis.label)
    best = view.dynamic(
        *ax_map.plot([], [], "X", color=plots.PALETTE[3], mec="white", mew=1.5, markersize=13)
    )
    probe_mark = view.dynamic(
        *ax_map.plot([], [], "s", mfc="none", mec=plots.PALETTE[3], mew=2, markersize=9)
    )
    view.dynamic(ax_map.title)
    ax_map.set_xlabel("column")
    ax_map.set_ylabel("row")
    third_image = view.dynamic(ax_third.imshow(np.zeros((3, 3)), cmap="PuOr"))
    kernel_text = [
        view.dynamic(ax_third.text(c, r, "", ha="center", va="center", fontsize=10))
        for r in range(3)
        for c in range(3)
    ]
    products_table = widgets.HTML()
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

    def current_kernel():
        return np.array([c.value for c in cells], dtype=float).reshape(3, 3)

    kernel_only = (choice, cell_grid, row_probe, col_probe, products_table)
    template_only = (size, top, left)
    response_cache = {}
    shown = {"map": None, "third": None, "label": None}

    def show_map(key, data, extent, label):
        """Set the feature map only when it changes (each set redraws the panel)."""
        if shown["map"] != key:
            feature.set_data(data)
            feature.set_extent(extent)
            shown["map"] = key
        if shown["label"] != label:
            colorbar.set_label(label)
            view.invalidate(ax_map)  # the colour bar's label is drawn with the background
            shown["label"] = label

    def update(values):
        # Show only the controls that matter in the current mode.
        for control in kernel_only:
            control.layout.display = None if values["mode"] == "kernel" else "none"
        for control in template_only:
            control.layout.display = "none" if values["mode"] == "kernel" else None
        if values["mode"] == "kernel":
            weights = current_kernel()
            key = weights.tobytes()
            if key not in response_cache:
                response_cache.clear()  # one kernel at a time: probing moves are free
                response = correlate2d(image, weights)
                limit = float(np.max(np.abs(response))) or 1.0
                response_cache[key] = (response, limit)
            response, limit = response_cache[key]
            show_map(
                ("kernel", key),
                response / limit,
                (1, width - 1, height - 1, 1),
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
            probe_mark.set_data([col + 1.5], [row + 1.5])  # output (row, col) sits at the centre
            products_table.value = _products_html(
                weights, image[row : row + 3, col : col + 3], row, col, total, limit
            )
            if shown["third"] != ("kernel", key):
                shown["third"] = ("kernel", key)
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
                "products": products,
                "probe_sum": total,
            }
        window_box.set_visible(False)
        window_halo.set_visible(False)
        probe_mark.set_visible(False)
        n = min(values["size"], height - 1, width - 1)
        row = min(values["top"], height - n)
        col = min(values["left"], width - n)
        response = template_response(image, row, col, n)
        show_map(
            ("template", row, col, n),
            response,
            (n / 2, width - n / 2, height - n / 2, n / 2),
            "normalised cross-correlation",
        )
        # Best match other than the patch itself: mask the patch's own neighbourhood.
        masked = response.copy()
        masked[max(row - n, 0) : row + n, max(col - n, 0) : col + n] = -np.inf
        best_row, best_col = np.unravel_index(np.argmax(masked), masked.shape)
        best.set_data([best_col + n / 2], [best_row + n / 2])
        set_title(ax_map, f"match score, ✕ = best elsewhere\n({masked.max():.2f})")
        patch_box.set_visible(True)
        patch_box.set_bounds(col - 0.5, row - 0.5, n, n)
        if shown["third"] != ("template", row, col, n):
            shown["third"] = ("template", row, col, n)
            set_title(ax_third, "template patch\n(grey 0 to 1, as the input)")
            third_image.set_data(image[row : row + n, col : col + n])
            third_image.set_cmap("gray")
            third_image.set_extent((-0.5, 2.5, 2.5, -0.5))
            third_image.set_clim(0.0, 1.0)
            for text in kernel_text:
                text.set_text("")
        return {"mode": "template", "response": response, "best": (best_row, best_col)}

    def code():
        values = {name: c.value for name, c in controls.items()}
        if values["mode"] == "template matching":
            return (
                "from nnlab.explore import convolution_explorer\n"
                f"convolution_explorer(mode='template matching', "
                f"patch=({values['top']}, {values['left']}, {values['size']}))"
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
        extra=[cell_grid, products_table],
        code=code,
    )

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

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
  convolution_explorer() -> Explorer widget.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from ._view import Explorer, FigureView, autograding, placeholder

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


def convolution_explorer(kernel: str = "Sobel x", max_side: int = 160):
    """Pick a kernel (or type your own 3x3) and see its feature map on a real photograph.

    Mode "kernel": the feature map of the chosen kernel, with the kernel's numbers shown.
    Mode "template matching": choose a patch of the image; the map shows how strongly every
    window correlates with it (normalised cross-correlation), the best match marked.

    Example::

        from nnlab.explore import convolution_explorer
        convolution_explorer()                     # starts with Sobel x
        convolution_explorer(kernel="Laplacian")
    """
    if autograding():
        return placeholder("convolution_explorer")
    import ipywidgets as widgets
    from matplotlib.patches import Rectangle

    from nnlab import plots

    if kernel not in KERNELS:
        raise ValueError(f"kernel must be one of {sorted(KERNELS)}, got {kernel!r}")
    image = explorer_image(max_side)
    height, width = image.shape

    view = FigureView(figsize=(10.5, 3.6), nrows=1, ncols=3)
    ax_image, ax_map, ax_third = view.axes
    ax_image.imshow(image, cmap="gray", vmin=0, vmax=1)
    ax_image.set_title("input: nnlab.data.sample_image()")
    ax_image.set_xlabel("column")
    ax_image.set_ylabel("row")
    patch_box = view.dynamic(
        ax_image.add_patch(Rectangle((0, 0), 1, 1, fill=False, edgecolor=plots.PALETTE[1], lw=2))
    )
    feature = view.dynamic(
        ax_map.imshow(np.zeros((height - 2, width - 2)), cmap="PuOr", extent=(0, width, height, 0))
    )
    feature.set_clim(-1, 1)  # maps are shown relative to their largest magnitude
    colorbar = view.figure.colorbar(feature, ax=ax_map, shrink=0.85)
    colorbar.set_label("response / max |response|")
    best = view.dynamic(*ax_map.plot([], [], "x", color=plots.PALETTE[3], markersize=12, mew=3))
    view.dynamic(ax_map.title)
    ax_map.set_xlabel("column")
    ax_map.set_ylabel("row")
    third_image = view.dynamic(ax_third.imshow(np.zeros((3, 3)), cmap="PuOr"))
    kernel_text = [
        view.dynamic(ax_third.text(c, r, "", ha="center", va="center", fontsize=10))
        for r in range(3)
        for c in range(3)
    ]
    view.dynamic(ax_third.title)
    ax_third.set_xticks([])
    ax_third.set_yticks([])
    ax_third.set_xlabel("column")
    ax_third.set_ylabel("row")

    mode = widgets.ToggleButtons(options=["kernel", "template matching"], description="mode")
    choice = widgets.Dropdown(options=[*KERNELS, "custom"], value=kernel, description="kernel")
    cells = [
        widgets.FloatText(value=float(KERNELS[kernel][r, c]), layout=widgets.Layout(width="64px"))
        for r in range(3)
        for c in range(3)
    ]
    cell_grid = widgets.GridBox(
        cells, layout=widgets.Layout(grid_template_columns="repeat(3, 70px)", width="230px")
    )
    size = widgets.IntSlider(value=12, min=4, max=min(height, width) // 3, description="patch size")
    top = widgets.IntSlider(value=height // 3, min=0, max=height - 4, description="patch row")
    left = widgets.IntSlider(value=width // 2, min=0, max=width - 4, description="patch col")
    controls = {"mode": mode, "kernel": choice, "size": size, "top": top, "left": left}

    def current_kernel():
        return np.array([c.value for c in cells], dtype=float).reshape(3, 3)

    kernel_only, template_only = (choice, cell_grid), (size, top, left)

    def update(values):
        # Show only the controls that matter in the current mode.
        for control in kernel_only:
            control.layout.display = None if values["mode"] == "kernel" else "none"
        for control in template_only:
            control.layout.display = "none" if values["mode"] == "kernel" else None
        if values["mode"] == "kernel":
            weights = current_kernel()
            response = correlate2d(image, weights)
            limit = float(np.max(np.abs(response))) or 1.0
            feature.set_data(response / limit)
            feature.set_extent((1, width - 1, height - 1, 1))
            ax_map.set_title(f"feature map: {values['kernel']} (max |r| = {limit:.2g})")
            best.set_data([], [])
            patch_box.set_visible(False)
            shown = weights
            ax_third.set_title("kernel (edit the 3×3 boxes above)")
            third_image.set_extent((-0.5, 2.5, 2.5, -0.5))
            klim = float(np.max(np.abs(weights))) or 1.0
            third_image.set_data(weights)
            third_image.set_cmap("PuOr")
            third_image.set_clim(-klim, klim)
            for text, value in zip(kernel_text, shown.ravel(), strict=True):
                text.set_text(f"{value:.3g}")
                text.set_color("white" if abs(value) > 0.6 * klim else "black")
            return {"mode": "kernel", "kernel": weights, "response": response}
        n = min(values["size"], height - 1, width - 1)
        row = min(values["top"], height - n)
        col = min(values["left"], width - n)
        response = template_response(image, row, col, n)
        feature.set_data(response)
        feature.set_extent((n / 2, width - n / 2, height - n / 2, n / 2))
        # Best match other than the patch itself: mask the patch's own neighbourhood.
        masked = response.copy()
        masked[max(row - n, 0) : row + n, max(col - n, 0) : col + n] = -np.inf
        best_row, best_col = np.unravel_index(np.argmax(masked), masked.shape)
        best.set_data([best_col + n / 2], [best_row + n / 2])
        ax_map.set_title(f"match score (best elsewhere: {masked.max():.2f})")
        patch_box.set_visible(True)
        patch_box.set_bounds(col - 0.5, row - 0.5, n, n)
        ax_third.set_title("template patch")
        patch = image[row : row + n, col : col + n]
        third_image.set_data(patch - patch.mean())
        third_image.set_cmap("gray")
        third_image.set_extent((-0.5, 2.5, 2.5, -0.5))
        plim = float(np.max(np.abs(patch - patch.mean()))) or 1.0
        third_image.set_clim(-plim, plim)
        for text in kernel_text:
            text.set_text("")
        return {"mode": "template", "response": response, "best": (best_row, best_col)}

    explorer = Explorer(
        "Convolution: kernels and template matching", controls, view, update, extra=[cell_grid]
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

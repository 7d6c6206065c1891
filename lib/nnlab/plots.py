"""Plotting functions shared by the notebooks and the explorers.

Contract:
  Every function draws into a matplotlib Axes (created with pyplot when ``ax`` is None) and
  returns what it drew into (Axes, or a tuple of Axes), always with a title and axis labels.
  Colours come from one colour-blind-safe palette, PALETTE (Okabe & Ito), in this order.
  Shapes are stated per function; arrays are numpy, float or int as noted.
"""

from __future__ import annotations

import numpy as np

# Okabe & Ito's palette: distinguishable under the common colour-vision deficiencies.
PALETTE = (
    "#0072B2",  # blue
    "#E69F00",  # orange
    "#009E73",  # bluish green
    "#D55E00",  # vermillion
    "#CC79A7",  # reddish purple
    "#56B4E9",  # sky blue
    "#F0E442",  # yellow
    "#000000",  # black
)
TRAIN_COLOR = PALETTE[0]
VAL_COLOR = PALETTE[1]
THEORY_COLOR = PALETTE[7]
# Classes of a two-class problem: colours (and markers) distinct from train/validation's.
CLASS_COLORS = (PALETTE[2], PALETTE[4])
CLASS_MARKERS = ("o", "s")
# Line styles to pair with palette colours, so lines differ by dash as well as by hue.
DASHES = (
    "-",
    (0, (6, 2)),
    (0, (1, 1.5)),
    (0, (6, 2, 1, 2)),
    (0, (3, 1.5)),
    (0, (8, 2, 1, 2, 1, 2)),
)


_SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def log_scale(ax, which: str = "y", base: int = 10):
    """Log scale on ax's x or y axis, ticks labelled 10⁻³ (base 10) or 1, 2, 4 (base 2).

    Labels are plain Unicode rather than matplotlib's math text: parsing math text for
    every tick label made an explorer's first drawing several times slower.
    Returns the Axis.
    """
    from matplotlib.ticker import FuncFormatter, NullFormatter

    if which not in ("x", "y"):
        raise ValueError(f'which must be "x" or "y", got {which!r}')
    getattr(ax, f"set_{which}scale")("log", base=base)
    axis = ax.xaxis if which == "x" else ax.yaxis

    def label(value, _position):
        if value <= 0:
            return ""
        exponent = np.log(value) / np.log(base)
        if not np.isclose(exponent, round(exponent)):
            return ""
        if base == 10:
            return "10" + str(int(round(exponent))).translate(_SUPERSCRIPT)
        return f"{value:g}"

    axis.set_major_formatter(FuncFormatter(label))
    axis.set_minor_formatter(NullFormatter())
    return axis


# Dash patterns paired with color(i): neighbouring series (orange and vermillion, blue and sky
# blue) differ by dash as well as hue, so curves stay apart in grey scale too.
DASHES = ("-", "--", "-.", ":", (0, (5, 1, 1, 1, 1, 1)), (0, (1, 1)), (0, (8, 2)), (0, (3, 3)))


def dash(i: int):
    """The dash pattern of the i-th series, paired with color(i)."""
    return DASHES[i % len(DASHES)]


def color(i: int) -> str:
    """The i-th palette colour (cycles)."""
    return PALETTE[i % len(PALETTE)]


def _axes(ax):
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    return plt.figure(layout="constrained").add_subplot()


def _label(ax, title, xlabel, ylabel):
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)


def contour_trajectories(surface, trajectories, ax=None, levels=30, title=None, resolution=200):
    """Contours of a 2-D surface with optimizer paths overlaid.

    surface: an nnlab.surfaces.Surface (uses .f_grid, .bounds, .minima, .name).
    trajectories: dict name -> array (T, 2) of iterates (a single (T, 2) array is allowed).
    Levels are spaced in log(f - f_min) so both the valley floor and the walls show.
    Returns the Axes.
    """
    ax = _axes(ax)
    if not isinstance(trajectories, dict):
        trajectories = {"trajectory": trajectories}
    (x_lo, x_hi), (y_lo, y_hi) = surface.bounds
    grid_x, grid_y = np.meshgrid(
        np.linspace(x_lo, x_hi, resolution), np.linspace(y_lo, y_hi, resolution)
    )
    values = np.asarray(surface.f_grid(grid_x, grid_y), dtype=float)
    shifted = values - values.min()
    ax.contour(grid_x, grid_y, np.log1p(shifted), levels=levels, colors="0.75", linewidths=0.7)
    for point in getattr(surface, "minima", []) or []:
        ax.plot(point[0], point[1], marker="*", color=THEORY_COLOR, markersize=10, linestyle="none")
    for i, (name, path) in enumerate(trajectories.items()):
        path = np.asarray(path, dtype=float)
        if path.ndim != 2 or path.shape[1] != 2:
            raise ValueError(f"trajectory {name!r} must have shape (T, 2), got {path.shape}")
        ax.plot(
            path[:, 0], path[:, 1], marker="o", linestyle=dash(i), color=color(i), markersize=2.5,
            linewidth=1.2, label=name
        )
    ax.set_xlim(x_lo, x_hi)
    ax.set_ylim(y_lo, y_hi)
    if trajectories:
        ax.legend(loc="upper right", fontsize="small")
    _label(
        ax, title or f"Optimizer paths on {getattr(surface, 'name', 'surface')}", "$x_1$", "$x_2$"
    )
    return ax


def loss_curves(
    curves, ax=None, log=True, title="Loss during training", xlabel="iteration", ylabel="loss"
):
    """Several loss curves on one Axes.

    curves: dict name -> array (T,) (or a single array). ``log`` uses a log y-axis, which
    turns geometric convergence into a straight line. Returns the Axes.
    """
    ax = _axes(ax)
    if not isinstance(curves, dict):
        curves = {"loss": curves}
    for i, (name, values) in enumerate(curves.items()):
        ax.plot(np.arange(len(values)), np.asarray(values, dtype=float), color=color(i),
                linestyle=dash(i), label=name)
    if log:
        ax.set_yscale("log")
    ax.legend(fontsize="small")
    _label(ax, title, xlabel, ylabel)
    return ax


def train_val_curves(
    train,
    val,
    ax=None,
    best_epoch=None,
    log=False,
    title="Training and validation",
    xlabel="epoch",
    ylabel="loss",
):
    """Train and validation curves (arrays (T,)) with an optional early-stopping marker.

    best_epoch: index of the lowest validation value (the early-stopping point) or None.
    Returns the Axes.
    """
    ax = _axes(ax)
    epochs = np.arange(len(train))
    ax.plot(epochs, np.asarray(train, dtype=float), color=TRAIN_COLOR, label="train")
    ax.plot(
        np.arange(len(val)),
        np.asarray(val, dtype=float),
        color=VAL_COLOR,
        label="validation",
        linestyle="--",
    )
    if best_epoch is not None:
        ax.axvline(best_epoch, color=THEORY_COLOR, linestyle=":", linewidth=1)
        ax.plot(
            best_epoch,
            val[best_epoch],
            marker="v",
            color=THEORY_COLOR,
            linestyle="none",
            label=f"early stop (epoch {best_epoch})",
        )
    if log:
        ax.set_yscale("log")
    ax.legend(fontsize="small")
    _label(ax, title, xlabel, ylabel)
    return ax


def decision_boundary(
    predict, X, y, ax=None, resolution=150, margin=0.5, title="Decision boundary"
):
    """Filled class regions of ``predict`` over the data's bounding box, with the data on top.

    predict: callable (M, 2) -> (M,) integer labels.  X: (N, 2) points.  y: (N,) int labels.
    Returns the Axes.
    """
    from matplotlib.colors import ListedColormap

    X = np.asarray(X, dtype=float)
    y = np.asarray(y)
    if X.ndim != 2 or X.shape[1] != 2:
        raise ValueError(f"X must have shape (N, 2), got {X.shape}")
    ax = _axes(ax)
    x_lo, y_lo = X.min(axis=0) - margin
    x_hi, y_hi = X.max(axis=0) + margin
    grid_x, grid_y = np.meshgrid(
        np.linspace(x_lo, x_hi, resolution), np.linspace(y_lo, y_hi, resolution)
    )
    labels = np.asarray(predict(np.column_stack([grid_x.ravel(), grid_y.ravel()]))).reshape(
        grid_x.shape
    )
    n_classes = int(max(labels.max(), y.max())) + 1
    cmap = ListedColormap([color(k) for k in range(n_classes)])
    ax.contourf(
        grid_x, grid_y, labels, levels=np.arange(n_classes + 1) - 0.5, cmap=cmap, alpha=0.25
    )
    for k in range(n_classes):
        mask = y == k
        ax.scatter(
            X[mask, 0],
            X[mask, 1],
            s=14,
            color=color(k),
            edgecolors="white",
            linewidths=0.4,
            label=f"class {k}",
        )
    ax.legend(fontsize="small", loc="upper right")
    _label(ax, title, "$x_1$", "$x_2$")
    return ax


def weight_histogram(weights, ax=None, bins=40, title="Weight distribution"):
    """Histogram of weights. weights: array of any shape, or dict name -> array. Returns Axes."""
    ax = _axes(ax)
    if not isinstance(weights, dict):
        weights = {"weights": weights}
    for i, (name, values) in enumerate(weights.items()):
        ax.hist(np.ravel(values), bins=bins, color=color(i), alpha=0.6, label=name)
    ax.legend(fontsize="small")
    _label(ax, title, "weight value", "count")
    return ax


def feature_map(image, fmap, kernel=None, axes=None, title="Convolution"):
    """Input image (H, W) next to its feature map (H', W'), optionally the kernel (k, k) too.

    axes: sequence of 2 (or 3 with a kernel) Axes, or None for a new figure.
    Returns the tuple of Axes.
    """
    n_panels = 2 if kernel is None else 3
    if axes is None:
        import matplotlib.pyplot as plt

        axes = plt.figure(figsize=(4 * n_panels, 3.6), layout="constrained").subplots(1, n_panels)
    axes = tuple(axes)
    axes[0].imshow(image, cmap="gray")
    _label(axes[0], "input image", "column", "row")
    limit = float(np.max(np.abs(fmap))) or 1.0
    shown = axes[1].imshow(fmap, cmap="PuOr", vmin=-limit, vmax=limit)
    axes[1].figure.colorbar(shown, ax=axes[1], shrink=0.8)
    _label(axes[1], f"{title}: feature map", "column", "row")
    if kernel is not None:
        kernel_limit = float(np.max(np.abs(kernel))) or 1.0
        axes[2].imshow(kernel, cmap="PuOr", vmin=-kernel_limit, vmax=kernel_limit)
        for (r, c), value in np.ndenumerate(np.asarray(kernel)):
            axes[2].text(c, r, f"{value:.2g}", ha="center", va="center", fontsize=9)
        _label(axes[2], "kernel", "column", "row")
    return axes


def network_positions(layer_sizes):
    """Node coordinates for a layered diagram: list of arrays (size, 2), layer i at x = i."""
    tallest = max(int(s) for s in layer_sizes)
    return [
        np.column_stack([np.full(int(s), i), (np.arange(s) - (s - 1) / 2) / max(tallest, 1)])
        for i, s in enumerate(layer_sizes)
    ]


def network_edges(positions, keep):
    """Line segments (E, 2, 2) joining every kept unit to every kept unit of the next layer."""
    segments = [
        [positions[layer][a], positions[layer + 1][b]]
        for layer in range(len(positions) - 1)
        for a in np.flatnonzero(keep[layer])
        for b in np.flatnonzero(keep[layer + 1])
    ]
    return np.array(segments, dtype=float).reshape(-1, 2, 2)


def network_diagram(layer_sizes, dropped=None, ax=None, title="Network"):
    """Draw a fully connected network; dropped units are hollow and lose their edges.

    layer_sizes: sequence of ints, e.g. (2, 6, 6, 1).
    dropped: None, or a sequence (one entry per layer) of boolean arrays (size,) or None,
    True meaning the unit is dropped. Returns the Axes.
    """
    ax = _axes(ax)
    layer_sizes = [int(s) for s in layer_sizes]
    if dropped is None:
        dropped = [None] * len(layer_sizes)
    if len(dropped) != len(layer_sizes):
        raise ValueError(
            f"dropped needs one entry per layer ({len(layer_sizes)}), got {len(dropped)}"
        )
    keep = [
        np.ones(s, bool) if d is None else ~np.asarray(d, bool)
        for s, d in zip(layer_sizes, dropped, strict=True)
    ]
    positions = network_positions(layer_sizes)
    segments = network_edges(positions, keep)
    from matplotlib.collections import LineCollection

    ax.add_collection(LineCollection(segments, colors="0.6", linewidths=0.6))
    for i, (pos, alive) in enumerate(zip(positions, keep, strict=True)):
        ax.scatter(
            pos[alive, 0],
            pos[alive, 1],
            s=120,
            color=color(0 if 0 < i < len(keep) - 1 else 2),
            zorder=3,
        )
        ax.scatter(
            pos[~alive, 0],
            pos[~alive, 1],
            s=120,
            facecolors="white",
            edgecolors="0.5",
            linestyle="--",
            zorder=3,
        )
    ax.set_xlim(-0.5, len(layer_sizes) - 0.5)
    ax.set_ylim(-0.65, 0.65)
    ax.set_xticks(range(len(layer_sizes)))
    ax.set_yticks([])
    _label(ax, title, "layer", "units")
    return ax

"""Shared view machinery for the explorers.

Contract:
  FigureView(figsize, dpi) owns ONE matplotlib Figure that is never registered with pyplot
  (so plt.get_fignums() never grows), and an ipywidgets.Image showing it as PNG.
  view.render() re-draws the same Figure and replaces the Image bytes in place.
  Explorer(controls, view, update) is the VBox an explorer returns. Its rich display carries
  the widget AND a PNG of its current state, so a notebook executed without a widget front
  end (nbconvert, CI, HTML export) still shows a static figure.
  autograding() is True under nbgrader autograding; explorers then return placeholder(),
  which does no numerical work and imports no plotting library.
  ProbabilityMap(view, ax, X_train, y_train, X_extent) is the decision-boundary panel of the
  two-class explorers: P(class 1) over the data's box with the training points on top.
"""

from __future__ import annotations

import base64
import contextlib
import os
import struct
import time
import zlib

import ipywidgets as widgets
import numpy as np


def autograding() -> bool:
    """True when nbgrader executes the notebook for grading (NBGRADER_EXECUTION is set)."""
    return bool(os.environ.get("NBGRADER_EXECUTION"))


def placeholder(name: str) -> widgets.HTML:
    """Cheap stand-in returned under autograding: no figure, no computation, no stderr."""
    return widgets.HTML(value=f"<i>{name}: interactive explorer skipped during autograding.</i>")


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def encode_png(pixels: np.ndarray) -> bytes:
    """Minimal PNG encoder for (H, W, 3) uint8 RGB: no row filters, fastest zlib level.

    Plots are mostly flat colour, so plain zlib compresses them well; skipping PNG's
    per-row filter search makes this several times faster than a general-purpose encoder.
    """
    height, width, channels = pixels.shape
    if channels != 3 or pixels.dtype != np.uint8:
        raise ValueError(f"need (H, W, 3) uint8 pixels, got {pixels.shape} {pixels.dtype}")
    rows = np.zeros((height, 1 + 3 * width), dtype=np.uint8)  # leading 0 = "no filter"
    rows[:, 1:] = pixels.reshape(height, 3 * width)
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit RGB
    return b"".join(
        [
            b"\x89PNG\r\n\x1a\n",
            _png_chunk(b"IHDR", header),
            _png_chunk(b"IDAT", zlib.compress(rows.tobytes(), 1)),
            _png_chunk(b"IEND", b""),
        ]
    )


class FigureView:
    """One persistent Agg figure rendered into an ipywidgets.Image.

    Static artists (contours, reference curves, labels) are drawn once into a cached
    background; artists registered with ``dynamic()`` are redrawn on top of it each render
    (blitting), so a slider update costs a few artist draws plus a PNG encode.
    The layout is solved once by the constrained-layout engine on the first render and then
    frozen, so axes do not jump while dragging. Call ``invalidate()`` after changing anything
    static (axis limits, a static artist's data) to rebuild the background.
    """

    def __init__(self, figsize=(9.0, 3.4), dpi=80, nrows=1, ncols=1, **subplot_kw):
        """nrows=0 creates no axes; the caller then adds its own to ``view.figure``."""
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

        self.figure = Figure(figsize=figsize, dpi=dpi, layout="constrained")
        FigureCanvasAgg(self.figure)
        self.axes = []
        if nrows:
            axes = self.figure.subplots(nrows, ncols, squeeze=False, **subplot_kw)
            self.axes = list(axes.ravel())
        self.image = widgets.Image(format="png", layout=widgets.Layout(max_width="100%"))
        # Shown while a slow first computation runs (cleared by the next render).
        self.status = widgets.HTML()
        self._dynamic = []
        self._background = None
        self.last_render_seconds = 0.0

    def dynamic(self, *artists):
        """Mark artists as changing on every update; returns them (first one if only one)."""
        for artist in artists:
            artist.set_animated(True)
            self._dynamic.append(artist)
        return artists[0] if len(artists) == 1 else artists

    def invalidate(self):
        """Forget the cached background (something static changed)."""
        self._background = None

    def png(self) -> bytes:
        """Draw the figure and return it as PNG bytes."""
        canvas = self.figure.canvas
        if self._background is None:
            canvas.draw()  # static artists only: animated ones are skipped by a full draw
            # The layout is solved now; keep it, so later draws skip the layout solver.
            self.figure.set_layout_engine("none")
            self._background = canvas.copy_from_bbox(self.figure.bbox)
        else:
            canvas.restore_region(self._background)
        for artist in self._dynamic:
            if artist.get_visible():
                self.figure.draw_artist(artist)
        return encode_png(np.asarray(canvas.buffer_rgba())[..., :3])

    def busy(self, message: str) -> None:
        """Tell the learner a slow step is running; the front end shows it at once."""
        self.status.value = f"<i>{message}</i>"

    def render(self) -> bytes:
        """Redraw the figure into the Image widget; returns the new PNG bytes."""
        start = time.perf_counter()
        data = self.png()
        self.image.value = data
        if self.status.value:
            self.status.value = ""
        self.last_render_seconds = time.perf_counter() - start
        return data


class Explorer(widgets.VBox):
    """The widget every explorer returns: controls on top, the figure below.

    Attributes: ``view`` (FigureView), ``controls`` (dict name -> widget), ``update()``
    recomputes and redraws from the current control values, ``state`` holds the last
    computed result (handy for tests and for curious students).
    """

    def __init__(self, title: str, controls: dict, view: FigureView, update, extra=()):
        self.title = title
        self.controls = controls
        self.view = view
        self._update_fn = update
        self.state = None
        self._holding = False
        self.error = widgets.HTML()
        for control in controls.values():
            if hasattr(control.style, "description_width"):
                control.style.description_width = "initial"  # never truncate a label
        heading = widgets.HTML(value=f"<b>{title}</b>")
        control_box = widgets.Box(
            list(controls.values()),
            layout=widgets.Layout(display="flex", flex_flow="row wrap"),
        )
        super().__init__([heading, control_box, *extra, self.error, view.status, view.image])
        for control in controls.values():
            if hasattr(control, "value"):
                control.observe(self._on_change, names="value")
        self.update()

    def _on_change(self, _change=None):
        if not self._holding:
            self.update()

    @contextlib.contextmanager
    def hold_updates(self):
        """Change several controls at once with a single redraw at the end."""
        self._holding = True
        try:
            yield
        finally:
            self._holding = False
        self.update()

    def update(self):
        """Recompute from the current control values and redraw in place."""
        values = {name: c.value for name, c in self.controls.items() if hasattr(c, "value")}
        try:
            self.state = self._update_fn(values)
            self.error.value = ""
        except (ValueError, FloatingPointError, OverflowError) as exc:
            # A learner picked settings the computation cannot handle: say so, keep the figure.
            self.error.value = f"<span style='color:#D55E00'>{exc}</span>"
        self.view.render()

    def _repr_mimebundle_(self, **kwargs):
        bundle = super()._repr_mimebundle_(**kwargs)
        if isinstance(bundle, tuple):
            bundle = bundle[0]
        bundle = dict(bundle or {})
        bundle["text/plain"] = f"{self.title} (interactive: run in JupyterLab to use the controls)"
        # Static fallback for front ends without a widget manager: they pick image/png.
        bundle["image/png"] = base64.b64encode(self.view.image.value).decode("ascii")
        return bundle


class ProbabilityMap:
    """Decision-boundary panel of a two-class explorer, drawn into one Axes of a FigureView.

    view: the FigureView; ax: one of its Axes.
    X_train: (N, 2) training points and y_train: (N,) labels in {0, 1}, drawn as dots in the
        class colours (palette colours 0 and 1).
    X_extent: (M, 2) points whose bounding box, widened by ``margin`` on every side, the map
        covers (pass training and validation points together, so neither falls off the map).
    resolution: the map is a (resolution, resolution) image of P(class 1), shaded from the
        class-0 colour through white (0.5, the boundary) to the class-1 colour.
    marker_size: dot size of the training points (matplotlib ``s``).
    The image, the dots and the title are dynamic; the caller sets the title on each update.
    """

    def __init__(
        self, view, ax, X_train, y_train, X_extent, resolution=90, margin=0.4, marker_size=18
    ):
        from matplotlib.colors import LinearSegmentedColormap

        from nnlab import plots

        X_train, y_train = np.asarray(X_train, dtype=float), np.asarray(y_train)
        X_extent = np.asarray(X_extent, dtype=float)
        low, high = X_extent.min(axis=0) - margin, X_extent.max(axis=0) + margin
        grid_x, grid_y = np.meshgrid(
            np.linspace(low[0], high[0], resolution), np.linspace(low[1], high[1], resolution)
        )
        self.shape = grid_x.shape
        self.grid_points = np.column_stack([grid_x.ravel(), grid_y.ravel()])
        class_map = LinearSegmentedColormap.from_list(
            "classes", [plots.color(0), "white", plots.color(1)]
        )
        self.image = view.dynamic(
            ax.imshow(
                np.zeros(self.shape),
                origin="lower",
                extent=(low[0], high[0], low[1], high[1]),
                cmap=class_map,
                vmin=0,
                vmax=1,
                aspect="auto",
                alpha=0.6,
            )
        )
        for k in (0, 1):
            view.dynamic(
                ax.scatter(
                    X_train[y_train == k, 0],
                    X_train[y_train == k, 1],
                    s=marker_size,
                    color=plots.color(k),
                    edgecolors="black",
                    linewidths=0.5,
                    label=f"train class {k}",
                )
            )
        ax.set_xlabel("$x_1$  (dots: training points)")
        ax.set_ylabel("$x_2$")
        view.dynamic(ax.title)

    def show(self, run: dict) -> None:
        """Show run["predict_proba"]: callable (M, 2) -> (M,) P(class 1), M = resolution².

        The map of a trained network never changes, so it is computed once and cached in
        run["grid"], an array (resolution, resolution).
        """
        if "grid" not in run:
            run["grid"] = run["predict_proba"](self.grid_points).reshape(self.shape)
        self.image.set_data(run["grid"])

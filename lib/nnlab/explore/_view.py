"""Shared view machinery for the explorers.

Contract:
  FigureView(panels, size) owns one small matplotlib Figure per panel (never registered with
  pyplot, so plt.get_fignums() never grows) and one ipywidgets.Image per panel. Panels sit
  in a wrapping row: three side by side on a wide screen, one under another on a laptop
  with the file browser open, each at its designed CSS width or narrower, never wider.
  Every PNG has PIXEL_RATIO image pixels per CSS pixel (crisp on 2x screens) and records
  the height of its smallest text in image pixels (PNG tEXt key MIN_FONT_KEY), so a test
  can compute the CSS size of every figure's smallest text from the rendered page.
  Each panel is shown as two stacked PNGs of the same size: the base (static artists:
  axes, contours, labels; sent again only when they change) and, on top, the overlay (the
  frame's pixels that differ from the base, transparent elsewhere). Drawn over the base, the
  overlay gives the frame exactly, and a slider update sends only the overlay: a few kB of
  mostly transparent pixels instead of a whole contour plot.
  view.render() redraws every panel in place (blitting the registered dynamic artists) and
  sends only the layers whose pixels changed.
  view.busy(message) greys the panels and shows the message at once (before a slow step).
  Explorer(title, controls, view, update, call=...) is the VBox an explorer returns; its
  rich display carries the widget AND a PNG of its current state, so a notebook executed
  without a widget front end (nbconvert, CI, HTML export) still shows a static figure.
  explorer.code() is a line of Python that rebuilds the explorer in its current state.
  autograding() is True under nbgrader autograding; explorers then return placeholder(),
  which does no numerical work and imports no plotting library.
  ProbabilityMap(view, ax, X_train, y_train, X_extent) is the decision-boundary panel of the
  two-class explorers: P(class 1) over the data's box with the training points on top.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import html
import os
import struct
import time
import zlib
from concurrent.futures import ThreadPoolExecutor

import ipywidgets as widgets
import numpy as np

# A figure inch is CSS_DPI CSS pixels on the page (the browser's own inch), drawn with
# PIXEL_RATIO image pixels per CSS pixel, so a 2x screen shows every image pixel 1:1.
CSS_DPI = 96
PIXEL_RATIO = 2
# The smallest text anywhere in a figure, in points: 8 pt = 10.7 CSS px at CSS_DPI.
MIN_FONT_PT = 8.0
MIN_FONT_KEY = "nnlab-min-font-px"
# Explorer figures use these sizes (points); no text is drawn below MIN_FONT_PT.
STYLE = {
    "font.size": 9.0,
    "axes.titlesize": 9.5,
    "axes.labelsize": 9.0,
    "xtick.labelsize": 8.0,
    "ytick.labelsize": 8.0,
    "legend.fontsize": 8.0,
    "legend.title_fontsize": 8.0,
    "figure.titlesize": 10.0,
    "text.hinting": "no_hinting",
}
# Stale panels are greyed while a slow computation runs; the class is removed on render.
_STYLE_SHEET = (
    "<style>.nnlab-stale .nnlab-panel{opacity:.35;filter:grayscale(1);transition:opacity .1s}"
    ".nnlab-panels{gap:4px 12px}.nnlab-panel img{width:100%;height:auto}"
    ".nnlab-status{color:#444;min-height:1.2em}</style>"
)


# Warm-up jobs wait until no control has moved for this long (a drag is never slowed).
WARM_UP_IDLE_SECONDS = 0.4
# When a control of ANY explorer in this kernel last moved: all explorers share the kernel,
# so one explorer's warm-up must wait while the learner drags another's slider.
_last_activity = [time.monotonic()]
# Two threads: the machines the course runs on have at least two cores.
_ENCODER = ThreadPoolExecutor(max_workers=2, thread_name_prefix="nnlab-png")


def autograding() -> bool:
    """True when nbgrader executes the notebook for grading (NBGRADER_EXECUTION is set)."""
    return bool(os.environ.get("NBGRADER_EXECUTION"))


def placeholder(name: str) -> widgets.HTML:
    """Cheap stand-in returned under autograding: no figure, no computation, no stderr."""
    return widgets.HTML(value=f"<i>{name}: interactive explorer skipped during autograding.</i>")


def style():
    """Context in which explorer figures are built and updated: STYLE's font sizes."""
    import matplotlib

    return matplotlib.rc_context(STYLE)


def styled(build):
    """Decorator for an explorer function: its figures are built in ``style()``.

    Under autograding the function runs as is (it returns a placeholder without plotting).
    """
    import functools

    @functools.wraps(build)
    def wrapper(*args, **kwargs):
        if autograding():
            return build(*args, **kwargs)
        with style():
            return build(*args, **kwargs)

    return wrapper


def set_title(ax, text: str, **kwargs) -> None:
    """ax.set_title only if the text changed (setting it marks the panel for redrawing)."""
    if ax.get_title() != text:
        ax.set_title(text, **kwargs)


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def encode_png(pixels: np.ndarray, text: dict | None = None, alpha: bool = False) -> bytes:
    """Minimal PNG encoder for (H, W, 3) uint8 RGB or (H, W, 4) uint8 RGBA.

    alpha: keep the alpha channel of RGBA pixels (an 8-bit RGBA PNG); otherwise it is
    dropped (an RGB PNG). No row filters and the fastest zlib level; text: optional
    {key: value} strings stored as tEXt chunks (Latin-1). Plots are mostly flat colour, so
    plain zlib compresses them well; skipping PNG's per-row filter search makes this several
    times faster than a general-purpose encoder.
    """
    pixels = np.asarray(pixels)
    if pixels.ndim != 3 or pixels.shape[2] not in (3, 4) or pixels.dtype != np.uint8:
        raise ValueError(f"need (H, W, 3) uint8 pixels, got {pixels.shape} {pixels.dtype}")
    if alpha and pixels.shape[2] != 4:
        raise ValueError(f"alpha=True needs (H, W, 4) RGBA pixels, got {pixels.shape}")
    height, width = pixels.shape[:2]
    if alpha:
        rows = np.empty((height, 1 + 4 * width), dtype=np.uint8)
        rows[:, 1:] = pixels.reshape(height, 4 * width)
        colour_type = 6  # 8-bit RGBA
    else:
        rows = np.empty((height, 1 + 3 * width), dtype=np.uint8)
        channels = rows[:, 1:].reshape(height, width, 3)
        for channel in range(3):  # per channel: several times faster than one 3-of-4 copy
            channels[..., channel] = pixels[..., channel]
        colour_type = 2  # 8-bit RGB
    rows[:, 0] = 0  # "no filter"
    header = struct.pack(">IIBBBBB", width, height, 8, colour_type, 0, 0, 0)
    texts = [
        _png_chunk(b"tEXt", key.encode("latin-1") + b"\0" + str(value).encode("latin-1"))
        for key, value in (text or {}).items()
    ]
    return b"".join(
        [
            b"\x89PNG\r\n\x1a\n",
            _png_chunk(b"IHDR", header),
            *texts,
            _png_chunk(b"IDAT", zlib.compress(rows, 1)),
            _png_chunk(b"IEND", b""),
        ]
    )


def png_text(data: bytes) -> dict:
    """The tEXt chunks of a PNG as {key: value} (the inverse of encode_png's ``text``)."""
    data = bytes(data)
    found, offset = {}, 8
    while offset + 8 <= len(data):
        (length,) = struct.unpack(">I", data[offset : offset + 4])
        kind = data[offset + 4 : offset + 8]
        if kind == b"tEXt":
            key, _, value = data[offset + 8 : offset + 8 + length].partition(b"\0")
            found[key.decode("latin-1")] = value.decode("latin-1")
        offset += 12 + length
    return found


def _visible_texts(artists):
    from matplotlib.text import Text

    for artist in artists:
        for text in artist.findobj(Text) if hasattr(artist, "findobj") else ():
            if text.get_visible() and text.get_text().strip():
                yield text


class _Panel:
    """One Figure with one Axes, shown as two stacked Image widgets, and its blitting state.

    base: the PNG of the static artists (the cached background); image: on top of it, the
    overlay, the current frame where it differs from the base and transparent elsewhere.
    box: the widget stacking the two, at the panel's CSS width or narrower.
    """

    def __init__(self, size):
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

        # Whole CSS pixels, so the image is exactly PIXEL_RATIO times its CSS size.
        self.css_width, css_height = (round(v * CSS_DPI) for v in size)
        self.figure = Figure(
            figsize=(self.css_width / CSS_DPI, css_height / CSS_DPI),
            dpi=CSS_DPI * PIXEL_RATIO,
            layout="constrained",
        )
        FigureCanvasAgg(self.figure)
        self.axes = self.figure.add_subplot()
        # Both layers in one grid cell: the overlay (last) is drawn over the base.
        self.base, self.image = (
            widgets.Image(format="png", layout=widgets.Layout(grid_area="1 / 1 / 2 / 2"))
            for _ in range(2)
        )
        self.box = widgets.Box(
            [self.base, self.image],
            layout=widgets.Layout(
                display="grid", width=f"{self.css_width}px", max_width="100%"
            ),
        )
        self.box.add_class("nnlab-panel")
        self.dynamic = []
        self.background = None
        self.background_words = None  # (H, W, 1) uint32: the base, one word per pixel
        self.background_version = 0  # counts new backgrounds
        self.sent_version = None  # the background version the base widget shows
        self.static_min_font = np.inf
        self.pixels = None

    def changed(self) -> bool:
        """True if the panel needs drawing: no background yet, a picture shown from memory,
        or a dynamic artist changed."""
        return (
            self.background is None
            or self.pixels is None
            or any(artist.stale for artist in self.dynamic)
        )

    def draw(self) -> np.ndarray:
        """Pixels (H, W, 4) RGBA of the current state: cached background plus dynamic artists."""
        canvas = self.figure.canvas
        if self.background is None:
            canvas.draw()  # static artists only: animated ones are skipped by a full draw
            # The layout is solved now; keep it, so later draws skip the layout solver.
            self.figure.set_layout_engine("none")
            self.background = canvas.copy_from_bbox(self.figure.bbox)
            self.background_words = np.asarray(canvas.buffer_rgba()).view(np.uint32).copy()
            self.background_version += 1
            self.static_min_font = min(
                (t.get_fontsize() for t in _visible_texts([self.figure]) if not t.get_animated()),
                default=np.inf,
            )
        else:
            canvas.restore_region(self.background)
        for artist in self.dynamic:
            if artist.get_visible():
                self.figure.draw_artist(artist)
            artist.stale = False  # matplotlib marks it stale again when it changes
        return np.asarray(canvas.buffer_rgba())

    def layers(self, words: np.ndarray) -> tuple[np.ndarray | None, np.ndarray]:
        """(base, overlay) RGBA pixels for the frame ``words`` (H, W, 1) uint32.

        base: the background, or None if the base widget already shows this one. overlay:
        the frame's pixels where they differ from the background, fully transparent (all
        zero, which compresses to almost nothing) elsewhere. The frame is opaque, so drawing
        the overlay over the base reproduces it exactly.
        """
        base = None
        if self.sent_version != self.background_version:
            base = self.background_words.view(np.uint8)
        overlay = np.where(words != self.background_words, words, np.uint32(0))
        return base, overlay.view(np.uint8)

    def min_font_px(self) -> float:
        """Smallest visible text of the panel, in image pixels."""
        dynamic = min((t.get_fontsize() for t in _visible_texts(self.dynamic)), default=np.inf)
        points = min(self.static_min_font, dynamic)
        return float(points) * self.figure.dpi / 72.0 if np.isfinite(points) else 0.0


class FigureView:
    """Panels of one explorer: one small Agg figure per panel, each shown by an Image.

    panels: number of panels; size: (width, height) in inches of every panel, or sizes: one
    (width, height) per panel. A panel inch is CSS_DPI CSS pixels on the page.
    Static artists (contours, reference curves, labels) are drawn once into a cached
    background; artists registered with ``dynamic()`` are redrawn on top of it each render
    (blitting). Each panel's layout is solved by the constrained-layout engine on its first
    render and then frozen, so axes do not jump while dragging. Call ``invalidate()`` after
    changing anything static (axis limits, a static artist's data, a legend).
    """

    def __init__(self, panels=1, size=(4.2, 3.2), sizes=None):
        sizes = list(sizes) if sizes is not None else [tuple(size)] * int(panels)
        with style():
            self._panels = [_Panel(s) for s in sizes]
        self.axes = [p.axes for p in self._panels]
        self.figures = [p.figure for p in self._panels]
        # The top layer of each panel: where pointer events land.
        self.images = [p.image for p in self._panels]
        # (base, overlay) Image widgets per panel.
        self.layers = [(p.base, p.image) for p in self._panels]
        self.panel_box = widgets.Box(
            [p.box for p in self._panels],
            layout=widgets.Layout(display="flex", flex_flow="row wrap"),
        )
        self.panel_box.add_class("nnlab-panels")
        # Shown while a slow computation runs (cleared by the next render).
        self.status = widgets.HTML()
        self.status.add_class("nnlab-status")
        self._stale = False
        self.last_render_seconds = 0.0

    @property
    def image(self):
        """The first panel's Image widget."""
        return self.images[0]

    def _panel_of(self, artist):
        figure = artist.get_figure(root=True) if hasattr(artist, "get_figure") else None
        for panel in self._panels:
            if panel.figure is figure:
                return panel
        raise ValueError(f"{artist!r} is not drawn in any panel of this view")

    def dynamic(self, *artists):
        """Mark artists as changing on every update; returns them (first one if only one)."""
        for artist in artists:
            artist.set_animated(True)
            self._panel_of(artist).dynamic.append(artist)
        return artists[0] if len(artists) == 1 else artists

    def undynamic(self, artist):
        """Stop drawing a dynamic artist (before removing it from its Axes)."""
        self._panel_of(artist).dynamic.remove(artist)

    def relayout(self, ax=None):
        """Solve the layout of ax's panel (every panel if None) again on the next render,
        after a discrete change of its static content (another surface, another κ)."""
        for panel in self._panels:
            if ax is None or panel.axes is ax:
                panel.figure.set_layout_engine("constrained")
                panel.background = None

    def invalidate(self, ax=None):
        """Forget the cached background of ax's panel (of every panel if ax is None)."""
        for panel in self._panels:
            if ax is None or panel.axes is ax or panel.figure is ax.get_figure(root=True):
                panel.background = None

    def busy(self, message: str) -> None:
        """Grey the panels and say what is being computed; the front end shows it at once."""
        self.status.value = f"<i>{html.escape(message)}</i>"
        if not self._stale:
            self.panel_box.add_class("nnlab-stale")
            self._stale = True

    def render(self) -> list:
        """Redraw every panel; send the layers whose pixels changed.

        Returns the (base, overlay) PNG bytes every panel shows now.
        """
        start = time.perf_counter()
        encoding = []
        for panel in self._panels:
            if not panel.changed():
                continue  # nothing on this panel moved: its picture stands
            rgba = panel.draw()
            # One 32-bit word per pixel: a fast, exact "did anything change?".
            words = rgba.view(np.uint32)
            if panel.pixels is not None and np.array_equal(words, panel.pixels):
                continue
            panel.pixels = words.copy()
            base, overlay = panel.layers(panel.pixels)
            text = {MIN_FONT_KEY: f"{panel.min_font_px():.2f}"}
            # zlib releases the GIL: compress these layers while the next panel is drawn.
            if base is not None:
                encoding.append((panel.base, _ENCODER.submit(encode_png, base, text)))
                panel.sent_version = panel.background_version
            encoding.append((panel.image, _ENCODER.submit(encode_png, overlay, text, True)))
        for image, png in encoding:
            png = png.result()
            if image.value != png:
                image.value = png
        if self._stale:
            self.panel_box.remove_class("nnlab-stale")
            self._stale = False
        if self.status.value:
            self.status.value = ""
        self.last_render_seconds = time.perf_counter() - start
        return [(bytes(base.value), bytes(top.value)) for base, top in self.layers]

    def pictures(self) -> tuple:
        """The (base, overlay) PNG bytes every panel shows now (for Explorer's memo)."""
        return tuple((base.value, top.value) for base, top in self.layers)

    def show(self, pictures) -> None:
        """Show remembered pictures as they are; the next render redraws every panel."""
        for panel, (base, top) in zip(self._panels, pictures, strict=True):
            if panel.base.value != base:
                panel.base.value = base
                panel.sent_version = None  # an older base: send ours with the next render
            if panel.image.value != top:
                panel.image.value = top
            panel.pixels = None  # compare with nothing: re-encode on the next real render
        if self._stale:
            self.panel_box.remove_class("nnlab-stale")
            self._stale = False
        if self.status.value:
            self.status.value = ""

    def snapshot(self) -> tuple[bytes, int]:
        """All panels side by side as one PNG, and its CSS width (for static output)."""
        pixels = [p.pixels.view(np.uint8)[..., :3] for p in self._panels if p.pixels is not None]
        height = max(p.shape[0] for p in pixels)
        padded = [
            np.pad(p, ((0, height - p.shape[0]), (0, 0), (0, 0)), constant_values=255)
            for p in pixels
        ]
        joined = np.concatenate(padded, axis=1)
        return encode_png(joined), joined.shape[1] // PIXEL_RATIO


_STRETCHED = (
    widgets.IntSlider,
    widgets.FloatSlider,
    widgets.FloatLogSlider,
    widgets.SelectionSlider,
    widgets.Dropdown,
)


class Explorer(widgets.VBox):
    """The widget every explorer returns: controls on top, the panels below.

    Attributes: ``view`` (FigureView), ``controls`` (dict name -> widget), ``update()``
    recomputes and redraws from the current control values, ``state`` holds the last
    computed result (handy for tests and for curious students).
    memo: True (the control values determine the picture) or a callable values -> key:
    settings seen before are shown from memory, without computing or drawing (dragging
    back over a range is instant); None: always recompute.
    warm: callables, each filling one cache entry (training a network for a setting not yet
    visited); in a kernel they run one at a time while the learner is not moving a control,
    so later first visits are instant. Without a running event loop (a script, a test) they
    never run and caches fill on demand.
    call: (function name, {control name: keyword}) so that ``code()`` can write the call
    that rebuilds this state; fixed: keywords always written (e.g. compare=True); code: a
    callable returning that text instead, for explorers whose call is not one control per
    keyword.
    """

    def __init__(
        self,
        title: str,
        controls: dict,
        view: FigureView,
        update,
        extra=(),
        call=None,
        fixed=None,
        code=None,
        warm=(),
        memo=None,
    ):
        self.title = title
        self.controls = controls
        self.view = view
        self._update_fn = update
        self._call = call
        self._fixed = dict(fixed or {})
        self._code = code
        self._warm_jobs = list(warm)
        # memo: callable values -> hashable key that fully determines the picture (or True
        # for "the control values do"); a setting seen before is shown from memory.
        self._memo_key = _values_key if memo is True else memo
        self._memo = {}
        _last_activity[0] = time.monotonic()
        self.state = None
        self._holding = False
        self.error = widgets.HTML()
        for control in controls.values():
            if hasattr(control.style, "description_width"):
                control.style.description_width = "initial"  # never truncate a label
            if isinstance(control, _STRETCHED):
                control.layout.width = "100%"  # fill the grid cell, never overflow it
        heading = widgets.HTML(value=f"{_STYLE_SHEET}<b>{html.escape(title)}</b>")
        control_box = widgets.GridBox(
            list(controls.values()),
            layout=widgets.Layout(
                grid_template_columns="repeat(auto-fill, minmax(330px, 1fr))",
                grid_gap="2px 12px",
                width="100%",
            ),
        )
        children = [heading, control_box, *extra]
        if call is not None or code is not None:
            self.code_button = widgets.Button(
                description="show as code",
                tooltip="the Python call that rebuilds this explorer as it is now",
                layout=widgets.Layout(width="auto"),
            )
            self.code_output = widgets.HTML()
            self.code_button.on_click(self._show_code)
            children.append(widgets.HBox([self.code_button, self.code_output]))
        super().__init__([*children, self.error, view.status, view.panel_box])
        for control in controls.values():
            if hasattr(control, "value"):
                control.observe(self._on_change, names="value")
        self.update()
        _last_activity[0] = time.monotonic()  # a cell just ran: the learner is here
        self._schedule_warm_up(WARM_UP_IDLE_SECONDS)

    def _schedule_warm_up(self, delay):
        if not self._warm_jobs:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # no kernel event loop: caches fill on demand
        loop.call_later(delay, self._warm_up_step)

    def _warm_up_step(self):
        """Run one warm-up job if the learner has been idle; reschedule the rest."""
        idle = time.monotonic() - _last_activity[0]
        if idle < WARM_UP_IDLE_SECONDS:
            self._schedule_warm_up(WARM_UP_IDLE_SECONDS - idle)
            return
        job = self._warm_jobs.pop(0)
        try:
            job()
        except (ValueError, FloatingPointError, OverflowError):
            pass  # the learner will see the error if they ever choose this setting
        self._schedule_warm_up(0.05)

    def code(self) -> str:
        """A line of Python that rebuilds this explorer with its current settings."""
        if self._code is not None:
            return self._code()
        if self._call is None:
            raise ValueError(f"{self.title}: this explorer cannot write itself as code")
        name, keywords = self._call
        arguments = dict(self._fixed)
        for control, keyword in keywords.items():
            arguments[keyword] = self.controls[control].value
        text = ", ".join(f"{k}={_literal(v)}" for k, v in arguments.items())
        module = "optimizer_race" if name == "optimizer_race" else name
        return f"from nnlab.explore import {module}\n{name}({text})"

    def _show_code(self, _button=None):
        self.code_output.value = (
            "<pre style='margin:0 0 0 8px;user-select:all'>" + html.escape(self.code()) + "</pre>"
        )

    def _on_change(self, _change=None):
        _last_activity[0] = time.monotonic()
        if not self._holding:
            self.update()

    @contextlib.contextmanager
    def hold_updates(self):
        """Change several controls at once with a single redraw at the end."""
        self._holding = True
        try:
            with style():  # handlers that restyle static parts (titles, ticks) need it too
                yield
        finally:
            self._holding = False
        self.update()

    def update(self):
        """Recompute from the current control values and redraw in place."""
        values = {name: c.value for name, c in self.controls.items() if hasattr(c, "value")}
        key = self._memo_key(values) if self._memo_key is not None else None
        if key is not None and key in self._memo:
            self.state, pictures = self._memo.pop(key)
            self._memo[key] = (self.state, pictures)  # most recently used last
            self.error.value = ""
            self.view.show(pictures)
            if hasattr(self, "code_output") and self.code_output.value:
                self._show_code()
            return
        # Drawing creates new tick labels from rcParams, so it runs in the style too.
        with style():
            try:
                self.state = self._update_fn(values)
                self.error.value = ""
            except (ValueError, FloatingPointError, OverflowError) as exc:
                # A learner picked settings the computation cannot handle: say so, keep
                # the figure.
                self.error.value = f"<span style='color:#D55E00'>{html.escape(str(exc))}</span>"
            self.view.render()
        if key is not None and not self.error.value:
            self._memo[key] = (self.state, self.view.pictures())
            if len(self._memo) > MEMO_SIZE:
                self._memo.pop(next(iter(self._memo)))  # least recently used
        if hasattr(self, "code_output") and self.code_output.value:
            self._show_code()

    def _repr_mimebundle_(self, **kwargs):
        bundle = super()._repr_mimebundle_(**kwargs)
        if isinstance(bundle, tuple):
            bundle = bundle[0]
        bundle = dict(bundle or {})
        bundle["text/plain"] = f"{self.title} (interactive: run in JupyterLab to use the controls)"
        # Static fallback for front ends without a widget manager: they pick image/png,
        # shown at its CSS width (half its pixel width) by the metadata.
        png, css_width = self.view.snapshot()
        bundle["image/png"] = base64.b64encode(png).decode("ascii")
        return bundle, {"image/png": {"width": css_width}}


MEMO_SIZE = 64  # remembered settings per explorer (a few MB of PNG)


def _values_key(values: dict):
    return tuple(sorted(values.items()))


def _literal(value) -> str:
    """repr() of a control value, with floats short but exact enough to paste back."""
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, tuple):
        return "(" + ", ".join(_literal(v) for v in value) + ("," if len(value) == 1 else "") + ")"
    return repr(value)


class ProbabilityMap:
    """Decision-boundary panel of a two-class explorer, drawn into one Axes of a FigureView.

    view: the FigureView; ax: one of its Axes.
    X_train: (N, 2) training points and y_train: (N,) labels in {0, 1}, drawn as dots in the
        class colours (plots.CLASS_COLORS; train/validation curves use other colours).
    X_extent: (M, 2) points whose bounding box, widened by ``margin`` on every side, the map
        covers (pass training and validation points together, so neither falls off the map).
    resolution: the map is a (resolution, resolution) image of P(class 1), shaded from the
        class-0 colour through white (0.5, the boundary) to the class-1 colour, with a
        colour bar.
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
            "classes", [plots.CLASS_COLORS[0], "white", plots.CLASS_COLORS[1]]
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
        bar = ax.get_figure(root=True).colorbar(self.image, ax=ax, shrink=0.9, ticks=[0, 0.5, 1])
        bar.set_label("P(class 1)")
        for k in (0, 1):
            view.dynamic(
                ax.scatter(
                    X_train[y_train == k, 0],
                    X_train[y_train == k, 1],
                    s=marker_size,
                    color=plots.CLASS_COLORS[k],
                    marker=plots.CLASS_MARKERS[k],
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

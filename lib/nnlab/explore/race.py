"""Optimizer race: six optimizers from nnlab.optim on one surface from nnlab.surfaces.

Contract:
  OPTIMIZERS: dict name -> nnlab.optim class (SGD, Momentum, Nesterov, AdaGrad, RMSProp, Adam),
      each used with its default hyper-parameters except the learning rate.
  SURFACES: dict name -> (constructor, start (2,), steps, {optimizer name: default lr}).
  race(surface, learning_rates, start, steps) -> dict name -> trajectory (T_name + 1, 2):
      nnlab.optim.run for every optimizer, cut at the first non-finite point or the first
      point far outside the plotting window (it diverged); overflow stays silent.
  diverged_at(path, steps) -> int | None: the step k at which a run cut by race() left (its
      first non-finite or far-away iterate), None if it ran all ``steps``.
  STYLES: dict name -> (colour, dash): every optimizer differs from every other by colour
      AND dash, so the race reads in grey scale too.
  optimizer_race(surface="rosenbrock", steps=None, learning_rates=None, start=None)
      -> Explorer widget.
"""

from __future__ import annotations

import numpy as np

from nnlab import optim, surfaces

from ._view import Explorer, FigureView, autograding, placeholder, styled

OPTIMIZERS = {
    "SGD": optim.SGD,
    "Momentum": optim.Momentum,
    "Nesterov": optim.Nesterov,
    "AdaGrad": optim.AdaGrad,
    "RMSProp": optim.RMSProp,
    "Adam": optim.Adam,
}

# Okabe-Ito colours, no two of a similar hue among the adaptive methods; dashes differ too.
STYLES = {
    "SGD": ("#000000", "-"),
    "Momentum": ("#0072B2", (0, (6, 2))),
    "Nesterov": ("#56B4E9", (0, (1, 1.5))),
    "AdaGrad": ("#009E73", (0, (6, 2, 1, 2))),
    "RMSProp": ("#CC79A7", (0, (3, 1.5))),
    "Adam": ("#D55E00", (0, (8, 2, 1, 2, 1, 2))),
}

SURFACES = {
    "rosenbrock": (
        surfaces.rosenbrock,
        (-1.5, 2.5),
        300,
        {
            "SGD": 1e-3,
            "Momentum": 1e-3,
            "Nesterov": 1e-3,
            "AdaGrad": 0.3,
            "RMSProp": 0.01,
            "Adam": 0.1,
        },
    ),
    "quadratic": (
        surfaces.quadratic,
        (-1.8, 1.5),
        100,
        {
            "SGD": 0.1,
            "Momentum": 0.03,
            "Nesterov": 0.03,
            "AdaGrad": 0.3,
            "RMSProp": 0.03,
            "Adam": 0.1,
        },
    ),
    "saddle": (
        surfaces.saddle,
        (-1.5, 0.01),
        100,
        {
            "SGD": 0.03,
            "Momentum": 0.01,
            "Nesterov": 0.01,
            "AdaGrad": 0.1,
            "RMSProp": 0.01,
            "Adam": 0.03,
        },
    ),
    "local_minima": (
        surfaces.local_minima,
        (0.3, 0.2),
        100,
        {
            "SGD": 0.03,
            "Momentum": 0.01,
            "Nesterov": 0.01,
            "AdaGrad": 0.1,
            "RMSProp": 0.01,
            "Adam": 0.03,
        },
    ),
}


def _window(surface):
    (x_lo, x_hi), (y_lo, y_hi) = surface.bounds
    return np.array([x_lo, y_lo]), np.array([x_hi, y_hi])


def race(surface, learning_rates: dict, start, steps: int) -> dict:
    """Trajectories (T + 1, 2) per optimizer name; diverged runs are cut where they leave."""
    unknown = set(learning_rates) - set(OPTIMIZERS)
    if unknown:
        raise ValueError(f"unknown optimizers {sorted(unknown)}; choose from {list(OPTIMIZERS)}")
    low, high = _window(surface)
    span = high - low
    paths = {}
    for name, lr in learning_rates.items():
        with np.errstate(all="ignore"):  # a diverging run overflows; we cut it below
            path = optim.run(OPTIMIZERS[name](lr), surface.grad, np.asarray(start, float), steps)
        outside = ~np.all(np.isfinite(path), axis=1) | np.any(
            (path < low - 5 * span) | (path > high + 5 * span), axis=1
        )
        if outside.any():
            path = path[: max(int(np.argmax(outside)), 1)]
        paths[name] = path
    return paths


def diverged_at(path, steps: int) -> int | None:
    """Step at which a run cut by race() diverged, or None if all ``steps`` steps are there."""
    return None if len(path) >= steps + 1 else len(path)


@styled
def optimizer_race(
    surface: str = "rosenbrock",
    steps: int | None = None,
    learning_rates: dict | None = None,
    start=None,
):
    """Race SGD, Momentum, Nesterov, AdaGrad, RMSProp and Adam on one surface.

    surface: "rosenbrock", "quadratic", "saddle" or "local_minima" (also a dropdown).
    Each optimizer has its own learning-rate slider (log scale); the start point has two
    sliders. Left: paths on the contours; right: f(x_k) - f(x*) per step (log scale),
    where a run that diverges is marked "diverged at step k" on its path, its curve and in
    the legend; every run's end point is marked. learning_rates ({name: lr}) and start
    ((x1, x2)) override the surface's defaults.

    Examples::

        from nnlab.explore import optimizer_race
        optimizer_race()                        # Rosenbrock's curved valley
        optimizer_race(surface="saddle")        # who escapes the saddle point?
    """
    if autograding():
        return placeholder("optimizer_race")
    import ipywidgets as widgets

    from nnlab import plots

    if surface not in SURFACES:
        raise ValueError(f"surface must be one of {sorted(SURFACES)}, got {surface!r}")

    view = FigureView(panels=2, size=(4.1, 3.4))
    ax_path, ax_loss = view.axes
    state = {}
    path_lines, loss_lines, path_ends, loss_ends = {}, {}, {}, {}
    path_notes, loss_notes = {}, {}
    for name, (colour, dash) in STYLES.items():
        path_lines[name] = view.dynamic(
            *ax_path.plot([], [], color=colour, linestyle=dash, linewidth=1.6, label=name)
        )
        loss_lines[name] = view.dynamic(
            *ax_loss.plot([], [], color=colour, linestyle=dash, linewidth=1.6, label=name)
        )
        path_ends[name] = view.dynamic(
            *ax_path.plot([], [], "o", color=colour, mec="white", mew=1, markersize=7)
        )
        loss_ends[name] = view.dynamic(
            *ax_loss.plot([], [], "o", color=colour, mec="white", mew=1, markersize=7)
        )
        path_notes[name] = view.dynamic(
            ax_path.text(0, 0, "", color=colour, fontsize=8, fontweight="bold", clip_on=True)
        )
        loss_notes[name] = view.dynamic(
            ax_loss.annotate(
                "",
                (0, 1),
                xytext=(4, -14 - 11 * len(loss_notes)),
                textcoords="offset points",
                color=colour,
                fontsize=8,
                fontweight="bold",
            )
        )
    start_marker = view.dynamic(*ax_path.plot([], [], "s", color=plots.THEORY_COLOR))
    plots.log_scale(ax_loss, "y")
    ax_loss.set_ylim(1e-10, 1e3)
    ax_loss.set_title("Gap to the best minimum")
    ax_loss.set_xlabel("step $k$")
    ax_loss.set_ylabel("$f(x_k) - f(x^*)$ (log scale)")
    # The legend never changes, so it stays in the static background: redrawing a legend
    # costs 10-30 ms, a whole panel 40 ms. "diverged at step k" is a small dynamic tag
    # fixed to the right of the run's legend entry, drawn only while that run diverges.
    names = list(STYLES)
    legend = ax_loss.legend(list(loss_lines.values()), names, loc="lower left")
    legend_tags = {
        name: view.dynamic(
            ax_loss.annotate(
                "",
                (1, 0.5),
                xycoords=text,
                xytext=(4, 0),
                textcoords="offset points",
                va="center",
                color=STYLES[name][0],
                fontsize=8,
                fontweight="bold",
                bbox={"boxstyle": "square,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.9},
            )
        )
        for name, text in zip(names, legend.get_texts(), strict=True)
    }

    def draw_surface(name):
        """Static part: contours and limits of the chosen surface (rebuilds the background)."""
        chosen = SURFACES[name][0]()
        dynamic = {*path_lines.values(), *path_ends.values(), start_marker}
        for artist in list(ax_path.collections) + [
            line for line in ax_path.lines if line not in dynamic
        ]:
            artist.remove()
        plots.contour_trajectories(chosen, {}, ax=ax_path, levels=25, resolution=150)
        ax_path.set_title(f"Paths on {chosen.name}")
        ax_loss.set_xlim(0, SURFACES[name][2])
        state["surface"] = chosen
        state["f_min"] = min(chosen.f(np.asarray(m, float)) for m in chosen.minima)
        view.relayout(ax_path)  # new tick labels may need other margins
        view.invalidate()
        return chosen

    surface_choice = widgets.Dropdown(options=list(SURFACES), value=surface, description="surface")
    lr_sliders = {
        name: widgets.FloatLogSlider(
            value=SURFACES[surface][3][name],
            base=10,
            min=-4,
            max=0,
            step=0.05,
            description=f"{name} η",
            readout_format=".1e",
        )
        for name in OPTIMIZERS
    }
    # A new start re-runs all six optimizers: recompute when the slider is released.
    x_start = widgets.FloatSlider(description="start x₁", step=0.05)
    y_start = widgets.FloatSlider(description="start x₂", step=0.05)
    step_count = widgets.IntSlider(
        value=steps or SURFACES[surface][2], min=10, max=500, step=10, description="steps"
    )

    def configure(name):
        """Surface defaults into the sliders (bounds first, so values are never clipped)."""
        chosen = draw_surface(name)
        (x_lo, x_hi), (y_lo, y_hi) = chosen.bounds
        _, start, default_steps, rates = SURFACES[name]
        x_start.min, x_start.max = -1e9, 1e9
        y_start.min, y_start.max = -1e9, 1e9
        x_start.value, y_start.value = start
        x_start.min, x_start.max = x_lo, x_hi
        y_start.min, y_start.max = y_lo, y_hi
        for optimizer, slider in lr_sliders.items():
            slider.value = rates[optimizer]
        step_count.value = default_steps
        ax_loss.set_xlim(0, default_steps)

    cache = {}
    configure(surface)
    if steps:
        step_count.value = steps
    for name, value in (learning_rates or {}).items():
        if name not in lr_sliders:
            raise ValueError(f"unknown optimizer {name!r}; choose from {list(OPTIMIZERS)}")
        lr_sliders[name].value = value
    if start is not None:
        x_start.value, y_start.value = (float(v) for v in start)

    def update(values):
        chosen = state["surface"]
        if values["steps"] != ax_loss.get_xlim()[1]:
            ax_loss.set_xlim(0, values["steps"])
            view.invalidate()
        start = (values["x0"], values["y0"])
        # Moving one learning-rate slider re-runs one optimizer; the others come from cache.
        paths = {}
        for name in OPTIMIZERS:
            key = (values["surface"], name, values[name], start, values["steps"])
            if key not in cache:
                if len(cache) > 500:
                    cache.clear()
                cache[key] = race(chosen, {name: values[name]}, start, values["steps"])[name]
            paths[name] = cache[key]
        diverged = {}
        for name, path in paths.items():
            k = diverged_at(path, values["steps"])
            diverged[name] = k
            path_lines[name].set_data(path[:, 0], path[:, 1])
            with np.errstate(all="ignore"):
                gap = chosen.f(path) - state["f_min"]
            shown_gap = np.clip(np.nan_to_num(gap, nan=1e3, posinf=1e3), 1e-10, 1e3)
            loss_lines[name].set_data(np.arange(len(path)), shown_gap)
            marker = "X" if k is not None else "o"
            low, high = _window(chosen)
            inset = 0.02 * (high - low)
            last = np.clip(path[-1], low + inset, high - inset)  # a diverged end: on the border
            path_ends[name].set_data([last[0]], [last[1]])
            path_ends[name].set_marker(marker)
            loss_ends[name].set_data([len(path) - 1], [shown_gap[-1]])
            loss_ends[name].set_marker(marker)
            note = path_notes[name]
            note.set_visible(k is not None)
            loss_note = loss_notes[name]
            loss_note.set_visible(k is not None)
            if k is not None:
                right_half = last[0] > (low[0] + high[0]) / 2
                note.set_position((last[0], last[1]))
                note.set_horizontalalignment("right" if right_half else "left")
                note.set_text(f"diverged at step {k} " if right_half else f" diverged at step {k}")
                loss_note.xy = (len(path) - 1, shown_gap[-1])
                loss_note.set_text(f"{name} diverged at step {k}")
        for name, k in diverged.items():
            tag = legend_tags[name]
            tag.set_visible(k is not None)
            if k is not None and tag.get_text() != f"diverged at step {k}":
                tag.set_text(f"diverged at step {k}")
        start_marker.set_data([start[0]], [start[1]])
        return {"paths": paths, "surface": chosen.name, "diverged_at": diverged}

    controls = {
        "surface": surface_choice,
        **lr_sliders,
        "x0": x_start,
        "y0": y_start,
        "steps": step_count,
    }
    explorer = Explorer(
        "Optimizer race",
        controls,
        view,
        update,
        code=lambda: _race_code(controls, lr_sliders),
        memo=True,
    )

    # Changing the surface resets the other sliders: do it as one update, not ten.

    def on_surface(change):
        with explorer.hold_updates():
            configure(change["new"])

    surface_choice.unobserve(explorer._on_change, names="value")
    surface_choice.observe(on_surface, names="value")
    return explorer


def _race_code(controls, lr_sliders) -> str:
    """The optimizer_race(...) call that rebuilds the race as it is now."""
    rates = ", ".join(f"{name!r}: {slider.value:.3g}" for name, slider in lr_sliders.items())
    return (
        "from nnlab.explore import optimizer_race\n"
        f"optimizer_race(surface={controls['surface'].value!r}, steps={controls['steps'].value}, "
        f"learning_rates={{{rates}}}, "
        f"start=({controls['x0'].value:.3g}, {controls['y0'].value:.3g}))"
    )

"""Optimizer race: six optimizers from nnlab.optim on one surface from nnlab.surfaces.

Contract:
  OPTIMIZERS: dict name -> nnlab.optim class (SGD, Momentum, Nesterov, AdaGrad, RMSProp, Adam),
      each used with its default hyper-parameters except the learning rate.
  SURFACES: dict name -> (constructor, start (2,), steps, {optimizer name: default lr}).
  race(surface, learning_rates, start, steps) -> dict name -> trajectory (T_name + 1, 2):
      nnlab.optim.run for every optimizer, cut at the first non-finite point or the first
      point far outside the plotting window (it diverged); overflow stays silent.
  optimizer_race(surface="rosenbrock") -> Explorer widget.
"""

from __future__ import annotations

import numpy as np

from nnlab import optim, surfaces

from ._view import Explorer, FigureView, autograding, placeholder

OPTIMIZERS = {
    "SGD": optim.SGD,
    "Momentum": optim.Momentum,
    "Nesterov": optim.Nesterov,
    "AdaGrad": optim.AdaGrad,
    "RMSProp": optim.RMSProp,
    "Adam": optim.Adam,
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


def optimizer_race(surface: str = "rosenbrock", steps: int | None = None):
    """Race SGD, Momentum, Nesterov, AdaGrad, RMSProp and Adam on one surface.

    surface: "rosenbrock", "quadratic", "saddle" or "local_minima" (also a dropdown).
    Each optimizer has its own learning-rate slider (log scale); the start point has two
    sliders. Left: paths on the contours; right: f(x_k) - f(x*) per step (log scale),
    where a curve that stops early has diverged.

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

    view = FigureView(figsize=(10.5, 4.2), nrows=1, ncols=2)
    ax_path, ax_loss = view.axes
    state = {}
    path_lines, loss_lines = {}, {}
    for i, name in enumerate(OPTIMIZERS):
        path_lines[name] = view.dynamic(
            *ax_path.plot([], [], "-", color=plots.color(i), linewidth=1.4, label=name)
        )
        loss_lines[name] = view.dynamic(*ax_loss.plot([], [], color=plots.color(i), label=name))
    start_marker = view.dynamic(*ax_path.plot([], [], "o", color=plots.THEORY_COLOR))
    ax_loss.set_yscale("log")
    ax_loss.set_ylim(1e-10, 1e3)
    ax_loss.set_title("Gap to the best minimum (legend for both panels)")
    ax_loss.set_xlabel("step k")
    ax_loss.set_ylabel("f(x_k) − f(x*)  (log scale)")
    ax_loss.legend(fontsize=7, loc="lower left", ncols=2)

    def draw_surface(name):
        """Static part: contours and limits of the chosen surface (rebuilds the background)."""
        chosen = SURFACES[name][0]()
        for artist in list(ax_path.collections) + [
            line
            for line in ax_path.lines
            if line not in path_lines.values() and line is not start_marker
        ]:
            artist.remove()
        plots.contour_trajectories(chosen, {}, ax=ax_path, levels=25, resolution=150)
        ax_path.set_title(f"Paths on {chosen.name}")
        ax_loss.set_xlim(0, SURFACES[name][2])
        state["surface"] = chosen
        state["f_min"] = min(chosen.f(np.asarray(m, float)) for m in chosen.minima)
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
            description=f"{name} lr",
            readout_format=".1e",
        )
        for name in OPTIMIZERS
    }
    # A new start re-runs all six optimizers: recompute when the slider is released.
    x_start = widgets.FloatSlider(description="start x₁", step=0.05, continuous_update=False)
    y_start = widgets.FloatSlider(description="start x₂", step=0.05, continuous_update=False)
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
        for name, path in paths.items():
            path_lines[name].set_data(path[:, 0], path[:, 1])
            with np.errstate(all="ignore"):
                gap = chosen.f(path) - state["f_min"]
            loss_lines[name].set_data(np.arange(len(path)), np.clip(gap, 1e-10, 1e3))
        start_marker.set_data([start[0]], [start[1]])
        return {"paths": paths, "surface": chosen.name}

    controls = {
        "surface": surface_choice,
        **lr_sliders,
        "x0": x_start,
        "y0": y_start,
        "steps": step_count,
    }
    explorer = Explorer("Optimizer race", controls, view, update)

    # Changing the surface resets the other sliders: do it as one update, not ten.

    def on_surface(change):
        with explorer.hold_updates():
            configure(change["new"])

    surface_choice.unobserve(explorer._on_change, names="value")
    surface_choice.observe(on_surface, names="value")
    return explorer

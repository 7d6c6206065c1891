"""Step-size explorer: gradient descent x_{k+1} = x_k - eta f'(x_k) on quadratics.

Contract:
  gd_path_1d(lam, lr, x0, steps) -> (steps+1,) iterates on f(x) = lam/2 x^2 (via nnlab.optim).
  gd_path_2d(lambdas, lr, x0, steps) -> (steps+1, 2) iterates on f(x) = 1/2 sum_i lam_i x_i^2.
  regime(lr, lam) -> one of "slow", "fastest", "oscillating", "bouncing", "diverging".
  step_size_explorer(...) -> Explorer widget (a learning-rate slider; the stability limit
  2/lam is marked on the slider's scale).
For this f the iterates are x_k = (1 - eta lam)^k x0, so eta < 2/lam converges and
eta > 2/lam diverges; the tests compare the iterated path with that closed form.
"""

from __future__ import annotations

import numpy as np

from nnlab import optim

from ._view import Explorer, FigureView, autograding, placeholder, styled


def gd_path_1d(lam: float, lr: float, x0: float, steps: int) -> np.ndarray:
    """Gradient-descent iterates on f(x) = lam/2 x^2. Returns shape (steps + 1,)."""
    lam = _positive("lam", lam)
    path = optim.run(optim.SGD(lr), lambda x: lam * x, np.array([float(x0)]), int(steps))
    return path[:, 0]


def gd_path_2d(lambdas, lr: float, x0, steps: int) -> np.ndarray:
    """Gradient-descent iterates on f(x) = 1/2 sum_i lam_i x_i^2. Returns (steps + 1, 2)."""
    lambdas = np.asarray(lambdas, dtype=float)
    if lambdas.shape != (2,) or np.any(lambdas <= 0):
        raise ValueError(f"lambdas must be two positive curvatures, got {lambdas!r}")
    return optim.run(optim.SGD(lr), lambda x: lambdas * x, np.asarray(x0, float), int(steps))


def regime(lr: float, lam: float) -> str:
    """Name the behaviour of GD with step lr on curvature lam (factor 1 - lr*lam per step)."""
    factor = 1.0 - lr * lam
    if np.isclose(factor, 0.0):
        return "fastest"
    if np.isclose(factor, -1.0):
        return "bouncing"
    if factor > 0:
        return "slow"
    return "oscillating" if factor > -1 else "diverging"


def _positive(name, value):
    value = float(value)
    if not value > 0:
        raise ValueError(f"{name} must be > 0, got {value!r}")
    return value


def _off_chart(values, low=1e-300, high=1e300):
    """Values for a log axis: exact zeros and overflow become tiny/huge, so a line leaves the
    axes through the bottom or top edge instead of stopping or running along a false floor."""
    return np.clip(np.nan_to_num(values, nan=high, posinf=high), low, high)


def regime_track_css(css_class: str, lam: float, low: float, high: float) -> str:
    """A <style> that paints the slider track of ``css_class`` with the GD regimes.

    The slider runs from low to high; the track is green where 0 < eta < 1/lam (slow,
    monotone), orange up to 2/lam (oscillating) and vermillion beyond (diverging), so the
    regime strip is the slider itself, on exactly its scale.
    """
    from nnlab import plots

    def percent(value):
        return 100.0 * (value - low) / (high - low)

    first, second = percent(1.0 / lam), percent(2.0 / lam)
    green, orange, red = plots.PALETTE[2], plots.PALETTE[1], plots.PALETTE[3]
    gradient = (
        f"linear-gradient(to right, {green} 0%, {green} {first:.2f}%, {orange} {first:.2f}%, "
        f"{orange} {second:.2f}%, {red} {second:.2f}%, {red} 100%)"
    )
    return (
        f"<style>.{css_class} .noUi-target{{background:{gradient} !important;"
        "height:10px !important;border:1px solid #555 !important}"
        f".{css_class} .noUi-connects{{background:transparent !important}}</style>"
    )


@styled
def step_size_explorer(
    lam: float = 2.0, x0: float = 2.5, steps: int = 20, lr: float = 0.1, condition: float = 10.0
):
    """Move the learning rate and watch gradient descent crawl, converge, oscillate or diverge.

    lam: curvature f''(x) of the 1-D function f(x) = lam/2 x^2 (stability limit 2/lam).
    x0: start point; steps: number of GD steps shown; lr: initial slider value.
    condition: condition number of the 2-D quadratic (curvatures lam/condition and lam).

    Example::

        from nnlab.explore import step_size_explorer
        step_size_explorer()            # f(x) = x^2, limit 2/lam = 1.0
        step_size_explorer(lam=4.0)     # a sharper bowl: limit 0.5
    """
    if autograding():
        return placeholder("step_size_explorer")
    import ipywidgets as widgets

    from nnlab import plots

    lam = _positive("lam", lam)
    lambdas = np.array([lam / float(condition), lam])
    limit = 2.0 / lam
    lr_min, lr_max = 0.01, round(1.2 * limit, 3)
    x0_2d = np.array([-2.5, 1.5])

    view = FigureView(panels=3, size=(3.8, 3.0))
    ax_1d, ax_2d, ax_loss = view.axes

    grid_x = np.linspace(-1.6 * abs(x0), 1.6 * abs(x0), 200)
    ax_1d.plot(grid_x, 0.5 * lam * grid_x**2, color="0.6")
    path_1d = view.dynamic(*ax_1d.plot([], [], "-o", color=plots.PALETTE[0], markersize=3))
    view.dynamic(ax_1d.title)
    ax_1d.set_xlim(grid_x[0], grid_x[-1])
    ax_1d.set_ylim(-0.05 * lam * x0**2, 0.5 * lam * grid_x[-1] ** 2)
    ax_1d.set_xlabel("$x$")
    ax_1d.set_ylabel(r"$f(x) = \lambda x^2/2$")

    bound = 3.0
    gx, gy = np.meshgrid(np.linspace(-bound, bound, 120), np.linspace(-bound, bound, 120))
    ax_2d.contour(
        gx,
        gy,
        0.5 * (lambdas[0] * gx**2 + lambdas[1] * gy**2),
        levels=12,
        colors="0.75",
        linewidths=0.7,
    )
    path_2d = view.dynamic(*ax_2d.plot([], [], "-o", color=plots.PALETTE[4], markersize=3))
    ax_2d.plot(0, 0, "*", color=plots.THEORY_COLOR, markersize=10)
    ax_2d.set_xlim(-bound, bound)
    ax_2d.set_ylim(-bound, bound)
    ax_2d.set_title(f"2-D quadratic, λ = ({lambdas[0]:.2g}, {lambdas[1]:.2g})")
    ax_2d.set_xlabel("$x_1$ (flat direction)")
    ax_2d.set_ylabel("$x_2$ (steep direction)")

    iterations = np.arange(steps + 1)
    (loss_1d,) = ax_loss.plot(
        iterations, np.ones_like(iterations, float), color=plots.PALETTE[0], label="1-D"
    )
    (loss_2d,) = ax_loss.plot(
        iterations,
        np.ones_like(iterations, float),
        "--",
        color=plots.PALETTE[4],
        label="2-D",
    )
    (theory,) = ax_loss.plot(
        iterations,
        np.ones_like(iterations, float),
        ":",
        color=plots.THEORY_COLOR,
        linewidth=2,
        label=r"$(1-\eta\lambda)^{2k} f(x_0)$",
    )
    view.dynamic(loss_1d, loss_2d, theory)
    plots.log_scale(ax_loss, "y")
    ax_loss.set_ylim(1e-12, 1e6)
    ax_loss.set_xlim(0, steps)
    ax_loss.set_title("Loss per step (lines leave the chart)")
    ax_loss.set_xlabel("step $k$")
    ax_loss.set_ylabel("$f(x_k)$ (log scale)")
    ax_loss.legend(loc="lower left")

    track_class = f"nnlab-lr-{id(view)}"
    slider = widgets.FloatSlider(
        value=lr,
        min=lr_min,
        max=lr_max,
        step=0.01,
        description="η (learning rate)",
        readout_format=".2f",
        continuous_update=True,
    )
    slider.add_class(track_class)
    slider.layout.grid_column = "1 / -1"  # the whole row: the regime strip is its track
    swatch = "<span style='display:inline-block;width:10px;height:10px;background:{}'></span>"
    regime_key = widgets.HTML(
        regime_track_css(track_class, lam, lr_min, lr_max)
        + "<span style='font-size:13px'>slider track: "
        + f"{swatch.format(plots.PALETTE[2])} slow, η &lt; 1/λ = {1 / lam:.3g} &nbsp;"
        + f"{swatch.format(plots.PALETTE[1])} oscillating, up to 2/λ = {limit:.3g} &nbsp;"
        + f"{swatch.format(plots.PALETTE[3])} diverging</span>"
    )

    def update(values):
        rate = values["lr"]
        xs = gd_path_1d(lam, rate, x0, steps)
        path_2d_values = gd_path_2d(lambdas, rate, x0_2d, steps)
        f_1d = 0.5 * lam * xs**2
        f_2d = 0.5 * (path_2d_values**2 @ lambdas)
        path_1d.set_data(xs, f_1d)
        ax_1d.set_title(f"η = {rate:.2f}: {regime(rate, lam)} (2/λ = {limit:.3g})")
        path_2d.set_data(path_2d_values[:, 0], path_2d_values[:, 1])
        with np.errstate(over="ignore"):
            loss_1d.set_ydata(_off_chart(f_1d))
            loss_2d.set_ydata(_off_chart(f_2d))
            theory.set_ydata(_off_chart(f_1d[0] * (1 - rate * lam) ** (2 * iterations)))
        return {"path_1d": xs, "path_2d": path_2d_values, "regime": regime(rate, lam)}

    return Explorer(
        "Step size: x ← x − η f′(x)",
        {"lr": slider},
        view,
        update,
        extra=[regime_key],
        call=("step_size_explorer", {"lr": "lr"}),
        memo=True,
        fixed={"lam": lam, "x0": x0, "steps": steps, "condition": condition}
        if (lam, x0, steps, condition) != (2.0, 2.5, 20, 10.0)
        else {},
    )

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

from ._view import Explorer, FigureView, autograding, placeholder


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


def _clipped(values, low=1e-12, high=1e6):
    return np.clip(np.nan_to_num(values, nan=high, posinf=high), low, high)


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
    lr_max = 1.2 * limit
    x0_2d = np.array([-2.5, 1.5])

    view = FigureView(figsize=(10.5, 4.4), nrows=0)
    grid = view.figure.add_gridspec(2, 3, height_ratios=(1, 6))
    strip = view.figure.add_subplot(grid[0, :])
    ax_1d, ax_2d, ax_loss = (view.figure.add_subplot(grid[1, i]) for i in range(3))

    # Learning-rate scale with the regimes and the closed-form stability limit 2/lam.
    for (lo, hi), name, colour in (
        ((0, 1 / lam), "slow (monotone)", plots.PALETTE[2]),
        ((1 / lam, limit), "oscillating", plots.PALETTE[1]),
        ((limit, lr_max), "diverging", plots.PALETTE[3]),
    ):
        strip.axvspan(lo, hi, color=colour, alpha=0.35, linewidth=0)
        strip.text((lo + hi) / 2, 0.5, name, ha="center", va="center", fontsize=8)
    strip.axvline(limit, color=plots.THEORY_COLOR, linewidth=2)
    strip.text(limit, 1.05, f" 2/λ = {limit:.3g}", fontsize=9, va="bottom")
    lr_marker = view.dynamic(
        *strip.plot([lr], [0.5], marker="v", markersize=12, color=plots.THEORY_COLOR)
    )
    strip.set_xlim(0, lr_max)
    strip.set_ylim(0, 1)
    strip.set_yticks([])
    strip.set_xlabel("learning rate η (same scale as the slider)")
    strip.set_title("Learning-rate scale: stability limit 2/λ", fontsize=10, loc="left")

    grid_x = np.linspace(-1.6 * abs(x0), 1.6 * abs(x0), 200)
    ax_1d.plot(grid_x, 0.5 * lam * grid_x**2, color="0.6")
    path_1d = view.dynamic(*ax_1d.plot([], [], "-o", color=plots.PALETTE[0], markersize=3))
    view.dynamic(ax_1d.title)
    ax_1d.set_xlim(grid_x[0], grid_x[-1])
    ax_1d.set_ylim(-0.05 * lam * x0**2, 0.5 * lam * grid_x[-1] ** 2)
    ax_1d.set_xlabel("x")
    ax_1d.set_ylabel("f(x) = λx²/2")

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
        iterations, np.ones_like(iterations, float), color=plots.PALETTE[0], label="1-D f(x)"
    )
    (loss_2d,) = ax_loss.plot(
        iterations, np.ones_like(iterations, float), color=plots.PALETTE[4], label="2-D f(x)"
    )
    (theory,) = ax_loss.plot(
        iterations,
        np.ones_like(iterations, float),
        ":",
        color=plots.THEORY_COLOR,
        label=r"theory $(1-\eta\lambda)^{2k} f(x_0)$",
    )
    view.dynamic(loss_1d, loss_2d, theory)
    ax_loss.set_yscale("log")
    ax_loss.set_ylim(1e-12, 1e6)
    ax_loss.set_xlim(0, steps)
    ax_loss.set_title("Loss per step (log scale)")
    ax_loss.set_xlabel("step k")
    ax_loss.set_ylabel("f(x_k)")
    ax_loss.legend(fontsize=7, loc="lower left")

    slider = widgets.FloatSlider(
        value=lr,
        min=0.01,
        max=round(lr_max, 3),
        step=0.01,
        description="η",
        readout_format=".2f",
        continuous_update=True,
    )

    def update(values):
        rate = values["lr"]
        xs = gd_path_1d(lam, rate, x0, steps)
        path_2d_values = gd_path_2d(lambdas, rate, x0_2d, steps)
        f_1d = 0.5 * lam * xs**2
        f_2d = 0.5 * (path_2d_values**2 @ lambdas)
        lr_marker.set_xdata([min(rate, lr_max)])
        path_1d.set_data(xs, f_1d)
        ax_1d.set_title(f"η = {rate:.2f}: {regime(rate, lam)}")
        path_2d.set_data(path_2d_values[:, 0], path_2d_values[:, 1])
        loss_1d.set_ydata(_clipped(f_1d))
        loss_2d.set_ydata(_clipped(f_2d))
        theory.set_ydata(_clipped(f_1d[0] * (1 - rate * lam) ** (2 * iterations)))
        return {"path_1d": xs, "path_2d": path_2d_values, "regime": regime(rate, lam)}

    return Explorer("Step size: x ← x − η f′(x)", {"lr": slider}, view, update)

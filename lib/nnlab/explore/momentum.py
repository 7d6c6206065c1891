"""Momentum explorer: heavy-ball gradient descent on an ill-conditioned quadratic.

Contract:
  momentum_path(lambdas, alpha, beta, x0, steps) -> (steps+1, 2) iterates of
      v <- beta v - alpha grad f(x);  x <- x + v     on f(x) = 1/2 sum_i lam_i x_i^2
      (nnlab.optim.Momentum; beta = 0 is plain gradient descent).
  empirical_rate(path) -> float: geometric-mean contraction per step of |x_k - x*| over the
      second half of the run (x* = 0), which approaches the spectral radius of the iteration.
  theoretical_rate(lambdas, alpha, beta) -> float: that spectral radius, in closed form
      (nnlab.surfaces' Quadratic.momentum_rate).
  critical_damping(alpha, lam) -> (1 - sqrt(alpha lam))^2: the smallest beta at which the
      direction with curvature lam stops creeping (overdamped) and starts to ring.
  quiz_letters(rng) -> ("curve X", "curve Y", "curve Z"): the quiz's names for GD, β = 0.5 and
      β = 0.9, a random order other than A, B, C.
  momentum_explorer(compare=False, quiz=False) -> Explorer widget.
"""

from __future__ import annotations

import itertools

import numpy as np

from nnlab import optim, surfaces

from ._view import Explorer, FigureView, autograding, placeholder


def _quadratic(lambdas):
    return surfaces.quadratic(lambdas=tuple(float(v) for v in lambdas))


def momentum_path(lambdas, alpha: float, beta: float, x0, steps: int) -> np.ndarray:
    """Heavy-ball iterates on the quadratic with curvatures ``lambdas`` (2,). Returns (T+1, 2)."""
    lambdas = np.asarray(lambdas, dtype=float)
    if lambdas.shape != (2,) or np.any(lambdas <= 0):
        raise ValueError(f"lambdas must be two positive curvatures, got {lambdas!r}")
    optimizer = optim.Momentum(alpha, beta=beta)
    return optim.run(optimizer, lambda x: lambdas * x, np.asarray(x0, float), int(steps))


def empirical_rate(path) -> float:
    """Per-step contraction of |x_k| measured over the second half of ``path`` (T+1, d)."""
    distances = np.linalg.norm(np.asarray(path, dtype=float), axis=1)
    start = len(distances) // 2
    usable = np.flatnonzero(distances > 1e-250)  # avoid underflow at very fast rates
    end = usable[-1] if usable.size else 0
    if end <= start:
        start = max(end // 2, 0)
    if end == start or distances[start] == 0:
        return 0.0
    return float((distances[end] / distances[start]) ** (1.0 / (end - start)))


def theoretical_rate(lambdas, alpha: float, beta: float) -> float:
    """Spectral radius of the momentum iteration on the quadratic (closed form)."""
    return float(_quadratic(lambdas).momentum_rate(alpha, beta))


def critical_damping(alpha: float, lam: float) -> float:
    """beta = (1 - sqrt(alpha lam))^2: momentum that critically damps curvature ``lam``."""
    return float((1.0 - np.sqrt(alpha * lam)) ** 2)


COMPARE_BETAS = {"gradient descent": 0.0, "momentum β = 0.5": 0.5, "momentum β = 0.9": 0.9}


def quiz_letters(rng: np.random.Generator) -> tuple[str, str, str]:
    """Curve names for GD, β = 0.5, β = 0.9 in a random order that is never A, B, C."""
    orders = [order for order in itertools.permutations("ABC") if order != ("A", "B", "C")]
    return tuple(f"curve {letter}" for letter in orders[int(rng.integers(len(orders)))])


def momentum_explorer(
    compare: bool = False,
    quiz: bool = False,
    lambdas=(1.0, 10.0),
    alpha: float = 0.05,
    beta: float = 0.6,
    steps: int = 80,
    x0=(-1.8, 1.4),
):
    """Slide the step size α and momentum β; theory is drawn over the experiment.

    compare=False: one run with sliders α and β. Panels: the path on the contours, the
        distance to the minimum per step with the theoretical rate line, and the rate as a
        function of β (closed form) with the critical-damping value and the measured rate.
    compare=True: gradient descent, momentum β = 0.5 and β = 0.9 side by side at the same α
        (the lecture's curve-matching question), each with its theoretical rate.
    quiz=True: the comparison with the curves named A, B, C (a new random order at every
        call) and the theory lines hidden, until the learner ticks "reveal" (implies
        compare=True).
    lambdas: curvatures of f(x) = 1/2 (λ1 x1² + λ2 x2²); their ratio is the condition number.

    Examples::

        from nnlab.explore import momentum_explorer
        momentum_explorer()
        momentum_explorer(compare=True)
        momentum_explorer(quiz=True)       # which curve is GD, β = 0.5, β = 0.9?
    """
    if autograding():
        return placeholder("momentum_explorer")
    compare = compare or quiz
    import ipywidgets as widgets

    from nnlab import plots

    lambdas = np.asarray(lambdas, dtype=float)
    surface = _quadratic(lambdas)
    lam_min, lam_max = float(lambdas.min()), float(lambdas.max())
    x0 = np.asarray(x0, dtype=float)
    iterations = np.arange(steps + 1)
    alpha_max = round(3.0 / lam_max, 3)  # momentum stays stable up to 2(1+β)/λmax

    view = FigureView(
        figsize=(8.0, 3.8) if compare else (10.5, 3.8), nrows=1, ncols=2 + (not compare)
    )
    ax_path, ax_loss = view.axes[:2]
    plots.contour_trajectories(
        surface,
        {},
        ax=ax_path,
        levels=15,
        resolution=120,
        title=f"Path, λ = ({lam_min:g}, {lam_max:g})",
    )
    ax_loss.set_yscale("log")
    ax_loss.set_ylim(1e-8, 1e3)
    ax_loss.set_xlim(0, steps)
    ax_loss.set_title("Distance to the minimum")
    ax_loss.set_xlabel("step k")
    ax_loss.set_ylabel("‖x_k − x*‖ (log scale)")

    runs = COMPARE_BETAS if compare else {"momentum": None}
    path_lines, loss_lines, theory_lines = {}, {}, {}
    for i, name in enumerate(runs):
        colour = plots.color(i if compare else 0)
        path_lines[name] = view.dynamic(
            *ax_path.plot([], [], "-o", color=colour, markersize=2, linewidth=1.1, label=name)
        )
        loss_lines[name] = view.dynamic(
            *ax_loss.plot(iterations, np.ones(steps + 1), color=colour, label=f"{name}: run")
        )
        theory_lines[name] = view.dynamic(
            *ax_loss.plot(
                iterations,
                np.ones(steps + 1),
                ":",
                color=colour,
                linewidth=2,
                label=f"{name}: theory ‖x₀‖ρᵏ",
            )
        )
    ax_path.legend(fontsize=7, loc="upper right")
    ax_loss.legend(fontsize=6, loc="lower left")
    # Quiz: a fresh letter order at every call, so the letters here say nothing about a
    # lecture's graded figure (legend order is GD, 0.5, 0.9).
    quiz_labels = dict(zip(COMPARE_BETAS, quiz_letters(np.random.default_rng()), strict=True))
    shown = {"revealed": None}

    def label_curves(revealed):
        names = list(runs)
        label = {n: n if revealed else quiz_labels[n] for n in names}
        ax_path.legend(
            [path_lines[n] for n in names], [label[n] for n in names], fontsize=7, loc="upper right"
        )
        handles, texts = [], []
        for n in names:
            handles.append(loss_lines[n])
            texts.append(f"{label[n]}: run")
            if revealed:  # the theory lines would give the answer away
                handles.append(theory_lines[n])
                texts.append(f"{label[n]}: theory ‖x₀‖ρᵏ")
        ax_loss.legend(handles, texts, fontsize=6, loc="lower left")
        for line in theory_lines.values():
            line.set_visible(revealed)
        view.invalidate()  # legends are part of the static background

    if not compare:
        ax_rate = view.axes[2]
        beta_grid = np.linspace(0.0, 0.99, 100)
        ax_rate.set_xlim(0, 1)
        ax_rate.set_ylim(0, 1.2)
        ax_rate.axhline(1.0, color="0.6", linewidth=0.8)
        ax_rate.set_title("Convergence rate ρ vs momentum β")
        ax_rate.set_xlabel("β (same scale as the slider)")
        ax_rate.set_ylabel("ρ per step (below 1 converges)")
        rate_curve = view.dynamic(
            *ax_rate.plot(
                beta_grid,
                np.zeros_like(beta_grid),
                color=plots.THEORY_COLOR,
                label="theory ρ(α, β)",
            )
        )
        critical_line = view.dynamic(
            ax_rate.axvline(0.5, color=plots.PALETTE[2], linestyle="--", label="critical damping")
        )
        measured = view.dynamic(
            *ax_rate.plot([], [], "o", color=plots.PALETTE[3], markersize=7, label="measured")
        )
        rate_text = view.dynamic(ax_rate.text(0.02, 1.12, "", fontsize=8, va="top"))
        ax_rate.legend(fontsize=7, loc="lower left")

    controls = {}
    if quiz:
        controls["reveal"] = widgets.Checkbox(value=False, description="reveal which is which")
    controls |= {
        "alpha": widgets.FloatSlider(
            value=alpha,
            min=0.001,
            max=alpha_max,
            step=0.001,
            description="α (step)",
            readout_format=".3f",
        ),
    }
    if not compare:
        controls["beta"] = widgets.FloatSlider(
            value=beta,
            min=0.0,
            max=0.99,
            step=0.01,
            description="β (momentum)",
            readout_format=".2f",
        )
    curve_cache = {}

    def update(values):
        step = values["alpha"]
        if quiz and shown["revealed"] != values["reveal"]:
            label_curves(values["reveal"])
            shown["revealed"] = values["reveal"]
        betas = dict(COMPARE_BETAS) if compare else {"momentum": values["beta"]}
        result = {}
        for name, b in betas.items():
            path = momentum_path(lambdas, step, b, x0, steps)
            distance = np.clip(np.nan_to_num(np.linalg.norm(path, axis=1), nan=1e6), 1e-12, 1e6)
            rho = theoretical_rate(lambdas, step, b)
            path_lines[name].set_data(*np.clip(path, -1e3, 1e3).T)
            loss_lines[name].set_ydata(distance)
            theory_lines[name].set_ydata(np.clip(distance[0] * rho**iterations, 1e-12, 1e6))
            result[name] = {
                "path": path,
                "theory_rate": rho,
                "empirical_rate": empirical_rate(path),
            }
        if not compare:
            b = values["beta"]
            if step not in curve_cache:
                curve_cache[step] = [theoretical_rate(lambdas, step, g) for g in beta_grid]
            rate_curve.set_ydata(np.minimum(curve_cache[step], 1.2))
            beta_crit = critical_damping(step, lam_min)
            critical_line.set_xdata([beta_crit, beta_crit])
            run = result["momentum"]
            measured.set_data([b], [min(run["empirical_rate"], 1.2)])
            rate_text.set_text(
                f"theory ρ = {run['theory_rate']:.3f}, measured {run['empirical_rate']:.3f}\n"
                f"critical damping (λ={lam_min:g}): β = {beta_crit:.3f}"
            )
            result["critical_damping"] = beta_crit
        return result

    title = (
        "Momentum: GD vs β = 0.5 vs β = 0.9"
        if compare
        else "Momentum on an ill-conditioned quadratic"
    )
    return Explorer(title, controls, view, update)

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
  rate_map(lambdas, alphas (A,), betas (B,)) -> (B, A) spectral radius on a grid (vectorised
      closed form: the larger root modulus of z^2 - (1 + beta - alpha lam) z + beta, max over
      lam).
  stability_limit(lam_max, beta) -> 2 (1 + beta) / lam_max: the largest stable alpha.
  best_beta(alpha, lambdas) -> the beta minimising the rate at this alpha: the larger of the
      two critical dampings (each direction's rate falls until its own critical damping,
      then equals sqrt(beta), so the slowest direction decides).
  polyak(lambdas) -> (alpha*, beta*) = ((2 / (sqrt L + sqrt l))^2, ((sqrt k - 1)/(sqrt k + 1))^2),
      the best pair overall (nnlab.surfaces' Quadratic.optimal_momentum).
  error_split(path, lambdas) -> (T+1, 2): f(x_k) per eigendirection, 1/2 lam_i x_{k,i}^2;
      the columns sum to f(x_k) and each decays at its own rate.
  quiz_letters(rng) -> ("curve X", "curve Y", "curve Z"): the quiz's names for GD, β = 0.5 and
      β = 0.9, a random order other than A, B, C.
  momentum_explorer(compare=False, quiz=False, ...) -> Explorer widget.
"""

from __future__ import annotations

import itertools

import numpy as np

from nnlab import optim, surfaces

from ._view import Explorer, FigureView, autograding, placeholder, styled


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


def rate_map(lambdas, alphas, betas) -> np.ndarray:
    """Spectral radius (B, A) of heavy ball for every beta in betas (B,), alpha in alphas (A,)."""
    alpha = np.asarray(alphas, dtype=float)[None, :]
    beta = np.asarray(betas, dtype=float)[:, None]
    worst = np.zeros(np.broadcast_shapes(alpha.shape, beta.shape))
    for lam in np.asarray(lambdas, dtype=float):
        trace = 1.0 + beta - alpha * lam
        root = np.sqrt((trace**2 - 4.0 * beta).astype(complex))
        larger = np.maximum(np.abs((trace + root) / 2.0), np.abs((trace - root) / 2.0))
        worst = np.maximum(worst, larger)
    return worst


def stability_limit(lam_max: float, beta: float) -> float:
    """Largest stable step 2 (1 + beta) / lam_max (the rate reaches 1 there)."""
    return 2.0 * (1.0 + beta) / float(lam_max)


def best_beta(alpha: float, lambdas) -> float:
    """Momentum minimising the rate at step alpha: max of the two critical dampings."""
    return max(critical_damping(alpha, float(lam)) for lam in np.asarray(lambdas, dtype=float))


def polyak(lambdas) -> tuple[float, float]:
    """Polyak's optimal (alpha*, beta*) for curvatures lambdas."""
    return _quadratic(lambdas).optimal_momentum()


def error_split(path, lambdas) -> np.ndarray:
    """f(x_k) per eigendirection: (T+1, 2) columns 1/2 lam_i x_{k,i}^2 of path (T+1, 2)."""
    return 0.5 * np.asarray(lambdas, dtype=float)[None, :] * np.asarray(path, dtype=float) ** 2


COMPARE_BETAS = {"gradient descent": 0.0, "momentum β = 0.5": 0.5, "momentum β = 0.9": 0.9}


def quiz_letters(rng: np.random.Generator) -> tuple[str, str, str]:
    """Curve names for GD, β = 0.5, β = 0.9 in a random order that is never A, B, C."""
    orders = [order for order in itertools.permutations("ABC") if order != ("A", "B", "C")]
    return tuple(f"curve {letter}" for letter in orders[int(rng.integers(len(orders)))])


@styled
def momentum_explorer(
    compare: bool = False,
    quiz: bool = False,
    lambdas=(1.0, 10.0),
    alpha: float = 0.05,
    beta: float = 0.6,
    steps: int = 80,
    x0=(-1.8, 1.4),
    kappa: float | None = None,
):
    """Slide the step size α and momentum β; theory is drawn over the experiment.

    compare=False: one run with sliders α (up to the stability limit 2(1+β)/λ_max), β and
        the condition number κ. Panels: the path on the contours; the loss split per
        eigendirection, each part decaying at its own rate; the rate ρ against β with the
        critical damping of λ_min and λ_max and the best β for this α; and the (α, β) rate
        map with its stability and critical-damping boundaries, Polyak's optimum (α*, β*)
        and the current point.
    compare=True: gradient descent, momentum β = 0.5 and β = 0.9 side by side at the same α
        (the lecture's curve-matching question), each with its theoretical rate.
    quiz=True: the comparison with the curves named A, B, C (a new random order at every
        call) and the theory lines hidden, until the learner ticks "reveal" (implies
        compare=True).
    lambdas: curvatures of f(x) = 1/2 (λ1 x1² + λ2 x2²); their ratio is the condition number.
    kappa: start the κ slider here instead (λ_max = κ λ_min).

    Examples::

        from nnlab.explore import momentum_explorer
        momentum_explorer()
        momentum_explorer(alpha=0.38, beta=0.9)   # at the stability limit
        momentum_explorer(compare=True)
        momentum_explorer(quiz=True)       # which curve is GD, β = 0.5, β = 0.9?
    """
    if autograding():
        return placeholder("momentum_explorer")
    if compare or quiz:
        return _comparison(quiz, lambdas, alpha, steps, x0)
    return _single(lambdas, alpha, beta, steps, x0, kappa)


KAPPA_CHOICES = (2.0, 5.0, 10.0, 20.0, 50.0, 100.0)


def _single(lambdas, alpha, beta, steps, x0, kappa):
    """The one-run explorer with the theory panels (see momentum_explorer)."""
    import ipywidgets as widgets

    from nnlab import plots

    lambdas = np.asarray(lambdas, dtype=float)
    lam_min = float(lambdas.min())
    start_kappa = float(kappa) if kappa is not None else float(lambdas.max() / lam_min)
    kappas = sorted(set(KAPPA_CHOICES) | {start_kappa})
    x0 = np.asarray(x0, dtype=float)
    iterations = np.arange(steps + 1)
    beta_max = 0.99
    beta_grid = np.linspace(0.0, beta_max, 199)

    view = FigureView(panels=4, size=(3.6, 3.0))
    ax_path, ax_loss, ax_rate, ax_map = view.axes

    # Path: contours drawn per κ (static; redrawn when κ changes).
    contour_artists = []
    path_line = view.dynamic(
        *ax_path.plot([], [], "-o", color=plots.PALETTE[0], markersize=2, linewidth=1.1)
    )
    ax_path.plot(0, 0, "*", color=plots.THEORY_COLOR, markersize=10)
    bound = 1.1 * float(np.max(np.abs(x0)))
    ax_path.set_xlim(-1.4 * bound, 1.4 * bound)
    ax_path.set_ylim(-bound, bound)
    ax_path.set_xlabel("$x_1$ (flat, $\\lambda_{min}$)")
    ax_path.set_ylabel("$x_2$ (steep, $\\lambda_{max}$)")
    # ax_path.title changes with κ only, which redraws the background: it is static.

    # Loss split per eigendirection: f(x_k) = 1/2 λ1 x1² + 1/2 λ2 x2².
    plots.log_scale(ax_loss, "y")
    ax_loss.set_ylim(1e-10, 1e4)
    ax_loss.set_xlim(0, steps)
    ax_loss.set_title("Loss $f(x_k)$ split per eigendirection")
    ax_loss.set_xlabel("step $k$")
    ax_loss.set_ylabel("$f(x_k)$ and its parts (log)")
    total_line = view.dynamic(
        *ax_loss.plot(iterations, np.ones(steps + 1), color="black", label="$f(x_k)$ = sum")
    )
    part_lines = [
        view.dynamic(
            *ax_loss.plot(
                iterations,
                np.ones(steps + 1),
                linestyle=plots.DASHES[1 + i],
                color=plots.PALETTE[2 * i + 1],
                linewidth=1.6,
                label=label,
            )
        )
        for i, label in enumerate(
            ("$\\frac{1}{2}\\lambda_{min} x_{k,1}^2$", "$\\frac{1}{2}\\lambda_{max} x_{k,2}^2$")
        )
    ]
    envelope = view.dynamic(
        *ax_loss.plot(
            iterations,
            np.ones(steps + 1),
            ":",
            color="0.45",
            linewidth=1.2,
            label="$f(x_0)\\,\\rho^{2k}$",
        )
    )
    ax_loss.legend(loc="upper right")

    # Rate against β at this α.
    ax_rate.set_xlim(0, 1)
    ax_rate.set_ylim(0, 1.2)
    ax_rate.axhline(1.0, color="0.6", linewidth=0.8)
    ax_rate.set_xlabel("momentum $\\beta$ (slider scale)")
    ax_rate.set_ylabel("rate $\\rho$ per step ($<1$ converges)")
    view.dynamic(ax_rate.title)
    rate_curve = view.dynamic(
        *ax_rate.plot(
            beta_grid,
            np.zeros_like(beta_grid),
            color=plots.THEORY_COLOR,
            label="$\\rho(\\alpha, \\beta)$",
        )
    )
    critical_lines = [
        view.dynamic(ax_rate.axvline(0.5, color=colour, linestyle=dash, linewidth=1.4, label=label))
        for colour, dash, label in (
            (plots.PALETTE[1], plots.DASHES[1], "critical, $\\lambda_{min}$"),
            (plots.PALETTE[3], plots.DASHES[2], "critical, $\\lambda_{max}$"),
        )
    ]
    best_marker = view.dynamic(
        *ax_rate.plot([], [], "D", color=plots.PALETTE[2], markersize=6, label="best $\\beta$")
    )
    measured = view.dynamic(
        *ax_rate.plot(
            [], [], "o", mfc="white", mec=plots.PALETTE[0], mew=2, markersize=7, label="your run"
        )
    )
    ax_rate.legend(loc="lower left")

    # (α, β) rate map: static per κ.
    ax_map.set_xlabel("step $\\alpha$")
    ax_map.set_ylabel("momentum $\\beta$")
    ax_map.set_title("Rate map $\\rho(\\alpha, \\beta)$")
    map_point = view.dynamic(
        *ax_map.plot([], [], "o", mfc="white", mec="black", mew=2, markersize=7)
    )
    map_artists = []
    drawn = {"kappa": None}

    def draw_kappa(value):
        """Static parts that depend on κ: contours, the rate map and its boundaries."""
        for artist in contour_artists + map_artists:
            artist.remove()
        contour_artists.clear()
        map_artists.clear()
        lams = np.array([lam_min, lam_min * value])
        grid_x, grid_y = np.meshgrid(
            np.linspace(-1.4 * bound, 1.4 * bound, 120), np.linspace(-bound, bound, 100)
        )
        contour_artists.append(
            ax_path.contour(
                grid_x,
                grid_y,
                np.log1p(0.5 * (lams[0] * grid_x**2 + lams[1] * grid_y**2)),
                levels=12,
                colors="0.78",
                linewidths=0.7,
            )
        )
        top = stability_limit(lams[1], beta_max)
        alphas = np.linspace(top / 200, top, 120)
        betas = np.linspace(0.0, beta_max, 100)
        rho = np.minimum(rate_map(lams, alphas, betas), 1.0)
        map_artists.append(
            ax_map.imshow(
                rho,
                origin="lower",
                aspect="auto",
                extent=(0, top, 0, beta_max),
                cmap="viridis_r",
                vmin=0,
                vmax=1,
            )
        )
        edge = np.linspace(0, top, 200)
        boundary = edge * lams[1] / 2 - 1  # alpha = 2 (1 + beta) / lam_max, solved for beta
        (limit_line,) = ax_map.plot(
            edge,
            np.where((boundary >= 0) & (boundary <= beta_max), boundary, np.nan),
            color="white",
            linewidth=2,
        )
        map_artists.append(limit_line)
        map_artists.append(
            ax_map.text(
                top * 0.97,
                0.04,
                "unstable\n$\\alpha > 2(1+\\beta)/\\lambda_{max}$",
                ha="right",
                va="bottom",
                color="white",
            )
        )
        for lam, colour, dash in (
            (lams[0], plots.PALETTE[1], plots.DASHES[1]),
            (lams[1], plots.PALETTE[3], plots.DASHES[2]),
        ):
            crit = (1 - np.sqrt(edge * lam)) ** 2
            (line,) = ax_map.plot(
                edge,
                np.where(crit <= beta_max, crit, np.nan),
                color=colour,
                linestyle=dash,
                linewidth=1.6,
            )
            map_artists.append(line)
        a_star, b_star = polyak(lams)
        (star,) = ax_map.plot(
            a_star, b_star, "*", color=plots.PALETTE[6], mec="black", markersize=13
        )
        map_artists.append(star)
        map_artists.append(
            ax_map.annotate(
                f"Polyak\n({a_star:.3f}, {b_star:.2f})",
                (a_star, b_star),
                xytext=(-8, 8),
                textcoords="offset points",
                ha="right",
                color="white",
            )
        )
        ax_map.set_xlim(0, top)
        ax_map.set_ylim(0, beta_max)
        ax_path.set_title(f"Path $x_k$, κ = {value:g}")
        drawn["kappa"] = value
        view.relayout(ax_map)  # the α axis has new tick labels
        view.invalidate()
        return lams, top

    controls = {
        "alpha": widgets.FloatSlider(
            value=alpha,
            min=0.001,
            max=round(stability_limit(lam_min * start_kappa, beta_max), 3),
            step=0.001,
            description="α (step)",
            readout_format=".3f",
        ),
        "beta": widgets.FloatSlider(
            value=beta,
            min=0.0,
            max=beta_max,
            step=0.01,
            description="β (momentum)",
            readout_format=".2f",
        ),
        "kappa": widgets.SelectionSlider(
            options=[(f"{k:g}", k) for k in kappas],
            value=start_kappa,
            description="κ = λmax/λmin",
        ),
    }
    curve_cache = {}

    def update(values):
        step, b, value = values["alpha"], values["beta"], values["kappa"]
        if drawn["kappa"] != value:
            draw_kappa(value)
        lams = np.array([lam_min, lam_min * value])
        path = momentum_path(lams, step, b, x0, steps)
        with np.errstate(over="ignore", invalid="ignore"):
            parts = error_split(path, lams)
            total = parts.sum(axis=1)
        rho = theoretical_rate(lams, step, b)
        measured_rate = empirical_rate(path)
        path_line.set_data(*np.clip(np.nan_to_num(path, nan=1e3), -1e3, 1e3).T)

        def log_safe(values):
            return np.clip(np.nan_to_num(values, nan=1e300, posinf=1e300), 1e-300, 1e300)

        total_line.set_ydata(log_safe(total))
        for line, column in zip(part_lines, parts.T, strict=True):
            line.set_ydata(log_safe(column))
        with np.errstate(over="ignore"):
            envelope.set_ydata(log_safe(total[0] * rho ** (2.0 * iterations)))
        key = (step, value)
        if key not in curve_cache:
            if len(curve_cache) > 2000:
                curve_cache.clear()
            curve_cache[key] = rate_map(lams, [step], beta_grid)[:, 0]
        rate_curve.set_ydata(np.minimum(curve_cache[key], 1.2))
        crits = [critical_damping(step, lam) for lam in lams]
        for line, crit in zip(critical_lines, crits, strict=True):
            line.set_xdata([crit, crit])
            line.set_visible(crit <= 1.0)
        best = best_beta(step, lams)
        best_rho = theoretical_rate(lams, step, best) if best <= beta_max else np.nan
        best_marker.set_data([best], [min(best_rho, 1.2)])
        measured.set_data([b], [min(measured_rate, 1.2)])
        ax_rate.set_title(
            f"ρ = {rho:.3f} (measured {measured_rate:.3f}); best β = {best:.2f}\n"
            f"critical β: {crits[0]:.3f} (λmin), {crits[1]:.3f} (λmax)",
            fontsize=8.5,
        )
        map_point.set_data([step], [b])
        limit = stability_limit(lams[1], b)
        return {
            "momentum": {"path": path, "theory_rate": rho, "empirical_rate": measured_rate},
            "critical_damping": crits[0],
            "critical_damping_max": crits[1],
            "best_beta": best,
            "stability_limit": limit,
            "polyak": polyak(lams),
            "error_split": parts,
            "lambdas": lams,
        }

    explorer = Explorer(
        "Momentum on an ill-conditioned quadratic",
        controls,
        view,
        update,
        call=("momentum_explorer", {"alpha": "alpha", "beta": "beta", "kappa": "kappa"}),
        memo=True,
    )

    def on_kappa(change):
        # A new κ moves the stability limit: rescale α's slider first, then redraw once.
        with explorer.hold_updates():
            slider = controls["alpha"]
            slider.max = round(stability_limit(lam_min * change["new"], beta_max), 3)

    controls["kappa"].unobserve(explorer._on_change, names="value")
    controls["kappa"].observe(on_kappa, names="value")
    return explorer


def _comparison(quiz, lambdas, alpha, steps, x0):
    """GD vs momentum 0.5 vs 0.9 at one α; quiz=True hides names and theory (see above)."""
    import ipywidgets as widgets

    from nnlab import plots

    lambdas = np.asarray(lambdas, dtype=float)
    surface = _quadratic(lambdas)
    lam_min, lam_max = float(lambdas.min()), float(lambdas.max())
    x0 = np.asarray(x0, dtype=float)
    iterations = np.arange(steps + 1)
    alpha_max = round(3.0 / lam_max, 3)  # momentum stays stable up to 2(1+β)/λmax

    view = FigureView(panels=2, size=(3.9, 3.2))
    ax_path, ax_loss = view.axes[:2]
    plots.contour_trajectories(
        surface,
        {},
        ax=ax_path,
        levels=15,
        resolution=120,
        title=f"Path, λ = ({lam_min:g}, {lam_max:g})",
    )
    plots.log_scale(ax_loss, "y")
    ax_loss.set_ylim(1e-8, 1e3)
    ax_loss.set_xlim(0, steps)
    ax_loss.set_title("Distance to the minimum")
    ax_loss.set_xlabel("step $k$")
    ax_loss.set_ylabel("$\\|x_k - x^*\\|$ (log scale)")

    runs = COMPARE_BETAS
    path_lines, loss_lines, theory_lines = {}, {}, {}
    for i, name in enumerate(runs):
        colour = plots.color(i)
        path_lines[name] = view.dynamic(
            *ax_path.plot([], [], "-o", color=colour, markersize=2, linewidth=1.1, label=name)
        )
        loss_lines[name] = view.dynamic(
            *ax_loss.plot(
                iterations,
                np.ones(steps + 1),
                color=colour,
                linestyle=plots.DASHES[i],
                label=f"{name}: run",
            )
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
    ax_path.legend(loc="upper right")
    ax_loss.legend(loc="lower left")
    # Quiz: a fresh letter order at every call, so the letters here say nothing about a
    # lecture's graded figure (legend order is GD, 0.5, 0.9).
    quiz_labels = dict(zip(COMPARE_BETAS, quiz_letters(np.random.default_rng()), strict=True))
    shown = {"revealed": None}

    def label_curves(revealed):
        names = list(runs)
        label = {n: n if revealed else quiz_labels[n] for n in names}
        ax_path.legend([path_lines[n] for n in names], [label[n] for n in names], loc="upper right")
        handles, texts = [], []
        for n in names:
            handles.append(loss_lines[n])
            texts.append(f"{label[n]}: run")
            if revealed:  # the theory lines would give the answer away
                handles.append(theory_lines[n])
                texts.append(f"{label[n]}: theory ‖x₀‖ρᵏ")
        ax_loss.legend(handles, texts, loc="lower left")
        for line in theory_lines.values():
            line.set_visible(revealed)
        view.invalidate()  # legends are part of the static background

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

    def update(values):
        step = values["alpha"]
        if quiz and shown["revealed"] != values["reveal"]:
            label_curves(values["reveal"])
            shown["revealed"] = values["reveal"]
        result = {}
        for name, b in COMPARE_BETAS.items():
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
        return result

    return Explorer(
        "Momentum: GD vs β = 0.5 vs β = 0.9",
        controls,
        view,
        update,
        call=None if quiz else ("momentum_explorer", {"alpha": "alpha"}),
        memo=None if quiz else True,
        fixed={"compare": True},
    )

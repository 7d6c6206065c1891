"""Capacity explorer: under- and overfitting as model size and L2 strength change.

Contract (polynomial mode; x are scalars, arrays (N,)):
  polynomial_features(x, degree, x_range) -> (N, degree+1) Legendre features of x mapped to
      [-1, 1] (a well-conditioned basis for the same polynomials as 1, x, x^2, ...).
  ridge_fit(x, y, degree, l2, x_range) -> w (degree+1,) minimising
      mean_i (phi(x_i) w - y_i)^2 + l2 * sum_{j>=1} w_j^2   (the constant is not penalised).
  mse(w, x, y, x_range) -> float mean squared error.
  gd_curves(x_tr, y_tr, x_val, y_val, degree, l2, iterations, x_range) -> (train (K,), val (K,))
      errors of plain gradient descent from w = 0 with step 1/L on the objective above,
      evaluated after each count in ``iterations`` (K,) via the exact closed form
      w_k = w* + (I - eta H)^k (w_0 - w*) in H's eigenbasis, so 10^5 steps cost nothing.
  early_stop(val, tolerance=0.01): from ._curves (the training-curve panel both capacity
      modes share), re-exported here.
  capacity_explorer(mode="polynomial" | "network", degree, l2, hidden) -> Explorer widget.
"""

from __future__ import annotations

import numpy as np

from ._curves import LearningCurves
from ._curves import early_stop as early_stop  # part of this module's contract
from ._view import Explorer, FigureView, autograding, placeholder, styled

# Every step changes the picture: 1e-4 tames degree 15, 0.3 underfits every degree.
L2_CHOICES = (0.0, 1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 0.1, 0.3)


def polynomial_features(x, degree: int, x_range=(-1.0, 1.0)) -> np.ndarray:
    """Legendre features (N, degree+1) of x (N,) after mapping x_range onto [-1, 1]."""
    if int(degree) != degree or degree < 0:
        raise ValueError(f"degree must be an int >= 0, got {degree!r}")
    low, high = x_range
    scaled = (2.0 * (np.asarray(x, dtype=float) - low) / (high - low)) - 1.0
    return np.polynomial.legendre.legvander(scaled, int(degree))


def _normal_equations(x, y, degree, l2, x_range):
    features = polynomial_features(x, degree, x_range)
    n = len(x)
    penalty = np.eye(degree + 1) * l2
    penalty[0, 0] = 0.0
    hessian = 2.0 * (features.T @ features / n + penalty)
    linear = 2.0 * features.T @ np.asarray(y, dtype=float) / n
    return hessian, linear


def ridge_fit(x, y, degree: int, l2: float, x_range=(-1.0, 1.0)) -> np.ndarray:
    """Minimiser (degree+1,) of the penalised mean squared error (see module doc)."""
    if l2 < 0:
        raise ValueError(f"l2 must be >= 0, got {l2!r}")
    hessian, linear = _normal_equations(x, y, degree, l2, x_range)
    return np.linalg.lstsq(hessian, linear, rcond=None)[0]


def mse(w, x, y, x_range=(-1.0, 1.0)) -> float:
    """Mean squared error of the polynomial with Legendre coefficients w on (x, y)."""
    prediction = polynomial_features(x, len(w) - 1, x_range) @ w
    return float(np.mean((prediction - np.asarray(y, dtype=float)) ** 2))


def gd_curves(x_tr, y_tr, x_val, y_val, degree, l2, iterations, x_range=(-1.0, 1.0)):
    """Train/val MSE after each step count in ``iterations`` of GD from w = 0 (exact)."""
    hessian, linear = _normal_equations(x_tr, y_tr, degree, l2, x_range)
    curvatures, basis = np.linalg.eigh(hessian)
    curvatures = np.maximum(curvatures, 0.0)
    step = 1.0 / curvatures.max()
    w_star = np.linalg.lstsq(hessian, linear, rcond=None)[0]
    start = basis.T @ (np.zeros(degree + 1) - w_star)
    iterations = np.asarray(iterations, dtype=float)
    decay = (1.0 - step * curvatures)[None, :] ** iterations[:, None]  # (K, d)
    weights = w_star[None, :] + (decay * start[None, :]) @ basis.T  # (K, d)
    features_tr = polynomial_features(x_tr, degree, x_range)
    features_val = polynomial_features(x_val, degree, x_range)
    train = np.mean((weights @ features_tr.T - np.asarray(y_tr)[None, :]) ** 2, axis=1)
    val = np.mean((weights @ features_val.T - np.asarray(y_val)[None, :]) ** 2, axis=1)
    return train, val


def _polynomial_data(n_train, n_val, noise, rng):
    from nnlab.data import polynomial_1d

    x, y = polynomial_1d(n_train * (1 + n_val // n_train), rng, noise=noise)
    # x comes sorted: every k-th point trains, so training points span the whole range and
    # validation measures interpolation (not wild extrapolation beyond the data).
    stride = len(x) // n_train
    train = np.zeros(len(x), bool)
    train[stride // 2 :: stride] = True
    return x[train], y[train], x[~train], y[~train]


@styled
def capacity_explorer(
    mode: str = "polynomial",
    max_degree: int = 15,
    n_train: int = 20,
    noise: float = 0.2,
    seed: int = 2,
    degree: int = 3,
    l2: float = 0.0,
    hidden: int = 8,
):
    """Slide model capacity and the L2 strength λ; watch train and validation error part.

    mode="polynomial": fit a polynomial of the chosen degree to a few noisy points.
        Panels: the fit; train/validation error against the degree (the U-shaped
        validation curve); and the error during gradient-descent training with the
        early-stopping point marked where validation error rises after its minimum.
    mode="network": hidden units per layer of a 2-h-h-2 ReLU network on 40 noisy two-moons
        points: decision boundary, train/validation loss against hidden units, and the
        training curves with the early-stopping epoch. Each setting trains once (a row of
        hidden sizes per λ, a second or two) and is cached.
    seed: seeds the explicit random generator that draws the data.
    degree, l2 (polynomial) and hidden, l2 (network): the starting slider values.

    Examples::

        from nnlab.explore import capacity_explorer
        capacity_explorer()                    # polynomial degree and λ
        capacity_explorer(mode="network")      # hidden units and λ
    """
    if autograding():
        return placeholder("capacity_explorer")
    if mode == "network":
        from .capacity_network import network_capacity_explorer

        return network_capacity_explorer(seed=seed, hidden=hidden, l2=l2)
    if mode != "polynomial":
        raise ValueError(f'mode must be "polynomial" or "network", got {mode!r}')
    import ipywidgets as widgets

    from nnlab import plots

    rng = np.random.default_rng(seed)
    x_tr, y_tr, x_val, y_val = _polynomial_data(n_train, 200, noise, rng)
    x_range = (min(x_tr.min(), x_val.min()), max(x_tr.max(), x_val.max()))
    degrees = np.arange(max_degree + 1)
    # Every (degree, λ) fit is a tiny linear solve: precompute them all once.
    fits = {(d, l2): ridge_fit(x_tr, y_tr, d, l2, x_range) for d in degrees for l2 in L2_CHOICES}
    errors = {
        l2: (
            np.array([mse(fits[d, l2], x_tr, y_tr, x_range) for d in degrees]),
            np.array([mse(fits[d, l2], x_val, y_val, x_range) for d in degrees]),
        )
        for l2 in L2_CHOICES
    }
    iterations = np.unique(np.round(np.logspace(0, 5, 120)))
    curve_cache = {}

    view = FigureView(panels=3, size=(3.7, 3.0))
    ax_fit, ax_err, ax_curve = view.axes
    grid_x = np.linspace(*x_range, 300)
    ax_fit.scatter(x_val, y_val, s=6, color=plots.VAL_COLOR, alpha=0.5, label="validation")
    ax_fit.scatter(x_tr, y_tr, s=22, color=plots.TRAIN_COLOR, label="train", zorder=3)
    fit_line = view.dynamic(*ax_fit.plot(grid_x, 0 * grid_x, color=plots.PALETTE[3], label="fit"))
    y_all = np.concatenate([y_tr, y_val])
    pad = 0.3 * np.ptp(y_all)
    ax_fit.set_ylim(y_all.min() - pad, y_all.max() + pad)
    ax_fit.set_xlabel("x")
    ax_fit.set_ylabel("y")
    ax_fit.legend(loc="lower right")
    view.dynamic(ax_fit.title)

    train_err = view.dynamic(
        *ax_err.plot(
            degrees, degrees * 0.0 + 1, "-o", markersize=3, color=plots.TRAIN_COLOR, label="train"
        )
    )
    val_err = view.dynamic(
        *ax_err.plot(
            degrees,
            degrees * 0.0 + 1,
            "--o",
            markersize=3,
            color=plots.VAL_COLOR,
            label="validation",
        )
    )
    current = view.dynamic(ax_err.axvline(0, color=plots.THEORY_COLOR, linestyle=":"))
    all_errors = np.concatenate([np.concatenate(pair) for pair in errors.values()])
    # Show up to 30x the variance of y: beyond that a fit is simply useless.
    all_errors = np.clip(all_errors, None, 30 * np.var(y_val))
    plots.log_scale(ax_err, "y")
    ax_err.set_ylim(max(all_errors.min() * 0.5, 1e-4), all_errors.max() * 2)
    ax_err.set_title("Error against capacity")
    ax_err.set_xlabel("polynomial degree")
    ax_err.set_ylabel("mean squared error (log)")
    ax_err.legend(loc="upper left")

    curves = LearningCurves(view, ax_curve, iterations, "step", "Training by GD")
    plots.log_scale(ax_curve, "x")
    plots.log_scale(ax_curve, "y")
    ax_curve.set_xlim(1, iterations[-1])
    ax_curve.set_ylim(
        max(all_errors.min() * 0.5, 1e-4), max(all_errors.max() * 2, np.var(y_all) * 3)
    )
    ax_curve.set_xlabel("gradient-descent step (log)")
    ax_curve.set_ylabel("mean squared error (log)")

    controls = {
        "degree": widgets.IntSlider(value=degree, min=0, max=max_degree, description="degree"),
        "l2": widgets.SelectionSlider(
            options=[(f"{v:g}", v) for v in L2_CHOICES], value=l2, description="λ (L2)"
        ),
    }

    def update(values):
        degree, l2 = values["degree"], values["l2"]
        w = fits[degree, l2]
        fit_line.set_ydata(polynomial_features(grid_x, degree, x_range) @ w)
        train, val = errors[l2]
        ax_fit.set_title(
            f"degree {degree}, λ = {l2:g}\ntrain {train[degree]:.3f}, val {val[degree]:.3f}"
        )
        train_err.set_ydata(train)
        val_err.set_ydata(val)
        current.set_xdata([degree, degree])
        if (degree, l2) not in curve_cache:
            curve_cache[degree, l2] = gd_curves(
                x_tr, y_tr, x_val, y_val, degree, l2, iterations, x_range
            )
        gd_train, gd_val = curve_cache[degree, l2]
        best = curves.show(gd_train, gd_val)
        return {
            "train_error": train,
            "val_error": val,
            "weights": w,
            "best_step": None if best is None else int(iterations[best]),
            "gd_train": gd_train,
            "gd_val": gd_val,
        }

    return Explorer(
        "Capacity: polynomial degree and L2",
        controls,
        view,
        update,
        call=("capacity_explorer", {"degree": "degree", "l2": "l2"}),
        memo=True,
    )

"""Capacity explorer, network mode: hidden units and L2 on a 2-D classification set.

Contract:
  HIDDEN_CHOICES, L2_CHOICES: the slider settings.
  train_network(hidden, l2, data, epochs, seed) -> dict with the History lists as arrays
      (train_loss, val_loss, train_acc, val_acc), best_epoch (lowest validation loss,
      the early-stopping point) and predict_proba(points (M, 2)) -> (M,) P(class 1), for a
      2-h-h-2 ReLU network trained full batch with Adam and penalty (l2 / 2) sum W^2.
  network_capacity_explorer(seed) -> Explorer widget; each (hidden, l2) is trained once and
      cached, a whole row of hidden sizes at a time (the error-vs-capacity curve needs it).
"""

from __future__ import annotations

import numpy as np

from ._view import Explorer, FigureView, ProbabilityMap

HIDDEN_CHOICES = (1, 2, 4, 8, 16, 32)
L2_CHOICES = (0.0, 1e-3, 1e-2, 1e-1)


def make_data(seed: int = 0, n_train: int = 40, n_val: int = 300, noise: float = 0.35):
    """Noisy two moons: few training points, many validation points."""
    from nnlab.data import moons

    rng = np.random.default_rng(seed)
    X_tr, y_tr = moons(n_train, rng, noise=noise)
    X_val, y_val = moons(n_val, rng, noise=noise)
    return X_tr, y_tr, X_val, y_val


def train_network(
    hidden: int, l2: float, data, epochs: int = 200, seed: int = 1, lr: float = 0.02
) -> dict:
    """Train 2-hidden-2 with L2 strength l2; see the module docstring for the result."""
    from nnlab import functions, layers, model, optim

    X_tr, y_tr, X_val, y_val = data
    rng = np.random.default_rng(seed)
    net = model.Sequential(
        layers.Dense(2, hidden, rng),
        layers.ReLU(),
        layers.Dense(hidden, hidden, rng),
        layers.ReLU(),
        layers.Dense(hidden, 2, rng),
    )
    history = model.fit(
        net, X_tr, y_tr, optim.Adam(lr), epochs=epochs, rng=rng, l2=l2, X_val=X_val, y_val=y_val
    )

    def predict_proba(points):
        return functions.softmax(net.forward(np.asarray(points, dtype=float), train=False))[:, 1]

    return {
        "train_loss": np.asarray(history.train_loss),
        "val_loss": np.asarray(history.val_loss),
        "train_acc": np.asarray(history.train_acc),
        "val_acc": np.asarray(history.val_acc),
        "best_epoch": int(history.best_epoch),
        "predict_proba": predict_proba,
    }


def network_capacity_explorer(seed: int = 0, epochs: int = 200, hidden: int = 8, l2: float = 0.0):
    """Hidden units per layer and λ for a 2-h-h-2 network (see capacity_explorer)."""
    import ipywidgets as widgets

    from nnlab import plots

    from ._curves import LearningCurves

    data = make_data(seed)
    X_tr, y_tr, X_val, y_val = data
    cache = {}

    def result(hidden, l2, quiet=False):
        if (hidden, l2) not in cache:
            if not quiet:
                view.busy(f"training {hidden} hidden units with λ = {l2:g} (once; cached)…")
            cache[hidden, l2] = train_network(hidden, l2, data, epochs=epochs, seed=seed + 1)
        return cache[hidden, l2]

    view = FigureView(panels=3, size=(3.7, 3.0))
    ax_boundary, ax_err, ax_curve = view.axes
    boundary = ProbabilityMap(view, ax_boundary, X_tr, y_tr, np.vstack([X_tr, X_val]))

    sizes = np.array(HIDDEN_CHOICES, dtype=float)
    train_err = view.dynamic(
        *ax_err.plot(
            sizes, sizes * 0 + 1, "-o", markersize=3, color=plots.TRAIN_COLOR, label="train"
        )
    )
    val_err = view.dynamic(
        *ax_err.plot(
            sizes, sizes * 0 + 1, "--o", markersize=3, color=plots.VAL_COLOR, label="validation"
        )
    )
    current = view.dynamic(ax_err.axvline(1, color=plots.THEORY_COLOR, linestyle=":"))
    plots.log_scale(ax_err, "x", base=2)
    plots.log_scale(ax_err, "y")
    ax_err.set_ylim(1e-3, 10)
    ax_err.set_title("Loss against capacity (last epoch)")
    ax_err.set_xlabel("hidden units (log scale)")
    ax_err.set_ylabel("cross-entropy loss (log)")
    ax_err.legend(loc="lower left")

    epoch_axis = np.arange(1, epochs + 1)
    curves = LearningCurves(view, ax_curve, epoch_axis, "epoch", "Training", clip=(1e-3, 10))
    plots.log_scale(ax_curve, "y")
    ax_curve.set_ylim(1e-3, 10)
    ax_curve.set_xlim(1, epochs)
    ax_curve.set_xlabel("epoch")
    ax_curve.set_ylabel("cross-entropy loss (log)")

    controls = {
        "hidden": widgets.SelectionSlider(
            options=list(HIDDEN_CHOICES), value=hidden, description="hidden units"
        ),
        "l2": widgets.SelectionSlider(
            options=[(f"{v:g}", v) for v in L2_CHOICES], value=l2, description="λ (L2)"
        ),
    }

    def update(values):
        hidden, l2 = values["hidden"], values["l2"]
        row = [result(h, l2) for h in HIDDEN_CHOICES]
        run = result(hidden, l2)
        train_err.set_ydata([np.clip(r["train_loss"][-1], 1e-3, 10) for r in row])
        val_err.set_ydata([np.clip(r["val_loss"][-1], 1e-3, 10) for r in row])
        current.set_xdata([hidden, hidden])
        boundary.show(run)
        ax_boundary.set_title(
            f"{hidden} hidden units, λ = {l2:g}\nval error {1 - run['val_acc'][-1]:.2f}"
        )
        best = curves.show(run["train_loss"], run["val_loss"])
        return {"run": run, "row": row, "early_stop": best}

    return Explorer(
        "Capacity: hidden units and L2",
        controls,
        view,
        update,
        call=("capacity_explorer", {"hidden": "hidden", "l2": "l2"}),
        fixed={"mode": "network"},
        memo=True,
        # the other λ rows, trained while the learner reads
        warm=[
            lambda h=h, v=v: result(h, v, quiet=True)
            for v in L2_CHOICES
            for h in HIDDEN_CHOICES
            if (h, v) not in cache
        ],
    )

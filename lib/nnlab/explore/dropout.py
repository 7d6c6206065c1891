"""Dropout explorer: thinned networks and what dropout does to overfitting.

Contract:
  thinned_network_count(hidden_sizes) -> int 2^m, m = total hidden units (each one is
      either kept or dropped, so training samples one of 2^m thinned networks).
  sample_thinned(layer_sizes, p, rng) -> list (one per layer) of bool arrays (size,),
      True = dropped; input and output units are never dropped.
  train_curves(p, data, hidden, epochs, seed) -> dict with train_loss, val_loss (epochs,),
      val_acc, and predict_proba(points (M, 2)) -> (M,) class-1 probability, from an MLP
      2-h-h-2 with Dropout(p) after each hidden ReLU, trained full batch with Adam.
  dropout_explorer() -> Explorer widget; curves are cached per p (the first visit to a p
  trains once, later visits only redraw).
"""

from __future__ import annotations

import numpy as np

from ._view import Explorer, FigureView, ProbabilityMap, autograding, placeholder, styled

P_CHOICES = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8)


def thinned_network_count(hidden_sizes) -> int:
    """Number of distinct thinned networks: 2 ** (total number of droppable hidden units)."""
    return 2 ** int(sum(int(s) for s in hidden_sizes))


def sample_thinned(layer_sizes, p: float, rng: np.random.Generator) -> list:
    """Dropped-unit masks for one thinned network (True = dropped), hidden layers only."""
    if not 0.0 <= p < 1.0:
        raise ValueError(f"p is the drop probability and must satisfy 0 <= p < 1, got {p!r}")
    masks = []
    for i, size in enumerate(layer_sizes):
        hidden = 0 < i < len(layer_sizes) - 1
        masks.append(rng.random(size) < p if hidden else np.zeros(size, bool))
    return masks


def make_data(seed: int = 0, n_train: int = 50, n_val: int = 300, noise: float = 0.35):
    """The capacity explorer's noisy two-moons problem, here with 50 training points."""
    from .capacity_network import make_data as noisy_moons

    return noisy_moons(seed, n_train=n_train, n_val=n_val, noise=noise)


def train_curves(
    p: float, data, hidden: int = 32, epochs: int = 120, seed: int = 1, lr: float = 0.025
) -> dict:
    """Train 2-h-h-2 with dropout p; return per-epoch curves and a probability function."""
    from nnlab import functions, layers, model, optim

    X_tr, y_tr, X_val, y_val = data
    rng = np.random.default_rng(seed)
    net = model.Sequential(
        layers.Dense(2, hidden, rng),
        layers.ReLU(),
        layers.Dropout(p, rng),
        layers.Dense(hidden, hidden, rng),
        layers.ReLU(),
        layers.Dropout(p, rng),
        layers.Dense(hidden, 2, rng),
    )
    history = model.fit(
        net, X_tr, y_tr, optim.Adam(lr), epochs=epochs, rng=rng, X_val=X_val, y_val=y_val
    )

    def predict_proba(points):
        return functions.softmax(net.forward(np.asarray(points, dtype=float), train=False))[:, 1]

    return {
        "train_loss": np.asarray(history.train_loss),
        "val_loss": np.asarray(history.val_loss),
        "val_acc": np.asarray(history.val_acc),
        "predict_proba": predict_proba,
    }


@styled
def dropout_explorer(p: float = 0.5, hidden: int = 32, epochs: int = 120, seed: int = 0):
    """Slide the drop probability p: a sampled thinned network, 2^m, and its effect on training.

    Panels: one thinned network sampled with the current p (press "resample" for another),
    with the count 2^m of thinned networks; train and validation loss with dropout p
    (solid) and without dropout (faint); the decision boundary learned with dropout p.
    The network is 2-h-h-2 (m = 2h hidden units), trained on 50 noisy two-moons points.

    Example::

        from nnlab.explore import dropout_explorer
        dropout_explorer()          # p = 0.5
        dropout_explorer(p=0.2)
    """
    if autograding():
        return placeholder("dropout_explorer")
    import ipywidgets as widgets

    from nnlab import plots

    if p not in P_CHOICES:
        raise ValueError(f"p must be one of {P_CHOICES}, got {p!r}")
    data = make_data(seed)
    X_tr, y_tr, X_val, y_val = data
    layer_sizes = (2, hidden, hidden, 2)
    count = thinned_network_count(layer_sizes[1:-1])
    cache = {}

    def curves(drop, quiet=False):
        if drop not in cache:
            if not quiet:
                view.busy(f"training the network with p = {drop:.1f} (once; cached afterwards)…")
            run = train_curves(drop, data, hidden=hidden, epochs=epochs, seed=seed + 1)
            if quiet:
                run["grid"] = run["predict_proba"](boundary.grid_points).reshape(boundary.shape)
            cache[drop] = run
        return cache[drop]

    view = FigureView(panels=3, size=(3.7, 3.1))
    ax_net, ax_curve, ax_boundary = view.axes
    positions = plots.network_positions(layer_sizes)
    # All edges as one polyline broken by NaNs: one path to draw instead of a thousand.
    edges = view.dynamic(*ax_net.plot([], [], color="0.55", linewidth=0.3))
    all_positions = np.vstack(positions)
    unit_colors = np.array(
        [
            "0.35" if 0 < i < 3 else "black"
            for i, size in enumerate(layer_sizes)
            for _ in range(size)
        ]
    )
    kept_units = view.dynamic(
        ax_net.scatter(all_positions[:, 0], all_positions[:, 1], s=16, zorder=3)
    )
    dropped_units = view.dynamic(
        ax_net.scatter([], [], s=16, facecolors="white", edgecolors="0.4", zorder=3)
    )
    ax_net.set_xlim(-0.4, 3.4)
    ax_net.set_ylim(-0.6, 0.75)
    ax_net.set_xticks(range(4), ["input", "hidden 1", "hidden 2", "output"])
    ax_net.set_yticks([])
    ax_net.set_xlabel("layer")
    ax_net.set_ylabel("units")
    ax_net.set_title(f"One of $2^{{{2 * hidden}}}$ ≈ {count:.1e} thinned networks")
    net_text = view.dynamic(ax_net.text(1.5, 0.62, "", ha="center"))

    epochs_axis = np.arange(1, epochs + 1)
    lines = {}
    for name, style, colour, alpha in (
        ("train, no dropout", "-", plots.TRAIN_COLOR, 0.35),
        ("validation, no dropout", "--", plots.VAL_COLOR, 0.35),
        ("train, dropout p", "-", plots.TRAIN_COLOR, 1.0),
        ("validation, dropout p", "--", plots.VAL_COLOR, 1.0),
    ):
        lines[name] = view.dynamic(
            *ax_curve.plot(
                epochs_axis, np.ones(epochs), style, color=colour, alpha=alpha, label=name
            )
        )
    plots.log_scale(ax_curve, "y")
    ax_curve.set_ylim(1e-3, 10)
    ax_curve.set_xlim(1, epochs)
    ax_curve.set_xlabel("epoch")
    ax_curve.set_ylabel("cross-entropy loss (log)")
    view.dynamic(ax_curve.title)
    ax_curve.legend(loc="lower left")

    boundary = ProbabilityMap(
        view, ax_boundary, X_tr, y_tr, np.vstack([X_tr, X_val]), marker_size=22
    )

    slider = widgets.SelectionSlider(options=list(P_CHOICES), value=p, description="drop p")
    resample = widgets.Button(
        description="resample thinned network", layout=widgets.Layout(width="auto")
    )
    sample_rng = np.random.default_rng(seed + 2)
    samples = {"drawn": 0}
    curves(0.0)

    def update(values):
        drop = values["p"]
        masks = sample_thinned(layer_sizes, drop, sample_rng)
        keep = [~m for m in masks]
        dropped = np.concatenate(masks)
        segments = plots.network_edges(positions, keep)  # (E, 2, 2)
        gaps = np.full((len(segments), 1), np.nan)
        edges.set_data(
            np.hstack([segments[:, :, 0], gaps]).ravel(),
            np.hstack([segments[:, :, 1], gaps]).ravel(),
        )
        kept_units.set_offsets(all_positions[~dropped])
        kept_units.set_facecolors(unit_colors[~dropped])
        dropped_units.set_offsets(all_positions[dropped].reshape(-1, 2))
        n_dropped = int(dropped.sum())
        net_text.set_text(f"p = {drop:.1f}: {n_dropped} of {2 * hidden} hidden units dropped")
        base, run = curves(0.0), curves(drop)
        lines["train, no dropout"].set_ydata(np.clip(base["train_loss"], 1e-3, 10))
        lines["validation, no dropout"].set_ydata(np.clip(base["val_loss"], 1e-3, 10))
        lines["train, dropout p"].set_ydata(np.clip(run["train_loss"], 1e-3, 10))
        lines["validation, dropout p"].set_ydata(np.clip(run["val_loss"], 1e-3, 10))
        ax_curve.set_title(
            f"final validation loss: {run['val_loss'][-1]:.2f} with p = {drop:.1f},\n"
            f"{base['val_loss'][-1]:.2f} without dropout"
        )
        boundary.show(run)
        ax_boundary.set_title(f"P(class 1), p = {drop:.1f}\nval accuracy {run['val_acc'][-1]:.2f}")
        return {"masks": masks, "count": count, "curves": run, "baseline": base}

    explorer = Explorer(
        "Dropout: thinned networks",
        {"p": slider},
        view,
        update,
        extra=[resample],
        call=("dropout_explorer", {"p": "p"}),
        # a setting is p and which sample of thinned network: "resample" makes a new one
        memo=lambda values: (values["p"], samples["drawn"]),
        # the other p values, nearest first, trained while the learner reads
        warm=[
            lambda drop=drop: curves(drop, quiet=True)
            for drop in sorted(P_CHOICES, key=lambda value: abs(value - p))
            if drop not in cache
        ],
    )

    def on_resample(_button):
        samples["drawn"] += 1
        explorer.update()

    resample.on_click(on_resample)
    return explorer

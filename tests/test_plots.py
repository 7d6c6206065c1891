"""nnlab.plots: every figure is titled and labelled, uses the palette, and rejects bad shapes."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.colors import to_hex  # noqa: E402
from nnlab import plots  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


class _Bowl:
    """A minimal surface: f(x) = x1^2 + 3 x2^2 (only the attributes plots uses)."""

    name = "bowl"
    bounds = ((-2.0, 2.0), (-1.0, 1.0))
    minima = [np.zeros(2)]

    @staticmethod
    def f_grid(X, Y):
        return X**2 + 3 * Y**2


def _assert_labelled(ax):
    assert ax.get_title(), "every figure needs a title"
    assert ax.get_xlabel(), "every figure needs an x label"
    assert ax.get_ylabel(), "every figure needs a y label"


def test_palette_is_okabe_ito_and_distinct():
    assert len(set(plots.PALETTE)) == len(plots.PALETTE) == 8
    assert plots.PALETTE[:4] == ("#0072B2", "#E69F00", "#009E73", "#D55E00")
    assert plots.color(8) == plots.color(0)


def test_contour_trajectories_draws_each_path_in_palette_order():
    paths = {"a": np.array([[1.5, 0.5], [0.5, 0.2], [0.0, 0.0]]), "b": np.zeros((4, 2))}
    ax = plots.contour_trajectories(_Bowl(), paths)
    _assert_labelled(ax)
    labelled = {line.get_label(): line for line in ax.get_lines()}
    assert to_hex(labelled["a"].get_color()) == plots.PALETTE[0].lower()
    assert to_hex(labelled["b"].get_color()) == plots.PALETTE[1].lower()
    np.testing.assert_array_equal(labelled["a"].get_xydata(), paths["a"])
    assert ax.get_xlim() == (-2.0, 2.0)


def test_contour_trajectories_rejects_wrong_shape():
    with pytest.raises(ValueError, match=r"\(T, 2\)"):
        plots.contour_trajectories(_Bowl(), {"bad": np.zeros((5, 3))})


def test_loss_curves_log_scale_and_labels():
    ax = plots.loss_curves({"gd": np.geomspace(1, 1e-3, 20), "adam": np.geomspace(1, 1e-5, 20)})
    _assert_labelled(ax)
    assert ax.get_yscale() == "log"
    assert len(ax.get_lines()) == 2


def test_train_val_curves_marks_early_stopping_point():
    val = np.array([1.0, 0.6, 0.4, 0.5, 0.7])
    ax = plots.train_val_curves(np.linspace(1, 0.1, 5), val, best_epoch=2)
    _assert_labelled(ax)
    marker = [line for line in ax.get_lines() if "early stop" in line.get_label()]
    assert len(marker) == 1
    assert marker[0].get_xydata().tolist() == [[2.0, 0.4]]


def test_decision_boundary_regions_follow_predictor():
    X = np.array([[-1.0, 0.0], [1.0, 0.0], [-1.0, 1.0], [1.0, 1.0]])
    y = np.array([0, 1, 0, 1])
    ax = plots.decision_boundary(lambda P: (P[:, 0] > 0).astype(int), X, y, resolution=20)
    _assert_labelled(ax)
    assert len(ax.collections) >= 3  # filled regions + one scatter per class


def test_decision_boundary_rejects_non_2d_points():
    with pytest.raises(ValueError, match=r"\(N, 2\)"):
        plots.decision_boundary(lambda P: P[:, 0] > 0, np.zeros((4, 3)), np.zeros(4, int))


def test_weight_histogram_counts_every_weight():
    weights = np.arange(60.0).reshape(6, 10)
    ax = plots.weight_histogram(weights, bins=6)
    _assert_labelled(ax)
    assert sum(patch.get_height() for patch in ax.patches) == 60


def test_feature_map_with_kernel_has_three_labelled_panels():
    image = np.random.default_rng(0).random((12, 12))
    axes = plots.feature_map(image, image[1:-1, 1:-1] - 0.5, kernel=np.eye(3))
    assert len(axes) == 3
    for ax in axes:
        _assert_labelled(ax)


def test_network_diagram_drops_units_and_their_edges():
    sizes = (2, 4, 3)
    full = plots.network_diagram(sizes)
    full_edges = len(full.collections[0].get_segments())
    assert full_edges == 2 * 4 + 4 * 3
    dropped = [None, np.array([True, False, False, True]), None]
    thinned = plots.network_diagram(sizes, dropped=dropped)
    _assert_labelled(thinned)
    assert len(thinned.collections[0].get_segments()) == 2 * 2 + 2 * 3


def test_network_diagram_needs_one_mask_per_layer():
    with pytest.raises(ValueError, match="one entry per layer"):
        plots.network_diagram((2, 3), dropped=[None])


def test_log_scale_labels_powers_without_math_text():
    fig = plt.figure()
    ax = fig.add_subplot()
    ax.plot([1, 2], [1e-4, 1e2])
    axis = plots.log_scale(ax, "y")
    assert ax.get_yscale() == "log"
    label = axis.get_major_formatter()
    assert label(1e-4, 0) == "10⁻⁴" and label(100.0, 0) == "10²"
    assert label(3e-4, 0) == ""  # between powers: no label
    assert "$" not in label(1e-4, 0)
    assert plots.log_scale(ax, "x", base=2).get_major_formatter()(8.0, 0) == "8"
    with pytest.raises(ValueError, match="which"):
        plots.log_scale(ax, "z")


def test_series_next_to_each_other_differ_by_dash_as_well_as_colour():
    # Orange and vermillion (series 1 and 3) are hard to tell apart by hue alone.
    paths = {name: np.zeros((3, 2)) + k for k, name in enumerate("abcd")}
    curves = {name: np.geomspace(1, 1e-3, 5) for name in "abcd"}
    for ax in (plots.contour_trajectories(_Bowl(), paths), plots.loss_curves(curves)):
        lines = {line.get_label(): line for line in ax.get_lines() if line.get_label() in "abcd"}
        styles = [(to_hex(lines[n].get_color()), str(lines[n].get_linestyle())) for n in "abcd"]
        assert len({s[1] for s in styles}) == 4, styles

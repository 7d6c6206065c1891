"""nnlab.explore: compute functions against closed forms; every explorer updates in place.

The explorers are driven headless by setting their widgets' values, exactly what a slider
does in the browser; the PNG bytes in the Image widget must change, nothing may reach
stderr, and no pyplot figures may accumulate.
"""

from __future__ import annotations

import base64
import os
import subprocess
import sys
import textwrap
import warnings

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from nnlab.explore import capacity, convolution, dropout, momentum, race, step_size  # noqa: E402
from nnlab.explore._view import encode_png  # noqa: E402

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


# ---------------------------------------------------------------- step size
@pytest.mark.parametrize("lr", [0.05, 0.3, 0.5, 0.7, 0.95, 1.1])
def test_step_size_path_equals_closed_form(lr):
    lam, x0, steps = 2.0, 2.5, 25
    path = step_size.gd_path_1d(lam, lr, x0, steps)
    expected = (1.0 - lr * lam) ** np.arange(steps + 1) * x0
    np.testing.assert_allclose(path, expected, rtol=1e-12, atol=1e-300)


def test_step_size_2d_path_is_componentwise_closed_form():
    lambdas, lr, x0 = np.array([0.2, 2.0]), 0.6, np.array([-2.5, 1.5])
    path = step_size.gd_path_2d(lambdas, lr, x0, 15)
    k = np.arange(16)[:, None]
    np.testing.assert_allclose(path, (1 - lr * lambdas) ** k * x0, rtol=1e-12)


@pytest.mark.parametrize(
    ("lr", "expected"),
    [(0.1, "slow"), (0.5, "fastest"), (0.7, "oscillating"), (1.0, "bouncing"), (1.1, "diverging")],
)
def test_step_size_regimes_around_one_over_lambda_and_two_over_lambda(lr, expected):
    assert step_size.regime(lr, 2.0) == expected


def test_step_size_rejects_nonpositive_curvature():
    with pytest.raises(ValueError, match="lam"):
        step_size.gd_path_1d(0.0, 0.1, 1.0, 5)


# ---------------------------------------------------------------- momentum
@pytest.mark.parametrize(
    ("alpha", "beta"),
    [(0.05, 0.0), (0.05, 0.3), (0.05, 0.6), (0.05, 0.9), (0.15, 0.5), (0.01, 0.8), (0.1, 0.95)],
)
def test_momentum_empirical_rate_matches_theory_within_5_percent(alpha, beta):
    lambdas = (1.0, 10.0)
    path = momentum.momentum_path(lambdas, alpha, beta, (-2.5, 1.5), 400)
    measured = momentum.empirical_rate(path)
    theory = momentum.theoretical_rate(lambdas, alpha, beta)
    assert measured == pytest.approx(theory, rel=0.05)


def test_momentum_zero_beta_theory_is_gradient_descent_rate():
    lambdas = np.array([1.0, 10.0])
    for alpha in (0.01, 0.1, 0.19):
        expected = np.max(np.abs(1 - alpha * lambdas))
        assert momentum.theoretical_rate(lambdas, alpha, 0.0) == pytest.approx(expected)


def test_critical_damping_gives_a_double_root():
    for alpha, lam in ((0.05, 1.0), (0.02, 10.0), (0.3, 2.0)):
        beta = momentum.critical_damping(alpha, lam)
        # characteristic polynomial mu^2 - (1 + beta - alpha lam) mu + beta: zero discriminant
        assert (1 + beta - alpha * lam) ** 2 - 4 * beta == pytest.approx(0.0, abs=1e-12)


def test_momentum_beyond_the_stability_limit_diverges():
    path = momentum.momentum_path((1.0, 10.0), 0.25, 0.0, (1.0, 1.0), 50)
    assert np.linalg.norm(path[-1]) > 1e3


# ---------------------------------------------------------------- convolution
@pytest.mark.parametrize("name", ["Sobel x", "Sobel y", "Laplacian", "box blur", "identity"])
def test_convolution_matches_conv2d_layer(name):
    from nnlab.layers import Conv2D

    image = convolution.explorer_image(64)
    layer = Conv2D(1, 1, 3, np.random.default_rng(0))
    layer.params["W"][...] = convolution.KERNELS[name][None, None]
    layer.params["b"][...] = 0.0
    expected = layer.forward(image[None, None], train=False)[0, 0]
    np.testing.assert_allclose(
        convolution.correlate2d(image, convolution.KERNELS[name]), expected, rtol=1e-10, atol=1e-12
    )


def test_sobel_x_responds_to_vertical_edges_only():
    image = np.zeros((8, 8))
    image[:, 4:] = 1.0
    response = convolution.correlate2d(image, convolution.KERNELS["Sobel x"])
    assert response[:, 2:4].min() == pytest.approx(4.0)  # windows straddling the edge
    assert np.all(response[:, [0, 5]] == 0)
    assert np.all(convolution.correlate2d(image, convolution.KERNELS["Sobel y"]) == 0)


def test_template_response_peaks_at_the_patch_and_ignores_contrast():
    rng = np.random.default_rng(3)
    image = rng.random((40, 50))
    image[25:31, 5:11] = 0.2 + 0.5 * image[10:16, 30:36]  # dimmer, lower-contrast copy
    response = convolution.template_response(image, 10, 30, 6)
    assert response.shape == (35, 45)
    assert response[10, 30] == pytest.approx(1.0)
    assert response[25, 5] == pytest.approx(1.0)
    assert np.all(np.abs(response) <= 1 + 1e-9)


def test_template_patch_must_fit():
    with pytest.raises(ValueError, match="does not fit"):
        convolution.template_response(np.zeros((10, 10)), 8, 0, 5)


# ---------------------------------------------------------------- capacity
def test_ridge_without_penalty_reproduces_polyfit():
    rng = np.random.default_rng(0)
    x = rng.uniform(-2, 3, 25)
    y = np.sin(x) + 0.1 * rng.normal(size=25)
    w = capacity.ridge_fit(x, y, 4, 0.0, (-2, 3))
    grid = np.linspace(-2, 3, 11)
    ours = capacity.polynomial_features(grid, 4, (-2, 3)) @ w
    np.testing.assert_allclose(ours, np.polyval(np.polyfit(x, y, 4), grid), rtol=1e-8, atol=1e-8)


def test_training_error_never_rises_with_degree_and_penalty_shrinks_weights():
    rng = np.random.default_rng(1)
    x = rng.uniform(-1, 1, 15)
    y = x**3 + 0.2 * rng.normal(size=15)
    errors = [capacity.mse(capacity.ridge_fit(x, y, d, 0.0), x, y) for d in range(10)]
    assert all(b <= a + 1e-10 for a, b in zip(errors, errors[1:], strict=False))
    small = np.linalg.norm(capacity.ridge_fit(x, y, 9, 1e-1)[1:])
    assert small < np.linalg.norm(capacity.ridge_fit(x, y, 9, 0.0)[1:])


def test_gd_curves_match_explicit_gradient_descent():
    rng = np.random.default_rng(2)
    x_tr, x_val = rng.uniform(-1, 1, 12), rng.uniform(-1, 1, 30)
    y_tr, y_val = x_tr**2, x_val**2
    degree, l2 = 5, 1e-3
    train, val = capacity.gd_curves(x_tr, y_tr, x_val, y_val, degree, l2, [0, 1, 2, 50])
    phi = capacity.polynomial_features(x_tr, degree)
    penalty = np.eye(degree + 1) * l2
    penalty[0, 0] = 0
    hessian = 2 * (phi.T @ phi / 12 + penalty)
    step = 1 / np.linalg.eigvalsh(hessian).max()
    w = np.zeros(degree + 1)
    explicit = {}
    for k in range(51):
        explicit[k] = w.copy()
        grad = 2 * phi.T @ (phi @ w - y_tr) / 12 + 2 * penalty @ w
        w = w - step * grad
    for i, k in enumerate([0, 1, 2, 50]):
        assert train[i] == pytest.approx(capacity.mse(explicit[k], x_tr, y_tr), rel=1e-9)
        assert val[i] == pytest.approx(capacity.mse(explicit[k], x_val, y_val), rel=1e-9)


def test_network_capacity_overfits_without_l2_and_marks_the_validation_minimum():
    from nnlab.explore import capacity_network

    data = capacity_network.make_data(0)  # the data and seed the explorer uses
    small = capacity_network.train_network(4, 0.0, data)
    large = capacity_network.train_network(32, 0.0, data)
    large_l2 = capacity_network.train_network(32, 1e-2, data)
    assert large["train_loss"][-1] < small["train_loss"][-1]
    assert large["val_loss"][-1] > small["val_loss"][-1]  # more capacity, worse validation
    assert large_l2["val_loss"][-1] < large["val_loss"][-1]  # L2 reins it in
    assert large["best_epoch"] == int(np.argmin(large["val_loss"]))


# ---------------------------------------------------------------- dropout
def test_thinned_network_count_is_two_to_the_hidden_units():
    assert dropout.thinned_network_count([16, 16]) == 2**32
    assert dropout.thinned_network_count([3]) == 8


def test_sampled_masks_drop_hidden_units_at_rate_p_only():
    rng = np.random.default_rng(0)
    sizes = (2, 50, 50, 2)
    masks = [dropout.sample_thinned(sizes, 0.3, rng) for _ in range(200)]
    hidden = np.array([np.concatenate(m[1:3]) for m in masks])
    assert hidden.mean() == pytest.approx(0.3, abs=0.01)
    assert not any(m[0].any() or m[3].any() for m in masks)
    with pytest.raises(ValueError, match="drop probability"):
        dropout.sample_thinned(sizes, 1.0, rng)


def test_dropout_resample_button_draws_another_thinned_network():
    import ipywidgets

    explorer = dropout.dropout_explorer()
    (button,) = [w for w in explorer.children if isinstance(w, ipywidgets.Button)]
    masks_before = [m.copy() for m in explorer.state["masks"]]
    image_before = bytes(explorer.view.image.value)
    button.click()
    masks_after = explorer.state["masks"]
    assert any(not np.array_equal(a, b) for a, b in zip(masks_before, masks_after, strict=True))
    assert bytes(explorer.view.image.value) != image_before
    assert explorer.state["count"] == 2 ** (2 * 32)


def test_dropout_curves_reduce_overfitting_on_the_explorer_data():
    data = dropout.make_data(0)  # the data and seed the explorer uses
    plain = dropout.train_curves(0.0, data)  # the explorer's own training settings
    thinned = dropout.train_curves(0.5, data)
    assert plain["train_loss"][-1] < thinned["train_loss"][-1]  # dropout fits train less
    assert thinned["val_loss"][-1] < plain["val_loss"][-1]  # and generalises better


# ---------------------------------------------------------------- optimizer race
def test_race_sgd_on_quadratic_follows_the_closed_form():
    from nnlab import surfaces

    bowl = surfaces.quadratic(lambdas=(1.0, 10.0))
    paths = race.race(bowl, {"SGD": 0.05}, (1.0, 1.0), 30)
    k = np.arange(31)[:, None]
    np.testing.assert_allclose(paths["SGD"], (1 - 0.05 * np.array([1.0, 10.0])) ** k, rtol=1e-12)


def test_race_cuts_diverging_runs_silently():
    from nnlab import surfaces

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        paths = race.race(surfaces.rosenbrock(), {"SGD": 0.5, "Adam": 0.01}, (-1.5, 2.5), 200)
    assert len(paths["SGD"]) < 20  # left the window within a few steps
    assert np.all(np.isfinite(paths["SGD"]))
    assert len(paths["Adam"]) == 201


def test_race_default_settings_make_progress_on_every_surface():
    for name, (make, start, steps, rates) in race.SURFACES.items():
        surface = make()
        f_min = min(surface.f(np.asarray(m, float)) for m in surface.minima)
        paths = race.race(surface, rates, start, steps)
        for optimizer, path in paths.items():
            assert len(path) == steps + 1, (name, optimizer)
            assert surface.f(path[-1]) - f_min < surface.f(path[0]) - f_min, (name, optimizer)


def test_race_rejects_unknown_optimizer():
    with pytest.raises(ValueError, match="unknown optimizers"):
        race.race(race.SURFACES["quadratic"][0](), {"LBFGS": 0.1}, (1.0, 1.0), 5)


def test_png_encoder_round_trips_through_an_independent_decoder():
    import io

    from PIL import Image

    pixels = np.random.default_rng(0).integers(0, 256, size=(7, 11, 3), dtype=np.uint8)
    decoded = np.asarray(Image.open(io.BytesIO(encode_png(pixels))).convert("RGB"))
    np.testing.assert_array_equal(decoded, pixels)


# ---------------------------------------------------------------- every explorer, headless
EXPLORERS = {
    "step_size": (lambda: step_size.step_size_explorer(), "lr", [0.3, 0.7, 1.1]),
    "momentum": (lambda: momentum.momentum_explorer(), "beta", [0.0, 0.5, 0.9]),
    "momentum_compare": (lambda: momentum.momentum_explorer(compare=True), "alpha", [0.02, 0.1]),
    "momentum_quiz": (lambda: momentum.momentum_explorer(quiz=True), "reveal", [True, False]),
    "capacity": (lambda: capacity.capacity_explorer(), "degree", [1, 9, 15]),
    "capacity_network": (lambda: capacity.capacity_explorer(mode="network"), "hidden", [2, 32]),
    "dropout": (lambda: dropout.dropout_explorer(), "p", [0.0, 0.2]),
    "race": (lambda: race.optimizer_race(), "Adam", [0.01, 0.3]),
    "race_surface": (lambda: race.optimizer_race(), "surface", ["saddle", "quadratic"]),
    "convolution": (
        lambda: convolution.convolution_explorer(),
        "kernel",
        ["Laplacian", "identity"],
    ),
}


@pytest.mark.parametrize("name", sorted(EXPLORERS))
def test_explorer_updates_in_place_quietly(name, capfd):
    build, control, values = EXPLORERS[name]
    figures_before = plt.get_fignums()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        explorer = build()
        image = explorer.view.image
        render = explorer.view.render
        renders = []
        explorer.view.render = lambda: renders.append(1) or render()
        seen = [image.value]
        for _ in range(5):  # many updates must not pile up figures
            for value in values:
                before = len(renders)
                explorer.controls[control].value = value
                assert len(renders) - before == 1, "one slider change, one redraw"
                assert image is explorer.view.image  # same widget, new bytes
                seen.append(image.value)
    assert all(bytes(png).startswith(PNG_SIGNATURE) for png in seen)
    changed = [bytes(a) != bytes(b) for a, b in zip(seen, seen[1:], strict=False)]
    assert all(changed), "every control change must change the picture"
    assert plt.get_fignums() == figures_before
    out, err = capfd.readouterr()
    assert err == ""
    assert explorer.error.value == ""


def test_explorer_display_carries_a_static_png_of_its_state():
    explorer = step_size.step_size_explorer()
    bundle = explorer._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert base64.b64decode(bundle["image/png"]) == bytes(explorer.view.image.value)


def test_custom_kernel_cells_drive_the_convolution_explorer():
    explorer = convolution.convolution_explorer(kernel="identity")
    cells = explorer.children[2].children
    cells[4].value = 2.0  # centre weight: identity scaled by two
    assert explorer.controls["kernel"].value == "custom"
    image = convolution.explorer_image()
    np.testing.assert_allclose(explorer.state["response"], 2.0 * image[1:-1, 1:-1])
    explorer.controls["kernel"].value = "Sobel y"
    assert [c.value for c in cells] == list(convolution.KERNELS["Sobel y"].ravel())


def test_momentum_explorer_reports_theory_and_critical_damping():
    explorer = momentum.momentum_explorer(alpha=0.05, beta=0.6)
    run = explorer.state["momentum"]
    assert run["theory_rate"] == pytest.approx(momentum.theoretical_rate((1, 10), 0.05, 0.6))
    assert explorer.state["critical_damping"] == pytest.approx((1 - np.sqrt(0.05)) ** 2)


def test_momentum_quiz_hides_names_and_theory_until_revealed():
    explorer = momentum.momentum_explorer(quiz=True)
    ax_path, ax_loss = explorer.view.axes

    def legend(ax):
        return [t.get_text() for t in ax.get_legend().get_texts()]

    hidden = legend(ax_path)
    assert sorted(hidden) == ["curve A", "curve B", "curve C"]
    assert not any("theory" in text for text in legend(ax_loss))
    first = bytes(explorer.view.image.value)
    explorer.controls["reveal"].value = True
    assert sorted(legend(ax_path)) == sorted(momentum.COMPARE_BETAS)
    assert sum("theory" in text for text in legend(ax_loss)) == 3
    assert bytes(explorer.view.image.value) != first
    # the letters must not simply follow the order GD, 0.5, 0.9
    assert hidden != ["curve A", "curve B", "curve C"]


def test_capacity_explorer_early_stop_is_the_validation_minimum():
    explorer = capacity.capacity_explorer()
    explorer.controls["degree"].value = 12
    state = explorer.state
    best = state["best_step"]
    assert best > 0
    assert state["val_error"][12] > state["val_error"][3]  # overfitting is visible


def test_autograding_explorers_do_nothing_heavy_and_stay_quiet():
    code = textwrap.dedent(
        """
        import sys, time
        start = time.perf_counter()
        from nnlab import explore
        widgets = [explore.step_size_explorer(), explore.momentum_explorer(compare=True),
                   explore.capacity_explorer(mode="network"), explore.dropout_explorer(),
                   explore.optimizer_race(surface="saddle"),
                   explore.convolution_explorer()]
        assert all("autograding" in w.value for w in widgets), widgets
        assert "matplotlib" not in sys.modules, "no plotting under autograding"
        print(f"{time.perf_counter() - start:.3f}")
        """
    )
    env = dict(os.environ, NBGRADER_EXECUTION="autograde")
    result = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert float(result.stdout.strip()) < 2.0


@pytest.mark.slow
def test_notebook_without_widget_front_end_keeps_a_static_figure_per_explorer():
    """nbclient (as in CI or an HTML build) has no widget manager: each output needs a PNG."""
    from pathlib import Path

    import nbformat
    from nbclient import NotebookClient
    from nbconvert import HTMLExporter

    fixture = Path(__file__).parent / "browser" / "explorers.ipynb"
    notebook = nbformat.read(fixture, as_version=4)
    NotebookClient(notebook, timeout=180, kernel_name="python3").execute()
    code_cells = [cell for cell in notebook.cells if cell.cell_type == "code"]
    for cell in code_cells:
        assert not [o for o in cell.outputs if o.get("name") == "stderr"], cell.source
        bundles = [o["data"] for o in cell.outputs if o.output_type == "execute_result"]
        assert len(bundles) == 1, cell.source
        assert "application/vnd.jupyter.widget-view+json" in bundles[0]
        assert base64.b64decode(bundles[0]["image/png"]).startswith(PNG_SIGNATURE)
    # Saved widget state lets an HTML page re-create the widgets, figures included ...
    state = notebook.metadata["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]
    images = [m for m in state.values() if m["model_name"] == "ImageModel"]
    assert len(images) >= len(code_cells)
    for model in images:  # binary traits travel as base64 buffers beside the state
        (buffer,) = [b for b in model["buffers"] if b["path"] == ["value"]]
        assert base64.b64decode(buffer["data"]).startswith(PNG_SIGNATURE)
    # ... and without widget state (the usual case for a built site) the PNG is what shows.
    del notebook.metadata["widgets"]
    html, _ = HTMLExporter().from_notebook_node(notebook)
    assert html.count("data:image/png;base64") >= len(code_cells)

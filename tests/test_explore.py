"""nnlab.explore: compute functions against closed forms; every explorer updates in place.

The explorers are driven headless by setting their widgets' values, exactly what a slider
does in the browser; the PNG bytes in the Image widget must change, nothing may reach
stderr, and no pyplot figures may accumulate.
"""

from __future__ import annotations

import base64
import os
import re
import struct
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
from nnlab.explore._view import (  # noqa: E402
    CSS_DPI,
    MIN_FONT_KEY,
    PIXEL_RATIO,
    encode_png,
    png_text,
)

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
    image_before = explorer.view.pictures()
    button.click()
    masks_after = explorer.state["masks"]
    assert any(not np.array_equal(a, b) for a, b in zip(masks_before, masks_after, strict=True))
    assert explorer.view.pictures() != image_before
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


def test_png_encoder_keeps_alpha_when_asked():
    import io

    from PIL import Image

    pixels = np.random.default_rng(1).integers(0, 256, size=(5, 9, 4), dtype=np.uint8)
    decoded = Image.open(io.BytesIO(encode_png(pixels, alpha=True)))
    assert decoded.mode == "RGBA"
    np.testing.assert_array_equal(np.asarray(decoded), pixels)
    with pytest.raises(ValueError, match="RGBA"):
        encode_png(pixels[..., :3], alpha=True)


def _decoded(png):
    import io

    from PIL import Image

    return np.asarray(Image.open(io.BytesIO(bytes(png))).convert("RGBA"))


def _composited(base_png, overlay_png):
    """What the page shows: the overlay drawn over the base (alpha 0 or 255 only)."""
    base, overlay = _decoded(base_png), _decoded(overlay_png)
    assert set(np.unique(overlay[..., 3])) <= {0, 255}
    return np.where(overlay[..., 3:] == 255, overlay, base)[..., :3]


def _assert_page_shows_the_frames(view):
    for (base, overlay), panel in zip(view.pictures(), view._panels, strict=True):
        frame = panel.pixels.view(np.uint8)[..., :3]
        np.testing.assert_array_equal(_composited(base, overlay), frame)


def test_overlay_over_base_is_exactly_the_frame_through_memo_and_static_changes():
    explorer = momentum.momentum_explorer(quiz=True)
    view = explorer.view
    _assert_page_shows_the_frames(view)
    explorer.controls["reveal"].value = True  # the legends (static) change: new bases
    _assert_page_shows_the_frames(view)
    explorer.controls["reveal"].value = False  # from memory: the older bases come back
    explorer.controls["alpha"].value = 0.123  # a new setting drawn over those bases
    _assert_page_shows_the_frames(view)


def test_a_base_shown_from_memory_is_replaced_before_the_next_overlay():
    from nnlab.explore._view import FigureView

    view = FigureView(panels=1, size=(3.0, 2.0))
    (ax,) = view.axes
    static_line = ax.plot([0, 1], [0, 1], color="grey")[0]
    moving = view.dynamic(*ax.plot([0, 1], [1, 0], color="red"))
    view.render()
    remembered = view.pictures()
    static_line.set_ydata([1, 1])  # a static change: a new base
    view.invalidate()
    view.render()
    view.show(remembered)  # the memory of the first state, with its base
    moving.set_ydata([0.5, 0.2])  # then a dynamic change only
    view.render()
    _assert_page_shows_the_frames(view)


def test_a_slider_move_sends_small_overlays_and_never_the_base_again():
    explorer = race.optimizer_race()
    sent = {"base": [], "overlay": []}
    for base, overlay in explorer.view.layers:
        base.observe(lambda change: sent["base"].append(len(change["new"])), names="value")
        overlay.observe(lambda change: sent["overlay"].append(len(change["new"])), names="value")
    base_sizes = [len(base.value) for base, _overlay in explorer.view.layers]
    for rate in (2e-3, 3e-3, 5e-3, 0.02, 0.2):  # the last ones diverge: tags appear
        explorer.controls["SGD"].value = rate
        _assert_page_shows_the_frames(explorer.view)
    assert sent["base"] == []
    assert len(sent["overlay"]) >= 5
    # the contour panel's overlay is a fraction of its base
    assert max(sent["overlay"]) < 0.5 * max(base_sizes)


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


def _pictures(explorer):
    """Every PNG the explorer shows: base and overlay of each panel."""
    return tuple(bytes(png) for layers in explorer.view.pictures() for png in layers)


@pytest.mark.parametrize("name", sorted(EXPLORERS))
def test_explorer_updates_in_place_quietly(name, capfd):
    build, control, values = EXPLORERS[name]
    figures_before = plt.get_fignums()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        explorer = build()
        images = list(explorer.view.images)
        render = explorer.view.render
        renders = []
        explorer.view.render = lambda: renders.append(1) or render()
        seen = [_pictures(explorer)]
        for _ in range(5):  # many updates must not pile up figures
            for value in values:
                before = len(renders)
                explorer.controls[control].value = value
                # one redraw at most: a setting seen before is shown from memory
                assert len(renders) - before <= 1, "one slider change, one redraw"
                assert explorer.view.images == images  # same widgets, new bytes
                seen.append(_pictures(explorer))
    assert all(png.startswith(PNG_SIGNATURE) for panels in seen for png in panels)
    changed = [a != b for a, b in zip(seen, seen[1:], strict=False)]
    assert all(changed), "every control change must change the picture"
    assert plt.get_fignums() == figures_before
    out, err = capfd.readouterr()
    assert err == ""
    assert explorer.error.value == ""


def test_only_the_panels_that_changed_are_sent_again():
    explorer = convolution.convolution_explorer()
    sent = []
    for index, layers in enumerate(explorer.view.layers):
        for image in layers:
            image.observe(lambda _change, index=index: sent.append(index), names="value")
    explorer.controls["kernel"].value = "Laplacian"  # the input photograph does not change
    assert 0 not in sent and 1 in sent and 2 in sent


def test_explorer_display_carries_a_static_png_of_its_state():
    explorer = step_size.step_size_explorer()
    bundle, metadata = explorer._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    png = base64.b64decode(bundle["image/png"])
    assert png.startswith(PNG_SIGNATURE)
    (width,) = struct.unpack(">I", png[16:20])
    # shown at its CSS width: the panels side by side, PIXEL_RATIO image pixels per CSS pixel
    assert metadata["image/png"]["width"] * PIXEL_RATIO == width
    assert width == sum(struct.unpack(">I", bytes(i.value)[16:20])[0] for i in explorer.view.images)


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
    first = explorer.view.pictures()
    explorer.controls["reveal"].value = True
    assert sorted(legend(ax_path)) == sorted(momentum.COMPARE_BETAS)
    assert sum("theory" in text for text in legend(ax_loss)) == 3
    assert explorer.view.pictures() != first
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
        assert "ipyevents" not in sys.modules, "no pointer events under autograding"
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
    calls = re.compile(r"\b(\w+_explorer|optimizer_race)\(")
    code_cells = [
        cell for cell in notebook.cells if cell.cell_type == "code" and calls.search(cell.source)
    ]  # the explorer calls (the setup cell only imports)
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


# ---------------------------------------------------------------- legibility (headless)
def _all_explorers():
    return {
        "step_size": step_size.step_size_explorer(),
        "momentum": momentum.momentum_explorer(),
        "momentum_compare": momentum.momentum_explorer(compare=True),
        "race": race.optimizer_race(),
        "capacity": capacity.capacity_explorer(),
        "dropout": dropout.dropout_explorer(),
        "convolution": convolution.convolution_explorer(),
    }


def test_every_panel_fits_a_laptop_and_its_smallest_text_is_at_least_10_css_px():
    from matplotlib.text import Text

    smallest_layout_css_px = 588  # notebook width at 1024x768 with the file browser open
    for name, explorer in _all_explorers().items():
        panels = zip(explorer.view.layers, explorer.view.panel_box.children,
                     explorer.view.figures, strict=True)
        for layers, box, figure in panels:
            (png,) = {bytes(image.value)[:24] for image in layers}  # base and overlay: one size
            png = bytes(layers[1].value)
            width, height = struct.unpack(">II", png[16:24])
            css_width = int(box.layout.width.removesuffix("px"))
            assert box.layout.max_width == "100%", name
            assert width == PIXEL_RATIO * css_width, name  # crisp at 2x, never upscaled
            assert css_width <= smallest_layout_css_px, name  # never shrunk on a laptop
            recorded = float(png_text(png)[MIN_FONT_KEY]) / PIXEL_RATIO
            texts = [t for t in figure.findobj(Text) if t.get_visible() and t.get_text().strip()]
            smallest = min(t.get_fontsize() for t in texts) * CSS_DPI / 72
            assert smallest >= 10.0, (name, min(texts, key=Text.get_fontsize).get_text())
            assert recorded == pytest.approx(smallest, abs=0.01), name


# ---------------------------------------------------------------- momentum theory
def test_momentum_alpha_slider_reaches_the_stability_limit_at_beta_0_9():
    explorer = momentum.momentum_explorer()
    limit = 2 * (1 + 0.9) / 10.0  # 2 (1 + beta) / lambda_max = 0.38
    assert explorer.controls["alpha"].max >= limit
    explorer.controls["beta"].value = 0.9
    explorer.controls["alpha"].value = 0.38
    assert explorer.state["stability_limit"] == pytest.approx(limit)
    assert explorer.state["momentum"]["theory_rate"] == pytest.approx(1.0, abs=1e-9)
    explorer.controls["alpha"].value = 0.37
    assert explorer.state["momentum"]["theory_rate"] < 1.0


def test_momentum_marks_critical_damping_for_both_curvatures_and_the_best_beta():
    explorer = momentum.momentum_explorer(alpha=0.3, beta=0.5)
    state = explorer.state
    assert state["critical_damping"] == pytest.approx((1 - np.sqrt(0.3 * 1.0)) ** 2)  # 0.205
    assert state["critical_damping_max"] == pytest.approx((np.sqrt(0.3 * 10.0) - 1) ** 2)
    # the best beta is the minimum of the rate curve, found here by brute force
    betas = np.linspace(0, 0.99, 9901)
    rates = [momentum.theoretical_rate((1.0, 10.0), 0.3, b) for b in betas]
    assert state["best_beta"] == pytest.approx(betas[int(np.argmin(rates))], abs=2e-4)
    assert state["best_beta"] == pytest.approx(0.536, abs=1e-3)


def test_momentum_polyak_point_is_the_closed_form_optimum():
    explorer = momentum.momentum_explorer()
    kappa = 10.0
    alpha, beta = explorer.state["polyak"]
    assert alpha == pytest.approx(4 / (np.sqrt(10.0) + 1.0) ** 2)
    assert beta == pytest.approx(((np.sqrt(kappa) - 1) / (np.sqrt(kappa) + 1)) ** 2)
    best = (np.sqrt(kappa) - 1) / (np.sqrt(kappa) + 1)
    assert momentum.theoretical_rate((1.0, 10.0), alpha, beta) == pytest.approx(best)
    for da, db in ((0.01, 0), (-0.01, 0), (0, 0.03), (0, -0.03)):
        assert momentum.theoretical_rate((1.0, 10.0), alpha + da, beta + db) > best


def test_momentum_rate_map_equals_the_spectral_radius_everywhere():
    alphas, betas = np.linspace(0.005, 0.4, 9), np.linspace(0, 0.99, 7)
    grid = momentum.rate_map((1.0, 10.0), alphas, betas)
    for i, b in enumerate(betas):
        for j, a in enumerate(alphas):
            assert grid[i, j] == pytest.approx(momentum.theoretical_rate((1.0, 10.0), a, b))


def test_momentum_error_split_sums_to_the_loss_and_decays_per_direction():
    lambdas, alpha, x0 = np.array([1.0, 10.0]), 0.05, np.array([-1.8, 1.4])
    path = momentum.momentum_path(lambdas, alpha, 0.0, x0, 30)
    parts = momentum.error_split(path, lambdas)
    loss = 0.5 * np.sum(lambdas * path**2, axis=1)
    np.testing.assert_allclose(parts.sum(axis=1), loss, rtol=1e-12)
    k = np.arange(31)[:, None]  # gradient descent: each part shrinks by (1 - alpha lam)^2
    np.testing.assert_allclose(parts, 0.5 * lambdas * x0**2 * (1 - alpha * lambdas) ** (2 * k))


def test_momentum_kappa_control_moves_the_curvature_and_the_alpha_range():
    explorer = momentum.momentum_explorer(alpha=0.02, beta=0.5)
    explorer.controls["kappa"].value = 50.0
    np.testing.assert_allclose(explorer.state["lambdas"], [1.0, 50.0])
    assert explorer.controls["alpha"].max == pytest.approx(2 * 1.99 / 50.0, abs=1e-3)
    assert explorer.state["stability_limit"] == pytest.approx(2 * 1.5 / 50.0)


# ---------------------------------------------------------------- race, divergence
def test_race_marks_divergence_at_the_closed_form_step():
    from nnlab import surfaces

    lr, x0 = 0.25, np.array([1.0, 1.0])
    bowl = surfaces.quadratic(lambdas=(1.0, 10.0))
    # x2_k = (1 - 10 lr)^k: the run is cut at the first k with |x2_k| beyond the window
    # (bounds [-2, 2], cut 5 spans of 4 beyond it: |x| > 22)
    expected = int(np.argmax(np.abs(1 - 10 * lr) ** np.arange(100) > 22.0))
    paths = race.race(bowl, {"SGD": lr}, x0, 100)
    assert race.diverged_at(paths["SGD"], 100) == expected
    explorer = race.optimizer_race(surface="quadratic", learning_rates={"SGD": lr}, start=x0)
    assert explorer.state["diverged_at"]["SGD"] == expected
    ax_path, ax_loss = explorer.view.axes
    # legend: a tag drawn just right of the SGD entry, and no tag for the others
    entries = {t.get_text(): t for t in ax_loss.get_legend().get_texts()}
    tags = {name: [a for a in ax_loss.texts if getattr(a, "xycoords", None) is entry]
            for name, entry in entries.items()}
    assert [t.get_text() for t in tags["SGD"] if t.get_visible()] == [
        f"diverged at step {expected}"
    ]
    assert not any(t.get_visible() for name in entries if name != "SGD" for t in tags[name])
    renderer = ax_loss.get_figure(root=True).canvas.get_renderer()
    entry_box = entries["SGD"].get_window_extent(renderer)
    tag_box = tags["SGD"][0].get_window_extent(renderer)
    assert entry_box.x1 <= tag_box.x0 <= entry_box.x1 + 20
    assert abs((tag_box.y0 + tag_box.y1) - (entry_box.y0 + entry_box.y1)) / 2 < 3
    path_notes = [t.get_text() for t in ax_path.texts if t.get_visible()]
    assert any(f"diverged at step {expected}" in n for n in path_notes)  # path
    curve_notes = [t.get_text() for t in ax_loss.texts if t.get_visible()]
    assert f"SGD diverged at step {expected}" in curve_notes  # curve
    assert all(k is None for n, k in explorer.state["diverged_at"].items() if n != "SGD")


def test_race_lines_differ_by_colour_and_dash():
    colours = [c for c, _ in race.STYLES.values()]
    dashes = [str(d) for _, d in race.STYLES.values()]
    assert len(set(colours)) == len(colours) == len(race.OPTIMIZERS)
    assert len(set(dashes)) == len(dashes)
    assert race.STYLES["Momentum"][0] != race.STYLES["Adam"][0]


# ---------------------------------------------------------------- capacity
def test_learning_curves_mark_the_stop_at_its_step_and_clip_only_the_display():
    from nnlab.explore._curves import LearningCurves
    from nnlab.explore._view import FigureView

    view = FigureView(panels=1)
    steps = np.array([1, 2, 3, 4, 5])
    curves = LearningCurves(view, view.axes[0], steps, "epoch", "Training", clip=(1e-3, 10))
    val = np.array([50.0, 4.0, 2.0, 3.0, 5.0])  # minimum at index 2, then it rises
    assert curves.show(np.full(5, 1e-6), val) == 2
    assert curves.stop_marker.get_visible()
    assert list(curves.stop_marker.get_xdata()) == [3]
    assert list(curves.stop_line.get_xdata()) == [3, 3]
    assert "epoch 3: stop there" in view.axes[0].get_title()
    np.testing.assert_array_equal(curves.val.get_ydata(), [10.0, 4.0, 2.0, 3.0, 5.0])
    np.testing.assert_array_equal(curves.train.get_ydata(), np.full(5, 1e-3))
    assert curves.show(np.ones(5), np.array([5.0, 4.0, 3.0, 2.0, 1.0])) is None
    assert not curves.stop_marker.get_visible() and not curves.stop_line.get_visible()
    assert "never rises" in view.axes[0].get_title()


def test_early_stop_only_where_validation_rises():
    assert capacity.early_stop([3.0, 2.0, 1.0, 0.9]) is None
    assert capacity.early_stop([3.0, 1.0, 1.005]) is None  # within tolerance: no real rise
    assert capacity.early_stop([3.0, 1.0, 1.2, 1.5]) == 1
    explorer = capacity.capacity_explorer()
    stop_marker = explorer.view.axes[2].lines[2]
    explorer.controls["degree"].value = 1
    assert explorer.state["best_step"] is None and not stop_marker.get_visible()
    explorer.controls["degree"].value = 15
    gd_val = explorer.state["gd_val"]
    assert explorer.state["best_step"] is not None and stop_marker.get_visible()
    assert gd_val.max() > gd_val.min() * 1.01


def test_every_l2_step_changes_the_validation_error():
    explorer = capacity.capacity_explorer()
    explorer.controls["degree"].value = 15
    errors = []
    for l2 in capacity.L2_CHOICES:
        explorer.controls["l2"].value = l2
        errors.append(explorer.state["val_error"][15])
    relative = np.abs(np.diff(errors)) / np.array(errors[:-1])
    assert np.all(relative > 0.02), dict(zip(capacity.L2_CHOICES[1:], relative, strict=True))


# ---------------------------------------------------------------- convolution
def test_probe_products_sum_to_the_output_pixel():
    explorer = convolution.convolution_explorer(kernel="Sobel y", probe=(40, 30))
    image = convolution.explorer_image()
    products = explorer.state["products"]
    np.testing.assert_allclose(products, convolution.KERNELS["Sobel y"] * image[40:43, 30:33])
    assert explorer.state["probe_sum"] == pytest.approx(explorer.state["response"][40, 30])


def test_template_mode_labels_its_colour_bar_and_shows_the_patch_unstretched():
    explorer = convolution.convolution_explorer(mode="template matching")
    ax_map, ax_third = explorer.view.axes[1], explorer.view.axes[2]
    colorbar = ax_map.images[0].colorbar
    assert colorbar.ax.get_ylabel() == "normalised cross-correlation"
    assert ax_third.images[0].get_clim() == (0.0, 1.0)  # same grey scale as the input
    explorer.controls["mode"].value = "kernel"
    assert colorbar.ax.get_ylabel() == "response / max |response|"


def test_default_template_finds_another_star():
    image = convolution.explorer_image()
    top, left, size = convolution.DEFAULT_PATCH
    explorer = convolution.convolution_explorer(mode="template matching")
    row, col = explorer.state["best"]
    score = explorer.state["response"][row, col]
    assert score > 0.85
    assert max(abs(row - top), abs(col - left)) > size  # elsewhere, not the patch itself
    centre = size // 2 - 1, size // 2 + 2  # both windows have a bright centre: a star
    assert (
        image[top + centre[0] : top + centre[1], left + centre[0] : left + centre[1]].mean() > 0.6
    )
    assert image[row + centre[0] : row + centre[1], col + centre[0] : col + centre[1]].mean() > 0.6


# ---------------------------------------------------------------- dropout, step size
def test_dropout_class_colours_differ_from_train_and_validation_colours():
    from nnlab import plots

    explorer = dropout.dropout_explorer()
    assert not set(plots.CLASS_COLORS) & {plots.TRAIN_COLOR, plots.VAL_COLOR}
    ax_boundary = explorer.view.axes[2]
    assert ax_boundary.images[0].colorbar.ax.get_ylabel() == "P(class 1)"
    button = next(c for c in explorer.children if isinstance(c, __import__("ipywidgets").Button))
    assert button.layout.width == "auto"  # the whole label shows


def test_step_size_regime_track_stops_sit_at_one_and_two_over_lambda():
    css = step_size.regime_track_css("track", lam=2.0, low=0.0, high=1.2)
    assert f"{100 * 0.5 / 1.2:.2f}%" in css and f"{100 * 1.0 / 1.2:.2f}%" in css


def test_step_size_loss_leaves_the_chart_instead_of_flooring():
    explorer = step_size.step_size_explorer()
    explorer.controls["lr"].value = 0.5  # 1 - lr lam = 0: the loss is exactly 0 after step 0
    loss_1d = explorer.view.axes[2].lines[0].get_ydata()
    assert loss_1d[1:].max() < 1e-100  # far below the axis' 1e-12, not drawn along it


def test_busy_greys_the_picture_before_a_slow_first_visit(monkeypatch):
    explorer = dropout.dropout_explorer()
    seen = []
    original = dropout.train_curves

    def spy(*args, **kwargs):
        seen.append(
            ("nnlab-stale" in explorer.view.panel_box._dom_classes, explorer.view.status.value)
        )
        return original(*args, **kwargs)

    monkeypatch.setattr(dropout, "train_curves", spy)
    explorer.controls["p"].value = 0.3
    assert seen and seen[0][0] and "p = 0.3" in seen[0][1]
    assert "nnlab-stale" not in explorer.view.panel_box._dom_classes
    assert explorer.view.status.value == ""


# ---------------------------------------------------------------- code export
@pytest.mark.parametrize(
    ("build", "moves"),
    [
        (lambda: step_size.step_size_explorer(), {"lr": 0.77}),
        (lambda: momentum.momentum_explorer(), {"kappa": 20.0, "alpha": 0.12, "beta": 0.71}),
        (lambda: momentum.momentum_explorer(compare=True), {"alpha": 0.123}),
        (lambda: capacity.capacity_explorer(), {"degree": 7, "l2": 1e-3}),
        (lambda: convolution.convolution_explorer(), {"kernel": "Laplacian", "row": 20}),
        (lambda: race.optimizer_race(), {"surface": "saddle", "Adam": 0.05, "x0": -1.0}),
    ],
)
def test_code_export_rebuilds_the_same_picture(build, moves):
    explorer = build()
    for name, value in moves.items():
        explorer.controls[name].value = value
    namespace = {}
    exec(explorer.code(), namespace)  # noqa: S102 - the code the explorer wrote itself
    (call,) = [line for line in explorer.code().splitlines() if not line.startswith("from")]
    rebuilt = eval(call, namespace)  # noqa: S307
    for name, control in explorer.controls.items():
        assert rebuilt.controls[name].value == pytest.approx(control.value), name
    assert _pictures(rebuilt) == _pictures(explorer)


def test_idle_kernel_trains_the_other_settings_so_first_visits_are_instant(monkeypatch):
    import asyncio
    import time

    async def scenario():
        explorer = dropout.dropout_explorer()
        deadline = time.monotonic() + 120
        while explorer._warm_jobs and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        return explorer

    explorer = asyncio.run(scenario())
    assert not explorer._warm_jobs, "warm-up did not finish"
    trained = []
    monkeypatch.setattr(dropout, "train_curves", lambda *a, **k: trained.append(a))
    for p in dropout.P_CHOICES:
        explorer.controls["p"].value = p
        assert "nnlab-stale" not in explorer.view.panel_box._dom_classes
    assert trained == []  # every p was already trained while the learner was idle


def test_warm_up_waits_while_the_learner_drags_another_explorer():
    import asyncio
    import time

    async def scenario():
        waiting = dropout.dropout_explorer()
        dragged = step_size.step_size_explorer()
        jobs = len(waiting._warm_jobs)
        rates = [0.2, 0.3, 0.4, 0.5, 0.6, 0.7]
        for step in range(30):  # 1.5 s of dragging, a change every 0.05 s
            dragged.controls["lr"].value = rates[step % len(rates)]
            assert dragged.controls["lr"].value == rates[step % len(rates)]
            await asyncio.sleep(0.05)
        during_drag = len(waiting._warm_jobs)
        deadline = time.monotonic() + 30
        while len(waiting._warm_jobs) == jobs and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        return jobs, during_drag, len(waiting._warm_jobs)

    jobs, during_drag, after = asyncio.run(scenario())
    assert jobs > 0
    assert during_drag == jobs, "a warm-up job ran while another explorer was dragged"
    assert after < jobs, "warm-up did not resume once the learner stopped"


def test_a_setting_seen_before_is_shown_from_memory_without_drawing():
    explorer = momentum.momentum_explorer()
    first = _pictures(explorer)
    explorer.controls["beta"].value = 0.8
    second, state = _pictures(explorer), explorer.state
    renders = []
    render = explorer.view.render
    explorer.view.render = lambda: renders.append(1) or render()
    explorer.controls["beta"].value = 0.6  # back to the start: nothing is drawn
    assert renders == [] and _pictures(explorer) == first
    explorer.controls["beta"].value = 0.8
    assert renders == [] and _pictures(explorer) == second and explorer.state is state
    explorer.controls["beta"].value = 0.7  # new: drawn, and every panel is right again
    assert renders == [1]
    fresh = momentum.momentum_explorer(beta=0.7)
    assert _pictures(explorer) == _pictures(fresh)

"""Tests for nnlab.surfaces: gradients, minima, and the quadratic's convergence theory."""

import math

import numpy as np
import pytest
from nnlab import surfaces
from nnlab.gradcheck import numerical_gradient, relative_error

ALL = {
    "quadratic": lambda: surfaces.quadratic((1.0, 10.0)),
    "rotated quadratic": lambda: surfaces.quadratic((0.5, 20.0), angle=0.6),
    "rosenbrock": surfaces.rosenbrock,
    "rosenbrock(2, 5)": lambda: surfaces.rosenbrock(a=2.0, b=5.0),
    "saddle": surfaces.saddle,
    "local minima": surfaces.local_minima,
}


@pytest.mark.parametrize("name", sorted(ALL))
def test_gradient_matches_numerical_at_random_points(name):
    surface = ALL[name]()
    rng = np.random.default_rng(0)
    (x0, x1), (y0, y1) = surface.bounds
    for _ in range(20):
        p = np.array([rng.uniform(x0, x1), rng.uniform(y0, y1)])
        numeric = numerical_gradient(surface.f, p.copy())
        assert relative_error(surface.grad(p), numeric) < 1e-7


@pytest.mark.parametrize("name", sorted(ALL))
def test_vectorised_forms_agree_with_pointwise(name):
    surface = ALL[name]()
    (x0, x1), (y0, y1) = surface.bounds
    X, Y = np.meshgrid(np.linspace(x0, x1, 7), np.linspace(y0, y1, 5))
    Z = surface.f_grid(X, Y)
    assert Z.shape == (5, 7)
    points = np.stack([X, Y], axis=-1)
    np.testing.assert_allclose(surface.f(points), Z, rtol=1e-14)
    grads = surface.grad(points)
    assert grads.shape == (5, 7, 2)
    for i, j in [(0, 0), (2, 3), (4, 6)]:
        assert Z[i, j] == pytest.approx(surface.f(points[i, j]), rel=1e-14)
        np.testing.assert_allclose(grads[i, j], surface.grad(points[i, j]), rtol=1e-14)
    assert isinstance(surface.f(points[0, 0]), float)


@pytest.mark.parametrize("name", sorted(ALL))
def test_listed_minima_are_local_minima_inside_bounds(name):
    surface = ALL[name]()
    assert surface.minima, "every surface here has at least one minimum"
    for m in surface.minima:
        m = np.array(m)
        np.testing.assert_allclose(surface.grad(m), 0.0, atol=1e-9)
        for angle in np.linspace(0, 2 * np.pi, 12, endpoint=False):
            step = 1e-3 * np.array([np.cos(angle), np.sin(angle)])
            assert surface.f(m + step) > surface.f(m)
        (x0, x1), (y0, y1) = surface.bounds
        assert x0 < m[0] < x1 and y0 < m[1] < y1


def test_saddle_points_are_stationary_but_not_minima():
    for surface in (surfaces.saddle(), surfaces.local_minima()):
        assert surface.saddle_points
        for s in surface.saddle_points:
            s = np.array(s)
            np.testing.assert_allclose(surface.grad(s), 0.0, atol=1e-9)
            values = [surface.f(s + 1e-3 * np.array([np.cos(a), np.sin(a)]))
                      for a in np.linspace(0, 2 * np.pi, 16, endpoint=False)]
            assert min(values) < surface.f(s) < max(values)


def test_local_minima_surface_has_four_minima_of_different_depth():
    surface = surfaces.local_minima()
    values = [surface.f(np.array(m)) for m in surface.minima]
    assert len(values) == 4
    assert len(set(np.round(values, 6))) == 4
    assert values[0] == min(values)  # global minimum listed first


def test_known_values():
    assert surfaces.rosenbrock().f(np.array([1.0, 1.0])) == 0.0
    assert surfaces.rosenbrock().f(np.array([0.0, 0.0])) == 1.0
    q = surfaces.quadratic((2.0, 8.0))
    assert q.f(np.array([1.0, 1.0])) == pytest.approx(0.5 * (2.0 + 8.0), rel=1e-15)
    rotated = surfaces.quadratic((2.0, 8.0), angle=0.3)
    np.testing.assert_allclose(np.linalg.eigvalsh(rotated.A), [2.0, 8.0], rtol=1e-12)


# ---------------------------------------------------------------------------
# convergence theory of the quadratic


@pytest.mark.parametrize("lambdas", [(1.0, 10.0), (0.5, 50.0), (2.0, 2.5)])
def test_condition_number_and_limits(lambdas):
    q = surfaces.quadratic(lambdas)
    assert q.condition_number == pytest.approx(max(lambdas) / min(lambdas), rel=1e-15)
    assert q.stable_lr_limit == pytest.approx(2.0 / max(lambdas), rel=1e-15)


def _plain_gd_final_norm(q, lr, steps):
    p = np.array([1.0, 1.0])
    for _ in range(steps):
        p = p - lr * q.grad(p)
    return np.linalg.norm(p)


@pytest.mark.parametrize("lambdas, angle", [((1.0, 10.0), 0.0), ((0.2, 4.0), 0.7)])
def test_gradient_descent_diverges_exactly_above_two_over_lambda_max(lambdas, angle):
    q = surfaces.quadratic(lambdas, angle)
    limit = q.stable_lr_limit
    assert _plain_gd_final_norm(q, 0.98 * limit, 1500) < 1e-3
    assert _plain_gd_final_norm(q, 1.02 * limit, 1500) > 1e3
    # the per-step factor gd_rate crosses 1 at the same learning rate
    assert q.gd_rate(0.98 * limit) < 1 < q.gd_rate(1.02 * limit)


def test_gd_rate_predicts_the_measured_contraction():
    q = surfaces.quadratic((1.0, 10.0))
    lr = 0.15
    p = np.array([1.0, 1.0])
    norms = []
    for _ in range(200):
        p = p - lr * q.grad(p)
        norms.append(np.linalg.norm(p))
    measured = (norms[-1] / norms[99]) ** (1 / 100)
    assert measured == pytest.approx(q.gd_rate(lr), rel=1e-6)


@pytest.mark.parametrize("lambdas", [(1.0, 10.0), (1.0, 100.0), (0.3, 7.0)])
def test_optimal_momentum_rate_is_sqrt_kappa_formula(lambdas):
    q = surfaces.quadratic(lambdas)
    kappa = max(lambdas) / min(lambdas)
    expected = (math.sqrt(kappa) - 1) / (math.sqrt(kappa) + 1)
    alpha, beta = q.optimal_momentum()
    # Independent derivation: per eigenvalue the error obeys the recurrence
    # e_{t+1} = (1 + beta - alpha lam) e_t - beta e_{t-1}, with characteristic polynomial
    # z^2 - (1 + beta - alpha lam) z + beta; its roots' largest modulus is the rate.
    moduli = [max(abs(np.roots([1.0, -(1.0 + beta - alpha * lam), beta]))) for lam in lambdas]
    assert max(moduli) == pytest.approx(expected, rel=1e-6)
    assert q.momentum_rate(alpha, beta) == pytest.approx(expected, rel=1e-6)


def test_optimal_momentum_is_a_minimum_of_the_rate():
    q = surfaces.quadratic((1.0, 10.0))
    alpha, beta = q.optimal_momentum()
    best = q.momentum_rate(alpha, beta)
    for da in (-0.05, 0.0, 0.05):
        for db in (-0.05, 0.0, 0.05):
            if da or db:
                assert q.momentum_rate(alpha * (1 + da), min(beta + db, 0.999)) >= best - 1e-12


def test_momentum_rate_matches_measured_heavy_ball_convergence():
    q = surfaces.quadratic((1.0, 10.0), angle=0.4)
    for alpha, beta in [q.optimal_momentum(), (0.05, 0.5), (0.1, 0.9)]:
        p = np.array([1.5, -1.0])
        v = np.zeros(2)
        norms = []
        for _ in range(250):  # few enough steps that |p|^2 does not underflow
            v = beta * v - alpha * q.grad(p)  # the lectures' form of momentum
            p = p + v
            norms.append(np.linalg.norm(p))
        measured = (norms[-1] / norms[99]) ** (1 / 150)
        assert measured == pytest.approx(q.momentum_rate(alpha, beta), rel=0.05)


def test_bad_arguments():
    with pytest.raises(ValueError, match="positive"):
        surfaces.quadratic((0.0, 1.0))
    with pytest.raises(ValueError, match="two positive"):
        surfaces.quadratic((1.0, 2.0, 3.0))
    with pytest.raises(ValueError, match=r"shape \(2,\)"):
        surfaces.rosenbrock().f(np.zeros(3))
    with pytest.raises(ValueError, match="same shape"):
        surfaces.saddle().f_grid(np.zeros((2, 2)), np.zeros((3, 3)))

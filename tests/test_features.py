"""Tests for nnlab.features: frozen random ReLU hidden layer and the least-squares output fit."""

import numpy as np
import pytest
from nnlab.features import fit_output_layer, random_relu_features


def inputs(n=7, d=3, seed=0):
    return np.random.default_rng(seed).uniform(-1.0, 1.0, size=(n, d))


@pytest.mark.parametrize("n, d, width", [(1, 1, 1), (7, 3, 5), (40, 2, 120)])
def test_features_shape_dtype_and_relu(n, d, width):
    H = random_relu_features(inputs(n, d), width)
    assert H.shape == (n, width) and H.dtype == np.float64
    assert np.all(H >= 0.0)


def test_features_are_relu_of_an_affine_map():
    # ReLU(X W + b) is affine wherever no unit changes sign: with all units active on a small
    # neighbourhood, H(x + t) - H(x) must be linear in t (H(x+t)+H(x-t) = 2 H(x)).
    X = inputs(1, 2, seed=3)
    H = random_relu_features(X, 200, seed=1)
    active = H[0] > 1e-3
    step = np.array([[1e-6, -2e-6]])
    plus = random_relu_features(X + step, 200, seed=1)[0, active]
    minus = random_relu_features(X - step, 200, seed=1)[0, active]
    np.testing.assert_allclose(plus + minus, 2 * H[0, active], rtol=1e-9, atol=1e-12)
    assert active.sum() > 50 and np.sum(H[0] == 0.0) > 10  # both regimes occur


def test_same_seed_gives_the_same_hidden_units_for_any_inputs():
    X_train, X_val = inputs(10, seed=1), inputs(4, seed=2)
    both = random_relu_features(np.vstack([X_train, X_val]), 30, seed=5)
    # rows are computed independently, so splitting the inputs must not change any unit
    np.testing.assert_allclose(random_relu_features(X_train, 30, seed=5), both[:10], rtol=1e-12)
    np.testing.assert_allclose(random_relu_features(X_val, 30, seed=5), both[10:], rtol=1e-12)
    np.testing.assert_array_equal(random_relu_features(X_val, 30),
                                  random_relu_features(X_val, 30, seed=0))


def test_different_seeds_give_different_hidden_units():
    X = inputs(20)
    assert not np.allclose(random_relu_features(X, 30, seed=0), random_relu_features(X, 30, seed=1))


def test_features_leave_global_rng_alone():
    state = np.random.get_state()[1].copy()
    random_relu_features(inputs(), 10, seed=3)
    np.testing.assert_array_equal(np.random.get_state()[1], state)


def test_hidden_weights_have_the_documented_scale():
    # one input at a time recovers W's row and b: x = 0 gives ReLU(b), x = e_j gives ReLU(W_j + b)
    d, width = 4, 20000
    H0 = random_relu_features(np.zeros((1, d)), width, seed=2)[0]
    assert 0.45 < np.mean(H0 > 0) < 0.55  # b ~ U(-1, 1)
    assert 0.95 < H0.max() <= 1.0
    # for large x, ReLU(x W_j + b) / x -> max(W_j, 0); its second moment is E[W^2] / 2 = 2 / d
    big = 1e6
    rows = random_relu_features(big * np.eye(d), width, seed=2) / big
    np.testing.assert_allclose(np.mean(rows**2), 0.5 * 4.0 / d, rtol=0.05)


def features_and_targets(n, width, seed=0):
    X = inputs(n, 2, seed)
    y = np.sin(3 * X[:, 0]) + X[:, 1]
    return random_relu_features(X, width, seed), y


@pytest.mark.parametrize("n, width", [(30, 10), (30, 30), (20, 80)])
@pytest.mark.parametrize("ridge", [1e-3, 0.5, 7.0])
def test_ridge_solution_satisfies_the_normal_equations(n, width, ridge):
    H, y = features_and_targets(n, width)
    a = fit_output_layer(H, y, ridge)
    assert a.shape == (width,) and a.dtype == np.float64
    lhs = (H.T @ H + ridge * np.eye(width)) @ a
    np.testing.assert_allclose(lhs, H.T @ y, rtol=1e-8, atol=1e-8 * np.abs(H.T @ y).max())


def test_ridge_solution_is_a_minimum_of_the_penalised_loss():
    H, y = features_and_targets(25, 12)
    ridge = 0.3
    a = fit_output_layer(H, y, ridge)

    def loss(w):
        return np.sum((H @ w - y) ** 2) + ridge * np.sum(w**2)

    rng = np.random.default_rng(9)
    for _ in range(20):
        assert loss(a + 1e-3 * rng.normal(size=a.shape)) > loss(a)


@pytest.mark.parametrize("n, width", [(30, 10), (30, 30), (20, 80)])
def test_zero_ridge_gives_the_minimum_norm_least_squares_solution(n, width):
    H, y = features_and_targets(n, width)
    a = fit_output_layer(H, y, 0)
    np.testing.assert_allclose(a, np.linalg.pinv(H) @ y, rtol=1e-6, atol=1e-8)


def test_zero_ridge_interpolates_when_wider_than_the_data():
    H, y = features_and_targets(15, 200)
    a = fit_output_layer(H, y, 0.0)
    np.testing.assert_allclose(H @ a, y, atol=1e-8)
    # any other interpolating solution (add a null-space direction) has a larger norm
    null_direction = np.linalg.svd(H)[2][-1]
    assert np.linalg.norm(a + 0.1 * null_direction) > np.linalg.norm(a)


def test_several_outputs_are_fitted_column_by_column():
    H, y = features_and_targets(30, 12)
    Y = np.column_stack([y, 2 * y - 1])
    A = fit_output_layer(H, Y, 0.1)
    assert A.shape == (12, 2)
    np.testing.assert_allclose(A[:, 0], fit_output_layer(H, Y[:, 0], 0.1), rtol=1e-10)
    np.testing.assert_allclose(A[:, 1], fit_output_layer(H, Y[:, 1], 0.1), rtol=1e-10)


@pytest.mark.parametrize("X, width, seed, error, words", [
    (np.zeros(5), 3, 0, ValueError, "X must be 2-D"),
    (np.zeros((2, 2, 2)), 3, 0, ValueError, "X must be 2-D"),
    (np.zeros((4, 0)), 3, 0, ValueError, "at least one feature"),
    ([[0.0, np.nan]], 3, 0, ValueError, "X contains NaN"),
    (np.zeros((4, 2)), 0, 0, ValueError, "width must be an integer >= 1"),
    (np.zeros((4, 2)), -2, 0, ValueError, "width must be an integer >= 1"),
    (np.zeros((4, 2)), 2.5, 0, TypeError, "width must be an integer"),
    (np.zeros((4, 2)), 3, -1, ValueError, "seed must be an integer >= 0"),
    (np.zeros((4, 2)), 3, np.random.default_rng(0), TypeError, "seed must be an integer"),
])
def test_features_reject_bad_input(X, width, seed, error, words):
    with pytest.raises(error, match=words):
        random_relu_features(X, width, seed)


@pytest.mark.parametrize("H, y, ridge, error, words", [
    (np.zeros(4), np.zeros(4), 0.1, ValueError, "H must be 2-D"),
    (np.ones((4, 3)), np.zeros(5), 0.1, ValueError, "same number of rows"),
    (np.ones((4, 3)), np.zeros((4, 1, 1)), 0.1, ValueError, r"y must have shape \(n,\)"),
    (np.ones((4, 3)), np.zeros(4), -0.1, ValueError, "ridge must be a finite number >= 0"),
    (np.ones((4, 3)), np.zeros(4), np.inf, ValueError, "ridge must be a finite number >= 0"),
    (np.ones((4, 3)), np.zeros(4), "0.1", TypeError, "ridge must be a number"),
    (np.ones((4, 3)), [0.0, 1.0, np.inf, 0.0], 0.1, ValueError, "y contains NaN or infinite"),
])
def test_fit_rejects_bad_input(H, y, ridge, error, words):
    with pytest.raises(error, match=words):
        fit_output_layer(H, y, ridge)

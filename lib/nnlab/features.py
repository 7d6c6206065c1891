"""Random-features networks: one hidden layer of frozen random ReLU units, a fitted output.

Contract
--------
A random-features network is a one-hidden-layer network whose input weights are drawn at
random and never trained; only the linear output layer is fitted, by one (ridge-regularised)
least-squares solve. Its width plays the role of the number of hidden units, and training
takes milliseconds, so cross-validating the width or tracing double descent is cheap.

    random_relu_features(X, width, seed=0) -> H (n, width)
        H = ReLU(X W + b), W (d, width) ~ N(0, 4 / d), b (width,) ~ U(-1, 1).
        `seed` (a non-negative integer) selects the frozen random hidden layer: W and b are
        drawn from a fresh np.random.default_rng(seed) on every call, so the same seed and
        width give the same hidden units for training, validation and test inputs alike. A
        Generator is deliberately not accepted: it would advance between calls and give each
        call a different network.
    fit_output_layer(H, y, ridge) -> a (width,) or (width, k)
        minimises ||H a - y||^2 + ridge ||a||^2; ridge = 0 gives the minimum-norm
        least-squares solution (the one gradient descent from zero converges to).

Predictions are random_relu_features(X, width, seed) @ a. Everything is float64; the global
NumPy random state is never touched.
"""

from __future__ import annotations

import numpy as np

__all__ = ["random_relu_features", "fit_output_layer"]


def _check_integer(value, name: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise TypeError(f"{name} must be an integer, got {type(value).__name__}")
    if value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def _as_matrix(values, name: str) -> np.ndarray:
    array = np.asarray(values, dtype=np.float64)
    if array.ndim != 2:
        raise ValueError(f"{name} must be 2-D (examples as rows), got shape {array.shape}")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} contains NaN or infinite values")
    return array


def random_relu_features(X, width, seed=0) -> np.ndarray:
    """Hidden-layer activations of a network with frozen random input weights.

    X: (n, d) inputs. width: number of hidden units (>= 1). seed: non-negative integer that
    selects the frozen random hidden layer; the same (seed, width, d) always gives the same
    W (d, width) ~ N(0, 4 / d) and b (width,) ~ U(-1, 1).
    Returns H: (n, width) float64, H = ReLU(X W + b).
    """
    X = _as_matrix(X, "X")
    width = _check_integer(width, "width", 1)
    seed = _check_integer(seed, "seed", 0)
    if X.shape[1] == 0:
        raise ValueError("X must have at least one feature (column), got shape "
                         f"{X.shape}")
    d = X.shape[1]
    rng = np.random.default_rng(seed)
    # std 2 / sqrt(d) keeps the pre-activations of order 1 for inputs in [-1, 1]^d
    W = rng.normal(size=(d, width)) * 2.0 / np.sqrt(d)
    b = rng.uniform(-1.0, 1.0, size=width)
    return np.maximum(0.0, X @ W + b)


def fit_output_layer(H, y, ridge) -> np.ndarray:
    """Output weights minimising ||H a - y||^2 + ridge ||a||^2.

    H: (n, width) hidden activations; y: (n,) targets, or (n, k) for k outputs;
    ridge: finite number >= 0. Returns a: (width,) or (width, k) float64.
    ridge > 0 solves the normal equations (H^T H + ridge I) a = H^T y; ridge = 0 returns the
    minimum-norm least-squares solution pinv(H) y, which interpolates the training targets
    whenever width >= n and the hidden activations are linearly independent.
    """
    H = _as_matrix(H, "H")
    y = np.asarray(y, dtype=np.float64)
    if y.ndim not in (1, 2):
        raise ValueError(f"y must have shape (n,) or (n, k), got shape {y.shape}")
    if len(y) != len(H):
        raise ValueError(f"H and y must have the same number of rows (examples), got "
                         f"{len(H)} and {len(y)}")
    if not np.all(np.isfinite(y)):
        raise ValueError("y contains NaN or infinite values")
    if isinstance(ridge, bool) or not isinstance(ridge, int | float | np.integer | np.floating):
        raise TypeError(f"ridge must be a number, got {type(ridge).__name__}")
    if not np.isfinite(ridge) or ridge < 0:
        raise ValueError(f"ridge must be a finite number >= 0, got {ridge!r}")
    if ridge == 0:
        return np.linalg.lstsq(H, y, rcond=None)[0]
    return np.linalg.solve(H.T @ H + ridge * np.eye(H.shape[1]), H.T @ y)

"""Fully connected (affine) layer: out = x @ W + b.

Shapes: x (N, in_dim), W (in_dim, out_dim), b (out_dim,), out (N, out_dim).
Initialisation (biases start at 0):
  "he"     W ~ Normal(0, 2 / in_dim)                 (suits ReLU)
  "xavier" W ~ Normal(0, 2 / (in_dim + out_dim))     (suits tanh / sigmoid)
  "zeros"  W = 0                                     (shows the symmetry problem; rng unused)
  float s  W ~ Normal(0, s**2)
"""

from __future__ import annotations

import math
from numbers import Real

import numpy as np

from .base import Layer, as_batch, check_rng


def init_std(init, fan_in: int, fan_out: int) -> float:
    """Standard deviation for an initialisation scheme (see module docstring)."""
    if isinstance(init, str):
        if init == "he":
            return math.sqrt(2.0 / fan_in)
        if init == "xavier":
            return math.sqrt(2.0 / (fan_in + fan_out))
        if init == "zeros":
            return 0.0
        raise ValueError(f"init must be 'he', 'xavier', 'zeros' or a float std, got {init!r}")
    if isinstance(init, bool) or not isinstance(init, Real):
        raise TypeError(f"init must be a string or a float std, got {type(init).__name__}")
    if not (math.isfinite(init) and init >= 0):
        raise ValueError(f"init std must be finite and >= 0, got {init!r}")
    return float(init)


def positive_int(name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive int, got {value!r}")
    return int(value)


class Dense(Layer):
    """Affine layer out = x @ W + b, with W (in_dim, out_dim) and b (out_dim,)."""

    def __init__(self, in_dim: int, out_dim: int, rng: np.random.Generator | None = None,
                 init="he"):
        super().__init__()
        self.in_dim = positive_int("in_dim", in_dim)
        self.out_dim = positive_int("out_dim", out_dim)
        self.init = init
        std = init_std(init, self.in_dim, self.out_dim)
        if std == 0.0:
            W = np.zeros((self.in_dim, self.out_dim))
        else:
            W = check_rng(rng, "Dense").normal(0.0, std, size=(self.in_dim, self.out_dim))
        self.params = {"W": W, "b": np.zeros(self.out_dim)}
        self.grads = {"W": np.zeros_like(W), "b": np.zeros(self.out_dim)}
        self._x = None

    def forward(self, x, train: bool = True) -> np.ndarray:
        """x (N, in_dim) -> (N, out_dim)."""
        x = as_batch(x, "Dense", ndim=2)
        if x.shape[1] != self.in_dim:
            raise ValueError(
                f"Dense expected input of shape (N, {self.in_dim}), got {x.shape}"
            )
        self._x = x
        out = x @ self.params["W"]
        out += self.params["b"]
        self._out_shape = out.shape
        return out

    def backward(self, dout) -> np.ndarray:
        """dout (N, out_dim) -> dx (N, in_dim); sets grads W = x.T @ dout, b = sum_n dout."""
        self.backward_params(dout)
        return np.asarray(dout, dtype=np.float64) @ self.params["W"].T

    def backward_params(self, dout) -> None:
        """Only grads W and b (no dx): a third less work for a network's first layer."""
        dout = self._check_dout(dout)
        self.grads["W"] = self._x.T @ dout
        self.grads["b"] = dout.sum(axis=0)

    def __repr__(self) -> str:
        return f"Dense({self.in_dim}, {self.out_dim}, init={self.init!r})"

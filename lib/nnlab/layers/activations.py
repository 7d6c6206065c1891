"""Elementwise activation layers: ReLU, Sigmoid, Tanh (any input shape, no parameters).

Each backward multiplies dout by the derivative at the cached forward point:
  ReLU     d/dz max(0, z) = 1 if z > 0 else 0   (0 chosen at the kink z = 0)
  Sigmoid  sigma'(z) = sigma(z) (1 - sigma(z))
  Tanh     tanh'(z) = 1 - tanh(z)^2
"""

from __future__ import annotations

import numpy as np

from .base import Layer, as_batch


def stable_sigmoid(z: np.ndarray) -> np.ndarray:
    """1 / (1 + exp(-z)) without overflow: exp is only ever taken of -|z|."""
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


class ReLU(Layer):
    """out = max(0, x)."""

    def forward(self, x, train: bool = True) -> np.ndarray:
        x = as_batch(x, "ReLU")
        self._mask = x > 0
        self._out_shape = x.shape
        return np.where(self._mask, x, 0.0)

    def backward(self, dout) -> np.ndarray:
        dout = self._check_dout(dout)
        return dout * self._mask


class Sigmoid(Layer):
    """out = 1 / (1 + exp(-x)), computed stably."""

    def forward(self, x, train: bool = True) -> np.ndarray:
        x = as_batch(x, "Sigmoid")
        self._out = stable_sigmoid(x)
        self._out_shape = x.shape
        return self._out

    def backward(self, dout) -> np.ndarray:
        dout = self._check_dout(dout)
        return dout * self._out * (1.0 - self._out)


class Tanh(Layer):
    """out = tanh(x)."""

    def forward(self, x, train: bool = True) -> np.ndarray:
        x = as_batch(x, "Tanh")
        self._out = np.tanh(x)
        self._out_shape = x.shape
        return self._out

    def backward(self, dout) -> np.ndarray:
        dout = self._check_dout(dout)
        return dout * (1.0 - self._out**2)

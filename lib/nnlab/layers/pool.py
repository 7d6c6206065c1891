"""Max pooling and flattening.

MaxPool2D(size=2, stride=None): x (N, C, H, W) -> (N, C, Ho, Wo),
    Ho = (H - size) // stride + 1 (stride defaults to size; leftover rows/columns that do
    not fill a window are dropped, as in PyTorch).  Backward routes each output gradient
    to the position of its window's maximum (the first one if several tie).

Flatten(): x (N, d1, d2, ...) -> (N, d1*d2*...); backward restores the shape.
"""

from __future__ import annotations

import numpy as np

from .base import Layer, as_batch
from .conv import windows
from .dense import positive_int


class MaxPool2D(Layer):
    """Max over size x size windows moved by ``stride`` (default: size)."""

    def __init__(self, size: int = 2, stride: int | None = None):
        super().__init__()
        self.size = positive_int("size", size)
        self.stride = self.size if stride is None else positive_int("stride", stride)

    def forward(self, x, train: bool = True) -> np.ndarray:
        """x (N, C, H, W) -> (N, C, Ho, Wo)."""
        x = as_batch(x, "MaxPool2D", ndim=4)
        N, C, H, W = x.shape
        k, s = self.size, self.stride
        if H < k or W < k:
            raise ValueError(f"MaxPool2D input {H}x{W} is smaller than the {k}x{k} window")
        Ho, Wo = (H - k) // s + 1, (W - k) // s + 1
        flat = windows(x, k, k, s, Ho, Wo).reshape(N, C, Ho, Wo, k * k)
        self._argmax = flat.argmax(axis=-1)
        self._x_shape = x.shape
        out = np.take_along_axis(flat, self._argmax[..., None], axis=-1)[..., 0]
        self._out_shape = out.shape
        return out

    def backward(self, dout) -> np.ndarray:
        """dout (N, C, Ho, Wo) -> dx (N, C, H, W), non-zero only at the window maxima."""
        dout = self._check_dout(dout)
        k, s = self.size, self.stride
        _, _, Ho, Wo = dout.shape
        dx = np.zeros(self._x_shape)
        for u in range(k):
            for v in range(k):
                routed = np.where(self._argmax == u * k + v, dout, 0.0)
                dx[:, :, u:u + s * (Ho - 1) + 1:s, v:v + s * (Wo - 1) + 1:s] += routed
        return dx

    def __repr__(self) -> str:
        return f"MaxPool2D(size={self.size}, stride={self.stride})"


class Flatten(Layer):
    """(N, d1, d2, ...) -> (N, d1*d2*...)."""

    def forward(self, x, train: bool = True) -> np.ndarray:
        x = as_batch(x, "Flatten", min_ndim=2)
        self._in_shape = x.shape
        out = x.reshape(x.shape[0], -1)
        self._out_shape = out.shape
        return out

    def backward(self, dout) -> np.ndarray:
        dout = self._check_dout(dout)
        return dout.reshape(self._in_shape)

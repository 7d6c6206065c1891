"""2-D convolution layer (cross-correlation, as in every deep-learning framework).

Shapes: x (N, C, H, W), W (F, C, kh, kw), b (F,), out (N, F, Ho, Wo) with
    Ho = (H + 2*padding - kh) // stride + 1,   Wo = (W + 2*padding - kw) // stride + 1.

    out[n, f, i, j] = b[f] + sum_{c, u, v} W[f, c, u, v] * xp[n, c, i*stride + u, j*stride + v]

where xp is x zero-padded by ``padding`` on each spatial side.  The kernel is NOT flipped
(cross-correlation); a mathematical convolution would use W[f, c, kh-1-u, kw-1-v].

Implementation: im2col.  A strided view lists every receptive field without copying;
one copy lays them out as a (N, C*kh*kw, Ho*Wo) stack of columns, and a single batched
matrix product with W reshaped to (F, C*kh*kw) gives the output already in (N, F, Ho, Wo)
order.  Backward uses the same columns for dW and scatters the column gradient back with
kh*kw slice additions (one per kernel offset), never a loop over samples or pixels.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import as_strided

from .base import Layer, as_batch, check_rng
from .dense import init_std, positive_int


def pair(name: str, value) -> tuple[int, int]:
    """An int or a pair of ints -> (int, int)."""
    if isinstance(value, (tuple, list)) and len(value) == 2:
        return positive_int(name, value[0]), positive_int(name, value[1])
    v = positive_int(name, value)
    return v, v


def windows(xp: np.ndarray, kh: int, kw: int, stride: int, Ho: int, Wo: int) -> np.ndarray:
    """Read-only view (N, C, Ho, Wo, kh, kw) of every receptive field of xp (N, C, Hp, Wp)."""
    sN, sC, sH, sW = xp.strides
    return as_strided(
        xp,
        shape=(xp.shape[0], xp.shape[1], Ho, Wo, kh, kw),
        strides=(sN, sC, sH * stride, sW * stride, sH, sW),
        writeable=False,
    )


class Conv2D(Layer):
    """Cross-correlation layer with F=out_ch filters of size (in_ch, kh, kw).

    init: "he" (std sqrt(2 / (in_ch*kh*kw)), default), "xavier", "zeros" or a float std.
    """

    def __init__(self, in_ch: int, out_ch: int, kernel_size, rng: np.random.Generator,
                 stride: int = 1, padding: int = 0, init="he"):
        super().__init__()
        self.in_ch = positive_int("in_ch", in_ch)
        self.out_ch = positive_int("out_ch", out_ch)
        self.kernel_size = pair("kernel_size", kernel_size)
        self.stride = positive_int("stride", stride)
        if isinstance(padding, bool) or not isinstance(padding, (int, np.integer)) or padding < 0:
            raise ValueError(f"padding must be an int >= 0, got {padding!r}")
        self.padding = int(padding)
        kh, kw = self.kernel_size
        fan_in = self.in_ch * kh * kw
        std = init_std(init, fan_in, self.out_ch * kh * kw)
        shape = (self.out_ch, self.in_ch, kh, kw)
        W = np.zeros(shape) if std == 0.0 else check_rng(rng, "Conv2D").normal(0, std, shape)
        self.params = {"W": W, "b": np.zeros(self.out_ch)}
        self.grads = {"W": np.zeros_like(W), "b": np.zeros(self.out_ch)}

    def output_shape(self, H: int, W: int) -> tuple[int, int]:
        kh, kw = self.kernel_size
        p, s = self.padding, self.stride
        return (H + 2 * p - kh) // s + 1, (W + 2 * p - kw) // s + 1

    def forward(self, x, train: bool = True) -> np.ndarray:
        """x (N, C, H, W) -> (N, F, Ho, Wo)."""
        x = as_batch(x, "Conv2D", ndim=4)
        N, C, H, W = x.shape
        if C != self.in_ch:
            raise ValueError(
                f"Conv2D expected input of shape (N, {self.in_ch}, H, W), got {x.shape} "
                f"({C} channels instead of {self.in_ch})"
            )
        kh, kw = self.kernel_size
        p = self.padding
        if H + 2 * p < kh or W + 2 * p < kw:
            raise ValueError(
                f"Conv2D input {H}x{W} (padding {p}) is smaller than the {kh}x{kw} kernel"
            )
        Ho, Wo = self.output_shape(H, W)
        xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p))) if p else x
        # im2col: cols[n, (c, u, v), (i, j)] = xp[n, c, i*stride + u, j*stride + v]; the
        # (c, u, v) order matches W.reshape(F, C*kh*kw), and keeping (i, j) last makes the
        # product come out directly in (N, F, Ho*Wo) layout.
        view = windows(xp, kh, kw, self.stride, Ho, Wo).transpose(0, 1, 4, 5, 2, 3)
        cols = np.ascontiguousarray(view).reshape(N, C * kh * kw, Ho * Wo)
        out = self.params["W"].reshape(self.out_ch, -1) @ cols  # (N, F, Ho*Wo), one GEMM per n
        out += self.params["b"][:, None]
        self._cache = (x.shape, xp.shape, cols, Ho, Wo)
        out = out.reshape(N, self.out_ch, Ho, Wo)
        self._out_shape = out.shape
        return out

    def backward(self, dout) -> np.ndarray:
        """dout (N, F, Ho, Wo) -> dx (N, C, H, W); sets grads W (F, C, kh, kw), b (F,)."""
        dout_flat = self._param_grads(dout)
        x_shape, xp_shape, _, Ho, Wo = self._cache
        N, C, H, W = x_shape
        kh, kw = self.kernel_size
        s, p = self.stride, self.padding
        W_mat = self.params["W"].reshape(self.out_ch, -1)
        dcols = (W_mat.T @ dout_flat).reshape(N, C, kh, kw, Ho, Wo)
        # col2im: every kernel offset (u, v) adds its slab back onto a strided window of xp
        dxp = np.zeros(xp_shape)
        for u in range(kh):
            for v in range(kw):
                dxp[:, :, u:u + s * (Ho - 1) + 1:s, v:v + s * (Wo - 1) + 1:s] += dcols[:, :, u, v]
        return dxp[:, :, p:p + H, p:p + W] if p else dxp

    def backward_params(self, dout) -> None:
        """Only grads W and b, skipping the input gradient (for a network's first layer)."""
        self._param_grads(dout)

    def _param_grads(self, dout) -> np.ndarray:
        dout = self._check_dout(dout)
        N, _, Ho, Wo = dout.shape
        cols = self._cache[2]
        dout_flat = dout.reshape(N, self.out_ch, Ho * Wo)
        self.grads["W"] = (dout_flat @ cols.transpose(0, 2, 1)).sum(axis=0).reshape(
            self.params["W"].shape)
        self.grads["b"] = dout_flat.sum(axis=(0, 2))
        return dout_flat

    def __repr__(self) -> str:
        return (f"Conv2D({self.in_ch}, {self.out_ch}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}, padding={self.padding})")


__all__ = ["Conv2D"]

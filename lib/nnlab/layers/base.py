"""The layer protocol shared by every layer, and the input checks they all use.

A layer maps a batch ``x`` (batch first: shape (N, ...)) to an output batch::

    out = layer.forward(x, train=True)   # caches what backward needs
    dx = layer.backward(dout)            # dout has out's shape; fills layer.grads
    layer.params, layer.grads            # dicts name -> ndarray, same names and shapes

``backward`` returns the gradient with respect to the input of the most recent ``forward``
and stores parameter gradients in ``grads`` (replacing, not accumulating).
``backward_params(dout)`` does the same but need not compute the input gradient.  Optimizers
update the arrays in ``params`` in place, so a layer never rebinds them.
"""

from __future__ import annotations

import numpy as np

from ..functions import NonFiniteInputError

__all__ = ["Layer", "as_batch", "check_rng", "NonFiniteInputError"]


def as_batch(x, layer: str, ndim: int | None = None, min_ndim: int = 1) -> np.ndarray:
    """Return ``x`` as a float64 array after checking its rank and that it is finite.

    Raises ValueError naming the layer, the expected rank and the shape received, and
    NonFiniteInputError (a ValueError) for NaN/inf, so a training loop can recognise
    divergence.
    """
    x = np.asarray(x, dtype=np.float64)
    if ndim is not None and x.ndim != ndim:
        raise ValueError(f"{layer} expected a {ndim}-D input, got shape {x.shape}")
    if x.ndim < min_ndim:
        raise ValueError(f"{layer} expected at least {min_ndim}-D input, got shape {x.shape}")
    if not np.isfinite(x).all():
        bad = int(np.size(x) - np.count_nonzero(np.isfinite(x)))
        raise NonFiniteInputError(f"{layer} received non-finite input ({bad} NaN/inf entries)")
    return x


def check_rng(rng, layer: str) -> np.random.Generator:
    if not isinstance(rng, np.random.Generator):
        raise TypeError(
            f"{layer} needs rng=np.random.default_rng(seed), got {type(rng).__name__}"
        )
    return rng


class Layer:
    """Base class: no parameters; subclasses override forward/backward."""

    def __init__(self) -> None:
        self.params: dict[str, np.ndarray] = {}
        self.grads: dict[str, np.ndarray] = {}
        self._out_shape: tuple | None = None

    def forward(self, x, train: bool = True) -> np.ndarray:
        raise NotImplementedError

    def backward(self, dout) -> np.ndarray:
        raise NotImplementedError

    def backward_params(self, dout) -> None:
        """Fill ``grads`` only, skipping dL/dx.

        Used for a network's first layer, whose input is data and needs no gradient;
        layers with an expensive input gradient (Dense, Conv2D) override it.
        """
        self.backward(dout)

    def __call__(self, x, train: bool = True) -> np.ndarray:
        return self.forward(x, train=train)

    def _check_dout(self, dout) -> np.ndarray:
        """Backward must follow a forward and receive a gradient shaped like its output."""
        if self._out_shape is None:
            raise RuntimeError(f"{type(self).__name__}.backward called before forward")
        dout = np.asarray(dout, dtype=np.float64)
        if dout.shape != self._out_shape:
            raise ValueError(
                f"{type(self).__name__}.backward expected dout of shape {self._out_shape} "
                f"(the forward output), got {dout.shape}"
            )
        return dout

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"

"""Dropout: randomly zero activations during training.

``p`` is the DROP probability (as in the lecture notes): each unit is zeroed with
probability p and kept with probability 1 - p.  Two equivalent conventions:

  mode="inverted" (default, what frameworks do)
      train: out = x * mask / (1 - p)         test: out = x
  mode="scale_at_test" (the lecture's original formulation)
      train: out = x * mask                   test: out = x * (1 - p)

mask ~ Bernoulli(1 - p) elementwise, drawn from ``rng``.  In both modes the expected
training output equals the test output, so a network sees activations of the same size
when it is evaluated.  ``backward`` multiplies by the same mask (and scale) as the last
forward.  Any input shape.
"""

from __future__ import annotations

import math
from numbers import Real

import numpy as np

from .base import Layer, as_batch, check_rng

MODES = ("inverted", "scale_at_test")


class Dropout(Layer):
    """Dropout with drop probability p (0 <= p < 1); see module docstring for modes."""

    def __init__(self, p: float, rng: np.random.Generator, mode: str = "inverted"):
        super().__init__()
        if isinstance(p, bool) or not isinstance(p, Real) or not math.isfinite(p):
            raise ValueError(f"Dropout p must be a number in [0, 1), got {p!r}")
        if not 0.0 <= p < 1.0:
            raise ValueError(
                f"Dropout p is the drop probability and must satisfy 0 <= p < 1, got {p!r}"
            )
        if mode not in MODES:
            raise ValueError(f"Dropout mode must be one of {MODES}, got {mode!r}")
        self.p = float(p)
        self.rng = check_rng(rng, "Dropout")
        self.mode = mode
        self._scale: np.ndarray | float = 1.0

    def forward(self, x, train: bool = True) -> np.ndarray:
        x = as_batch(x, "Dropout")
        keep = 1.0 - self.p
        if train:
            mask = self.rng.random(x.shape) >= self.p
            self.mask = mask
            # one array holds mask and scale, so backward reuses exactly the same factor
            self._scale = mask / keep if self.mode == "inverted" else mask.astype(np.float64)
        else:
            self.mask = None
            self._scale = 1.0 if self.mode == "inverted" else keep
        self._out_shape = x.shape
        return x * self._scale

    def backward(self, dout) -> np.ndarray:
        dout = self._check_dout(dout)
        return dout * self._scale

    def __repr__(self) -> str:
        return f"Dropout(p={self.p}, mode={self.mode!r})"

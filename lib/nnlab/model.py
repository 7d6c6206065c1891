"""A Sequential network, its regularised loss, and (re-exported) the ``fit`` training loop.

Contract
--------
``Sequential(*layers)`` chains layers from ``nnlab.layers`` (or anything with
forward(x, train) / backward(dout) / params / grads).

    forward(X, train=True)  X (N, ...) -> scores (N, C) (or (N, 1), (N,) ...)
    backward(dout)          dout shaped like the scores -> dX; fills each layer's grads
    params(), grads()       flat dicts "i.name" -> the layer's array (i = layer index), e.g.
                            "0.W", "0.b", "2.W".  params() hands out the arrays themselves,
                            so an optimizer updating them in place trains the network.
    loss(X, y, loss="softmax_ce", l1=0, l2=0, train=True) -> (loss float, grads dict)
    predict(X)              class labels (N,): argmax for C > 1 outputs; for one output,
                            score > 0 (logits) or > 0.5 when the last layer is a Sigmoid
    accuracy(X, y)          mean(predict(X) == y)
    get_weights() / set_weights(w)   copies in / out, keyed like params()

Losses (names for ``loss=``; a callable (scores, y) -> (loss, dscores) also works):
    "softmax_ce"  softmax cross-entropy, y (N,) int labels
    "bce_logits"  binary cross-entropy on logits, scores (N, 1) or (N,), y (N,) in {0, 1}
    "mse"         mean_i sum_k (scores - y)^2       "half_mse"  the same times 1/2
    "hinge"       multiclass SVM loss, y (N,) int labels

Regularisation penalises the weights "W" only, never the biases (as in the lecture's
regularised gradient, which skips the bias column):
    total = data_loss + l1 * sum |W| + (l2 / 2) * sum W^2
so the penalty adds l1 * sign(W) + l2 * W to each weight gradient.

``fit``, ``History`` and ``DivergedError`` live in ``nnlab.training`` and are importable
from here.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from . import functions as F
from .layers import Sigmoid
from .training import DivergedError, History, fit

__all__ = ["Sequential", "LOSSES", "CLASSIFICATION_LOSSES", "fit", "History", "DivergedError"]

LOSSES: dict[str, Callable] = {
    "softmax_ce": F.softmax_cross_entropy,
    "bce_logits": F.binary_cross_entropy_with_logits,
    "mse": F.squared_error,
    "half_mse": F.half_squared_error,
    "hinge": F.hinge_loss,
}
CLASSIFICATION_LOSSES = ("softmax_ce", "bce_logits", "hinge")


def resolve_loss(loss) -> Callable:
    """A loss name from LOSSES, or a callable (scores, y) -> (loss, dscores)."""
    if callable(loss):
        return loss
    if loss not in LOSSES:
        raise ValueError(f"unknown loss {loss!r}; choose one of {sorted(LOSSES)} or a callable")
    return LOSSES[loss]


def _nonnegative(name: str, value: float) -> float:
    value = float(value)
    if not (np.isfinite(value) and value >= 0):
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
    return value


class Sequential:
    """Layers applied one after another; see the module docstring for the interface."""

    def __init__(self, *layers):
        if len(layers) == 1 and isinstance(layers[0], (list, tuple)):
            layers = tuple(layers[0])
        for i, layer in enumerate(layers):
            for attr in ("forward", "backward", "params", "grads"):
                if not hasattr(layer, attr):
                    raise TypeError(
                        f"layer {i} ({type(layer).__name__}) has no {attr!r}; Sequential "
                        "needs layers such as nnlab.layers.Dense(...) (did you pass the class "
                        "instead of an instance?)"
                    )
        if not layers:
            raise ValueError("Sequential needs at least one layer")
        self.layers = list(layers)

    def __repr__(self) -> str:
        inner = ",\n  ".join(repr(layer) for layer in self.layers)
        return f"Sequential(\n  {inner}\n)"

    def __len__(self) -> int:
        return len(self.layers)

    def forward(self, X, train: bool = True) -> np.ndarray:
        """X (N, ...) -> scores; ``train`` is passed to every layer (Dropout uses it)."""
        out = X
        for layer in self.layers:
            out = layer.forward(out, train=train)
        return out

    __call__ = forward

    def backward(self, dout) -> np.ndarray:
        """dout (shape of the scores) -> dX; each layer stores its parameter gradients."""
        for layer in reversed(self.layers):
            dout = layer.backward(dout)
        return dout

    def params(self) -> dict[str, np.ndarray]:
        """Flat dict "i.name" -> parameter array (the layer's own array, not a copy)."""
        return {f"{i}.{name}": p for i, layer in enumerate(self.layers)
                for name, p in layer.params.items()}

    def grads(self) -> dict[str, np.ndarray]:
        """Flat dict "i.name" -> gradient from the last backward (same keys as params())."""
        return {f"{i}.{name}": g for i, layer in enumerate(self.layers)
                for name, g in layer.grads.items()}

    def penalty(self, l1: float = 0.0, l2: float = 0.0) -> float:
        """l1 * sum|W| + (l2/2) * sum W^2 over all weight matrices "W" (biases excluded)."""
        total = 0.0
        for name, p in self.params().items():
            if name.endswith(".W"):
                if l1:
                    total += l1 * float(np.abs(p).sum())
                if l2:
                    total += 0.5 * l2 * float(np.sum(p * p))
        return total

    def loss(self, X, y, loss="softmax_ce", l1: float = 0.0, l2: float = 0.0,
             train: bool = True):
        """Regularised loss and its gradient for every parameter.

        X (N, ...), y as the loss expects.  Returns (loss float, grads dict keyed like
        params()); the loss is data_loss + l1*sum|W| + (l2/2)*sum W^2.
        """
        l1, l2 = _nonnegative("l1", l1), _nonnegative("l2", l2)
        loss_fn = resolve_loss(loss)
        scores = self.forward(X, train=train)
        data_loss, dscores = loss_fn(scores, self._match_targets(scores, y, loss))
        # the data X needs no gradient, so the first layer skips its input gradient
        for layer in reversed(self.layers[1:]):
            dscores = layer.backward(dscores)
        first = self.layers[0]
        if hasattr(first, "backward_params"):
            first.backward_params(dscores)
        else:
            first.backward(dscores)
        grads = {}
        params = self.params()
        for name, g in self.grads().items():
            if name.endswith(".W") and (l1 or l2):
                W = params[name]
                g = g + l1 * np.sign(W) + l2 * W
            grads[name] = g
        return data_loss + self.penalty(l1, l2), grads

    def data_loss(self, X, y, loss="softmax_ce", train: bool = False) -> float:
        """Unregularised loss only (no backward pass); evaluation mode by default."""
        return self.loss_of_scores(self.forward(X, train=train), y, loss)

    def loss_of_scores(self, scores, y, loss="softmax_ce") -> float:
        """Unregularised loss of already computed output scores (N, C) against targets y."""
        return resolve_loss(loss)(scores, self._match_targets(scores, y, loss))[0]

    @staticmethod
    def _match_targets(scores, y, loss):
        # a column of outputs next to a flat vector of targets is the usual regression set-up
        if loss in ("mse", "half_mse"):
            y = np.asarray(y, dtype=np.float64)
            if scores.ndim == 2 and scores.shape[1] == 1 and y.shape == (scores.shape[0],):
                return y[:, None]
        return y

    def predict(self, X) -> np.ndarray:
        """Class labels (N,) int, computed with train=False."""
        return self.labels(self.forward(X, train=False))

    def labels(self, scores) -> np.ndarray:
        """Class labels (N,) int from output scores: argmax over (N, C), or a threshold on
        a single output column (0.5 after a Sigmoid layer, else 0)."""
        if scores.ndim == 2 and scores.shape[1] > 1:
            return scores.argmax(axis=1)
        threshold = 0.5 if isinstance(self.layers[-1], Sigmoid) else 0.0
        return (scores.reshape(len(scores)) > threshold).astype(np.int64)

    def accuracy(self, X, y) -> float:
        """Fraction of examples whose predicted label equals y (N,)."""
        y = np.asarray(y)
        pred = self.predict(X)
        if y.shape != pred.shape:
            raise ValueError(f"labels y must have shape {pred.shape}, got {y.shape}")
        return float(np.mean(pred == y))

    def get_weights(self) -> dict[str, np.ndarray]:
        """Copies of all parameters, keyed like params()."""
        return {name: p.copy() for name, p in self.params().items()}

    def set_weights(self, weights: dict[str, np.ndarray]) -> None:
        """Copy ``weights`` into the parameters in place (optimizer references stay valid)."""
        params = self.params()
        missing = set(params) - set(weights)
        extra = set(weights) - set(params)
        if missing or extra:
            raise ValueError(f"set_weights: missing {sorted(missing)}, unexpected {sorted(extra)}")
        for name, p in params.items():
            w = np.asarray(weights[name])
            if w.shape != p.shape:
                raise ValueError(f"set_weights: {name!r} has shape {p.shape}, got {w.shape}")
            p[...] = w

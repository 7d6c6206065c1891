"""Activations, their derivatives, and losses with their gradients.

Contract
--------
Activations are elementwise and accept any array shape (or a Python number,
which gives back a float):

    sigmoid(z), tanh(z), relu(z)                       -> same shape as z
    sigmoid_grad(z), tanh_grad(z), relu_grad(z)        -> d activation / dz, same shape
    logsumexp(z, axis=-1)                              -> z with `axis` removed
    softmax(z), log_softmax(z)                         -> same shape; along the last axis

They never warn: sigmoid and logsumexp are written so that no exp sees a large
positive argument (|z| up to 1e3 and beyond). NaN propagates through them.

Every loss returns ``(loss, dscores)``: ``loss`` is a Python float averaged over
the N examples of the batch (the first axis) and ``dscores`` is
d loss / d scores, an array of the same shape as the scores.

    half_squared_error(pred, y)   pred, y (N,) or (N, K):  mean_i 0.5 * sum_k (pred - y)^2
    squared_error(pred, y)        pred, y (N,) or (N, K):  mean_i       sum_k (pred - y)^2
    binary_cross_entropy(p, y)    p, y (N,) or (N, 1), p probabilities, y in [0, 1]
    binary_cross_entropy_with_logits(z, y)   same with logits z; gradient wrt z
    softmax_cross_entropy(scores, y)          scores (N, C), y (N,) integer labels
    hinge_loss(scores, y, margin=1.0)         multiclass SVM loss, same shapes

Bad input raises ValueError naming the problem: shapes that do not match,
labels that are not integers or are outside [0, C), and NaN/inf in the
inputs of a loss (``NonFiniteInputError``, a ValueError subclass, so a training
loop can tell divergence apart from a programming mistake).
"""

from __future__ import annotations

import functools

import numpy as np

__all__ = [
    "NonFiniteInputError",
    "sigmoid", "sigmoid_grad", "tanh", "tanh_grad", "relu", "relu_grad",
    "logsumexp", "softmax", "log_softmax",
    "half_squared_error", "squared_error", "binary_cross_entropy",
    "binary_cross_entropy_with_logits", "softmax_cross_entropy", "hinge_loss",
]

# Probabilities are clipped this far from 0 and 1 so log() stays finite.
PROB_EPS = 1e-15


class NonFiniteInputError(ValueError):
    """A loss received NaN or inf (usually a diverging training run)."""


def _underflow_is_fine(fn):
    """Run fn with numpy underflow ignored: exp(-1000) -> 0.0 is the right answer.

    Without this, a caller's np.errstate(all="raise") would turn harmless
    underflow into errors; overflow and invalid operations still raise there.
    """

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        with np.errstate(under="ignore"):
            return fn(*args, **kwargs)

    return wrapper


def _float_array(x, name: str) -> np.ndarray:
    try:
        arr = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name} must be numeric array-like, got {type(x).__name__}") from exc
    return arr


def _maybe_scalar(out: np.ndarray, like):
    return float(out) if np.ndim(like) == 0 else out


def _require_finite(arr: np.ndarray, name: str) -> None:
    if not np.all(np.isfinite(arr)):
        bad = np.argwhere(~np.isfinite(arr))[0]
        raise NonFiniteInputError(
            f"{name} contains NaN or inf (first at index {tuple(int(i) for i in bad)}); "
            "a learning rate that is too large is a common cause"
        )


def _batch_size(arr: np.ndarray, name: str) -> int:
    if arr.ndim == 0 or arr.shape[0] == 0:
        raise ValueError(f"{name} must have a batch axis with at least one example, "
                         f"got shape {arr.shape}")
    return arr.shape[0]


def _same_shape(a: np.ndarray, b: np.ndarray, name_a: str, name_b: str) -> None:
    if a.shape != b.shape:
        raise ValueError(
            f"shape mismatch: {name_a} has shape {a.shape} but {name_b} has shape {b.shape} "
            "(they must be equal; numpy broadcasting would silently give a wrong loss)"
        )


def _int_labels(y, n: int, num_classes: int) -> np.ndarray:
    y_arr = np.asarray(y)
    if y_arr.ndim != 1 or y_arr.shape[0] != n:
        raise ValueError(f"labels y must have shape ({n},) to match scores with {n} rows, "
                         f"got shape {y_arr.shape}")
    if y_arr.dtype.kind == "b" or y_arr.dtype.kind not in "iuf":
        raise ValueError(f"labels y must be integers, got dtype {y_arr.dtype}")
    if y_arr.dtype.kind == "f":
        if not np.all(np.isfinite(y_arr)):
            raise ValueError("labels y contain NaN or inf; they must be integers")
        if not np.all(y_arr == np.round(y_arr)):
            bad = y_arr[y_arr != np.round(y_arr)][0]
            raise ValueError(f"labels y must be integers, found {bad!r}")
    labels = y_arr.astype(np.int64)
    if np.any((labels < 0) | (labels >= num_classes)):
        bad = labels[(labels < 0) | (labels >= num_classes)][0]
        raise ValueError(f"labels y must lie in [0, {num_classes}) for {num_classes} classes, "
                         f"found {bad}")
    return labels


# ---------------------------------------------------------------------------
# activations


@_underflow_is_fine
def sigmoid(z):
    """Logistic function 1 / (1 + exp(-z)), elementwise; any shape -> same shape."""
    z_arr = _float_array(z, "z")
    e = np.exp(-np.abs(z_arr))  # in (0, 1]: never overflows
    out = np.where(z_arr >= 0, 1.0 / (1.0 + e), e / (1.0 + e))
    return _maybe_scalar(out, z)


@_underflow_is_fine
def sigmoid_grad(z):
    """d sigmoid / dz = sigmoid(z) * (1 - sigmoid(z)); any shape -> same shape."""
    s = np.asarray(sigmoid(z))
    return _maybe_scalar(s * (1.0 - s), z)


@_underflow_is_fine
def tanh(z):
    """Hyperbolic tangent, elementwise; any shape -> same shape."""
    return _maybe_scalar(np.tanh(_float_array(z, "z")), z)


@_underflow_is_fine
def tanh_grad(z):
    """d tanh / dz = 1 - tanh(z)^2; any shape -> same shape."""
    t = np.tanh(_float_array(z, "z"))
    return _maybe_scalar(1.0 - t * t, z)


def relu(z):
    """max(z, 0), elementwise; any shape -> same shape."""
    return _maybe_scalar(np.maximum(_float_array(z, "z"), 0.0), z)


def relu_grad(z):
    """1 where z > 0 else 0 (the value 0 is used at the kink z = 0); same shape."""
    return _maybe_scalar((_float_array(z, "z") > 0).astype(np.float64), z)


@_underflow_is_fine
def logsumexp(z, axis: int = -1):
    """log(sum(exp(z), axis)) computed as m + log(sum(exp(z - m))) with m = max.

    z: any shape with at least one axis -> shape of z without `axis`.
    """
    z_arr = _float_array(z, "z")
    if z_arr.ndim == 0:
        raise ValueError("logsumexp needs an array with at least one axis")
    m = np.max(z_arr, axis=axis, keepdims=True)
    # Rows that are all -inf would give (-inf) - (-inf) = NaN; shift them by 0 instead.
    m = np.where(np.isfinite(m), m, 0.0)
    out = m + np.log(np.sum(np.exp(z_arr - m), axis=axis, keepdims=True))
    return np.squeeze(out, axis=axis)


@_underflow_is_fine
def log_softmax(z):
    """z - logsumexp(z) along the last axis; (..., C) -> (..., C)."""
    z_arr = _float_array(z, "z")
    return z_arr - logsumexp(z_arr, axis=-1)[..., None]


@_underflow_is_fine
def softmax(z):
    """exp(z) / sum(exp(z)) along the last axis (each row sums to 1); (..., C) -> (..., C)."""
    return np.exp(log_softmax(z))


# ---------------------------------------------------------------------------
# losses


def _residual(pred, y) -> tuple[np.ndarray, int]:
    """Checked pred - y (same shape as pred) and the batch size N, for the squared losses."""
    p = _float_array(pred, "pred")
    t = _float_array(y, "y")
    _same_shape(p, t, "pred", "y")
    n = _batch_size(p, "pred")
    _require_finite(p, "pred")
    _require_finite(t, "y")
    return p - t, n


@_underflow_is_fine
def half_squared_error(pred, y):
    """mean_i 0.5 * sum_k (pred_ik - y_ik)^2.

    pred, y: (N,) or (N, K), equal shapes. Returns (loss float, dpred same shape as pred).
    """
    diff, n = _residual(pred, y)
    return float(0.5 * np.sum(diff * diff) / n), diff / n


@_underflow_is_fine
def squared_error(pred, y):
    """mean_i sum_k (pred_ik - y_ik)^2 (no 1/2 factor, so the gradient carries a 2).

    pred, y: (N,) or (N, K), equal shapes. Returns (loss float, dpred same shape as pred).
    """
    diff, n = _residual(pred, y)
    return float(np.sum(diff * diff) / n), 2.0 * diff / n


def _binary_targets(scores: np.ndarray, y, score_name: str) -> np.ndarray:
    if scores.ndim not in (1, 2) or (scores.ndim == 2 and scores.shape[1] != 1):
        raise ValueError(f"{score_name} must have shape (N,) or (N, 1), got {scores.shape}")
    t = _float_array(y, "y")
    if t.shape != scores.shape:
        # Allow y (N,) with scores (N, 1): the usual shape of labels next to a 1-unit output.
        if scores.ndim == 2 and t.shape == (scores.shape[0],):
            t = t[:, None]
        else:
            _same_shape(scores, t, score_name, "y")
    _require_finite(t, "y")
    if np.any((t < 0) | (t > 1)):
        raise ValueError("binary targets y must lie in [0, 1]")
    return t


@_underflow_is_fine
def binary_cross_entropy(p, y):
    """-mean_i [y_i log p_i + (1 - y_i) log(1 - p_i)].

    p: (N,) or (N, 1) probabilities in [0, 1] (clipped to [1e-15, 1 - 1e-15]);
    y: targets in [0, 1], same shape (y (N,) is accepted with p (N, 1)).
    Returns (loss float, dp same shape as p).
    """
    probs = _float_array(p, "p")
    n = _batch_size(probs, "p")
    _require_finite(probs, "p")
    t = _binary_targets(probs, y, "p")
    if np.any((probs < 0) | (probs > 1)):
        raise ValueError("p must be probabilities in [0, 1]; pass logits to "
                         "binary_cross_entropy_with_logits instead")
    q = np.clip(probs, PROB_EPS, 1.0 - PROB_EPS)
    loss = -np.sum(t * np.log(q) + (1.0 - t) * np.log1p(-q)) / n
    dp = (q - t) / (q * (1.0 - q)) / n
    return float(loss), dp


@_underflow_is_fine
def binary_cross_entropy_with_logits(z, y):
    """Binary cross-entropy of sigmoid(z), computed stably from the logits z.

    Per example: max(z, 0) - z*y + log(1 + exp(-|z|)), which equals
    -[y log sigmoid(z) + (1-y) log(1 - sigmoid(z))] without overflow.
    z: (N,) or (N, 1) logits; y: targets in [0, 1], same shape (or (N,) with z (N, 1)).
    Returns (loss float, dz = (sigmoid(z) - y) / N, same shape as z).
    """
    logits = _float_array(z, "z")
    n = _batch_size(logits, "z")
    _require_finite(logits, "z")
    t = _binary_targets(logits, y, "z")
    per_example = np.maximum(logits, 0.0) - logits * t + np.log1p(np.exp(-np.abs(logits)))
    return float(np.sum(per_example) / n), (sigmoid(logits) - t) / n


def _class_scores(scores) -> np.ndarray:
    s = _float_array(scores, "scores")
    if s.ndim != 2:
        raise ValueError(f"scores must have shape (N, C), got shape {s.shape}")
    _batch_size(s, "scores")
    if s.shape[1] < 1:
        raise ValueError("scores need at least one class column")
    _require_finite(s, "scores")
    return s


@_underflow_is_fine
def softmax_cross_entropy(scores, y):
    """mean_i [-s_{i,y_i} + log sum_j exp(s_ij)]  (softmax followed by -log p of the label).

    scores: (N, C) unnormalised class scores; y: (N,) integer labels in [0, C).
    Returns (loss float, dscores (N, C) = (softmax(scores) - onehot(y)) / N).
    """
    s = _class_scores(scores)
    n, c = s.shape
    labels = _int_labels(y, n, c)
    logp = log_softmax(s)
    rows = np.arange(n)
    loss = -np.sum(logp[rows, labels]) / n
    dscores = np.exp(logp)
    dscores[rows, labels] -= 1.0
    return float(loss), dscores / n


@_underflow_is_fine
def hinge_loss(scores, y, margin: float = 1.0):
    """Multiclass SVM loss: mean_i sum_{j != y_i} max(0, s_ij - s_{i,y_i} + margin).

    scores: (N, C); y: (N,) integer labels in [0, C); margin > 0.
    Returns (loss float, dscores (N, C)). At a kink (a term exactly 0) the
    subgradient 0 is used.
    """
    s = _class_scores(scores)
    n, c = s.shape
    labels = _int_labels(y, n, c)
    if not np.isfinite(margin) or margin < 0:
        raise ValueError(f"margin must be a finite number >= 0, got {margin}")
    rows = np.arange(n)
    margins = np.maximum(0.0, s - s[rows, labels][:, None] + margin)
    margins[rows, labels] = 0.0
    active = (margins > 0).astype(np.float64)
    active[rows, labels] = -np.sum(active, axis=1)
    return float(np.sum(margins) / n), active / n

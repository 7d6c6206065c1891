"""Numerical gradients and gradient checks.

Contract
--------
``numerical_gradient(f, x, h=1e-5)``
    f: callable taking the float64 array x (any shape) and returning a scalar.
    Returns an array shaped like x with centred differences
    (f(x + h e_i) - f(x - h e_i)) / (2h). x is modified in place while f is
    evaluated and restored exactly (bit for bit) afterwards.

``relative_error(a, b)``
    max_i |a_i - b_i| / max(max_i (|a_i| + |b_i|), tiny): one number for the
    whole array, scaled by the size of the gradient, so entries that are
    exactly zero do not blow it up. 0.0 when both are all zero.

``check_layer(layer, x, h=1e-6, seed=0, tol=1e-7, train=True)``
    Checks a layer that follows the protocol ``out = layer.forward(x, train=...)``,
    ``dx = layer.backward(dout)``, dicts ``layer.params`` and ``layer.grads`` with
    the same keys. A random upstream gradient ``dout`` (from
    ``np.random.default_rng(seed)``) turns the layer into the scalar
    ``sum(forward(x) * dout)``, whose numerical gradient is compared with the
    analytic one for the input (reported under the name ``"x"``) and for every
    parameter. Returns a ``GradCheckReport`` whose ``str()`` lists, per name,
    the indices where analytic and numeric disagree. forward must be
    deterministic (fix a Dropout mask, or pass ``train=False``), and it must
    read its parameters from ``layer.params`` (they are perturbed in place there).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = ["numerical_gradient", "relative_error", "check_layer", "GradCheckReport"]

_TINY = np.finfo(np.float64).tiny


def numerical_gradient(f, x: np.ndarray, h: float = 1e-5) -> np.ndarray:
    """Centred-difference gradient of scalar f at x; x any shape -> array shaped like x."""
    if not isinstance(x, np.ndarray) or x.dtype != np.float64:
        raise TypeError("numerical_gradient needs x as a float64 numpy array "
                        "(it perturbs x in place); use x.astype(np.float64)")
    if not h > 0:
        raise ValueError(f"step h must be positive, got {h}")
    grad = np.zeros_like(x)
    for index in np.ndindex(x.shape):
        original = x[index]
        x[index] = original + h
        f_plus = float(f(x))
        x[index] = original - h
        f_minus = float(f(x))
        x[index] = original  # the very same float, so x is restored exactly
        grad[index] = (f_plus - f_minus) / (2.0 * h)
    return grad


def relative_error(a, b) -> float:
    """max|a - b| / max(max(|a| + |b|), tiny) over all entries; a, b same shape -> float."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"relative_error: shapes differ, {a.shape} vs {b.shape}")
    if a.size == 0:
        return 0.0
    scale = max(float(np.max(np.abs(a) + np.abs(b))), _TINY)
    return float(np.max(np.abs(a - b)) / scale)


@dataclass
class GradCheckReport:
    """Result of ``check_layer``. All dicts are keyed by "x" and the parameter names.

    ok:         True when every max_error <= tol
    max_error:  relative_error(analytic, numeric) per name
    worst:      index (tuple) of the entry with the largest |analytic - numeric|
    mismatches: indices whose |analytic - numeric| > tol * scale (scale as in relative_error)
    analytic, numeric: the two gradients, shaped like the input / parameter
    """

    tol: float
    max_error: dict = field(default_factory=dict)
    worst: dict = field(default_factory=dict)
    mismatches: dict = field(default_factory=dict)
    analytic: dict = field(default_factory=dict)
    numeric: dict = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return all(err <= self.tol for err in self.max_error.values())

    def __bool__(self) -> bool:
        return self.ok

    def __str__(self) -> str:
        verdict = "gradient check passed" if self.ok else "gradient check FAILED"
        lines = [f"{verdict} (tolerance {self.tol:.1e})"]
        for name, err in self.max_error.items():
            status = "ok" if err <= self.tol else "MISMATCH"
            analytic, numeric = self.analytic[name], self.numeric[name]
            lines.append(f"  {name}: shape {analytic.shape}, relative error {err:.2e} [{status}]")
            bad = self.mismatches[name]
            if bad:
                lines.append(f"    disagrees at {len(bad)} of {analytic.size} entries:")
                for index in bad[:5]:
                    lines.append(f"      index {index}: analytic {analytic[index]:+.6e}, "
                                 f"numeric {numeric[index]:+.6e}")
                if len(bad) > 5:
                    lines.append(f"      ... and {len(bad) - 5} more")
        return "\n".join(lines)

    __repr__ = __str__


def _compare(report: GradCheckReport, name: str, analytic, numeric) -> None:
    analytic = np.asarray(analytic, dtype=np.float64)
    if analytic.shape != numeric.shape:
        raise ValueError(f"gradient for {name!r} has shape {analytic.shape}, "
                         f"but {name!r} itself has shape {numeric.shape}")
    report.analytic[name] = analytic
    report.numeric[name] = numeric
    report.max_error[name] = relative_error(analytic, numeric)
    diff = np.abs(analytic - numeric)
    report.worst[name] = tuple(int(i) for i in np.unravel_index(np.argmax(diff), diff.shape)) \
        if diff.size else ()
    scale = max(float(np.max(np.abs(analytic) + np.abs(numeric))), _TINY) if diff.size else 1.0
    report.mismatches[name] = [tuple(int(i) for i in idx)
                               for idx in np.argwhere(diff > report.tol * scale)]


def check_layer(layer, x, h: float = 1e-6, seed: int = 0, tol: float = 1e-7,
                train: bool = True) -> GradCheckReport:
    """Compare a layer's backward with numerical gradients.

    layer: object with forward(x, train=...), backward(dout), params, grads.
    x: input array, e.g. (N, D) or (N, C, H, W); copied to float64, never modified.
    Returns a GradCheckReport covering "x" and every key of layer.params.
    """
    x = np.array(x, dtype=np.float64)  # our own copy: we perturb it
    params = getattr(layer, "params", None) or {}
    rng = np.random.default_rng(seed)

    out = np.asarray(layer.forward(x, train=train))
    dout = rng.standard_normal(out.shape)
    dx = layer.backward(dout)
    if dx is None:
        raise ValueError("layer.backward(dout) returned None; it must return dx shaped like x")
    analytic = {"x": np.array(dx, dtype=np.float64)}
    grads = getattr(layer, "grads", None) or {}
    for name in params:
        if name not in grads:
            raise ValueError(f"layer.grads has no entry for parameter {name!r} after backward")
        analytic[name] = np.array(grads[name], dtype=np.float64)

    def scalar_output(_):
        return float(np.sum(np.asarray(layer.forward(x, train=train)) * dout))

    report = GradCheckReport(tol=tol)
    _compare(report, "x", analytic["x"], numerical_gradient(scalar_output, x, h))
    for name, value in params.items():
        if not isinstance(value, np.ndarray) or value.dtype != np.float64:
            raise TypeError(f"parameter {name!r} must be a float64 numpy array to be checked")
        _compare(report, name, analytic[name], numerical_gradient(scalar_output, value, h))
    return report

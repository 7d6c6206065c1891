"""First-order optimizers, written exactly as the algorithm boxes of the lecture notes.

Contract
--------
Every optimizer shares one interface::

    opt.lookahead(params)     # only Nesterov variants move params; all others do nothing
    grads = ...               # gradients evaluated at the *current* params
    opt.step(params, grads)   # updates every array of ``params`` in place

``params`` and ``grads`` are dicts mapping a parameter name to a float ndarray; both dicts
must hold the same names and each gradient must have the shape of its parameter.
Optimizer state (velocity ``v``, accumulators ``r``/``s``, step count ``t``) is kept per
parameter name, so one optimizer drives a whole network.  ``opt.reset()`` forgets all state.

Notation follows the notes: learning rate ``lr`` = alpha, momentum coefficient ``beta``,
decay rates ``rho``/``rho1``/``rho2``, stabiliser ``delta``.  All updates are elementwise.

Nesterov-type methods need the gradient at the interim point theta + beta*v, not at theta.
``lookahead(params)`` shifts the params in place to that point; the following ``step``
restores the un-shifted theta exactly and then applies the box's update.  ``run`` and
``nnlab.model.fit`` call ``lookahead`` for you.

``run(optimizer, grad_fn, x0, steps)`` returns the trajectory of a single vector parameter,
shape (steps + 1, d), which is what the optimizer explorers plot.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

__all__ = [
    "Optimizer",
    "SGD",
    "Momentum",
    "Nesterov",
    "AdaGrad",
    "RMSProp",
    "RMSPropNesterov",
    "Adam",
    "run",
]


def _positive(name: str, value: float) -> float:
    value = float(value)
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"{name} must be a finite number > 0, got {value!r}")
    return value


def _unit_interval(name: str, value: float) -> float:
    """Coefficients such as beta and rho must lie in [0, 1)."""
    value = float(value)
    if not (0.0 <= value < 1.0):
        raise ValueError(f"{name} must satisfy 0 <= {name} < 1, got {value!r}")
    return value


class Optimizer:
    """Base class: validates the dicts and keeps a state dict per parameter name.

    Subclasses implement ``_update(name, theta, g, state)`` which changes ``theta`` (an
    ndarray of any shape) in place, given the gradient ``g`` of the same shape.
    """

    def __init__(self, lr: float):
        self.lr = _positive("lr", lr)
        self.state: dict[str, dict] = {}

    def reset(self) -> None:
        """Forget velocities, accumulators and step counts (start a new run)."""
        self.state = {}

    def lookahead(self, params: dict[str, np.ndarray]) -> None:
        """Move ``params`` to where the next gradient must be evaluated (no-op here)."""

    def step(self, params: dict[str, np.ndarray], grads: dict[str, np.ndarray]) -> None:
        """Apply one update to every array in ``params`` (in place), using ``grads``."""
        self._check(params, grads)
        for name, theta in params.items():
            g = np.asarray(grads[name], dtype=theta.dtype)
            state = self.state.setdefault(name, {})
            if state.get("shape", theta.shape) != theta.shape:
                raise ValueError(
                    f"parameter {name!r} changed shape from {state['shape']} to {theta.shape}; "
                    "call opt.reset() before optimising a different model"
                )
            state["shape"] = theta.shape
            self._update(name, theta, g, state)

    def _update(self, name: str, theta: np.ndarray, g: np.ndarray, state: dict) -> None:
        raise NotImplementedError

    @staticmethod
    def _check(params, grads) -> None:
        if not isinstance(params, dict) or not isinstance(grads, dict):
            raise TypeError(
                "step(params, grads) expects two dicts name -> ndarray, got "
                f"{type(params).__name__} and {type(grads).__name__}"
            )
        for name in params:
            if name not in grads:
                raise ValueError(f"grads has no entry for parameter {name!r}")
        for name in grads:
            if name not in params:
                raise ValueError(f"grads has an entry {name!r} that is not a parameter")
        for name, theta in params.items():
            if not isinstance(theta, np.ndarray) or not np.issubdtype(theta.dtype, np.floating):
                raise TypeError(
                    f"parameter {name!r} must be a float ndarray (updated in place), "
                    f"got {type(theta).__name__}"
                    + (f" of dtype {theta.dtype}" if isinstance(theta, np.ndarray) else "")
                )
            g_shape = np.shape(grads[name])
            if g_shape != theta.shape:
                raise ValueError(
                    f"gradient for {name!r} has shape {g_shape}, parameter has {theta.shape}"
                )

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in vars(self).items() if k != "state"
                         and not k.startswith("_"))
        return f"{type(self).__name__}({args})"


class SGD(Optimizer):
    """Plain (stochastic) gradient descent: theta <- theta - lr * g."""

    def _update(self, name, theta, g, state):
        theta -= self.lr * g


class Momentum(Optimizer):
    """Gradient descent with (heavy-ball) momentum, in the lectures' form.

        v     <- beta * v - lr * g          (v starts at 0)
        theta <- theta + v

    Mapping to PyTorch's ``torch.optim.SGD(lr, momentum=beta)``, which keeps
        b <- beta * b + g ,   theta <- theta - lr * b:
    with a constant lr both produce identical iterates and  b_torch = -v_ours / lr
    (equivalently v_ours = -lr * b_torch).  If lr changes during training the two forms
    differ: ours keeps the old lr baked into v, PyTorch applies the new lr to the whole b.
    """

    def __init__(self, lr: float, beta: float = 0.9):
        super().__init__(lr)
        self.beta = _unit_interval("beta", beta)

    def _update(self, name, theta, g, state):
        v = state.setdefault("v", np.zeros_like(theta))
        v *= self.beta
        v -= self.lr * g
        theta += v


class _LookaheadMixin:
    """Shared lookahead protocol for methods that take the gradient at theta + beta*v."""

    def lookahead(self, params: dict[str, np.ndarray]) -> None:
        """Shift each param in place to theta + beta * v (v = 0 before the first step).

        The un-shifted theta is remembered and restored exactly by the next ``step``.
        """
        for name, theta in params.items():
            if not isinstance(theta, np.ndarray):
                raise TypeError(
                    f"parameter {name!r} must be an ndarray, got {type(theta).__name__}"
                )
            state = self.state.setdefault(name, {})
            if "anchor" in state:
                raise RuntimeError(
                    f"lookahead called twice for {name!r} without a step in between"
                )
            v = state.setdefault("v", np.zeros_like(theta))
            if v.shape != theta.shape:
                raise ValueError(
                    f"parameter {name!r} changed shape from {v.shape} to {theta.shape}; "
                    "call opt.reset() before optimising a different model"
                )
            state["anchor"] = theta.copy()
            theta += self.beta * v

    def _restore(self, name, theta, state) -> np.ndarray:
        if "anchor" not in state:
            raise RuntimeError(
                f"{type(self).__name__} needs the gradient at the interim point: call "
                "opt.lookahead(params) before computing the gradients passed to step()"
            )
        theta[...] = state.pop("anchor")
        return state["v"]


class Nesterov(_LookaheadMixin, Optimizer):
    """Nesterov momentum (lectures' form), gradient taken at the interim point.

        theta_tilde <- theta + beta * v            (done by lookahead)
        g           <- gradient at theta_tilde
        v           <- beta * v - lr * g
        theta       <- theta + v

    Usage: ``opt.lookahead(params); grads = grad(params); opt.step(params, grads)``.

    PyTorch's ``SGD(lr, momentum=beta, nesterov=True)`` is the same method rewritten in
    terms of the interim point: with a constant lr its iterates are exactly our
    theta_tilde = theta + beta * v (not theta), and its buffer is b = -v / lr.
    """

    def __init__(self, lr: float, beta: float = 0.9):
        super().__init__(lr)
        self.beta = _unit_interval("beta", beta)

    def _update(self, name, theta, g, state):
        v = self._restore(name, theta, state)
        v *= self.beta
        v -= self.lr * g
        theta += v


class AdaGrad(Optimizer):
    """AdaGrad: per-coordinate step shrinks with the sum of all past squared gradients.

        r     <- r + g * g                      (r starts at 0)
        theta <- theta - lr / (delta + sqrt(r)) * g

    delta (default 1e-7, as in the notes) sits OUTSIDE the square root.
    """

    def __init__(self, lr: float, delta: float = 1e-7):
        super().__init__(lr)
        self.delta = _positive("delta", delta)

    def _update(self, name, theta, g, state):
        r = state.setdefault("r", np.zeros_like(theta))
        r += g * g
        theta -= self.lr / (self.delta + np.sqrt(r)) * g


class RMSProp(Optimizer):
    """RMSProp: AdaGrad with an exponentially decaying average of squared gradients.

        r     <- rho * r + (1 - rho) * g * g    (r starts at 0)
        theta <- theta - lr / sqrt(delta + r) * g

    delta (default 1e-6, as in the notes) sits INSIDE the square root.
    """

    def __init__(self, lr: float, rho: float = 0.9, delta: float = 1e-6):
        super().__init__(lr)
        self.rho = _unit_interval("rho", rho)
        self.delta = _positive("delta", delta)

    def _update(self, name, theta, g, state):
        r = state.setdefault("r", np.zeros_like(theta))
        r *= self.rho
        r += (1.0 - self.rho) * g * g
        theta -= self.lr / np.sqrt(self.delta + r) * g


class RMSPropNesterov(_LookaheadMixin, Optimizer):
    """RMSProp combined with Nesterov momentum (the notes' box; it has no delta).

        theta_tilde <- theta + beta * v         (done by lookahead; the notes call beta delta)
        g           <- gradient at theta_tilde
        r           <- rho * r + (1 - rho) * g * g
        v           <- beta * v - lr / sqrt(r) * g
        theta       <- theta + v

    Because the box has no stabiliser, a coordinate whose r is exactly 0 (its gradient
    has been exactly 0 so far, or underflowed) would give 0/0; such coordinates get a
    zero gradient term instead of NaN.  Everywhere else the box is followed literally.
    """

    def __init__(self, lr: float, rho: float = 0.9, beta: float = 0.9):
        super().__init__(lr)
        self.rho = _unit_interval("rho", rho)
        self.beta = _unit_interval("beta", beta)

    def _update(self, name, theta, g, state):
        v = self._restore(name, theta, state)
        r = state.setdefault("r", np.zeros_like(theta))
        r *= self.rho
        r += (1.0 - self.rho) * g * g
        scaled = np.zeros_like(theta)
        nonzero = r > 0
        scaled[nonzero] = g[nonzero] / np.sqrt(r[nonzero])
        v *= self.beta
        v -= self.lr * scaled
        theta += v


class Adam(Optimizer):
    """Adam: bias-corrected first and second moment estimates.

        t     <- t + 1                          (t starts at 0; incremented first)
        s     <- rho1 * s + (1 - rho1) * g
        r     <- rho2 * r + (1 - rho2) * g * g
        s_hat <- s / (1 - rho1**t)
        r_hat <- r / (1 - rho2**t)
        theta <- theta - lr * s_hat / (sqrt(r_hat) + delta)

    Defaults are the notes': lr=0.001, rho1=0.9, rho2=0.999, delta=1e-8 (outside the sqrt).
    The step count t is kept per parameter name.
    """

    def __init__(self, lr: float = 0.001, rho1: float = 0.9, rho2: float = 0.999,
                 delta: float = 1e-8):
        super().__init__(lr)
        self.rho1 = _unit_interval("rho1", rho1)
        self.rho2 = _unit_interval("rho2", rho2)
        self.delta = _positive("delta", delta)

    def _update(self, name, theta, g, state):
        s = state.setdefault("s", np.zeros_like(theta))
        r = state.setdefault("r", np.zeros_like(theta))
        state["t"] = t = state.get("t", 0) + 1
        s *= self.rho1
        s += (1.0 - self.rho1) * g
        r *= self.rho2
        r += (1.0 - self.rho2) * g * g
        s_hat = s / (1.0 - self.rho1**t)
        r_hat = r / (1.0 - self.rho2**t)
        theta -= self.lr * s_hat / (np.sqrt(r_hat) + self.delta)


def run(
    optimizer: Optimizer,
    grad_fn: Callable[[np.ndarray], np.ndarray],
    x0,
    steps: int,
) -> np.ndarray:
    """Optimise one vector parameter from ``x0`` and return its trajectory.

    optimizer : any optimizer above; it is ``reset()`` first so runs are independent.
    grad_fn   : x (d,) -> gradient (d,)   (called at the lookahead point for Nesterov).
    x0        : starting point, shape (d,).
    steps     : number of updates (int >= 0).
    Returns an array of shape (steps + 1, d); row 0 is x0, row k the point after k steps.
    If the run diverges, the first non-finite point is kept and later rows are NaN;
    numpy overflow warnings are suppressed (the NaN/inf rows say it all).
    """
    if not isinstance(optimizer, Optimizer):
        raise TypeError(
            f"optimizer must be an nnlab.optim optimizer, got {type(optimizer).__name__}"
        )
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 0:
        raise ValueError(f"steps must be an int >= 0, got {steps!r}")
    x = np.array(x0, dtype=np.float64).reshape(-1)
    if not np.all(np.isfinite(x)):
        raise ValueError(f"x0 must be finite, got {x0!r}")
    optimizer.reset()
    params = {"x": x}
    trajectory = np.full((steps + 1, x.size), np.nan)
    trajectory[0] = x
    # a diverging run is a legitimate outcome to plot: no overflow warnings, and once the
    # point is no longer finite the remaining rows stay NaN
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        for k in range(1, steps + 1):
            optimizer.lookahead(params)
            g = np.asarray(grad_fn(params["x"].copy()), dtype=np.float64)
            if g.shape != x.shape:
                raise ValueError(f"grad_fn returned shape {g.shape}, expected {x.shape}")
            optimizer.step(params, {"x": g})
            trajectory[k] = x
            if not np.isfinite(x).all():
                break
    return trajectory

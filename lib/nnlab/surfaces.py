"""2-D test functions with exact gradients, for optimizer demonstrations.

Contract
--------
A ``Surface`` has

    name      str
    f(p)      p (2,) -> float;  p (..., 2) -> (...)      the function value
    grad(p)   p (2,) -> (2,);   p (..., 2) -> (..., 2)   its exact gradient
    f_grid(X, Y)  X, Y same shape (e.g. from np.meshgrid) -> values, same shape (for contours)
    bounds    ((xmin, xmax), (ymin, ymax)), a sensible plotting window
    minima    list of (x, y) local minima (empty if there are none)
    saddle_points  list of (x, y) saddle points

Constructors:

    quadratic(lambdas=(1.0, 10.0), angle=0.0) -> Quadratic
        f(p) = 1/2 p^T A p with A = R diag(lambdas) R^T, R a rotation by `angle`
        radians. Hessian eigenvalues are the lambdas; the minimum is at 0.
        .lambdas, .condition_number = max/min, .stable_lr_limit = 2 / max(lambdas),
        .gd_rate(alpha) = max_i |1 - alpha * lambda_i|, the factor by which
            gradient descent shrinks the error per step (it diverges when > 1),
        .momentum_rate(alpha, beta): spectral radius of the heavy-ball iteration
            v <- beta v - alpha grad, theta <- theta + v; per eigenvalue lambda the
            error (theta_t, theta_{t-1}) is multiplied by
            [[1 + beta - alpha lambda, -beta], [1, 0]]; the largest |eigenvalue|
            over all lambdas is returned,
        .optimal_momentum() -> (alpha, beta) with
            alpha = (2 / (sqrt(L) + sqrt(mu)))^2, beta = ((sqrt(k) - 1) / (sqrt(k) + 1))^2,
            L, mu the largest and smallest lambda and k = L / mu; the rate there is
            sqrt(beta) = (sqrt(k) - 1) / (sqrt(k) + 1).
    rosenbrock(a=1, b=100)   (a - x)^2 + b (y - x^2)^2, a curved valley, minimum (a, a^2)
    saddle()                 x^2 - y^2 + y^4 / 4: a saddle at 0 between minima (0, +-sqrt 2)
    local_minima()           a separable quartic with four local minima of different depth
"""

from __future__ import annotations

import numpy as np

__all__ = ["Surface", "Quadratic", "quadratic", "rosenbrock", "saddle", "local_minima"]


class Surface:
    """A scalar function of two variables with its gradient (see module docstring)."""

    def __init__(self, name, fn, grad_fn, bounds, minima=(), saddle_points=()):
        self.name = name
        self._fn = fn          # (x, y) arrays -> values
        self._grad_fn = grad_fn  # (x, y) arrays -> (gx, gy)
        self.bounds = tuple(tuple(float(v) for v in b) for b in bounds)
        self.minima = [tuple(float(v) for v in m) for m in minima]
        self.saddle_points = [tuple(float(v) for v in s) for s in saddle_points]

    def __repr__(self) -> str:
        return f"Surface({self.name!r}, bounds={self.bounds}, minima={self.minima})"

    @staticmethod
    def _point(p) -> np.ndarray:
        arr = np.asarray(p, dtype=np.float64)
        if arr.ndim == 0 or arr.shape[-1] != 2:
            raise ValueError(f"a point must have shape (2,) or (..., 2), got shape {arr.shape}")
        return arr

    def f(self, p):
        """Value at p: (2,) -> float, (..., 2) -> (...)."""
        arr = self._point(p)
        out = self._fn(arr[..., 0], arr[..., 1])
        return float(out) if arr.ndim == 1 else np.asarray(out, dtype=np.float64)

    __call__ = f

    def grad(self, p) -> np.ndarray:
        """Gradient at p: (2,) -> (2,), (..., 2) -> (..., 2)."""
        arr = self._point(p)
        gx, gy = self._grad_fn(arr[..., 0], arr[..., 1])
        return np.stack(np.broadcast_arrays(gx, gy), axis=-1).astype(np.float64)

    def f_grid(self, X, Y) -> np.ndarray:
        """Values on a grid: X, Y same shape (e.g. np.meshgrid output) -> same shape."""
        X = np.asarray(X, dtype=np.float64)
        Y = np.asarray(Y, dtype=np.float64)
        if X.shape != Y.shape:
            raise ValueError(f"X and Y must have the same shape, got {X.shape} and {Y.shape}")
        return np.asarray(self._fn(X, Y), dtype=np.float64)


class Quadratic(Surface):
    """f(p) = 1/2 p^T A p, A symmetric positive definite with eigenvalues `lambdas`."""

    def __init__(self, lambdas=(1.0, 10.0), angle: float = 0.0):
        lam = np.asarray(lambdas, dtype=np.float64)
        if lam.shape != (2,) or not np.all(np.isfinite(lam)) or np.any(lam <= 0):
            raise ValueError(f"lambdas must be two positive numbers, got {lambdas!r}")
        c, s = np.cos(angle), np.sin(angle)
        rotation = np.array([[c, -s], [s, c]])
        self.lambdas = lam
        self.angle = float(angle)
        self.A = rotation @ np.diag(lam) @ rotation.T

        def fn(x, y):
            return 0.5 * (self.A[0, 0] * x * x + 2 * self.A[0, 1] * x * y + self.A[1, 1] * y * y)

        def grad_fn(x, y):
            return self.A[0, 0] * x + self.A[0, 1] * y, self.A[1, 0] * x + self.A[1, 1] * y

        reach = 2.0  # plotting window [-2, 2]^2: wide enough to show the elongated bowl
        super().__init__(f"quadratic (condition number {lam.max() / lam.min():g})", fn, grad_fn,
                         bounds=((-reach, reach), (-reach, reach)), minima=[(0.0, 0.0)])

    @property
    def condition_number(self) -> float:
        return float(self.lambdas.max() / self.lambdas.min())

    @property
    def stable_lr_limit(self) -> float:
        """Gradient descent converges for 0 < alpha < 2 / lambda_max and diverges above."""
        return float(2.0 / self.lambdas.max())

    def gd_rate(self, alpha: float) -> float:
        """max_i |1 - alpha lambda_i|: per-step error factor of plain gradient descent."""
        return float(np.max(np.abs(1.0 - alpha * self.lambdas)))

    def momentum_rate(self, alpha: float, beta: float) -> float:
        """Spectral radius of the heavy-ball iteration, max over the Hessian eigenvalues."""
        radii = []
        for lam in self.lambdas:
            iteration = np.array([[1.0 + beta - alpha * lam, -beta], [1.0, 0.0]])
            radii.append(np.max(np.abs(np.linalg.eigvals(iteration))))
        return float(max(radii))

    def optimal_momentum(self) -> tuple[float, float]:
        """(alpha, beta) minimising momentum_rate; the rate is (sqrt k - 1) / (sqrt k + 1)."""
        big, small = np.sqrt(self.lambdas.max()), np.sqrt(self.lambdas.min())
        alpha = (2.0 / (big + small)) ** 2
        root_k = np.sqrt(self.condition_number)
        beta = ((root_k - 1.0) / (root_k + 1.0)) ** 2
        return float(alpha), float(beta)


def quadratic(lambdas=(1.0, 10.0), angle: float = 0.0) -> Quadratic:
    """Ill-conditioned quadratic bowl; see Quadratic and the module docstring."""
    return Quadratic(lambdas, angle)


def rosenbrock(a: float = 1.0, b: float = 100.0) -> Surface:
    """(a - x)^2 + b (y - x^2)^2: a narrow curved valley with its minimum at (a, a^2)."""

    def fn(x, y):
        return (a - x) ** 2 + b * (y - x * x) ** 2

    def grad_fn(x, y):
        return -2.0 * (a - x) - 4.0 * b * x * (y - x * x), 2.0 * b * (y - x * x)

    # The classic window, widened when (a, a^2) would fall outside it.
    bounds = ((min(-2.0, a - 1.5), max(2.0, a + 1.5)),
              (min(-1.0, a * a - 2.0), max(3.0, a * a + 1.5)))
    return Surface("rosenbrock", fn, grad_fn, bounds=bounds, minima=[(a, a * a)])


def saddle() -> Surface:
    """x^2 - y^2 + y^4 / 4: a saddle point at the origin, minima at (0, +-sqrt 2).

    The quartic term keeps the surface bounded below, so an optimizer that
    escapes the saddle settles in a minimum instead of running off to infinity.
    """

    def fn(x, y):
        return x * x - y * y + 0.25 * y**4

    def grad_fn(x, y):
        return 2.0 * x, -2.0 * y + y**3

    root2 = np.sqrt(2.0)
    return Surface("saddle", fn, grad_fn, bounds=((-2.0, 2.0), (-2.5, 2.5)),
                   minima=[(0.0, -root2), (0.0, root2)], saddle_points=[(0.0, 0.0)])


# Per-axis quartic q(t) = (t^4 - 4 t^2 + c t) / 4: two wells whose depths differ by the tilt c.
_TILTS = (1.0, 0.5)


def _axis_stationary(c: float) -> tuple[list[float], list[float]]:
    """Minima and maxima of q(t) = (t^4 - 4t^2 + c t)/4, from q'(t) = t^3 - 2t + c/4 = 0."""
    roots = np.sort(np.real(np.roots([1.0, 0.0, -2.0, c / 4.0])))
    curvature = 3 * roots**2 - 2.0
    return list(roots[curvature > 0]), list(roots[curvature < 0])


def local_minima() -> Surface:
    """Separable quartic with four local minima of different depth (one global).

    f(x, y) = (x^4 - 4x^2 + x)/4 + (y^4 - 4y^2 + y/2)/4.
    """
    cx, cy = _TILTS

    def fn(x, y):
        return 0.25 * (x**4 - 4 * x * x + cx * x) + 0.25 * (y**4 - 4 * y * y + cy * y)

    def grad_fn(x, y):
        return x**3 - 2 * x + cx / 4, y**3 - 2 * y + cy / 4

    min_x, max_x = _axis_stationary(cx)
    min_y, max_y = _axis_stationary(cy)
    minima = [(x, y) for x in min_x for y in min_y]
    minima.sort(key=lambda m: fn(*m))  # global minimum first
    saddles = [(x, y) for x in min_x for y in max_y] + [(x, y) for x in max_x for y in min_y]
    return Surface("local minima", fn, grad_fn, bounds=((-2.5, 2.5), (-2.5, 2.5)),
                   minima=minima, saddle_points=saddles)

"""TEMPORARY stand-in for nnlab.surfaces.quadratic until it lands (to be removed)."""

import numpy as np


class _Quadratic:
    def __init__(self, lambdas=(1.0, 10.0)):
        self.lambdas = tuple(float(v) for v in lambdas)
        self.name = "quadratic"
        self.bounds = ((-3.0, 3.0), (-3.0, 3.0))
        self.minima = [np.zeros(2)]

    def f(self, x):
        return 0.5 * float(np.dot(self.lambdas, np.asarray(x) ** 2))

    def grad(self, x):
        return np.asarray(self.lambdas) * np.asarray(x)

    def f_grid(self, X, Y):
        return 0.5 * (self.lambdas[0] * X**2 + self.lambdas[1] * Y**2)

    def momentum_rate(self, alpha, beta):
        rates = []
        for lam in self.lambdas:
            rates.append(max(abs(np.roots([1.0, -(1 + beta - alpha * lam), beta]))))
        return max(rates)

    def gd_rate(self, alpha):
        return max(abs(1 - alpha * lam) for lam in self.lambdas)


def quadratic(lambdas=(1.0, 10.0)):
    return _Quadratic(lambdas)


def sample_image():
    import matplotlib.cbook as cbook

    with cbook.get_sample_data("grace_hopper.jpg") as f:
        import matplotlib.image as mpimg

        rgb = mpimg.imread(f, format="jpg") / 255.0
    return rgb[..., :3] @ np.array([0.299, 0.587, 0.114])


def polynomial_1d(n, rng, noise=0.3, degree_true=3):
    x = rng.uniform(-1, 1, size=n)
    y = 1.5 * x**3 - x + 0.3 + noise * rng.normal(size=n)
    return x, y


def moons(n, rng, noise=0.2):
    n_top = n // 2
    angle_top = rng.uniform(0, np.pi, n_top)
    angle_bottom = rng.uniform(0, np.pi, n - n_top)
    top = np.column_stack([np.cos(angle_top), np.sin(angle_top)])
    bottom = np.column_stack([1 - np.cos(angle_bottom), 0.5 - np.sin(angle_bottom)])
    X = np.vstack([top, bottom]) + noise * rng.normal(size=(n, 2))
    y = np.r_[np.zeros(n_top, int), np.ones(n - n_top, int)]
    return X, y

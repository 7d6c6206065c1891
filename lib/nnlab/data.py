"""Small data sets for the course, all offline and deterministic given an rng.

Contract
--------
Every generator takes ``n`` (number of examples) and ``rng`` (an
``np.random.Generator``) and uses nothing else for randomness, so the same
seed gives the same data. Features are float64, class labels int64.

Regression
    linear_regression(n, rng, d=1, noise=0.1, bias=0.0) -> X (n, d), y (n,), w_true (d,)
    polynomial_1d(n, rng, noise=0.2, degree_true=3)     -> x (n,), y (n,)

Classification (X (n, 2), y (n,) int; classes as balanced as n allows)
    xor(n, rng, noise=0.2)                 4 clusters at (+-1, +-1); label 1 where signs differ
    circles(n, rng, noise=0.05, factor=0.5)  label 0 on the unit circle, 1 on radius `factor`
    moons(n, rng, noise=0.1)               two interleaved half circles
    spirals(n, rng, classes=3, noise=0.2)  `classes` arms of a spiral
    blobs(n, rng, centers=3, std=1.0)      Gaussian clusters; centers int or array (k, 2)

Splits
    train_val_split(X, y, val_fraction, rng) -> X_tr, X_val, y_tr, y_val
    kfold_indices(n, k, rng) -> list of k (train_idx, val_idx) integer arrays

Real images
    sample_image(size=None) -> (H, W) float64 in [0, 1]: matplotlib's bundled
        photograph of Grace Hopper in grayscale; ``size`` block-averages it so
        the shorter side is about ``size`` pixels (e.g. 128 for fast demos).
    digits(rng=None, as_images=False) -> X (1797, 64) float64 in [0, 1], y (1797,) int
        The UCI optical-recognition handwritten digits test set (8x8 images,
        CC BY 4.0, Alpaydin & Kaynak), shipped in nnlab/data_files. With an rng
        the examples are shuffled; with as_images=True X is (1797, 8, 8).
"""

from __future__ import annotations

from importlib import resources

import numpy as np

__all__ = [
    "linear_regression", "polynomial_1d", "xor", "circles", "moons", "spirals", "blobs",
    "train_val_split", "kfold_indices", "sample_image", "digits",
]


def _check_n(n, minimum: int = 1) -> int:
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < minimum:
        raise ValueError(f"n must be an integer >= {minimum}, got {n!r}")
    return int(n)


def _check_rng(rng) -> np.random.Generator:
    if not isinstance(rng, np.random.Generator):
        raise TypeError("rng must be a np.random.Generator, e.g. np.random.default_rng(0); "
                        f"got {type(rng).__name__}")
    return rng


def _check_noise(noise, name: str = "noise") -> float:
    if not np.isfinite(noise) or noise < 0:
        raise ValueError(f"{name} must be a finite number >= 0, got {noise!r}")
    return float(noise)


def _balanced_labels(n: int, classes: int, rng: np.random.Generator) -> np.ndarray:
    """n labels with class counts differing by at most one, in shuffled order."""
    return rng.permutation(np.arange(n) % classes).astype(np.int64)


# ---------------------------------------------------------------------------
# regression


def linear_regression(n, rng, d: int = 1, noise: float = 0.1, bias: float = 0.0):
    """y = X w_true + bias + noise * N(0, 1).

    X: (n, d) uniform in [-1, 1]; w_true: (d,) standard normal; y: (n,).
    """
    n, rng, noise = _check_n(n), _check_rng(rng), _check_noise(noise)
    d = _check_n(d)
    w_true = rng.standard_normal(d)
    X = rng.uniform(-1.0, 1.0, size=(n, d))
    y = X @ w_true + bias + noise * rng.standard_normal(n)
    return X, y, w_true


def polynomial_1d(n, rng, noise: float = 0.2, degree_true: int = 3,
                  return_coefficients: bool = False):
    """y = p(x) + noise * N(0, 1) with a random polynomial p of degree `degree_true`.

    x: (n,) uniform in [-1, 1], sorted (so plots can draw lines through it); y: (n,).
    With return_coefficients=True also returns p's coefficients (degree_true + 1,),
    lowest power first, usable with np.polynomial.polynomial.polyval(x, coef).
    """
    n, rng, noise = _check_n(n), _check_rng(rng), _check_noise(noise)
    if not isinstance(degree_true, int | np.integer) or degree_true < 0:
        raise ValueError(f"degree_true must be an integer >= 0, got {degree_true!r}")
    coef = rng.standard_normal(int(degree_true) + 1)
    x = np.sort(rng.uniform(-1.0, 1.0, size=n))
    y = np.polynomial.polynomial.polyval(x, coef) + noise * rng.standard_normal(n)
    return (x, y, coef) if return_coefficients else (x, y)


# ---------------------------------------------------------------------------
# classification in 2-D


def xor(n, rng, noise: float = 0.2):
    """Four Gaussian clusters at (+-1, +-1); label 1 where the two coordinates' signs differ.

    Returns X (n, 2), y (n,) int in {0, 1}.
    """
    n, rng, noise = _check_n(n), _check_rng(rng), _check_noise(noise)
    corner = rng.permutation(np.arange(n) % 4)
    centres = np.array([[1.0, 1.0], [-1.0, -1.0], [-1.0, 1.0], [1.0, -1.0]])
    X = centres[corner] + noise * rng.standard_normal((n, 2))
    y = (corner >= 2).astype(np.int64)  # the last two corners have mixed signs
    return X, y


def circles(n, rng, noise: float = 0.05, factor: float = 0.5):
    """Two concentric circles: label 0 at radius 1, label 1 at radius `factor` (0 < factor < 1).

    Returns X (n, 2), y (n,) int in {0, 1}.
    """
    n, rng, noise = _check_n(n), _check_rng(rng), _check_noise(noise)
    if not 0 < factor < 1:
        raise ValueError(f"factor must lie in (0, 1), got {factor!r}")
    y = _balanced_labels(n, 2, rng)
    angle = rng.uniform(0.0, 2 * np.pi, size=n)
    radius = np.where(y == 0, 1.0, factor)
    X = radius[:, None] * np.column_stack([np.cos(angle), np.sin(angle)])
    return X + noise * rng.standard_normal((n, 2)), y


def moons(n, rng, noise: float = 0.1):
    """Two interleaving half circles (label 0 upper, label 1 lower and shifted).

    Returns X (n, 2), y (n,) int in {0, 1}.
    """
    n, rng, noise = _check_n(n), _check_rng(rng), _check_noise(noise)
    y = _balanced_labels(n, 2, rng)
    t = rng.uniform(0.0, np.pi, size=n)
    upper = np.column_stack([np.cos(t), np.sin(t)])
    lower = np.column_stack([1.0 - np.cos(t), 0.5 - np.sin(t)])
    X = np.where((y == 0)[:, None], upper, lower)
    return X + noise * rng.standard_normal((n, 2)), y


def spirals(n, rng, classes: int = 3, noise: float = 0.2):
    """`classes` spiral arms; arm k turns through angles [4k, 4k + 4] radians, radius 0 to 1.

    Returns X (n, 2), y (n,) int in [0, classes).
    """
    n, rng, noise = _check_n(n), _check_rng(rng), _check_noise(noise)
    classes = _check_n(classes, minimum=2)
    y = _balanced_labels(n, classes, rng)
    radius = rng.uniform(0.0, 1.0, size=n)
    angle = 4.0 * y + 4.0 * radius + noise * rng.standard_normal(n)
    X = radius[:, None] * np.column_stack([np.sin(angle), np.cos(angle)])
    return X, y


def blobs(n, rng, centers=3, std: float = 1.0):
    """Isotropic Gaussian clusters with standard deviation `std`.

    centers: an int k (centres evenly spaced on a circle of radius 4) or an array (k, 2).
    Returns X (n, 2), y (n,) int in [0, k).
    """
    n, rng, std = _check_n(n), _check_rng(rng), _check_noise(std, "std")
    if isinstance(centers, int | np.integer) and not isinstance(centers, bool):
        k = _check_n(centers)
        angle = 2 * np.pi * np.arange(k) / k
        centres = 4.0 * np.column_stack([np.cos(angle), np.sin(angle)])
    else:
        centres = np.asarray(centers, dtype=np.float64)
        if centres.ndim != 2 or centres.shape[1] != 2 or len(centres) == 0:
            raise ValueError(f"centers must be an int or an array of shape (k, 2), "
                             f"got shape {centres.shape}")
    y = _balanced_labels(n, len(centres), rng)
    return centres[y] + std * rng.standard_normal((n, 2)), y


# ---------------------------------------------------------------------------
# splits


def train_val_split(X, y, val_fraction, rng):
    """Random split into training and validation parts.

    X: (n, ...), y: (n,); 0 < val_fraction < 1 (the validation part gets
    round(n * val_fraction) examples, at least 1, leaving at least 1 for training).
    Returns X_tr, X_val, y_tr, y_val.
    """
    X, y, rng = np.asarray(X), np.asarray(y), _check_rng(rng)
    if X.ndim == 0 or len(X) != len(y):
        raise ValueError(f"X and y must have the same number of rows, got shapes "
                         f"{X.shape} and {y.shape}")
    if not 0 < val_fraction < 1:
        raise ValueError(f"val_fraction must lie strictly between 0 and 1, got {val_fraction!r}")
    n = len(X)
    if n < 2:
        raise ValueError("need at least 2 examples to split")
    n_val = min(max(int(round(n * val_fraction)), 1), n - 1)
    order = rng.permutation(n)
    val, train = order[:n_val], order[n_val:]
    return X[train], X[val], y[train], y[val]


def kfold_indices(n, k, rng):
    """k folds of a random permutation of range(n); fold sizes differ by at most one.

    Returns a list of k pairs (train_idx, val_idx), each a sorted int array; the
    val_idx arrays are disjoint and together cover range(n).
    """
    n, rng = _check_n(n), _check_rng(rng)
    if not isinstance(k, int | np.integer) or not 2 <= k <= n:
        raise ValueError(f"k must be an integer with 2 <= k <= n={n}, got {k!r}")
    folds = np.array_split(rng.permutation(n), int(k))
    everything = np.arange(n)
    return [(np.setdiff1d(everything, fold), np.sort(fold)) for fold in folds]


# ---------------------------------------------------------------------------
# real images


def sample_image(size: int | None = None) -> np.ndarray:
    """Grayscale photograph from matplotlib's bundled sample data (no download).

    Returns (H, W) float64 in [0, 1] (600 x 512 at full size). With `size`,
    the image is averaged over k x k blocks, k = min(H, W) // size, so the
    shorter side becomes about `size` pixels.
    """
    import matplotlib.cbook as cbook
    import matplotlib.image as mpimg

    path = cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)
    rgb = np.asarray(mpimg.imread(path), dtype=np.float64)
    if rgb.max() > 1.0:  # JPEGs load as uint8 0..255
        rgb = rgb / 255.0
    # ITU-R BT.601 luma weights: how bright each channel looks to a human eye
    gray = rgb[..., :3] @ np.array([0.299, 0.587, 0.114])
    if size is not None:
        if not isinstance(size, int | np.integer) or size < 1:
            raise ValueError(f"size must be a positive integer, got {size!r}")
        k = max(1, min(gray.shape) // int(size))
        h, w = (gray.shape[0] // k) * k, (gray.shape[1] // k) * k
        gray = gray[:h, :w].reshape(h // k, k, w // k, k).mean(axis=(1, 3))
    return np.clip(gray, 0.0, 1.0)


def digits(rng=None, as_images: bool = False):
    """The UCI handwritten digits (1797 examples of 8x8 images, labels 0..9).

    Returns X (1797, 64) float64 in [0, 1] (the 0..16 counts divided by 16) -- or
    (1797, 8, 8) with as_images=True -- and y (1797,) int64. With an rng the
    examples come back in a shuffled order; without one, in the file's order.
    """
    with resources.files("nnlab").joinpath("data_files/digits.npz").open("rb") as fh:
        with np.load(fh) as archive:
            images, labels = archive["images"], archive["labels"]
    X = images.astype(np.float64) / 16.0
    y = labels.astype(np.int64)
    if rng is not None:
        order = _check_rng(rng).permutation(len(y))
        X, y = X[order], y[order]
    if not as_images:
        X = X.reshape(len(X), -1)
    return X, y

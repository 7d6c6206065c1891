"""Tests for nnlab.data: toy sets, splits, the sample image and the digits set."""

import warnings

import numpy as np
import pytest
from nnlab import data

CLASSIFIERS = {
    "xor": (data.xor, 2),
    "circles": (data.circles, 2),
    "moons": (data.moons, 2),
    "spirals": (data.spirals, 3),
    "blobs": (data.blobs, 3),
}


@pytest.mark.parametrize("name", sorted(CLASSIFIERS))
@pytest.mark.parametrize("n", [1, 7, 300])
def test_classification_sets_shapes_types_and_balance(name, n):
    make, classes = CLASSIFIERS[name]
    X, y = make(n, np.random.default_rng(0))
    assert X.shape == (n, 2) and X.dtype == np.float64
    assert y.shape == (n,) and y.dtype == np.int64
    assert np.all(np.isfinite(X))
    counts = np.bincount(y, minlength=classes)
    assert len(counts) == classes
    assert counts.max() - counts.min() <= 1


@pytest.mark.parametrize("name", sorted(CLASSIFIERS))
def test_classification_sets_are_deterministic_per_seed(name):
    make, _ = CLASSIFIERS[name]
    X1, y1 = make(50, np.random.default_rng(3))
    X2, y2 = make(50, np.random.default_rng(3))
    X3, _ = make(50, np.random.default_rng(4))
    np.testing.assert_array_equal(X1, X2)
    np.testing.assert_array_equal(y1, y2)
    assert not np.allclose(X1, X3)


def test_generators_leave_global_rng_alone():
    state = np.random.get_state()[1].copy()
    data.moons(20, np.random.default_rng(0))
    data.linear_regression(20, np.random.default_rng(0))
    np.testing.assert_array_equal(np.random.get_state()[1], state)


def test_xor_labels_follow_signs_when_noise_free():
    X, y = data.xor(40, np.random.default_rng(1), noise=0.0)
    np.testing.assert_array_equal(y, (np.sign(X[:, 0]) != np.sign(X[:, 1])).astype(int))


def test_circles_radii_and_moons_geometry_when_noise_free():
    X, y = data.circles(100, np.random.default_rng(2), noise=0.0, factor=0.3)
    radius = np.hypot(X[:, 0], X[:, 1])
    np.testing.assert_allclose(radius[y == 0], 1.0, rtol=1e-12)
    np.testing.assert_allclose(radius[y == 1], 0.3, rtol=1e-12)
    X, y = data.moons(100, np.random.default_rng(2), noise=0.0)
    np.testing.assert_allclose(np.hypot(*X[y == 0].T), 1.0, rtol=1e-12)
    np.testing.assert_allclose(np.hypot(X[y == 1, 0] - 1.0, X[y == 1, 1] - 0.5), 1.0,
                               rtol=1e-12)


def test_spirals_and_blobs_options():
    X, y = data.spirals(90, np.random.default_rng(0), classes=5)
    assert set(y) == set(range(5)) and np.all(np.hypot(*X.T) <= 1.0 + 1e-12)
    centres = np.array([[0.0, 0.0], [10.0, 10.0]])
    X, y = data.blobs(200, np.random.default_rng(0), centers=centres, std=0.5)
    for k in range(2):
        np.testing.assert_allclose(X[y == k].mean(axis=0), centres[k], atol=0.2)
        assert 0.35 < X[y == k].std() < 0.65


def test_linear_regression_recovers_weights_by_least_squares():
    X, y, w = data.linear_regression(2000, np.random.default_rng(5), d=3, noise=0.01, bias=2.0)
    assert X.shape == (2000, 3) and y.shape == (2000,) and w.shape == (3,)
    A = np.column_stack([X, np.ones(len(X))])
    fitted = np.linalg.lstsq(A, y, rcond=None)[0]
    np.testing.assert_allclose(fitted, np.append(w, 2.0), atol=5e-3)


def test_polynomial_1d():
    x, y, coef = data.polynomial_1d(500, np.random.default_rng(6), noise=0.0, degree_true=3,
                                    return_coefficients=True)
    assert x.shape == y.shape == (500,) and coef.shape == (4,)
    assert np.all(np.diff(x) >= 0) and x.min() >= -1 and x.max() <= 1
    expected = coef[0] + coef[1] * x + coef[2] * x**2 + coef[3] * x**3
    np.testing.assert_allclose(y, expected, rtol=1e-12, atol=1e-12)
    x2, y2 = data.polynomial_1d(10, np.random.default_rng(6))
    assert x2.shape == (10,) and y2.shape == (10,)


def test_bad_arguments():
    with pytest.raises(TypeError, match="Generator"):
        data.moons(10, 0)
    with pytest.raises(ValueError, match="n must be"):
        data.xor(0, np.random.default_rng(0))
    with pytest.raises(ValueError, match="noise"):
        data.circles(10, np.random.default_rng(0), noise=-1)
    with pytest.raises(ValueError, match="factor"):
        data.circles(10, np.random.default_rng(0), factor=1.5)
    with pytest.raises(ValueError, match=r"\(k, 2\)"):
        data.blobs(10, np.random.default_rng(0), centers=np.zeros((3, 3)))


def test_train_val_split_partitions_the_data():
    X = np.arange(20.0).reshape(10, 2)
    y = np.arange(10)
    X_tr, X_val, y_tr, y_val = data.train_val_split(X, y, 0.3, np.random.default_rng(0))
    assert len(X_val) == 3 and len(X_tr) == 7
    assert sorted(np.concatenate([y_tr, y_val])) == list(range(10))
    np.testing.assert_array_equal(X_tr[:, 0], 2 * y_tr)  # rows stay paired with labels
    np.testing.assert_array_equal(X_val[:, 0], 2 * y_val)
    again = data.train_val_split(X, y, 0.3, np.random.default_rng(0))
    np.testing.assert_array_equal(again[3], y_val)
    other = data.train_val_split(X, y, 0.3, np.random.default_rng(1))
    assert not np.array_equal(other[3], y_val)
    with pytest.raises(ValueError, match="same number of rows"):
        data.train_val_split(X, y[:5], 0.3, np.random.default_rng(0))
    with pytest.raises(ValueError, match="val_fraction"):
        data.train_val_split(X, y, 1.0, np.random.default_rng(0))


@pytest.mark.parametrize("n, k", [(10, 3), (7, 7), (100, 5)])
def test_kfold_indices(n, k):
    folds = data.kfold_indices(n, k, np.random.default_rng(0))
    assert len(folds) == k
    all_val = np.concatenate([val for _, val in folds])
    assert sorted(all_val) == list(range(n))
    sizes = [len(val) for _, val in folds]
    assert max(sizes) - min(sizes) <= 1
    for train, val in folds:
        assert len(np.intersect1d(train, val)) == 0
        assert len(train) + len(val) == n
    with pytest.raises(ValueError, match="k must"):
        data.kfold_indices(n, 1, np.random.default_rng(0))


def test_sample_image_is_grayscale_in_unit_range():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        image = data.sample_image()
        small = data.sample_image(size=128)
    assert image.ndim == 2 and image.dtype == np.float64
    assert image.min() >= 0 and image.max() <= 1 and image.std() > 0.05
    assert small.ndim == 2 and min(small.shape) == 128
    # block averaging keeps the mean brightness
    assert abs(small.mean() - image.mean()) < 0.01
    with pytest.raises(ValueError, match="size"):
        data.sample_image(size=0)


def test_digits_shipped_set():
    X, y = data.digits()
    assert X.shape == (1797, 64) and X.dtype == np.float64
    assert y.shape == (1797,) and y.dtype == np.int64
    assert X.min() == 0.0 and X.max() == 1.0
    # pixel counts 0..16 divided by 16
    np.testing.assert_array_equal(X * 16, np.round(X * 16))
    counts = np.bincount(y)
    assert len(counts) == 10 and counts.min() >= 170
    images, labels = data.digits(as_images=True)
    assert images.shape == (1797, 8, 8)
    np.testing.assert_array_equal(images.reshape(1797, 64), X)
    Xs, ys = data.digits(np.random.default_rng(0))
    assert not np.array_equal(ys, y)
    # shuffling keeps every (image, label) pair together
    key = {tuple(row): label for row, label in zip(X, y, strict=True)}
    assert all(key[tuple(row)] == label for row, label in zip(Xs[:50], ys[:50], strict=True))
    Xs2, ys2 = data.digits(np.random.default_rng(0))
    np.testing.assert_array_equal(ys2, ys)


def test_digits_licence_is_shipped():
    from importlib import resources

    text = resources.files("nnlab").joinpath("data_files/LICENSE-digits.txt").read_text()
    assert "CC BY 4.0" in text and "Alpaydin" in text and "Kaynak" in text

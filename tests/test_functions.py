"""Tests for nnlab.functions: activations, stability, losses and their gradients."""

import numpy as np
import pytest
from nnlab import functions as F
from nnlab.gradcheck import numerical_gradient, relative_error

RTOL = 1e-7


def rng(seed=0):
    return np.random.default_rng(seed)


# ---------------------------------------------------------------------------
# activations


@pytest.mark.parametrize("shape", [(1,), (5,), (3, 4), (2, 3, 2)])
@pytest.mark.parametrize("name", ["sigmoid", "tanh", "relu"])
def test_activation_derivatives_match_numerical(name, shape):
    z = rng(1).standard_normal(shape)
    z[np.abs(z) < 1e-3] += 0.1  # keep ReLU away from its kink
    f, df = getattr(F, name), getattr(F, name + "_grad")
    out = f(z)
    assert out.shape == shape and out.dtype == np.float64
    # elementwise: the gradient of sum(f(z) * u) is f'(z) * u
    upstream = rng(2).standard_normal(shape)
    numeric = numerical_gradient(lambda v: np.sum(f(v) * upstream), z.copy())
    assert relative_error(df(z) * upstream, numeric) < RTOL


def test_activation_values_from_definitions():
    z = np.array([-2.0, -0.5, 0.0, 0.5, 3.0])
    np.testing.assert_allclose(F.sigmoid(z), 1 / (1 + np.exp(-z)), rtol=1e-15)
    np.testing.assert_allclose(F.tanh(z), (np.exp(z) - np.exp(-z)) / (np.exp(z) + np.exp(-z)),
                               rtol=1e-14)
    np.testing.assert_array_equal(F.relu(z), [0, 0, 0, 0.5, 3.0])
    np.testing.assert_array_equal(F.relu_grad(z), [0, 0, 0, 1, 1])
    assert isinstance(F.sigmoid(0.0), float) and F.sigmoid(0.0) == 0.5


def test_stable_functions_never_warn_for_large_inputs():
    z = np.linspace(-1e3, 1e3, 2001)
    with np.errstate(all="raise"):
        s = F.sigmoid(z)
        ds = F.sigmoid_grad(z)
        lse = F.logsumexp(np.stack([z, -z]), axis=0)
        p = F.softmax(np.stack([z, -z], axis=1))
        loss, dz = F.binary_cross_entropy_with_logits(z, (z > 0).astype(float))
        ce, _ = F.softmax_cross_entropy(np.stack([z, -z], axis=1), (z < 0).astype(int))
    assert np.all((s >= 0) & (s <= 1)) and s[0] == 0.0 and s[-1] == 1.0
    assert np.all(np.isfinite(ds))
    np.testing.assert_allclose(lse, np.abs(z) + np.log1p(np.exp(-2 * np.abs(z))), rtol=1e-15)
    np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=1e-14)
    assert np.isfinite(loss) and np.all(np.isfinite(dz))
    # with z = +-1e3 the wrong class costs exactly 2|z|
    assert np.isfinite(ce) and ce > 0


def test_logsumexp_and_softmax_agree_with_naive_formulas_on_small_inputs():
    z = rng(3).standard_normal((4, 5))
    np.testing.assert_allclose(F.logsumexp(z), np.log(np.exp(z).sum(axis=1)), rtol=1e-14)
    np.testing.assert_allclose(F.logsumexp(z, axis=0), np.log(np.exp(z).sum(axis=0)),
                               rtol=1e-14)
    naive = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(F.softmax(z), naive, rtol=1e-14)
    np.testing.assert_allclose(F.log_softmax(z), np.log(naive), rtol=1e-13)
    # shift invariance: adding a constant to a row leaves softmax unchanged
    np.testing.assert_allclose(F.softmax(z + 500.0), naive, rtol=1e-12)


# ---------------------------------------------------------------------------
# losses: values from their definitions


def test_squared_error_values_and_naming():
    pred = np.array([[1.0, 2.0], [3.0, 5.0]])
    y = np.array([[0.0, 2.0], [1.0, 4.0]])
    # per-example sums of squares: 1 and 4 + 1 = 5; mean over 2 examples = 3
    half, _ = F.half_squared_error(pred, y)
    full, _ = F.squared_error(pred, y)
    assert half == pytest.approx(1.5, rel=1e-15)
    assert full == pytest.approx(3.0, rel=1e-15)


def test_cross_entropy_values_from_definitions():
    scores = np.array([[2.0, 1.0, 0.1], [0.5, 2.5, -1.0]])
    y = np.array([0, 1])
    p = np.exp(scores) / np.exp(scores).sum(axis=1, keepdims=True)
    expected = -np.mean(np.log(p[[0, 1], [0, 1]]))
    assert F.softmax_cross_entropy(scores, y)[0] == pytest.approx(expected, rel=1e-14)

    probs = np.array([0.9, 0.2, 0.6])
    t = np.array([1.0, 0.0, 1.0])
    bce = -np.mean(t * np.log(probs) + (1 - t) * np.log(1 - probs))
    assert F.binary_cross_entropy(probs, t)[0] == pytest.approx(bce, rel=1e-14)
    logits = np.log(probs / (1 - probs))
    assert F.binary_cross_entropy_with_logits(logits, t)[0] == pytest.approx(bce, rel=1e-12)


def test_hinge_loss_value_from_cs231n_style_example():
    # scores for 3 classes; correct class 0: margins max(0, 5.1 - 3.2 + 1) + max(0, -1.7 - 3.2 + 1)
    scores = np.array([[3.2, 5.1, -1.7], [1.3, 4.9, 2.0], [2.2, 2.5, -3.1]])
    y = np.array([0, 1, 2])
    per_example = [2.9 + 0.0, 0.0 + 0.0, 6.3 + 6.6]
    loss, _ = F.hinge_loss(scores, y)
    assert loss == pytest.approx(np.mean(per_example), rel=1e-12)


# ---------------------------------------------------------------------------
# losses: gradients against numerical gradients (float64, batch size 1 included)


def _check_loss_gradient(loss_fn, scores, *args):
    loss, dscores = loss_fn(scores, *args)
    assert isinstance(loss, float)
    assert dscores.shape == scores.shape and dscores.dtype == np.float64
    numeric = numerical_gradient(lambda s: loss_fn(s, *args)[0], scores.copy())
    assert relative_error(dscores, numeric) < RTOL


@pytest.mark.parametrize("shape", [(1,), (7,), (1, 1), (1, 3), (6, 3)])
@pytest.mark.parametrize("loss_fn", [F.half_squared_error, F.squared_error])
def test_regression_loss_gradients(loss_fn, shape):
    r = rng(4)
    _check_loss_gradient(loss_fn, r.standard_normal(shape), r.standard_normal(shape))


@pytest.mark.parametrize("shape", [(1,), (8,), (1, 1), (5, 1)])
def test_binary_losses_gradients(shape):
    r = rng(5)
    z = r.standard_normal(shape) * 2
    t = r.integers(0, 2, size=shape).astype(float)
    _check_loss_gradient(F.binary_cross_entropy_with_logits, z, t)
    _check_loss_gradient(F.binary_cross_entropy, F.sigmoid(z), t)


def test_binary_logits_gradient_is_probability_minus_target():
    z = np.array([[-1.0], [0.3], [2.0]])
    y = np.array([1.0, 0.0, 1.0])  # (N,) targets next to an (N, 1) output are accepted
    _, dz = F.binary_cross_entropy_with_logits(z, y)
    np.testing.assert_allclose(dz, (1 / (1 + np.exp(-z)) - y[:, None]) / 3, rtol=1e-14)


@pytest.mark.parametrize("n, c", [(1, 2), (1, 5), (4, 3), (10, 7)])
def test_softmax_cross_entropy_gradient(n, c):
    r = rng(6)
    _check_loss_gradient(F.softmax_cross_entropy, r.standard_normal((n, c)),
                         r.integers(0, c, size=n))


@pytest.mark.parametrize("n, c", [(1, 3), (5, 4), (9, 10)])
def test_hinge_loss_gradient_away_from_kinks(n, c):
    r = rng(7)
    y = r.integers(0, c, size=n)
    scores = r.standard_normal((n, c))
    # push every margin term at least 0.05 away from its kink at 0
    for _ in range(10):
        margins = scores - scores[np.arange(n), y][:, None] + 1.0
        margins[np.arange(n), y] = 1.0
        near = np.abs(margins) < 0.05
        if not near.any():
            break
        scores[near] += 0.2
    _check_loss_gradient(F.hinge_loss, scores, y)


def test_losses_mean_over_batch():
    # duplicating every example leaves the mean loss unchanged and halves each gradient entry
    r = rng(8)
    s, y = r.standard_normal((3, 4)), np.array([0, 3, 1])
    loss1, d1 = F.softmax_cross_entropy(s, y)
    loss2, d2 = F.softmax_cross_entropy(np.vstack([s, s]), np.concatenate([y, y]))
    assert loss2 == pytest.approx(loss1, rel=1e-14)
    np.testing.assert_allclose(d2[:3], d1 / 2, rtol=1e-14)


# ---------------------------------------------------------------------------
# bad input


def test_shape_mismatch_is_rejected_with_both_shapes():
    with pytest.raises(ValueError, match=r"\(4, 1\).*\(4,\)"):
        F.half_squared_error(np.zeros((4, 1)), np.zeros(4))
    with pytest.raises(ValueError, match="shape"):
        F.squared_error(np.zeros(3), np.zeros(4))
    with pytest.raises(ValueError, match=r"labels y must have shape \(3,\)"):
        F.softmax_cross_entropy(np.zeros((3, 2)), np.array([0, 1]))
    with pytest.raises(ValueError, match=r"scores must have shape \(N, C\)"):
        F.softmax_cross_entropy(np.zeros(3), np.array([0, 1, 1]))
    with pytest.raises(ValueError, match=r"shape \(N,\) or \(N, 1\)"):
        F.binary_cross_entropy_with_logits(np.zeros((3, 2)), np.zeros(3))


@pytest.mark.parametrize("loss_fn", [F.softmax_cross_entropy, F.hinge_loss])
def test_bad_labels_are_rejected(loss_fn):
    scores = np.zeros((3, 4))
    with pytest.raises(ValueError, match="integers"):
        loss_fn(scores, np.array([0.0, 1.5, 2.0]))
    with pytest.raises(ValueError, match=r"\[0, 4\).*found 4"):
        loss_fn(scores, np.array([0, 4, 1]))
    with pytest.raises(ValueError, match=r"\[0, 4\).*found -1"):
        loss_fn(scores, np.array([0, -1, 1]))
    with pytest.raises(ValueError, match="integers"):
        loss_fn(scores, np.array(["a", "b", "c"]))
    # integral floats are fine and give the same loss as ints
    assert loss_fn(scores + np.eye(3, 4), np.array([0.0, 1.0, 2.0]))[0] == \
        loss_fn(scores + np.eye(3, 4), np.array([0, 1, 2]))[0]


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_inputs_are_rejected(bad):
    scores = np.zeros((2, 3))
    scores[1, 2] = bad
    with pytest.raises(ValueError, match=r"scores contains NaN or inf.*\(1, 2\)"):
        F.softmax_cross_entropy(scores, np.array([0, 1]))
    with pytest.raises(F.NonFiniteInputError, match="pred"):
        F.half_squared_error(np.array([1.0, bad]), np.zeros(2))
    with pytest.raises(ValueError, match="z contains NaN or inf"):
        F.binary_cross_entropy_with_logits(np.array([bad]), np.array([1.0]))


def test_binary_cross_entropy_rejects_non_probabilities_and_bad_targets():
    with pytest.raises(ValueError, match="probabilities"):
        F.binary_cross_entropy(np.array([1.5, 0.2]), np.array([1.0, 0.0]))
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        F.binary_cross_entropy(np.array([0.5, 0.2]), np.array([2.0, 0.0]))
    # saturated probabilities stay finite thanks to clipping
    loss, dp = F.binary_cross_entropy(np.array([1.0, 0.0]), np.array([0.0, 1.0]))
    assert np.isfinite(loss) and np.all(np.isfinite(dp))

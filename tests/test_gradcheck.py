"""Tests for nnlab.gradcheck: numerical_gradient, relative_error, check_layer."""

import numpy as np
import pytest
from nnlab.gradcheck import GradCheckReport, check_layer, numerical_gradient, relative_error


class TinyDense:
    """out = x W + b, following the layer protocol; `bug` plants a mistake in backward."""

    def __init__(self, in_dim, out_dim, rng, bug=None):
        self.params = {"W": rng.standard_normal((in_dim, out_dim)),
                       "b": rng.standard_normal(out_dim)}
        self.grads = {}
        self.bug = bug

    def forward(self, x, train=True):
        self.x = x
        return x @ self.params["W"] + self.params["b"]

    def backward(self, dout):
        dW = self.x.T @ dout
        if self.bug == "W[1,2]":
            dW[1, 2] *= 1.5
        db = dout.sum(axis=0)
        if self.bug == "b-mean":
            db = dout.mean(axis=0)
        self.grads = {"W": dW, "b": db}
        dx = dout @ self.params["W"].T
        if self.bug == "dx-transpose-free":
            dx = dx * 2.0
        return dx


class TinyTanh:
    params = {}
    grads = {}

    def forward(self, x, train=True):
        self.out = np.tanh(x)
        return self.out

    def backward(self, dout):
        return dout * (1 - self.out**2)


@pytest.mark.parametrize("shape", [(), (1,), (4,), (2, 3), (2, 1, 3, 2)])
def test_numerical_gradient_any_shape_and_restores_x(shape):
    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape)
    before = x.copy()
    a = rng.standard_normal(shape)

    def f(v):
        return float(np.sum(a * v**3) + np.sum(np.sin(v)))

    grad = numerical_gradient(f, x)
    assert grad.shape == x.shape
    np.testing.assert_array_equal(x, before)  # bit-for-bit restore
    np.testing.assert_allclose(grad, 3 * a * x**2 + np.cos(x), rtol=1e-8, atol=1e-9)


def test_numerical_gradient_requires_float64_array():
    with pytest.raises(TypeError, match="float64"):
        numerical_gradient(lambda v: 0.0, np.array([1, 2]))
    with pytest.raises(TypeError, match="float64"):
        numerical_gradient(lambda v: 0.0, [1.0, 2.0])
    with pytest.raises(ValueError, match="positive"):
        numerical_gradient(lambda v: 0.0, np.zeros(2), h=0.0)


def test_relative_error_definition():
    a = np.array([1.0, -2.0, 0.0])
    b = np.array([1.0, -2.5, 0.0])
    # max |a-b| = 0.5; max(|a|+|b|) = 4.5
    assert relative_error(a, b) == pytest.approx(0.5 / 4.5, rel=1e-15)
    assert relative_error(np.zeros(3), np.zeros(3)) == 0.0
    assert relative_error(a, a) == 0.0
    # an entry that is ~0 in both does not blow the error up
    assert relative_error(np.array([1.0, 1e-13]), np.array([1.0, 0.0])) < 1e-12
    with pytest.raises(ValueError, match="shapes differ"):
        relative_error(np.zeros(2), np.zeros(3))


@pytest.mark.parametrize("n", [1, 4])
def test_check_layer_passes_correct_layers(n):
    rng = np.random.default_rng(1)
    report = check_layer(TinyDense(3, 5, rng), rng.standard_normal((n, 3)))
    assert isinstance(report, GradCheckReport)
    assert report.ok, str(report)
    assert set(report.max_error) == {"x", "W", "b"}
    assert all(err < 1e-7 for err in report.max_error.values())
    assert "passed" in str(report)

    tanh_report = check_layer(TinyTanh(), rng.standard_normal((n, 3, 2)))
    assert tanh_report.ok and set(tanh_report.max_error) == {"x"}


def test_check_layer_points_at_the_wrong_entry():
    rng = np.random.default_rng(2)
    layer = TinyDense(3, 4, rng, bug="W[1,2]")
    report = check_layer(layer, rng.standard_normal((5, 3)))
    assert not report.ok
    assert report.max_error["W"] > 1e-3
    assert report.max_error["x"] < 1e-7 and report.max_error["b"] < 1e-7
    assert report.worst["W"] == (1, 2)
    assert report.mismatches["W"] == [(1, 2)]
    assert report.mismatches["b"] == [] and report.mismatches["x"] == []
    text = str(report)
    assert "FAILED" in text
    assert "W: shape (3, 4)" in text and "MISMATCH" in text
    assert "index (1, 2)" in text
    # the report shows the two disagreeing numbers for that index
    assert f"{report.analytic['W'][1, 2]:+.6e}" in text
    assert f"{report.numeric['W'][1, 2]:+.6e}" in text


def test_check_layer_reports_every_entry_of_a_wrong_bias_gradient():
    rng = np.random.default_rng(3)
    report = check_layer(TinyDense(2, 3, rng, bug="b-mean"), rng.standard_normal((4, 2)))
    assert not report.ok
    assert sorted(report.mismatches["b"]) == [(0,), (1,), (2,)]
    assert report.max_error["W"] < 1e-7
    assert "disagrees at 3 of 3 entries" in str(report)


def test_check_layer_checks_the_input_gradient_too():
    rng = np.random.default_rng(4)
    report = check_layer(TinyDense(2, 3, rng, bug="dx-transpose-free"), rng.standard_normal((2, 2)))
    assert not report.ok
    assert report.max_error["x"] > 0.1
    assert len(report.mismatches["x"]) == 4


def test_check_layer_does_not_modify_input_and_rejects_bad_layers():
    rng = np.random.default_rng(5)
    x = rng.standard_normal((2, 3))
    before = x.copy()
    layer = TinyDense(3, 2, rng)
    W_before = layer.params["W"].copy()
    check_layer(layer, x)
    np.testing.assert_array_equal(x, before)
    np.testing.assert_array_equal(layer.params["W"], W_before)

    class NoReturn(TinyTanh):
        def backward(self, dout):
            super().backward(dout)

    with pytest.raises(ValueError, match="returned None"):
        check_layer(NoReturn(), x)

    class MissingGrad(TinyDense):
        def backward(self, dout):
            dx = super().backward(dout)
            del self.grads["b"]
            return dx

    with pytest.raises(ValueError, match="no entry for parameter 'b'"):
        check_layer(MissingGrad(3, 2, rng), x)

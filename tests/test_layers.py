"""Dense, activations, MaxPool2D and Flatten: backward against numerical gradients, shapes,
initialisation statistics and bad input."""

import numpy as np
import pytest
from nnlab import layers
from nnlab.gradcheck import check_layer, numerical_gradient, relative_error

TOLERANCE = 1e-7


def assert_layer_gradients(layer, x, rng, train=True, tol=TOLERANCE):
    """Compare dx and every grads[name] with numerical gradients of sum(forward(x) * dout)."""
    x = np.array(x, dtype=np.float64)
    out = layer.forward(x, train=train)
    dout = rng.normal(size=out.shape)
    dx = layer.backward(dout)
    analytic = {name: g.copy() for name, g in layer.grads.items()}

    def loss(_):
        return float(np.sum(layer.forward(x, train=train) * dout))

    assert dx.shape == x.shape
    err = relative_error(dx, numerical_gradient(loss, x))
    assert err < tol, f"dx relative error {err:.2e}"
    assert set(analytic) == set(layer.params)
    for name, param in layer.params.items():
        assert analytic[name].shape == param.shape, name
        err = relative_error(analytic[name], numerical_gradient(loss, param))
        assert err < tol, f"d{name} relative error {err:.2e}"


def away_from_zero(rng, shape, gap=0.1):
    """Random values with |x| >= gap, so ReLU's kink is never inside a finite difference."""
    return rng.choice([-1.0, 1.0], size=shape) * rng.uniform(gap, 1.5, size=shape)


@pytest.mark.parametrize("N, d_in, d_out", [(1, 3, 2), (4, 5, 3), (7, 1, 6)])
@pytest.mark.parametrize("init", ["he", "xavier", 0.3])
def test_dense_gradients(N, d_in, d_out, init):
    rng = np.random.default_rng(N * 10 + d_in)
    layer = layers.Dense(d_in, d_out, rng, init=init)
    layer.params["b"][:] = rng.normal(size=d_out)
    assert_layer_gradients(layer, rng.normal(size=(N, d_in)), rng)


def test_dense_forward_is_affine():
    rng = np.random.default_rng(0)
    layer = layers.Dense(3, 2, rng)
    x = rng.normal(size=(4, 3))
    expected = np.array([[sum(x[n, i] * layer.params["W"][i, k] for i in range(3))
                          for k in range(2)] for n in range(4)]) + layer.params["b"]
    np.testing.assert_allclose(layer.forward(x), expected, rtol=1e-12)


@pytest.mark.parametrize("init, std", [("he", np.sqrt(2 / 400)), ("xavier", np.sqrt(2 / 600)),
                                       (0.05, 0.05)])
def test_dense_init_scale(init, std):
    W = layers.Dense(400, 200, np.random.default_rng(1), init=init).params["W"]
    assert W.std() == pytest.approx(std, rel=0.03)
    assert abs(W.mean()) < 0.1 * std


def test_dense_zero_init_needs_no_rng_and_bias_starts_at_zero():
    layer = layers.Dense(3, 2, init="zeros")
    assert not layer.params["W"].any() and not layer.params["b"].any()
    assert not layers.Dense(3, 2, np.random.default_rng(0)).params["b"].any()


def test_dense_is_reproducible_from_rng():
    a = layers.Dense(5, 4, np.random.default_rng(7)).params["W"]
    b = layers.Dense(5, 4, np.random.default_rng(7)).params["W"]
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("make", [layers.ReLU, layers.Sigmoid, layers.Tanh])
@pytest.mark.parametrize("shape", [(1, 3), (5, 4), (2, 3, 4, 4)])
def test_activation_gradients(make, shape):
    rng = np.random.default_rng(len(shape))
    assert_layer_gradients(make(), away_from_zero(rng, shape), rng)


def test_activation_values():
    x = np.array([[-2.0, 0.5, 3.0]])
    np.testing.assert_array_equal(layers.ReLU().forward(x), [[0.0, 0.5, 3.0]])
    np.testing.assert_allclose(layers.Sigmoid().forward(x), 1 / (1 + np.exp(-x)), rtol=1e-14)
    np.testing.assert_allclose(layers.Tanh().forward(x), np.tanh(x), rtol=1e-14)


def test_sigmoid_is_stable_for_large_inputs():
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        out = layers.Sigmoid().forward(np.array([[-1000.0, 0.0, 1000.0]]))
    np.testing.assert_array_equal(out, [[0.0, 0.5, 1.0]])


def distinct_values(rng, shape, gap=0.05):
    """Shuffled values that differ pairwise by >= gap, so every window has a clear maximum."""
    return (rng.permutation(np.prod(shape)) * gap - 1.0).reshape(shape)


@pytest.mark.parametrize("shape, size, stride", [((1, 1, 4, 4), 2, None), ((2, 3, 6, 5), 2, None),
                                                 ((2, 2, 5, 5), 3, 1), ((3, 1, 7, 7), 3, 2)])
def test_maxpool_gradients(shape, size, stride):
    rng = np.random.default_rng(3)
    layer = layers.MaxPool2D(size, stride)
    assert_layer_gradients(layer, distinct_values(rng, shape), rng)


def test_maxpool_against_loops():
    rng = np.random.default_rng(4)
    x = rng.normal(size=(2, 3, 7, 6))
    out = layers.MaxPool2D(3, 2).forward(x)
    Ho, Wo = (7 - 3) // 2 + 1, (6 - 3) // 2 + 1
    assert out.shape == (2, 3, Ho, Wo)
    for n in range(2):
        for c in range(3):
            for i in range(Ho):
                for j in range(Wo):
                    assert out[n, c, i, j] == x[n, c, 2 * i:2 * i + 3, 2 * j:2 * j + 3].max()


def test_maxpool_routes_gradient_to_maximum_only():
    x = np.array([[[[1.0, 5.0], [2.0, 3.0]]]])
    layer = layers.MaxPool2D(2)
    layer.forward(x)
    np.testing.assert_array_equal(layer.backward(np.array([[[[7.0]]]])),
                                  [[[[0.0, 7.0], [0.0, 0.0]]]])


def test_flatten_roundtrip_and_gradients():
    rng = np.random.default_rng(5)
    x = rng.normal(size=(2, 3, 4, 5))
    layer = layers.Flatten()
    assert layer.forward(x).shape == (2, 60)
    np.testing.assert_array_equal(layer.forward(x)[1], x[1].ravel())
    assert_layer_gradients(layer, x, rng)


@pytest.mark.parametrize(
    "layer, x, words",
    [
        (layers.Dense(3, 2, np.random.default_rng(0)), np.zeros((4, 5)), ["(N, 3)", "(4, 5)"]),
        (layers.Dense(3, 2, np.random.default_rng(0)), np.zeros(3), ["2-D", "(3,)"]),
        (layers.MaxPool2D(2), np.zeros((2, 4, 4)), ["4-D", "(2, 4, 4)"]),
        (layers.MaxPool2D(3), np.zeros((1, 1, 2, 2)), ["2x2", "3x3"]),
        (layers.Flatten(), np.zeros(5), ["2-D", "(5,)"]),
    ],
)
def test_wrong_shapes_are_named(layer, x, words):
    with pytest.raises(ValueError) as info:
        layer.forward(x)
    for word in words:
        assert word in str(info.value)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("make", [lambda: layers.Dense(2, 2, np.random.default_rng(0)),
                                  layers.ReLU, layers.Sigmoid, layers.Tanh, layers.Flatten])
def test_non_finite_input_rejected(make, bad):
    x = np.ones((3, 2))
    x[1, 0] = bad
    with pytest.raises(ValueError, match="non-finite"):
        make().forward(x)


def test_backward_checks_dout_shape_and_order():
    layer = layers.Dense(3, 2, np.random.default_rng(0))
    with pytest.raises(RuntimeError, match="before forward"):
        layer.backward(np.zeros((1, 2)))
    layer.forward(np.zeros((4, 3)))
    with pytest.raises(ValueError, match=r"\(4, 2\).*\(2, 4\)"):
        layer.backward(np.zeros((2, 4)))


def test_constructor_arguments_checked():
    with pytest.raises(TypeError):
        layers.Dense(3, 2, np.random.default_rng(0), activation="relu")
    with pytest.raises(TypeError, match="rng"):
        layers.Dense(3, 2, 42)
    with pytest.raises(ValueError, match="init"):
        layers.Dense(3, 2, np.random.default_rng(0), init="glorot")
    with pytest.raises(ValueError, match="in_dim"):
        layers.Dense(0, 2, np.random.default_rng(0))
    with pytest.raises(ValueError, match="size"):
        layers.MaxPool2D(0)
    with pytest.raises(TypeError):
        layers.ReLU(alpha=0.1)


def test_backward_params_matches_backward():
    rng = np.random.default_rng(8)
    for layer, x in [(layers.Dense(4, 3, rng), rng.normal(size=(5, 4))),
                     (layers.Conv2D(2, 3, 3, rng, stride=2, padding=1),
                      rng.normal(size=(2, 2, 5, 5))),
                     (layers.Tanh(), rng.normal(size=(3, 2)))]:
        dout = rng.normal(size=layer.forward(x).shape)
        layer.backward(dout)
        full = {k: v.copy() for k, v in layer.grads.items()}
        layer.grads = {k: np.full_like(v, np.nan) for k, v in layer.grads.items()}
        assert layer.backward_params(dout) is None
        for name in full:
            np.testing.assert_array_equal(layer.grads[name], full[name])


def test_gradcheck_report_agrees_for_every_layer_type():
    """nnlab.gradcheck.check_layer (what students use) also passes on these layers."""
    rng = np.random.default_rng(9)
    cases = [(layers.Dense(3, 4, rng), rng.normal(size=(2, 3))),
             (layers.Tanh(), rng.normal(size=(2, 3))),
             (layers.Conv2D(2, 2, 3, rng, padding=1), rng.normal(size=(1, 2, 4, 4))),
             (layers.MaxPool2D(2), distinct_values(rng, (1, 2, 4, 4)))]
    for layer, x in cases:
        report = check_layer(layer, x)
        assert report.ok, str(report)

"""Conv2D: against a naive loop reference, numerical gradients, conventions and bad input."""

import numpy as np
import pytest
from nnlab import layers

from tests.test_layers import assert_layer_gradients


def naive_cross_correlation(x, W, b, stride, padding):
    """Reference written straight from the definition, one output element at a time."""
    N, C, H, Wd = x.shape
    F, _, kh, kw = W.shape
    xp = np.zeros((N, C, H + 2 * padding, Wd + 2 * padding))
    xp[:, :, padding:padding + H, padding:padding + Wd] = x
    Ho = (H + 2 * padding - kh) // stride + 1
    Wo = (Wd + 2 * padding - kw) // stride + 1
    out = np.zeros((N, F, Ho, Wo))
    for n in range(N):
        for f in range(F):
            for i in range(Ho):
                for j in range(Wo):
                    patch = xp[n, :, i * stride:i * stride + kh, j * stride:j * stride + kw]
                    out[n, f, i, j] = np.sum(patch * W[f]) + b[f]
    return out


@pytest.mark.parametrize("stride", [1, 2])
@pytest.mark.parametrize("padding", [0, 1])
@pytest.mark.parametrize("N, C, H, W, F, k", [(1, 1, 5, 5, 1, 3), (2, 3, 7, 6, 4, 3),
                                              (3, 2, 6, 8, 2, 2)])
def test_conv_matches_loops(stride, padding, N, C, H, W, F, k):
    rng = np.random.default_rng(stride * 7 + padding + N)
    layer = layers.Conv2D(C, F, k, rng, stride=stride, padding=padding)
    layer.params["b"][:] = rng.normal(size=F)
    x = rng.normal(size=(N, C, H, W))
    expected = naive_cross_correlation(x, layer.params["W"], layer.params["b"], stride, padding)
    out = layer.forward(x)
    assert out.shape == expected.shape
    np.testing.assert_allclose(out, expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("stride, padding", [(1, 0), (1, 1), (2, 0), (2, 1), (3, 2)])
@pytest.mark.parametrize("N", [1, 2])
def test_conv_gradients(stride, padding, N):
    rng = np.random.default_rng(10 * stride + padding + N)
    layer = layers.Conv2D(2, 3, (3, 2), rng, stride=stride, padding=padding)
    layer.params["b"][:] = rng.normal(size=3)
    assert_layer_gradients(layer, rng.normal(size=(N, 2, 6, 5)), rng)


def test_conv_is_cross_correlation_not_convolution():
    x = np.zeros((1, 1, 3, 3))
    x[0, 0, 0, 0] = 1.0  # an impulse at the top-left corner
    layer = layers.Conv2D(1, 1, 3, np.random.default_rng(0), padding=1)
    kernel = np.arange(9.0).reshape(3, 3)
    layer.params["W"][0, 0] = kernel
    out = layer.forward(x)[0, 0]
    # output at (i, j) sees the impulse through kernel[1 - i + 0, 1 - j + 0] (unflipped taps)
    assert out[0, 0] == kernel[1, 1]
    assert out[1, 1] == kernel[0, 0]
    assert out[0, 1] == kernel[1, 0]


def test_conv_output_shape_formula():
    layer = layers.Conv2D(3, 16, 3, np.random.default_rng(0), stride=2, padding=1)
    assert layer.forward(np.zeros((2, 3, 32, 31))).shape == (2, 16, 16, 16)
    assert layer.params["W"].shape == (16, 3, 3, 3) and layer.params["b"].shape == (16,)


def test_conv_he_init_scale():
    W = layers.Conv2D(8, 64, 5, np.random.default_rng(2)).params["W"]
    assert W.std() == pytest.approx(np.sqrt(2 / (8 * 25)), rel=0.03)


def test_conv_then_pool_then_flatten_chain_gradients():
    rng = np.random.default_rng(6)
    conv = layers.Conv2D(1, 2, 3, rng, padding=1)
    x = rng.normal(size=(2, 1, 4, 4))
    out = conv.forward(x)
    pool, flat = layers.MaxPool2D(2), layers.Flatten()
    pooled = flat.forward(pool.forward(out))
    assert pooled.shape == (2, 8)
    dx = conv.backward(pool.backward(flat.backward(np.ones_like(pooled))))
    assert dx.shape == x.shape


@pytest.mark.parametrize(
    "x, words",
    [
        (np.zeros((2, 4, 8, 8)), ["(N, 3, H, W)", "(2, 4, 8, 8)", "4 channels"]),
        (np.zeros((3, 8, 8)), ["4-D", "(3, 8, 8)"]),
        (np.zeros((1, 3, 2, 8)), ["2x8", "3x3"]),
    ],
)
def test_conv_bad_input_named(x, words):
    layer = layers.Conv2D(3, 4, 3, np.random.default_rng(0))
    with pytest.raises(ValueError) as info:
        layer.forward(x)
    for word in words:
        assert word in str(info.value)


def test_conv_rejects_nan_and_bad_arguments():
    layer = layers.Conv2D(1, 1, 3, np.random.default_rng(0))
    x = np.zeros((1, 1, 4, 4))
    x[0, 0, 2, 2] = np.nan
    with pytest.raises(ValueError, match="non-finite"):
        layer.forward(x)
    with pytest.raises(ValueError, match="padding"):
        layers.Conv2D(1, 1, 3, np.random.default_rng(0), padding=-1)
    with pytest.raises(ValueError, match="stride"):
        layers.Conv2D(1, 1, 3, np.random.default_rng(0), stride=0)
    with pytest.raises(TypeError):
        layers.Conv2D(1, 1, 3, np.random.default_rng(0), dilation=2)

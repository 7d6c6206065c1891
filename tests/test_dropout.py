"""Dropout: p is the drop probability; inverted and test-time-scaling modes agree in
expectation; no dropout at test time; backward reuses the forward mask."""

import numpy as np
import pytest
from nnlab import layers

from tests.test_layers import assert_layer_gradients


@pytest.mark.parametrize("p", [0.1, 0.5, 0.8])
def test_zero_fraction_is_p(p):
    layer = layers.Dropout(p, np.random.default_rng(0))
    out = layer.forward(np.ones((200, 500)))
    assert np.mean(out == 0) == pytest.approx(p, abs=0.01)
    assert np.mean(layer.mask) == pytest.approx(1 - p, abs=0.01)


@pytest.mark.parametrize("p", [0.2, 0.5])
def test_inverted_preserves_mean_and_is_identity_at_test(p):
    rng = np.random.default_rng(1)
    x = rng.uniform(0.5, 1.5, size=(400, 400))
    layer = layers.Dropout(p, rng)
    assert layer.forward(x).mean() == pytest.approx(x.mean(), rel=0.01)
    kept = layer.forward(x)
    nonzero = kept != 0
    np.testing.assert_allclose(kept[nonzero], x[nonzero] / (1 - p))
    np.testing.assert_array_equal(layer.forward(x, train=False), x)


def test_both_modes_give_same_expected_activation():
    p = 0.3
    rng = np.random.default_rng(2)
    x = rng.uniform(0.5, 1.5, size=(50, 8))
    inverted = layers.Dropout(p, rng, mode="inverted")
    scaled = layers.Dropout(p, rng, mode="scale_at_test")
    repeats = 4000
    mean_inverted = sum(inverted.forward(x) for _ in range(repeats)) / repeats
    mean_scaled = sum(scaled.forward(x) for _ in range(repeats)) / repeats
    # in each mode the train-time average matches the mode's own test-time output ...
    np.testing.assert_allclose(mean_inverted, inverted.forward(x, train=False), rtol=0.05)
    np.testing.assert_allclose(mean_scaled, scaled.forward(x, train=False), rtol=0.05)
    # ... and the test output of scale_at_test is (1-p) times that of inverted
    np.testing.assert_allclose(scaled.forward(x, train=False), (1 - p) * x)
    np.testing.assert_allclose(mean_scaled, (1 - p) * mean_inverted, rtol=0.07)


@pytest.mark.parametrize("mode", ["inverted", "scale_at_test"])
def test_backward_uses_forward_mask(mode):
    rng = np.random.default_rng(3)
    layer = layers.Dropout(0.4, rng, mode=mode)
    x = rng.uniform(1, 2, size=(6, 7))
    out = layer.forward(x)
    dout = rng.normal(size=x.shape)
    dx = layer.backward(dout)
    np.testing.assert_array_equal(dx == 0, out == 0)
    np.testing.assert_allclose(dx, dout * out / x)


@pytest.mark.parametrize("mode", ["inverted", "scale_at_test"])
@pytest.mark.parametrize("train", [True, False])
def test_dropout_gradients_with_fixed_mask(mode, train):
    rng = np.random.default_rng(4)

    class FixedMask(layers.Dropout):
        """Re-uses the first mask so finite differences see one deterministic function."""

        def forward(self, x, train=True):
            seed_rng = np.random.default_rng(99)
            self.rng = seed_rng
            return super().forward(x, train=train)

    assert_layer_gradients(FixedMask(0.5, rng, mode=mode), rng.normal(size=(3, 5)), rng,
                           train=train)


def test_same_rng_seed_same_mask():
    x = np.ones((10, 10))
    a = layers.Dropout(0.5, np.random.default_rng(5)).forward(x)
    b = layers.Dropout(0.5, np.random.default_rng(5)).forward(x)
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("p", [-0.1, 1.0, 1.5, float("nan")])
def test_p_outside_unit_interval_rejected(p):
    with pytest.raises(ValueError, match="p"):
        layers.Dropout(p, np.random.default_rng(0))


def test_bad_mode_rng_and_kwargs():
    with pytest.raises(ValueError, match="mode"):
        layers.Dropout(0.5, np.random.default_rng(0), mode="keep")
    with pytest.raises(TypeError, match="rng"):
        layers.Dropout(0.5, 0)
    with pytest.raises(TypeError):
        layers.Dropout(0.5, np.random.default_rng(0), keep_prob=0.5)
    with pytest.raises(ValueError, match="non-finite"):
        layers.Dropout(0.5, np.random.default_rng(0)).forward(np.array([[np.inf]]))

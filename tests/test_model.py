"""Sequential and fit: gradients of the regularised loss, training modes, early stopping,
divergence, and that small MLPs actually learn XOR and circles."""

import math
import re

import numpy as np
import pytest
from nnlab import data, layers, optim
from nnlab.gradcheck import numerical_gradient, relative_error
from nnlab.model import DivergedError, History, Sequential, fit


def xor_data(n, rng):
    return data.xor(n, rng, noise=0.15)


def circles_data(n, rng):
    return data.circles(n, rng, noise=0.08, factor=0.5)


def mlp(rng, sizes=(2, 16, 2), act=layers.Tanh):
    parts = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        parts.append(layers.Dense(a, b, rng, init="xavier" if act is layers.Tanh else "he"))
        if i < len(sizes) - 2:
            parts.append(act())
    return Sequential(*parts)


def test_params_are_flat_views_of_layer_arrays():
    rng = np.random.default_rng(0)
    model = mlp(rng, (3, 4, 2))
    assert list(model.params()) == ["0.W", "0.b", "2.W", "2.b"]
    assert model.params()["2.W"] is model.layers[2].params["W"]
    assert model.forward(rng.normal(size=(5, 3))).shape == (5, 2)


@pytest.mark.parametrize("loss, out, N", [("softmax_ce", 3, 1), ("softmax_ce", 3, 6),
                                          ("hinge", 3, 5), ("bce_logits", 1, 4),
                                          ("mse", 2, 4), ("half_mse", 1, 1)])
@pytest.mark.parametrize("l1, l2", [(0.0, 0.0), (0.0, 0.3), (0.05, 0.1)])
def test_regularised_loss_gradients(loss, out, N, l1, l2):
    rng = np.random.default_rng(N + out)
    model = mlp(rng, (3, 5, out), act=layers.Tanh)
    for p in model.params().values():
        p[...] = rng.normal(size=p.shape)  # biases non-zero too, so "W only" is tested
    X = rng.normal(size=(N, 3))
    if loss in ("softmax_ce", "hinge"):
        y = rng.integers(0, out, size=N)
    elif loss == "bce_logits":
        y = rng.integers(0, 2, size=N).astype(float)
    else:
        y = rng.normal(size=(N, out)) if out > 1 else rng.normal(size=N)
    value, grads = model.loss(X, y, loss=loss, l1=l1, l2=l2)
    assert set(grads) == set(model.params())
    for name, p in model.params().items():
        numeric = numerical_gradient(
            lambda _: model.loss(X, y, loss=loss, l1=l1, l2=l2)[0], p)
        err = relative_error(grads[name], numeric)
        assert err < 1e-7, f"{loss} {name}: {err:.2e}"


def test_l2_term_is_lambda_w_and_biases_are_not_penalised():
    rng = np.random.default_rng(1)
    model = mlp(rng, (3, 4, 2))
    for p in model.params().values():
        p[...] = rng.normal(size=p.shape)
    X, y = rng.normal(size=(5, 3)), rng.integers(0, 2, size=5)
    lam = 0.7
    plain_value, plain = model.loss(X, y)
    reg_value, reg = model.loss(X, y, l2=lam)
    for name, W in model.params().items():
        expected = lam * W if name.endswith(".W") else np.zeros_like(W)
        np.testing.assert_allclose(reg[name] - plain[name], expected, atol=1e-12)
    weights = [p for n, p in model.params().items() if n.endswith(".W")]
    assert reg_value - plain_value == pytest.approx(lam / 2 * sum((W**2).sum() for W in weights))


def test_l1_term_is_lambda_sign_w():
    rng = np.random.default_rng(2)
    model = mlp(rng, (2, 3, 2))
    X, y = rng.normal(size=(4, 2)), rng.integers(0, 2, size=4)
    _, plain = model.loss(X, y)
    _, reg = model.loss(X, y, l1=0.2)
    np.testing.assert_allclose(reg["0.W"] - plain["0.W"], 0.2 * np.sign(model.params()["0.W"]))
    np.testing.assert_array_equal(reg["0.b"], plain["0.b"])


def test_full_batch_fit_is_plain_gradient_descent():
    """fit with batch_size=None must do exactly theta -= lr * grad on the whole set."""
    rng = np.random.default_rng(3)
    X, y = rng.normal(size=(12, 2)), rng.integers(0, 2, size=12)
    model_a, model_b = mlp(np.random.default_rng(9)), mlp(np.random.default_rng(9))
    fit(model_a, X, y, optim.SGD(0.1), epochs=4, rng=None, l2=0.01)
    for _ in range(4):
        _, grads = model_b.loss(X, y, l2=0.01)
        for name, p in model_b.params().items():
            p -= 0.1 * grads[name]
    for name, p in model_a.params().items():
        np.testing.assert_allclose(p, model_b.params()[name], rtol=1e-13)


def test_fit_drives_nesterov_lookahead():
    rng = np.random.default_rng(4)
    X, y = rng.normal(size=(10, 2)), rng.integers(0, 2, size=10)
    model_a, model_b = mlp(np.random.default_rng(5)), mlp(np.random.default_rng(5))
    fit(model_a, X, y, optim.Nesterov(0.1, beta=0.9), epochs=5, rng=None)
    v = {name: np.zeros_like(p) for name, p in model_b.params().items()}
    for _ in range(5):
        params = model_b.params()
        for name in params:
            params[name] += 0.9 * v[name]  # interim point
        _, grads = model_b.loss(X, y)
        for name in params:
            params[name] -= 0.9 * v[name]
            v[name] = 0.9 * v[name] - 0.1 * grads[name]
            params[name] += v[name]
    for name, p in model_a.params().items():
        np.testing.assert_allclose(p, model_b.params()[name], rtol=1e-12)


@pytest.mark.parametrize("batch_size, steps_per_epoch", [(None, 1), (1, 10), (4, 3), (50, 1)])
def test_number_of_steps_per_mode(batch_size, steps_per_epoch):
    rng = np.random.default_rng(6)
    X, y = rng.normal(size=(10, 2)), rng.integers(0, 2, size=10)
    history = fit(mlp(rng), X, y, optim.SGD(0.01), epochs=3, batch_size=batch_size, rng=rng)
    assert history.steps == 3 * steps_per_epoch
    assert len(history.train_loss) == len(history.train_acc) == 3
    assert history.val_loss == [] and history.best_epoch is None


def test_shuffling_comes_from_rng_only():
    X, y = xor_data(40, np.random.default_rng(7))

    def run(seed):
        model = mlp(np.random.default_rng(0))
        fit(model, X, y, optim.SGD(0.1), epochs=2, batch_size=5,
            rng=np.random.default_rng(seed))
        return model.get_weights()["0.W"]

    np.testing.assert_array_equal(run(1), run(1))
    assert not np.array_equal(run(1), run(2))


@pytest.mark.parametrize("make_data", [xor_data, circles_data])
def test_small_mlp_learns(make_data):
    rng = np.random.default_rng(8)
    X, y = make_data(300, rng)
    X_val, y_val = make_data(100, rng)
    model = mlp(rng, (2, 16, 16, 2))
    history = fit(model, X, y, optim.Adam(0.02), epochs=60, batch_size=32, rng=rng,
                  X_val=X_val, y_val=y_val)
    assert model.accuracy(X, y) > 0.95
    assert history.train_acc[-1] == model.accuracy(X, y)
    assert history.val_acc[-1] > 0.9
    assert history.train_loss[-1] < history.train_loss[0]


def test_binary_logit_output_learns_xor():
    rng = np.random.default_rng(9)
    X, y = xor_data(200, rng)
    model = mlp(rng, (2, 12, 1))
    fit(model, X, y, optim.Momentum(0.1, beta=0.9), epochs=80, batch_size=20, rng=rng,
        loss="bce_logits")
    assert model.accuracy(X, y) > 0.95


def overfitting_setup():
    """Random labels: the validation loss must eventually rise while training memorises."""
    rng = np.random.default_rng(10)
    X, y = rng.normal(size=(30, 4)), rng.integers(0, 2, size=30)
    X_val, y_val = rng.normal(size=(30, 4)), rng.integers(0, 2, size=30)
    return X, y, X_val, y_val


def test_early_stopping_restores_best_weights():
    X, y, X_val, y_val = overfitting_setup()
    kwargs = dict(batch_size=10, X_val=X_val, y_val=y_val)

    model = mlp(np.random.default_rng(11), (4, 32, 2))
    history = fit(model, X, y, optim.Adam(0.02), epochs=200, patience=5,
                  rng=np.random.default_rng(12), **kwargs)
    best = history.best_epoch
    assert history.stopped_early
    assert len(history.val_loss) == best + 1 + 5
    assert history.val_loss[best] == min(history.val_loss)

    # the same run cut off right after the best epoch has exactly the restored weights
    replay = mlp(np.random.default_rng(11), (4, 32, 2))
    fit(replay, X, y, optim.Adam(0.02), epochs=best + 1, rng=np.random.default_rng(12),
        **kwargs)
    for name, p in model.params().items():
        np.testing.assert_array_equal(p, replay.params()[name])
    # ... and differs from where training actually stopped
    last = mlp(np.random.default_rng(11), (4, 32, 2))
    fit(last, X, y, optim.Adam(0.02), epochs=len(history.val_loss),
        rng=np.random.default_rng(12), **kwargs)
    assert not np.array_equal(last.params()["0.W"], model.params()["0.W"])


def test_divergence_raises_with_step():
    rng = np.random.default_rng(13)
    X = rng.normal(size=(20, 3))
    y = X @ np.array([1.0, -2.0, 0.5])
    model = Sequential(layers.Dense(3, 8, rng), layers.ReLU(), layers.Dense(8, 1, rng))
    with pytest.raises(DivergedError) as info:
        fit(model, X, y, optim.SGD(1e3), epochs=500, batch_size=5, rng=rng, loss="mse")
    message = str(info.value)
    assert re.fullmatch(r"loss diverged at step \d+ — learning rate too large\?", message)
    assert f"step {info.value.step} " in message
    assert 1 < info.value.step < 2000


def test_divergence_writes_nothing_to_stderr(capsys):
    rng = np.random.default_rng(14)
    X, y = rng.normal(size=(20, 2)), rng.normal(size=20)
    with pytest.raises(DivergedError):
        fit(mlp(rng, (2, 8, 1), act=layers.ReLU), X, y, optim.SGD(1e8), epochs=200, rng=None,
            loss="mse", progress=True)
    assert capsys.readouterr().err == ""


def test_regression_history_has_nan_accuracy():
    rng = np.random.default_rng(15)
    X = rng.normal(size=(30, 1))
    y = 3 * X[:, 0] + 1
    model = Sequential(layers.Dense(1, 1, rng))
    history = fit(model, X, y, optim.SGD(0.1), epochs=200, rng=None, loss="half_mse")
    assert all(math.isnan(a) for a in history.train_acc)
    assert history.train_loss[-1] < 1e-6
    np.testing.assert_allclose(model.params()["0.W"], [[3.0]], rtol=1e-3)


def test_progress_bar_on_stdout_only(capsys):
    rng = np.random.default_rng(16)
    X, y = rng.normal(size=(10, 2)), rng.integers(0, 2, size=10)
    fit(mlp(rng), X, y, optim.SGD(0.1), epochs=3, rng=None, progress=True)
    captured = capsys.readouterr()
    assert captured.err == ""
    assert "epoch 3/3" in captured.out and "loss" in captured.out
    fit(mlp(rng), X, y, optim.SGD(0.1), epochs=3, rng=None)
    assert capsys.readouterr().out == ""


def test_weights_roundtrip_and_predict():
    rng = np.random.default_rng(17)
    model = mlp(rng, (2, 3, 4))
    saved = model.get_weights()
    model.params()["0.W"] += 1.0
    assert not np.array_equal(saved["0.W"], model.params()["0.W"])
    array_before = model.params()["0.W"]
    model.set_weights(saved)
    assert model.params()["0.W"] is array_before  # in place: optimizers keep their arrays
    np.testing.assert_array_equal(model.params()["0.W"], saved["0.W"])
    X = rng.normal(size=(6, 2))
    np.testing.assert_array_equal(model.predict(X), model.forward(X, train=False).argmax(1))
    with pytest.raises(ValueError, match="0.b"):
        model.set_weights({"0.W": saved["0.W"]})


def test_history_type_and_val_tracking():
    X, y, X_val, y_val = overfitting_setup()
    history = fit(mlp(np.random.default_rng(0), (4, 8, 2)), X, y, optim.SGD(0.05), epochs=4,
                  rng=None, X_val=X_val, y_val=y_val)
    assert isinstance(history, History)
    assert len(history.val_loss) == len(history.val_acc) == 4
    assert history.best_epoch == int(np.argmin(history.val_loss))
    assert not history.stopped_early


def test_bad_fit_arguments():
    rng = np.random.default_rng(18)
    X, y = rng.normal(size=(10, 2)), rng.integers(0, 2, size=10)
    model = mlp(rng)
    with pytest.raises(ValueError, match="10 examples.*9"):
        fit(model, X, y[:9], optim.SGD(0.1), epochs=1, rng=rng)
    with pytest.raises(ValueError, match="validation"):
        fit(model, X, y, optim.SGD(0.1), epochs=1, rng=rng, patience=3)
    with pytest.raises(ValueError, match="unknown loss"):
        fit(model, X, y, optim.SGD(0.1), epochs=1, rng=rng, loss="cross_entropy")
    with pytest.raises(ValueError, match="batch_size"):
        fit(model, X, y, optim.SGD(0.1), epochs=1, rng=rng, batch_size=0)
    with pytest.raises(TypeError, match="rng"):
        fit(model, X, y, optim.SGD(0.1), epochs=1, rng=None, batch_size=2)
    with pytest.raises(ValueError, match="l2"):
        fit(model, X, y, optim.SGD(0.1), epochs=1, rng=rng, l2=-1.0)
    X_bad = X.copy()
    X_bad[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        fit(model, X_bad, y, optim.SGD(0.1), epochs=1, rng=rng)
    with pytest.raises(TypeError):
        fit(model, X, y, optim.SGD(0.1), epochs=1, rng=rng, lr=0.1)
    with pytest.raises(TypeError, match="instance"):
        Sequential(layers.ReLU)


def test_dropout_is_on_for_steps_and_off_for_history():
    rng = np.random.default_rng(19)
    X, y = data.moons(80, rng, noise=0.2)
    model = Sequential(layers.Dense(2, 32, rng), layers.ReLU(), layers.Dropout(0.5, rng),
                       layers.Dense(32, 2, rng))
    history = fit(model, X, y, optim.Adam(0.01), epochs=3, batch_size=16, rng=rng)
    # the recorded loss is the deterministic eval-mode loss of the final weights
    assert history.train_loss[-1] == pytest.approx(model.data_loss(X, y), rel=1e-12)
    assert model.data_loss(X, y) == model.data_loss(X, y)
    train_mode = [model.loss(X, y)[0] for _ in range(2)]
    assert train_mode[0] != train_mode[1]  # a fresh mask each step


def small_cnn(rng):
    return Sequential(layers.Conv2D(1, 4, 3, rng, padding=1), layers.ReLU(),
                      layers.MaxPool2D(2), layers.Flatten(), layers.Dense(4 * 4 * 4, 10, rng))


def test_cnn_gradients_through_the_whole_model():
    rng = np.random.default_rng(20)
    model = Sequential(layers.Conv2D(2, 3, 3, rng, stride=2, padding=1), layers.Tanh(),
                       layers.Flatten(), layers.Dense(3 * 3 * 3, 4, rng))
    X, y = rng.normal(size=(2, 2, 5, 6)), np.array([1, 3])
    _, grads = model.loss(X, y, l2=0.1)
    for name, p in model.params().items():
        numeric = numerical_gradient(lambda _: model.loss(X, y, l2=0.1)[0], p)
        assert relative_error(grads[name], numeric) < 1e-7, name


def test_small_cnn_learns_digits():
    rng = np.random.default_rng(21)
    X, y = data.digits(rng=np.random.default_rng(0))
    X = X[:600].reshape(-1, 1, 8, 8)
    y = y[:600]
    model = small_cnn(rng)
    fit(model, X, y, optim.Adam(0.01), epochs=8, batch_size=32, rng=rng)
    assert model.accuracy(X, y) > 0.9

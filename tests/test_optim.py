"""Optimizers against trajectories written out by hand from the lecture notes' boxes.

Problem used throughout: f(theta) = theta1^2 + 10 theta2^2, gradient (2 theta1, 20 theta2).
Expected values are computed here with plain Python floats, never with nnlab.optim.
"""

import math

import numpy as np
import pytest
from nnlab import optim, surfaces

START = (1.0, -0.5)
STEPS = 4


def grad_f(theta):
    return np.array([2.0 * theta[0], 20.0 * theta[1]])


def g_scalar(i, value):
    """Gradient of coordinate i of f, as a plain float."""
    return (2.0, 20.0)[i] * value


def assert_trajectory(traj, expected):
    expected = np.array(expected)
    assert traj.shape == expected.shape
    np.testing.assert_allclose(traj, expected, rtol=1e-12, atol=1e-15)


def test_sgd_by_hand():
    lr = 0.04
    rows = [list(START)]
    th = list(START)
    for _ in range(STEPS):
        th = [th[i] - lr * g_scalar(i, th[i]) for i in range(2)]
        rows.append(th)
    assert_trajectory(optim.run(optim.SGD(lr), grad_f, START, STEPS), rows)


def test_momentum_by_hand():
    lr, beta = 0.03, 0.8
    th, v = list(START), [0.0, 0.0]
    rows = [list(th)]
    for _ in range(STEPS):
        for i in range(2):
            v[i] = beta * v[i] - lr * g_scalar(i, th[i])
            th[i] = th[i] + v[i]
        rows.append(list(th))
    assert_trajectory(optim.run(optim.Momentum(lr, beta=beta), grad_f, START, STEPS), rows)


def test_nesterov_by_hand():
    lr, beta = 0.03, 0.8
    th, v = list(START), [0.0, 0.0]
    rows = [list(th)]
    for _ in range(STEPS):
        for i in range(2):
            interim = th[i] + beta * v[i]
            v[i] = beta * v[i] - lr * g_scalar(i, interim)
            th[i] = th[i] + v[i]
        rows.append(list(th))
    assert_trajectory(optim.run(optim.Nesterov(lr, beta=beta), grad_f, START, STEPS), rows)


def test_adagrad_by_hand_default_delta():
    lr, delta = 0.5, 1e-7
    th, r = list(START), [0.0, 0.0]
    rows = [list(th)]
    for _ in range(STEPS):
        for i in range(2):
            g = g_scalar(i, th[i])
            r[i] = r[i] + g * g
            th[i] = th[i] - lr / (delta + math.sqrt(r[i])) * g
        rows.append(list(th))
    opt = optim.AdaGrad(lr)
    assert opt.delta == 1e-7
    assert_trajectory(optim.run(opt, grad_f, START, STEPS), rows)


def test_rmsprop_by_hand_delta_inside_sqrt():
    lr, rho, delta = 0.01, 0.9, 1e-6
    th, r = list(START), [0.0, 0.0]
    rows = [list(th)]
    for _ in range(STEPS):
        for i in range(2):
            g = g_scalar(i, th[i])
            r[i] = rho * r[i] + (1 - rho) * g * g
            th[i] = th[i] - lr / math.sqrt(delta + r[i]) * g
        rows.append(list(th))
    opt = optim.RMSProp(lr)
    assert (opt.rho, opt.delta) == (0.9, 1e-6)
    assert_trajectory(optim.run(opt, grad_f, START, STEPS), rows)


def test_rmsprop_delta_placement_matters():
    """With a tiny gradient, delta inside vs outside the sqrt gives clearly different steps."""
    opt = optim.RMSProp(1.0, rho=0.0, delta=1e-6)
    params = {"w": np.array([0.0])}
    opt.step(params, {"w": np.array([1e-3])})
    inside = -1e-3 / math.sqrt(1e-6 + 1e-6)
    outside = -1e-3 / (1e-6 + 1e-3)
    assert params["w"][0] == pytest.approx(inside, rel=1e-12)
    assert abs(inside - outside) > 0.1


def test_rmsprop_nesterov_by_hand():
    lr, rho, beta = 0.01, 0.9, 0.5
    th, v, r = list(START), [0.0, 0.0], [0.0, 0.0]
    rows = [list(th)]
    for _ in range(STEPS):
        for i in range(2):
            interim = th[i] + beta * v[i]
            g = g_scalar(i, interim)
            r[i] = rho * r[i] + (1 - rho) * g * g
            v[i] = beta * v[i] - lr / math.sqrt(r[i]) * g
            th[i] = th[i] + v[i]
        rows.append(list(th))
    opt = optim.RMSPropNesterov(lr, rho=rho, beta=beta)
    assert_trajectory(optim.run(opt, grad_f, START, STEPS), rows)


def test_rmsprop_nesterov_zero_accumulator_gives_zero_not_nan():
    opt = optim.RMSPropNesterov(0.1)
    params = {"w": np.array([1.0, 2.0])}
    for _ in range(3):
        opt.lookahead(params)
        opt.step(params, {"w": np.array([0.5, 0.0])})
    assert np.all(np.isfinite(params["w"]))
    assert params["w"][1] == 2.0
    assert params["w"][0] < 1.0


def test_adam_by_hand():
    lr, rho1, rho2, delta = 0.1, 0.9, 0.999, 1e-8
    th, s, r, t = list(START), [0.0, 0.0], [0.0, 0.0], 0
    rows = [list(th)]
    for _ in range(STEPS):
        t += 1
        for i in range(2):
            g = g_scalar(i, th[i])
            s[i] = rho1 * s[i] + (1 - rho1) * g
            r[i] = rho2 * r[i] + (1 - rho2) * g * g
            s_hat = s[i] / (1 - rho1**t)
            r_hat = r[i] / (1 - rho2**t)
            th[i] = th[i] - lr * s_hat / (math.sqrt(r_hat) + delta)
        rows.append(list(th))
    opt = optim.Adam(lr)
    assert (opt.rho1, opt.rho2, opt.delta) == (0.9, 0.999, 1e-8)
    assert optim.Adam().lr == 0.001
    assert_trajectory(optim.run(opt, grad_f, START, STEPS), rows)


def test_adam_first_step_is_lr_times_sign():
    """t is incremented before bias correction, so step 1 moves each coordinate by ~lr."""
    params = {"w": np.array([3.0, -2.0])}
    optim.Adam(0.1).step(params, {"w": np.array([5.0, -1e-3])})
    np.testing.assert_allclose(params["w"], [2.9, -1.9], rtol=1e-6)


@pytest.mark.parametrize("lambdas", [(1.0, 100.0), (0.5, 200.0)])
def test_momentum_rate_on_ill_conditioned_quadratic(lambdas):
    bowl = surfaces.quadratic(lambdas)
    lambdas = np.array(lambdas)
    kappa = lambdas.max() / lambdas.min()
    alpha = (2.0 / (math.sqrt(lambdas.max()) + math.sqrt(lambdas.min()))) ** 2
    beta = ((math.sqrt(kappa) - 1) / (math.sqrt(kappa) + 1)) ** 2
    np.testing.assert_allclose(bowl.optimal_momentum(), (alpha, beta), rtol=1e-12)
    traj = optim.run(optim.Momentum(alpha, beta=beta), bowl.grad, [1.0, 1.0], 400)
    dist = np.linalg.norm(traj, axis=1)
    k0, k1 = 100, 400
    empirical = (dist[k1] / dist[k0]) ** (1.0 / (k1 - k0))
    predicted = (math.sqrt(kappa) - 1) / (math.sqrt(kappa) + 1)
    assert abs(empirical - predicted) / predicted < 0.05
    # plain gradient descent with its best step is much slower: (kappa-1)/(kappa+1), i.e.
    # it needs about sqrt(kappa)/2 times more steps per digit of accuracy
    gd_rate = (kappa - 1) / (kappa + 1)
    assert math.log(predicted) / math.log(gd_rate) > math.sqrt(kappa) / 2


def test_momentum_matches_pytorch_mapping():
    torch = pytest.importorskip("torch")
    lr, beta = 0.03, 0.8
    theta_t = torch.tensor(START, dtype=torch.float64, requires_grad=True)
    torch_opt = torch.optim.SGD([theta_t], lr=lr, momentum=beta)
    ours = optim.Momentum(lr, beta=beta)
    params = {"w": np.array(START)}
    for _ in range(6):
        torch_opt.zero_grad()
        (theta_t[0] ** 2 + 10 * theta_t[1] ** 2).backward()
        torch_opt.step()
        ours.step(params, {"w": grad_f(params["w"])})
        np.testing.assert_allclose(params["w"], theta_t.detach().numpy(), rtol=1e-12)
        buf = torch_opt.state[theta_t]["momentum_buffer"].numpy()
        np.testing.assert_allclose(-ours.state["w"]["v"] / lr, buf, rtol=1e-10)


def test_nesterov_matches_pytorch_lookahead_points():
    """torch's nesterov=True iterates are our interim points theta + beta * v."""
    torch = pytest.importorskip("torch")
    lr, beta = 0.03, 0.8
    theta_t = torch.tensor(START, dtype=torch.float64, requires_grad=True)
    torch_opt = torch.optim.SGD([theta_t], lr=lr, momentum=beta, nesterov=True)
    ours = optim.Nesterov(lr, beta=beta)
    params = {"w": np.array(START)}
    for _ in range(6):
        torch_opt.zero_grad()
        (theta_t[0] ** 2 + 10 * theta_t[1] ** 2).backward()
        torch_opt.step()
        ours.lookahead(params)
        ours.step(params, {"w": grad_f(params["w"])})
        interim = params["w"] + beta * ours.state["w"]["v"]
        np.testing.assert_allclose(interim, theta_t.detach().numpy(), rtol=1e-12)


def test_lookahead_shifts_then_step_restores():
    opt = optim.Nesterov(0.1, beta=0.5)
    params = {"w": np.array([1.0, 2.0])}
    opt.lookahead(params)
    opt.step(params, {"w": np.array([1.0, 1.0])})  # v = [-0.1, -0.1], w = [0.9, 1.9]
    opt.lookahead(params)
    np.testing.assert_allclose(params["w"], [0.85, 1.85])
    opt.step(params, {"w": np.array([0.0, 0.0])})  # v = [-0.05, -0.05] from w = [0.9, 1.9]
    np.testing.assert_allclose(params["w"], [0.85, 1.85])


def test_nesterov_step_without_lookahead_explains():
    opt = optim.Nesterov(0.1)
    with pytest.raises(RuntimeError, match="lookahead"):
        opt.step({"w": np.zeros(2)}, {"w": np.ones(2)})


def test_lookahead_is_noop_for_plain_methods():
    params = {"w": np.array([1.0, 2.0])}
    for opt in (optim.SGD(0.1), optim.Momentum(0.1), optim.Adam(), optim.AdaGrad(0.1)):
        opt.step(params, {"w": np.ones(2)})
        before = params["w"].copy()
        opt.lookahead(params)
        np.testing.assert_array_equal(params["w"], before)


def test_state_is_kept_per_parameter_name():
    joint = optim.Adam(0.1)
    params = {"a": np.array([1.0, -1.0]), "b": np.array([[2.0]])}
    alone_a, alone_b = optim.Adam(0.1), optim.Adam(0.1)
    pa, pb = {"a": params["a"].copy()}, {"b": params["b"].copy()}
    for k in range(3):
        ga, gb = np.array([0.3 * k + 1, -2.0]), np.array([[0.1 - k]])
        joint.step(params, {"a": ga, "b": gb})
        alone_a.step(pa, {"a": ga})
        alone_b.step(pb, {"b": gb})
    np.testing.assert_array_equal(params["a"], pa["a"])
    np.testing.assert_array_equal(params["b"], pb["b"])


def test_reset_forgets_state():
    opt = optim.Momentum(0.1)
    first = optim.run(opt, grad_f, START, 3)
    opt.step({"x": np.zeros(2)}, {"x": np.ones(2)})
    opt.reset()
    assert opt.state == {}
    np.testing.assert_array_equal(optim.run(opt, grad_f, START, 3), first)


def test_run_shape_and_start_row():
    traj = optim.run(optim.SGD(0.1), grad_f, [3.0, 4.0], 5)
    assert traj.shape == (6, 2)
    np.testing.assert_array_equal(traj[0], [3.0, 4.0])
    assert optim.run(optim.SGD(0.1), grad_f, [3.0, 4.0], 0).shape == (1, 2)


@pytest.mark.parametrize(
    "make, name",
    [
        (lambda: optim.SGD(0.0), "lr"),
        (lambda: optim.SGD(-1.0), "lr"),
        (lambda: optim.SGD(float("nan")), "lr"),
        (lambda: optim.Momentum(0.1, beta=1.0), "beta"),
        (lambda: optim.Nesterov(0.1, beta=-0.1), "beta"),
        (lambda: optim.AdaGrad(0.1, delta=0.0), "delta"),
        (lambda: optim.RMSProp(0.1, rho=1.0), "rho"),
        (lambda: optim.RMSPropNesterov(0.1, beta=1.5), "beta"),
        (lambda: optim.Adam(rho1=1.0), "rho1"),
        (lambda: optim.Adam(rho2=-0.5), "rho2"),
    ],
)
def test_bad_hyperparameters_name_the_parameter(make, name):
    with pytest.raises(ValueError, match=rf"\b{name}\b"):
        make()


def test_unknown_hyperparameter_is_type_error():
    with pytest.raises(TypeError):
        optim.Momentum(0.1, momentum=0.9)


def test_step_checks_keys_and_shapes():
    opt = optim.SGD(0.1)
    with pytest.raises(ValueError, match="'b'"):
        opt.step({"W": np.zeros(2), "b": np.zeros(1)}, {"W": np.zeros(2)})
    with pytest.raises(ValueError, match="'extra'"):
        opt.step({"W": np.zeros(2)}, {"W": np.zeros(2), "extra": np.zeros(2)})
    with pytest.raises(ValueError, match=r"'W'.*\(3,\).*\(2,\)"):
        opt.step({"W": np.zeros(2)}, {"W": np.zeros(3)})
    with pytest.raises(TypeError, match="'W'"):
        opt.step({"W": 1.0}, {"W": 1.0})


def test_shape_change_between_steps_asks_for_reset():
    opt = optim.Momentum(0.1)
    opt.step({"W": np.zeros(2)}, {"W": np.ones(2)})
    with pytest.raises(ValueError, match="reset"):
        opt.step({"W": np.zeros(3)}, {"W": np.ones(3)})


def test_run_diverging_is_quiet_and_pads_with_nan(recwarn):
    traj = optim.run(optim.SGD(1.0), lambda x: 10 * x**3, [10.0], 12)
    assert traj.shape == (13, 1)
    finite = np.isfinite(traj[:, 0])
    first_bad = int(np.argmin(finite))
    assert 1 < first_bad < 12 and finite[:first_bad].all()
    assert np.isnan(traj[first_bad + 1:]).all()
    assert len(recwarn) == 0

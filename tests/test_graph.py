"""Tests for nnlab.graph: Value gradients (hand-worked and random expressions) and draw()."""

import math
import re
import warnings

import matplotlib
import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from nnlab.gradcheck import numerical_gradient, relative_error
from nnlab.graph import Value, draw, topological_order

matplotlib.use("Agg")


# ---------------------------------------------------------------------------
# worked examples from the backpropagation lecture (seed 003), computed by hand


def test_lecture_example_x_plus_y_times_z():
    # q = x + y = 3, f = q z = -12; df/dq = z = -4, df/dz = q = 3, df/dx = df/dy = df/dq * 1
    x, y, z = Value(-2.0, "x"), Value(5.0, "y"), Value(-4.0, "z")
    q = x + y
    f = q * z
    f.backward()
    assert f.data == -12.0
    assert (x.grad, y.grad, z.grad, q.grad, f.grad) == (-4.0, -4.0, 3.0, -4.0, 1.0)
    assert f.op == "*" and q.op == "+" and x.op == ""
    assert f.children == (q, z)


def test_lecture_sigmoid_neuron():
    # w = (2, -3, -3), x = (-1, -2): w0 x0 + w1 x1 + w2 = -2 + 6 - 3 = 1.
    # df/ddot = s (1 - s) with s = 1 / (1 + e^-1); then each weight gets its input times that.
    w0, x0, w1, x1, w2 = (Value(v) for v in (2.0, -1.0, -3.0, -2.0, -3.0))
    f = (w0 * x0 + w1 * x1 + w2).sigmoid()
    f.backward()
    s = 1.0 / (1.0 + math.exp(-1.0))
    local = s * (1.0 - s)
    assert f.data == pytest.approx(s, rel=1e-15)
    assert w0.grad == pytest.approx(-1.0 * local, rel=1e-14)
    assert x0.grad == pytest.approx(2.0 * local, rel=1e-14)
    assert w1.grad == pytest.approx(-2.0 * local, rel=1e-14)
    assert x1.grad == pytest.approx(-3.0 * local, rel=1e-14)
    assert w2.grad == pytest.approx(local, rel=1e-14)
    # The numbers usually quoted for this example.
    assert (round(w0.grad, 2), round(w1.grad, 2), round(w2.grad, 2)) == (-0.2, -0.39, 0.2)


def test_negative_log_sigmoid_gradient_is_sigma_minus_one():
    # e = -log sigma(z), de/dz = sigma(z) - 1, and de/dw_i = (sigma(z) - 1) x_i.
    w = [Value(0.5), Value(-1.5)]
    x = [1.2, 0.7]
    z = w[0] * x[0] + w[1] * x[1]
    e = -(z.sigmoid().log())
    e.backward()
    s = 1.0 / (1.0 + math.exp(-z.data))
    assert e.data == pytest.approx(-math.log(s), rel=1e-14)
    for wi, xi in zip(w, x, strict=True):
        assert wi.grad == pytest.approx((s - 1.0) * xi, rel=1e-13)


def test_max_follows_lecture_rule_including_ties():
    a, b = Value(3.0), Value(1.0)
    m = Value.max(a, b)
    m.backward()
    assert (m.data, a.grad, b.grad) == (3.0, 1.0, 0.0)
    c, d = Value(2.0), Value(2.0)
    t = c.max(d)
    t.backward()
    assert (c.grad, d.grad) == (1.0, 1.0)


def test_reused_node_accumulates_and_backward_is_repeatable():
    x = Value(3.0)
    y = x * x + x  # dy/dx = 2x + 1 = 7
    y.backward()
    assert x.grad == 7.0
    y.backward()  # a second call recomputes rather than doubling
    assert x.grad == 7.0


def test_reflected_operators_and_constants():
    x = Value(2.0)
    for expr, expected_grad in [
        (lambda v: 3 + v, 1.0), (lambda v: 3 - v, -1.0), (lambda v: 3 * v, 3.0),
        (lambda v: 8 / v, -8 / 4.0), (lambda v: 2 ** v, 4.0 * math.log(2.0)),
        (lambda v: v ** 3, 12.0), (lambda v: -v, -1.0), (lambda v: v.relu(), 1.0),
        (lambda v: v.tanh(), 1 - math.tanh(2.0) ** 2), (lambda v: v.exp(), math.exp(2.0)),
        (lambda v: v.log(), 0.5),
    ]:
        out = expr(x)
        out.backward()
        assert x.grad == pytest.approx(expected_grad, rel=1e-14)


def test_sigmoid_is_stable_for_large_arguments():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert Value(-1000.0).sigmoid().data == 0.0
        assert Value(1000.0).sigmoid().data == 1.0


def test_bad_inputs_raise_clear_errors():
    with pytest.raises(TypeError, match="real number"):
        Value("3")
    with pytest.raises(TypeError):
        Value(1.0) + "a"
    with pytest.raises(ValueError, match="non-positive"):
        Value(0.0).log()
    with pytest.raises(ZeroDivisionError):
        Value(1.0) / 0
    with pytest.raises(TypeError, match="Value \\*\\* Value"):
        Value(2.0) ** Value(2.0)


def test_deep_graph_does_not_hit_recursion_limit():
    x = Value(1.0)
    y = x
    for _ in range(5000):
        y = y + 1.0
    y.backward()
    assert x.grad == 1.0
    assert len(topological_order(y)) == 10001  # x, 5000 constants, 5000 sums


# ---------------------------------------------------------------------------
# random expressions against numerical gradients

N_VARS = 3
BINARY = ["+", "-", "*", "/", "max"]
UNARY = ["exp", "log", "tanh", "sigmoid", "relu", "neg", "**2", "**3", "**-1", "**0.5"]


def expressions():
    leaves = st.one_of(
        st.tuples(st.just("var"), st.integers(0, N_VARS - 1)),
        st.tuples(st.just("const"), st.floats(-3, 3, allow_nan=False)),
    )
    return st.recursive(
        leaves,
        lambda sub: st.one_of(
            st.tuples(st.sampled_from(BINARY), sub, sub),
            st.tuples(st.sampled_from(UNARY), sub),
        ),
        max_leaves=8,
    )


class Rejected(Exception):
    """The expression is not smooth or well scaled at this point."""


def evaluate_float(expr, xs):
    """Plain-float evaluator (independent of Value); rejects kinks and bad domains."""
    kind = expr[0]
    if kind == "var":
        return float(xs[expr[1]])
    if kind == "const":
        return expr[1]
    args = [evaluate_float(e, xs) for e in expr[1:]]
    a = args[0]
    if kind in BINARY:
        b = args[1]
        if kind == "/" and abs(b) < 0.2:
            raise Rejected
        if kind == "max" and abs(a - b) < 1e-2:
            raise Rejected
        out = {"+": a + b, "-": a - b, "*": a * b, "/": a / b if b else 0.0, "max": max(a, b)}[kind]
    else:
        if kind == "exp" and a > 5:
            raise Rejected
        if kind == "log" and a < 0.2:
            raise Rejected
        if kind == "relu" and abs(a) < 1e-2:
            raise Rejected
        if kind in ("**-1",) and abs(a) < 0.2:
            raise Rejected
        if kind == "**0.5" and a < 0.2:
            raise Rejected
        out = {
            "exp": lambda: math.exp(a), "log": lambda: math.log(a), "tanh": lambda: math.tanh(a),
            "sigmoid": lambda: 1.0 / (1.0 + math.exp(-a)), "relu": lambda: max(a, 0.0),
            "neg": lambda: -a, "**2": lambda: a * a, "**3": lambda: a * a * a,
            "**-1": lambda: 1.0 / a, "**0.5": lambda: math.sqrt(a),
        }[kind]()
    if not abs(out) < 1e3:
        raise Rejected
    return out


def build_value(expr, xs):
    kind = expr[0]
    if kind == "var":
        return xs[expr[1]]
    if kind == "const":
        return Value(expr[1])
    args = [build_value(e, xs) for e in expr[1:]]
    a = args[0]
    if kind == "+":
        return a + args[1]
    if kind == "-":
        return a - args[1]
    if kind == "*":
        return a * args[1]
    if kind == "/":
        return a / args[1]
    if kind == "max":
        return Value.max(a, args[1])
    if kind == "neg":
        return -a
    if kind.startswith("**"):
        return a ** float(kind[2:])
    return getattr(a, kind)()


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(
    expr=expressions(),
    point=st.lists(st.floats(-2.0, 2.0, allow_nan=False), min_size=N_VARS, max_size=N_VARS),
)
def test_random_expressions_match_numerical_gradient(expr, point):
    x = np.array(point, dtype=np.float64)
    h = 1e-6
    # The smoothness checks must also hold at the perturbed points used by the difference.
    try:
        expected_value = evaluate_float(expr, x)
        for i in range(N_VARS):
            for step in (h, -h):
                shifted = x.copy()
                shifted[i] += step
                evaluate_float(expr, shifted)
    except Rejected:
        assume(False)
    numeric = numerical_gradient(lambda v: evaluate_float(expr, v), x, h=h)

    variables = [Value(float(v)) for v in x]
    out = build_value(expr, variables)
    if not isinstance(out, Value):  # expression without variables
        return
    out.backward()
    analytic = np.array([v.grad for v in variables])
    assert out.data == pytest.approx(expected_value, rel=1e-12, abs=1e-12)
    assert relative_error(analytic, numeric) < 1e-6 or np.max(np.abs(analytic - numeric)) < 1e-7


# ---------------------------------------------------------------------------
# drawing

NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:e[-+]?\d+)?")


def _numbers_in(ax):
    found = []
    for text in ax.texts:
        found.extend(float(m) for m in NUMBER.findall(text.get_text()))
    return found


def _lecture_graphs():
    x, y, z = Value(-2.0, "x"), Value(5.0, "y"), Value(-4.0, "z")
    f1 = (x + y) * z
    w0, x0, w1, x1, w2 = (Value(v, n) for v, n in
                          zip((2.0, -1.0, -3.0, -2.0, -3.0), ("w0", "x0", "w1", "x1", "w2"),
                              strict=True))
    f2 = (w0 * x0 + w1 * x1 + w2).sigmoid()
    v0, v1, u0, u1 = Value(0.5, "w0"), Value(-1.5, "w1"), Value(1.2, "x0"), Value(0.7, "x1")
    f3 = -((v0 * u0 + v1 * u1).sigmoid().log())
    return [f1, f2, f3]


@pytest.mark.parametrize("index", [0, 1, 2])
def test_draw_shows_every_node_value_and_gradient(index):
    import matplotlib.pyplot as plt

    out = _lecture_graphs()[index]
    out.backward()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ax = draw(out)
        ax.figure.canvas.draw()  # full render, so layout warnings would surface too
    try:
        assert isinstance(ax, matplotlib.axes.Axes)
        numbers = _numbers_in(ax)
        nodes = topological_order(out)
        for node in nodes:
            for quantity in (node.data, node.grad):
                assert any(abs(n - quantity) <= 1e-3 * max(1.0, abs(quantity)) for n in numbers), \
                    f"{quantity} of {node!r} not shown"
            if node.label:
                assert any(node.label in t.get_text() for t in ax.texts)
        ops = {node.op for node in nodes if node.op}
        shown = " ".join(t.get_text() for t in ax.texts)
        for op in ops - {"sigmoid", "*", "neg"}:
            assert op in shown
        # one box per node, one circle per operation
        assert len(ax.patches) == len(nodes) + sum(1 for n in nodes if n.op)
        # the output (gradient exactly 1) is the rightmost box
        boxes = [t for t in ax.texts if "data" in t.get_text()]
        rightmost = max(boxes, key=lambda t: t.get_position()[0])
        assert float(NUMBER.findall(rightmost.get_text().split("grad")[1])[0]) == 1.0
        assert sum(1 for t in boxes if t.get_position()[0] == rightmost.get_position()[0]) == 1
    finally:
        plt.close(ax.figure)


def test_draw_into_given_axes_and_rejects_non_values():
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    try:
        x = Value(1.0, "x")
        assert draw(x * 2, ax=ax) is ax
    finally:
        plt.close(fig)
    with pytest.raises(TypeError, match="expected a Value"):
        draw(3.0)

"""Lecture 02 (backpropagation): do its autograded tests tell right answers from wrong ones?

The gate gradients, the chain for dL/db12, the activation and loss derivatives, the two-layer
gradients and the parameter count each get three typical slips (missing 1/n, sign errors,
wrong path) and one correct answer by another route, e.g. through the Value autograd class.
Honest work that merely mentions the library must score full marks: a gradient check with
nnlab.gradcheck next to the answer, and a local variable named like a library function.
"""

from __future__ import annotations

import textwrap

from tests.support.validity import GradingValidity, PartialCredit, messages, points

ASSIGNMENT = "02-backprop"


def src(text: str) -> str:
    return textwrap.dedent(text).strip("\n")


GATE = src("""
    def gate_backward(gate, x, y, upstream):
        if gate == "add":
            return {add}
        if gate == "mul":
            return {mul}
        return {max}
""")

DB12 = src("""
    def dL_db12(x1, y, params, loss="bce"):
        p = params
        a2 = p["w12"] * x1 + p["b12"]
        z1, z2 = max(p["w11"] * x1 + p["b11"], 0.0), max(a2, 0.0)
        z3 = 1 / (1 + np.exp(-(p["w21"] * z1 + p["w22"] * z2 + p["b21"])))
        dL_dz3 = {dL_dz3} if loss == "bce" else z3 - y
        return float(dL_dz3 * z3 * (1 - z3) * {w} * {relu})
""")

ACTIVATIONS = src("""
    def sigmoid_prime(a):
        return {sigmoid}


    def tanh_prime(a):
        return {tanh}


    def relu_prime(a):
        return {relu}
""")
SIGMOID_OK = "functions.sigmoid(a) * (1 - functions.sigmoid(a))"
TANH_OK = "1 - np.tanh(a) ** 2"
RELU_OK = "(np.asarray(a) > 0).astype(float)"

LOSSES = src("""
    def bce_logits_grad(a, y):
        return {bce}


    def softmax_ce_grad(scores, y):
        e = np.exp(scores - scores.max(axis=1, keepdims=True))
        p = e / e.sum(axis=1, keepdims=True)
        return {softmax}
""")
BCE_OK = "(functions.sigmoid(a) - y) / len(a)"
SOFTMAX_OK = "(p - np.eye(scores.shape[1])[y]) / len(y)"

TWO_LAYER = src("""
    def two_layer_loss_grads(X, Y, params, lam=0.0):
        W1, b1, W2, b2 = params["W1"], params["b1"], params["W2"], params["b2"]
        n = X.shape[0]
        Z1 = functions.sigmoid(X @ W1 + b1)
        Z2 = functions.sigmoid(Z1 @ W2 + b2)
        J = -np.sum(Y * np.log(Z2) + (1 - Y) * np.log(1 - Z2)) / n
        J += 0.5 * lam * (np.sum(W1 ** 2) + np.sum(W2 ** 2))
        d2 = {d2}
        d1 = {d1}
        return J, {{"W2": Z1.T @ d2 + lam * W2, "b2": d2.sum(axis=0){b_reg2},
                   "W1": X.T @ d1 + lam * W1, "b1": d1.sum(axis=0){b_reg1}}}
""")
D2_OK = "(Z2 - Y) / n"
D1_OK = "(d2 @ W2.T) * Z1 * (1 - Z1)"

# answer grade_id -> (three wrong answers, one alternative correct answer)
ANSWERS = {
    "gate_backward": (
        [
            GATE.format(add="upstream, upstream", mul="upstream * x, upstream * y",  # no swap
                        max="(upstream, 0.0) if x > y else (0.0, upstream)"),
            GATE.format(add="1.0, 1.0", mul="upstream * y, upstream * x",          # no upstream
                        max="(upstream, 0.0) if x > y else (0.0, upstream)"),
            GATE.format(add="upstream, upstream", mul="upstream * y, upstream * x",
                        max="(upstream, 0.0) if x < y else (0.0, upstream)"),      # to smaller
        ],
        src("""
            def gate_backward(gate, x, y, upstream):
                a, b = Value(x), Value(y)
                out = {"add": a + b, "mul": a * b, "max": a.max(b)}[gate]
                out.backward()
                return upstream * a.grad, upstream * b.grad
        """),
    ),
    "db12_chain": (
        [
            'db12_chain = ["da2/db12", "dz2/da2", "da3/dz2", "dz3/da3", "dL/dz3"]',   # reversed
            'db12_chain = ["dL/da3", "da3/dz2", "dz2/da2", "da2/db12"]',   # not decomposed
            'db12_chain = ["dL/dz3", "dz3/da3", "da3/dz1", "dz1/da1", "da1/db12"]',  # wrong path
        ],
        'db12_chain = ("dL / dz3", "∂z3/∂a3", "da3/dz2", " dz2/da2", "da2/db12")',
    ),
    "dL_db12": (
        [
            DB12.format(dL_dz3="-y / z3 + (1 - y) / (1 - z3)", w='p["w22"]',
                        relu="1.0"),                                   # ReLU indicator missing
            DB12.format(dL_dz3="-y / z3 + (1 - y) / (1 - z3)", w='p["w21"]',
                        relu="(a2 > 0)"),                              # wrong weight
            DB12.format(dL_dz3="y / z3 - (1 - y) / (1 - z3)", w='p["w22"]',
                        relu="(a2 > 0)"),                              # sign error
        ],
        src("""
            def dL_db12(x1, y, params, loss="bce"):
                nodes = {k: Value(v, label=k) for k, v in params.items()}
                z1 = (nodes["w11"] * x1 + nodes["b11"]).relu()
                z2 = (nodes["w12"] * x1 + nodes["b12"]).relu()
                z3 = (nodes["w21"] * z1 + nodes["w22"] * z2 + nodes["b21"]).sigmoid()
                if loss == "bce":
                    L = -(y * z3.log() + (1 - y) * (1 - z3).log())
                else:
                    L = 0.5 * (z3 - y) ** 2
                L.backward()
                return nodes["b12"].grad
        """),
    ),
    "activation_derivatives": (
        [
            ACTIVATIONS.format(sigmoid="a * (1 - a)", tanh=TANH_OK, relu=RELU_OK),
            ACTIVATIONS.format(sigmoid=SIGMOID_OK, tanh="1 - a ** 2", relu=RELU_OK),
            ACTIVATIONS.format(sigmoid=SIGMOID_OK, tanh=TANH_OK, relu="np.maximum(a, 0)"),
            # ReLU'(0) = 1 instead of the stated 0
            ACTIVATIONS.format(sigmoid=SIGMOID_OK, tanh=TANH_OK,
                               relu="(np.asarray(a) >= 0).astype(float)"),
            # the library's derivative, which the exercise asks not to call
            ACTIVATIONS.format(sigmoid="functions.sigmoid_grad(a)", tanh=TANH_OK, relu=RELU_OK),
        ],
        ACTIVATIONS.format(sigmoid="np.exp(-a) / (1 + np.exp(-a)) ** 2",
                           tanh="1 / np.cosh(a) ** 2", relu="np.heaviside(a, 0.0)"),
    ),
    "loss_derivatives": (
        [
            LOSSES.format(bce="functions.sigmoid(a) - y",                         # no 1/n
                          softmax="p - np.eye(scores.shape[1])[y]"),
            LOSSES.format(bce="(y - functions.sigmoid(a)) / len(a)",              # sign error
                          softmax=SOFTMAX_OK),
            LOSSES.format(bce=BCE_OK, softmax="p / len(y)"),                      # no one-hot
        ],
        src("""
            def bce_logits_grad(a, y):
                p = 1 / (1 + np.exp(-np.asarray(a)))
                return (p - y) / np.size(y)


            def softmax_ce_grad(scores, y):
                top = scores.max(axis=1, keepdims=True)
                log_norm = top + np.log(np.exp(scores - top).sum(axis=1, keepdims=True))
                grad = np.exp(scores - log_norm)
                for row, label in enumerate(y):
                    grad[row, label] -= 1.0
                return grad / scores.shape[0]
        """),
    ),
    "two_layer_loss_grads": (
        [
            TWO_LAYER.format(d2="Z2 - Y", d1=D1_OK, b_reg1="", b_reg2=""),       # no 1/n
            TWO_LAYER.format(d2=D2_OK, d1=D1_OK, b_reg1=" + lam * b1",
                             b_reg2=" + lam * b2"),                               # biases decayed
            TWO_LAYER.format(d2=D2_OK, d1="d2 @ W2.T", b_reg1="", b_reg2=""),    # no sigma'
        ],
        # the notes' per-example algorithm: accumulate, then average and regularise
        src("""
            def two_layer_loss_grads(X, Y, params, lam=0.0):
                acc = {k: np.zeros_like(v) for k, v in params.items()}
                total = 0.0
                for x, y in zip(X, Y):
                    z1 = functions.sigmoid(x @ params["W1"] + params["b1"])
                    z2 = functions.sigmoid(z1 @ params["W2"] + params["b2"])
                    total -= np.sum(y * np.log(z2) + (1 - y) * np.log(1 - z2))
                    delta2 = z2 - y
                    delta1 = (params["W2"] @ delta2) * z1 * (1 - z1)
                    acc["W2"] += np.outer(z1, delta2)
                    acc["b2"] += delta2
                    acc["W1"] += np.outer(x, delta1)
                    acc["b1"] += delta1
                n = len(X)
                grads = {k: v / n for k, v in acc.items()}
                grads["W1"] += lam * params["W1"]
                grads["W2"] += lam * params["W2"]
                penalty = 0.5 * lam * sum(np.sum(params[k] ** 2) for k in ("W1", "W2"))
                return total / n + penalty, grads
        """),
    ),
    "count_parameters": (
        [
            src("""
                def count_parameters(layer_sizes):
                    return sum(a * b for a, b in zip(layer_sizes, layer_sizes[1:]))  # no biases
            """),
            src("""
                def count_parameters(layer_sizes):
                    return sum(a * b + a for a, b in zip(layer_sizes, layer_sizes[1:]))
            """),
            src("""
                def count_parameters(layer_sizes):
                    weights = sum(a * b for a, b in zip(layer_sizes, layer_sizes[1:]))
                    return weights + sum(layer_sizes)                   # inputs get biases too
            """),
            src("""
                def count_parameters(layer_sizes):                      # a float, not an int
                    return float(sum((a + 1) * b for a, b in zip(layer_sizes, layer_sizes[1:])))
            """),
        ],
        src("""
            def count_parameters(layer_sizes):
                total = 0
                for k in range(1, len(layer_sizes)):
                    total += layer_sizes[k - 1] * layer_sizes[k]   # weights into layer k
                    total += layer_sizes[k]                        # one bias per unit
                return total
        """),
    ),
}

WRONG = {answer_id: wrong for answer_id, (wrong, _) in ANSWERS.items()}
ALTERNATIVE = {answer_id: alternative for answer_id, (_, alternative) in ANSWERS.items()}


# Honest notebooks that must score full marks.
HONEST = {
    # A local variable named like the library function is not a call of it.
    "activation_derivatives": src("""
        def sigmoid_prime(a):
            sigmoid_grad = functions.sigmoid(a) * (1 - functions.sigmoid(a))
            return sigmoid_grad


        def tanh_prime(a):
            tanh_grad = 1 - np.tanh(a) ** 2
            return tanh_grad


        def relu_prime(a):
            relu_grad = (np.asarray(a) > 0).astype(float)
            return relu_grad
    """),
    # Section 7's advice: check the answer's gradients with nnlab.gradcheck next to it.
    "two_layer_loss_grads": TWO_LAYER.format(d2=D2_OK, d1=D1_OK, b_reg1="", b_reg2="")
    + "\n\n" + src("""


        check_rng = np.random.default_rng(5)
        check_X, check_Y = check_rng.normal(size=(3, 2)), np.array([[1.0], [0.0], [1.0]])
        check_p = {"W1": check_rng.normal(size=(2, 4)), "b1": np.zeros(4),
                   "W2": check_rng.normal(size=(4, 1)), "b2": np.zeros(1)}
        _, check_grads = two_layer_loss_grads(check_X, check_Y, check_p, 0.1)
        for name in check_p:
            def cost(value, name=name):
                changed = dict(check_p, **{name: value})
                return two_layer_loss_grads(check_X, check_Y, changed, 0.1)[0]
            numeric = gradcheck.numerical_gradient(cost, check_p[name].copy())
            print(name, gradcheck.relative_error(check_grads[name], numeric))
    """),
}


class TestGradingValidity(GradingValidity, PartialCredit):
    assignment, wrong, alternative = ASSIGNMENT, WRONG, ALTERNATIVE
    format_only_tests = frozenset({"db12_chain_test"})
    autograded_points = 17
    extra_variants = {"honest": HONEST}

    def test_library_names_and_gradient_checks_cost_nothing(self, graded):
        for answer_id in HONEST:
            got, full = points(graded["honest"], answer_id)
            assert got == full, messages(graded["honest"], answer_id)

    def test_rules_are_named_when_broken(self, graded):
        assert any("ReLU'(0) = 0" in m
                   for m in messages(graded["wrong3"], "activation_derivatives"))
        assert any("nnlab.functions.sigmoid_grad" in m and "without" in m
                   for m in messages(graded["wrong4"], "activation_derivatives"))
        assert any("must be an integer (an int), not a float" in m
                   for m in messages(graded["wrong3"], "count_parameters"))

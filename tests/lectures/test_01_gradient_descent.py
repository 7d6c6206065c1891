"""Lecture 01 (gradient descent): do its autograded tests tell right answers from wrong ones?

Each exercise, from the central-difference derivative to collapsing two linear layers into
one, gets three typical slips and one correct answer written another way; the sandboxed
grader marks them and tests.support.validity says what must hold.
"""

from __future__ import annotations

import textwrap

from tests.support.validity import GradingValidity, PartialCredit, messages

ASSIGNMENT = "01-gradient-descent"


def src(text: str) -> str:
    return textwrap.dedent(text).strip("\n")


# answer grade_id -> (three wrong answers, one alternative correct answer)
ANSWERS = {
    "numerical_derivative": (
        [
            src("""
                def numerical_derivative(f, x, h=1e-5):
                    return (f(x + h) - f(x)) / h          # forward difference
            """),
            src("""
                def numerical_derivative(f, x, h=1e-5):
                    return (f(x + h) - f(x - h)) / h      # missing factor 2
            """),
            src("""
                def numerical_derivative(f, x, h=1e-5):
                    return (f(x + 1e-5) - f(x - 1e-5)) / 2e-5   # ignores the given h
            """),
            src("""
                def numerical_derivative(f, x, h=1e-5):         # the library's, not written
                    return gradcheck.numerical_gradient(lambda v: f(v[0]), np.array([x]), h)[0]
            """),
        ],
        src("""
            def numerical_derivative(f, x, h=1e-5):
                left, right = (f(x + step) for step in (-h, h))   # the two sides, in a loop
                return (right - left) / (h + h)
        """),
    ),
    "largest_stable_lr": (
        [
            "largest_stable_lr = 1 / np.linalg.eigvalsh(H).max()",    # missing factor 2
            "largest_stable_lr = 2 / np.diag(H).max()",               # ignores the coupling
            "largest_stable_lr = 2 / np.linalg.eigvalsh(H).min()",    # wrong eigenvalue
            # just above the limit, where gradient descent diverges
            "largest_stable_lr = 1.005 * 2 / np.linalg.eigvalsh(H).max()",
        ],
        # found by experiment: bisection on whether 2000 GD steps clearly converge
        src("""
            low, high = 0.0, 1.0
            for _ in range(40):
                trial = (low + high) / 2
                w = np.ones(3)
                for _ in range(2000):
                    w = w - trial * H @ w
                    if np.linalg.norm(w) > 1e6:
                        break
                if np.linalg.norm(w) < 1e-3:
                    low = trial
                else:
                    high = trial
            largest_stable_lr = low
        """),
    ),
    "curve_labels": (
        [
            'curve_labels = {"A": "slow", "B": "good", "C": "oscillating", "D": "diverging"}',
            'curve_labels = {"A": "good", "B": "slow", "C": "diverging", "D": "oscillating"}',
            'curve_labels = {"A": "oscillating", "B": "slow", "C": "good", "D": "diverging"}',
        ],
        'curve_labels = dict(zip("ABCD", ["Good", " slow", "OSCILLATING", "diverging"]))',
    ),
    "linreg_loss_grad": (
        [
            src("""
                def linreg_loss_grad(w, X, y):
                    r = y - X @ w
                    return float(r @ r), 2 * X.T @ r              # sign error
            """),
            src("""
                def linreg_loss_grad(w, X, y):
                    r = y - X @ w
                    return float(r @ r), -X.T @ r                 # missing factor 2
            """),
            src("""
                def linreg_loss_grad(w, X, y):
                    r = y - X @ w
                    return float(r @ r) / len(y), -2 * X.T @ r / len(y)   # mean, not sum
            """),
        ],
        src("""
            def linreg_loss_grad(w, X, y):
                residual = y - X.dot(w)
                grad = np.array([-2 * np.sum(residual * X[:, j]) for j in range(X.shape[1])])
                return np.sum(residual ** 2), grad
        """),
    ),
    "gradient_descent": (
        [
            src("""
                def gradient_descent(loss_grad, w0, lr, steps):
                    w, losses = np.array(w0, dtype=float), []
                    for _ in range(steps):
                        loss, grad = loss_grad(w)
                        losses.append(loss)
                        w = w + lr * grad                      # ascent
                    losses.append(loss_grad(w)[0])
                    return w, losses
            """),
            src("""
                def gradient_descent(loss_grad, w0, lr, steps):
                    w, losses = np.array(w0, dtype=float), []
                    for _ in range(steps):
                        loss, grad = loss_grad(w)
                        losses.append(loss)
                        w = w - lr * grad
                    return w, losses                           # final loss missing
            """),
            src("""
                def gradient_descent(loss_grad, w0, lr, steps):
                    w, losses = np.array(w0, dtype=float), []
                    for _ in range(steps):
                        loss, grad = loss_grad(w)
                        losses.append(loss)
                        w = w - grad                           # learning rate forgotten
                    losses.append(loss_grad(w)[0])
                    return w, losses
            """),
            src("""
                def gradient_descent(loss_grad, w0, lr, steps):
                    w, losses = w0, []
                    for _ in range(steps):
                        loss, grad = loss_grad(w)
                        losses.append(loss)
                        w -= lr * grad                         # updates the caller's w0
                    losses.append(loss_grad(w)[0])
                    return w, losses
            """),
        ],
        src("""
            def gradient_descent(loss_grad, w0, lr, steps):
                w = np.copy(w0).astype(float)
                losses = np.empty(steps + 1)
                for k in range(steps + 1):
                    loss, grad = loss_grad(w)
                    losses[k] = loss
                    if k < steps:
                        w -= lr * grad
                return w, losses.tolist()
        """),
    ),
    "minibatch_sgd": (
        [
            src("""
                def minibatch_sgd(X, y, w0, lr, epochs, batch_size, rng):
                    n, w = len(y), np.array(w0, dtype=float)
                    losses = [np.mean((y - X @ w) ** 2)]
                    for _ in range(epochs):
                        perm = np.arange(n)                    # never shuffles
                        for s in range(0, n, batch_size):
                            b = perm[s:s + batch_size]
                            w = w + lr * 2 * X[b].T @ (y[b] - X[b] @ w) / len(b)
                        losses.append(np.mean((y - X @ w) ** 2))
                    return w, losses
            """),
            src("""
                def minibatch_sgd(X, y, w0, lr, epochs, batch_size, rng):
                    n, w = len(y), np.array(w0, dtype=float)
                    losses = [np.mean((y - X @ w) ** 2)]
                    for _ in range(epochs):
                        perm = rng.permutation(n)
                        for s in range(0, n, batch_size):
                            b = perm[s:s + batch_size]
                            w = w + lr * 2 * X[b].T @ (y[b] - X[b] @ w)   # sum, not mean
                        losses.append(np.mean((y - X @ w) ** 2))
                    return w, losses
            """),
            src("""
                def minibatch_sgd(X, y, w0, lr, epochs, batch_size, rng):
                    n, w = len(y), np.array(w0, dtype=float)
                    losses = [np.mean((y - X @ w) ** 2)]
                    perm = rng.permutation(n)                  # one order for all epochs
                    for _ in range(epochs):
                        for s in range(0, n, batch_size):
                            b = perm[s:s + batch_size]
                            w = w + lr * 2 * X[b].T @ (y[b] - X[b] @ w) / len(b)
                        losses.append(np.mean((y - X @ w) ** 2))
                    return w, losses
            """),
        ],
        src("""
            def minibatch_sgd(X, y, w0, lr, epochs, batch_size, rng):
                n = len(y)
                w = np.asarray(w0, dtype=float).copy()
                losses = [np.mean((y - X @ w) ** 2)]
                for _ in range(epochs):
                    order = rng.permutation(n)
                    for batch in np.split(order, np.arange(batch_size, n, batch_size)):
                        _, g = linreg_loss_grad(w, X[batch], y[batch])
                        w = w - lr * g / len(batch)
                    losses.append(np.mean((y - X @ w) ** 2))
                return w, losses
        """),
    ),
    "collapse_linear": (
        [
            src("""
                def collapse_linear(W1, b1, W2, b2):
                    return W2 @ W1, b1 @ W2 + b2               # wrong order
            """),
            src("""
                def collapse_linear(W1, b1, W2, b2):
                    return W1 @ W2, b1 + b2                    # bias not sent through W2
            """),
            src("""
                def collapse_linear(W1, b1, W2, b2):
                    return W1 @ W2, b2                         # first bias dropped
            """),
        ],
        src("""
            def collapse_linear(W1, b1, W2, b2):
                d = W1.shape[0]
                c = (np.zeros((1, d)) @ W1 + b1) @ W2 + b2     # the network at x = 0
                A = (np.eye(d) @ W1 + b1) @ W2 + b2 - c        # its response to each unit input
                return A, c[0]
        """),
    ),
}

WRONG = {answer_id: wrong for answer_id, (wrong, _) in ANSWERS.items()}
ALTERNATIVE = {answer_id: alternative for answer_id, (_, alternative) in ANSWERS.items()}


class TestGradingValidity(GradingValidity, PartialCredit):
    assignment, wrong, alternative = ASSIGNMENT, WRONG, ALTERNATIVE
    format_only_tests = frozenset({"largest_stable_lr_test", "curve_labels_test"})
    autograded_points = 16

    def test_messages_name_the_mistake(self, graded):
        assert any("forward difference" in m
                   for m in messages(graded["wrong0"], "numerical_derivative"))
        assert any("without nnlab.gradcheck" in m and "numerical_gradient" in m
                   for m in messages(graded["wrong3"], "numerical_derivative"))
        assert any("changed its 2nd argument in place" in m
                   for m in messages(graded["wrong3"], "gradient_descent"))

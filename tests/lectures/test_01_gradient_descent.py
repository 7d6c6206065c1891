"""Grading validity of Lecture 01 (gradient descent), through the real sandboxed grader.

For every autograded exercise, three typical wrong answers must lose points on that
exercise's test cells, and one correct answer written differently must get full points.
To keep this fast, variant k replaces every exercise by its k-th wrong answer, so one
grading run checks one wrong answer of each exercise. The model solution must score every
autograded point and the untouched release none.
"""

from __future__ import annotations

import textwrap

import pytest

from tests.support.grading import cells_for, grade_all, variant

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
        ],
        # found by experiment: bisection on whether 2000 GD steps blow up
        src("""
            low, high = 0.0, 1.0
            for _ in range(40):
                trial = (low + high) / 2
                w = np.ones(3)
                for _ in range(2000):
                    w = w - trial * H @ w
                    if np.linalg.norm(w) > 1e6:
                        break
                if np.linalg.norm(w) > np.sqrt(3):
                    high = trial
                else:
                    low = trial
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


@pytest.fixture(scope="module")
def graded():
    variants = {
        "solution": variant(ASSIGNMENT, {}),
        "release": variant(ASSIGNMENT, {}, base="release"),
        "alternatives": variant(ASSIGNMENT, {k: alt for k, (_, alt) in ANSWERS.items()}),
    }
    for k in range(3):
        variants[f"wrong{k}"] = variant(ASSIGNMENT, {a: w[k] for a, (w, _) in ANSWERS.items()})
    results = grade_all(ASSIGNMENT, variants, workers=2)
    for name, result in results.items():
        assert result.status == "ok", f"{name}: {result.status}: {result.message}"
    return results


def points(result, answer_id):
    cells = cells_for(result, answer_id)
    return sum(c.points for c in cells), sum(c.max_points for c in cells)


def autograded(result):
    return [c for c in result.cells.values() if not c.needs_manual]


@pytest.mark.slow
def test_solution_scores_every_autograded_point(graded):
    cells = autograded(graded["solution"])
    failed = [(c.grade_id, c.message) for c in cells if not c.passed]
    assert not failed
    assert sum(c.points for c in cells) == sum(c.max_points for c in cells) == 16


@pytest.mark.slow
def test_untouched_release_scores_nothing(graded):
    assert sum(c.points for c in autograded(graded["release"])) == 0


@pytest.mark.slow
@pytest.mark.parametrize("answer_id", sorted(ANSWERS))
def test_alternative_correct_answer_scores_full_points(graded, answer_id):
    got, full = points(graded["alternatives"], answer_id)
    messages = [c.message for c in cells_for(graded["alternatives"], answer_id)]
    assert got == full, messages


@pytest.mark.slow
@pytest.mark.parametrize("k", range(3))
@pytest.mark.parametrize("answer_id", sorted(ANSWERS))
def test_wrong_answer_loses_points(graded, answer_id, k):
    got, full = points(graded[f"wrong{k}"], answer_id)
    assert got < full, f"wrong answer {k} of {answer_id} scored full points"

"""Lecture 04 (overfitting): do its autograded tests tell right answers from wrong ones?

Cross-validation, the double-descent peak, the L2 and L1 penalties and early stopping each
get three typical slips and one correct answer written another way. One more variant checks
that redefining a function imported from nnlab cannot move the tests' reference.
"""

from __future__ import annotations

import textwrap

import pytest

from autograder import graded_figures
from tests.support.keys import answer, assert_key_unreadable, wrong_keys
from tests.support.validity import GradingValidity, autograded_cells, points

ASSIGNMENT = "04-overfitting"
AUTOGRADED_POINTS = 17


def src(text: str) -> str:
    return textwrap.dedent(text).strip("\n")


CROSS_VALIDATE = src("""
    def cross_validate_width(X, y, widths, k, rng, ridge=1e-3):
        folds = data.kfold_indices(len(X), k, rng)
        scores = np.zeros((len(widths), k))
        for i, width in enumerate(widths):
            {refold}
            for j, (train_idx, val_idx) in enumerate(folds):
                a = fit_output_layer(random_relu_features(X[train_idx], width), y[train_idx],
                                     ridge)
                residual = random_relu_features(X[{scored}], width) @ a - y[{scored}]
                scores[i, j] = np.mean(residual ** 2)
        return widths[int(np.{pick}(scores.mean(axis=1)))], scores
""")

PENALTY = src("""
    def {name}(weights, lam):
        penalty = 0.0
        grads = {{}}
        for name, W in weights.items():
            if {penalised}:
                penalty += {term}
                grads[name] = {grad}
            else:
                grads[name] = np.zeros_like(W)
        return penalty, grads
""")
L2_TERM = "0.5 * lam * float(np.sum(W * W))"
L1_TERM = "lam * float(np.sum(np.abs(W)))"
WEIGHTS_ONLY = 'name.endswith("W")'

EARLY_STOPPING = src("""
    def fit_with_early_stopping(net, X_train, y_train, X_val, y_val, optimizer, max_epochs,
                                patience):
        best_loss, best_epoch, best_weights = np.inf, 0, net.get_weights()
        val_losses = []
        for epoch in range(max_epochs):
            _, grads = net.loss(X_train, y_train)
            optimizer.step(net.params(), grads)
            val_loss = net.data_loss(X_val, y_val)
            val_losses.append(val_loss)
            if val_loss < best_loss:
                best_loss, best_epoch, best_weights = val_loss, epoch, {snapshot}
            if epoch - best_epoch {stop} patience:
                break
        {restore}
        return best_epoch, val_losses, net.get_weights()
""")
RESTORE = "net.set_weights(best_weights)"

# answer grade_id -> (three wrong answers, one alternative correct answer)
ANSWERS = {
    "diagnosis": (
        [
            'diagnosis = {"P": "underfitting", "Q": "good fit", "R": "overfitting"}',
            'diagnosis = {"P": "good fit", "Q": "overfitting", "R": "underfitting"}',
            'diagnosis = {"P": "overfitting", "Q": "underfitting", "R": "good fit"}',
        ],
        'diagnosis = dict(R="underfitting", Q="good fit", P="overfitting")',
    ),
    "cross_validate_width": (
        [
            # new folds for every width: the widths are no longer compared on the same split
            CROSS_VALIDATE.format(refold="folds = data.kfold_indices(len(X), k, rng)",
                                  scored="val_idx", pick="argmin"),
            CROSS_VALIDATE.format(refold="pass", scored="train_idx", pick="argmin"),  # train err
            CROSS_VALIDATE.format(refold="pass", scored="val_idx", pick="argmax"),    # max
        ],
        src("""
            def cross_validate_width(X, y, widths, k, rng, ridge=1e-3):
                folds = data.kfold_indices(X.shape[0], k, rng)
                rows = []
                for width in widths:
                    row = []
                    for tr, va in folds:
                        H_tr = random_relu_features(X[tr], width)
                        H_va = random_relu_features(X[va], width)
                        a = fit_output_layer(H_tr, y[tr], ridge)
                        row.append(float(((H_va @ a - y[va]) ** 2).mean()))
                    rows.append(row)
                scores = np.array(rows)
                means = list(scores.mean(axis=1))
                return widths[means.index(min(means))], scores
        """),
    ),
    "peak_width": (
        ["peak_width = 1", "peak_width = 600", "peak_width = 60"],
        "peak_width = float(len(X_fit))",
    ),
    "l2_penalty": (
        [
            PENALTY.format(name="l2_penalty", penalised=WEIGHTS_ONLY,          # no 1/2
                           term="lam * float(np.sum(W * W))", grad="lam * W"),
            PENALTY.format(name="l2_penalty", penalised=WEIGHTS_ONLY,          # gradient 2 lam W
                           term=L2_TERM, grad="2 * lam * W"),
            PENALTY.format(name="l2_penalty", penalised="True",                # biases decayed
                           term=L2_TERM, grad="lam * W"),
        ],
        src("""
            def l2_penalty(weights, lam):
                grads = {k: (lam * w if k.endswith("W") else 0.0 * w) for k, w in weights.items()}
                penalty = lam / 2 * sum(np.vdot(w, w) for k, w in weights.items()
                                        if k.endswith("W"))
                return float(penalty), grads
        """),
    ),
    "l1_penalty": (
        [
            PENALTY.format(name="l1_penalty", penalised=WEIGHTS_ONLY,          # L2's gradient
                           term=L1_TERM, grad="lam * W"),
            PENALTY.format(name="l1_penalty", penalised=WEIGHTS_ONLY,          # +lam at w = 0
                           term=L1_TERM, grad="np.where(W >= 0, lam, -lam)"),
            PENALTY.format(name="l1_penalty", penalised="True",                # biases too
                           term=L1_TERM, grad="lam * np.sign(W)"),
        ],
        src("""
            def l1_penalty(weights, lam):
                penalty, grads = 0.0, {}
                for key, W in weights.items():
                    is_weight = key.endswith("W")
                    penalty += lam * np.linalg.norm(W.ravel(), 1) if is_weight else 0.0
                    sign = (W > 0).astype(float) - (W < 0).astype(float)
                    grads[key] = lam * sign if is_weight else np.zeros(W.shape)
                return float(penalty), grads
        """),
    ),
    "fit_with_early_stopping": (
        [
            EARLY_STOPPING.format(snapshot="net.get_weights()", stop=">=",
                                  restore="pass"),                        # never restores
            EARLY_STOPPING.format(snapshot="net.get_weights()", stop=">",
                                  restore=RESTORE),                       # patience off by one
            EARLY_STOPPING.format(snapshot="net.params()", stop=">=",
                                  restore=RESTORE),                       # keeps a reference
        ],
        src("""
            def fit_with_early_stopping(net, X_train, y_train, X_val, y_val, optimizer,
                                        max_epochs, patience):
                history, best, wait, epoch, saved = [], None, 0, 0, None
                while epoch < max_epochs:
                    optimizer.step(net.params(), net.loss(X_train, y_train)[1])
                    history.append(float(net.data_loss(X_val, y_val)))
                    if best is None or history[-1] < history[best]:
                        best, wait = epoch, 0
                        saved = {k: v.copy() for k, v in net.params().items()}
                    else:
                        wait += 1
                        if wait >= patience:
                            break
                    epoch += 1
                net.set_weights(saved)
                return best, history, net.get_weights()
        """),
    ),
}

WRONG = {answer_id: wrong for answer_id, (wrong, _) in ANSWERS.items()}
ALTERNATIVE = {answer_id: alternative for answer_id, (_, alternative) in ANSWERS.items()}


# An answer cell that redefines a helper the notebook imports from nnlab (here: the hidden layer
# without its ReLU) and uses it consistently. The tests' reference takes nnlab's helpers, which
# the student's kernel cannot change, so this must lose points.
SHADOWED_HELPER = src("""
    def random_relu_features(X, width, seed=0):
        gen = np.random.default_rng(seed)
        W = gen.normal(size=(X.shape[1], width)) * 2.0 / np.sqrt(X.shape[1])
        return X @ W + gen.uniform(-1.0, 1.0, size=width)
""") + "\n\n\n" + CROSS_VALIDATE.format(refold="pass", scored="val_idx", pick="argmin")


class TestGradingValidity(GradingValidity):
    assignment, wrong, alternative = ASSIGNMENT, WRONG, ALTERNATIVE
    autograded_points = AUTOGRADED_POINTS
    extra_variants = {"shadowed_helper": {"cross_validate_width": SHADOWED_HELPER}}

    @pytest.mark.slow
    def test_redefining_an_nnlab_helper_does_not_change_the_reference(self, graded):
        got, full = points(graded["shadowed_helper"], "cross_validate_width")
        assert got < full, "a redefined random_relu_features changed what the test expects"
        others = [c for c in autograded_cells(graded["shadowed_helper"])
                  if not c.grade_id.startswith("cross_validate_width_test")]
        failing = [c.message for c in others if not c.passed]
        assert others and not failing, failing


# --------------------------------------------- the model labels are a key the grader holds

# The figure is released as an image drawn from the key in the hidden test, so the answers
# above are rewritten from that key rather than spelled out here.
DIAGNOSIS_KEY = graded_figures.key_in(ASSIGNMENT)
WRONG["diagnosis"] = [answer("diagnosis", key) for key in wrong_keys(DIAGNOSIS_KEY)]
ALTERNATIVE["diagnosis"] = "diagnosis = dict({})".format(
    ", ".join(f"{label}={DIAGNOSIS_KEY[label]!r}" for label in reversed(DIAGNOSIS_KEY)))


def test_diagnosis_labels_cannot_be_read_from_the_release():
    assert sorted(DIAGNOSIS_KEY) == ["P", "Q", "R"]
    assert sorted(DIAGNOSIS_KEY.values()) == sorted(graded_figures.DIAGNOSIS_DEGREES)
    assert_key_unreadable(ASSIGNMENT, DIAGNOSIS_KEY)

"""Lecture 04 (overfitting): do its autograded tests tell right answers from wrong ones?

Cross-validation, the double-descent peak, the L2 and L1 penalties and early stopping each
get three typical slips and one correct answer written another way. Cross-validation and early
stopping are graded in parts, so each slip costs only its own part. More variants check that
redefining a function imported from nnlab cannot move the tests' reference, and that a
transposed cross-validation table is reported as a transpose and not as a wrong width. Early
stopping must be written without nnlab.model.fit: an answer that calls it loses those parts,
while a scratch cell comparing the loop with fit costs nothing.
"""

from __future__ import annotations

import textwrap

import pytest

from autograder import graded_figures
from tests.support.grading import grade_all, variant
from tests.support.keys import answer, assert_key_unreadable, wrong_keys
from tests.support.validity import GradingValidity, PartialCredit, autograded_cells, points
from tests.support.visible import assert_says_format_only, visible_output, with_scratch_cell

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


# The model solution with its table transposed: (k, len(widths)) instead of (len(widths), k).
CV_TRANSPOSED = src("""
    def cross_validate_width(X, y, widths, k, rng, ridge=1e-3):
        folds = data.kfold_indices(len(X), k, rng)
        scores = np.zeros((k, len(widths)))
        for i, width in enumerate(widths):
            for j, (train_idx, val_idx) in enumerate(folds):
                a = fit_output_layer(random_relu_features(X[train_idx], width), y[train_idx],
                                     ridge)
                residual = random_relu_features(X[val_idx], width) @ a - y[val_idx]
                scores[j, i] = np.mean(residual ** 2)
        return widths[int(np.argmin(scores.mean(axis=0)))], scores
""")


# Early stopping handed to the library: the rule of the exercise is broken.
CALLS_FIT = src("""
    def fit_with_early_stopping(net, X_train, y_train, X_val, y_val, optimizer, max_epochs,
                                patience):
        history = model.fit(net, X_train, y_train, optimizer, epochs=max_epochs, rng=None,
                            X_val=X_val, y_val=y_val, patience=patience)
        return history.best_epoch, list(history.val_loss), net.get_weights()
""")

# A scratch cell the student added after the answer: their loop against the library's.
DEBUG_CELL = src("""
    net_a, net_b = mlp([16]), mlp([16])
    mine = fit_with_early_stopping(net_a, X_train, y_train, X_val, y_val, optim.Adam(0.02), 100, 5)
    theirs = model.fit(net_b, X_train, y_train, optim.Adam(0.02), epochs=100, rng=None,
                       X_val=X_val, y_val=y_val, patience=5)
    print("same best epoch as nnlab:", mine[0] == theirs.best_epoch)
""")
EARLY_PARTS = [f"fit_with_early_stopping_test{suffix}" for suffix in ("", "2", "3")]


# visible test cell -> a well-formed answer whose value is wrong
FORMAT_ONLY = {
    "diagnosis_test": 'diagnosis = {"P": "good fit", "Q": "good fit", "R": "good fit"}',
    "peak_width_test": "peak_width = 3",
}


class TestGradingValidity(GradingValidity, PartialCredit):
    assignment, wrong, alternative = ASSIGNMENT, WRONG, ALTERNATIVE
    format_only_tests = frozenset(FORMAT_ONLY)
    autograded_points = AUTOGRADED_POINTS
    extra_variants = {
        "shadowed_helper": {"cross_validate_width": SHADOWED_HELPER},
        "cv_transposed": {"cross_validate_width": CV_TRANSPOSED},
        "calls_fit": {"fit_with_early_stopping": CALLS_FIT},
    }

    @pytest.fixture(scope="class")
    @classmethod
    def debug_cell(cls):
        nb = with_scratch_cell(variant(ASSIGNMENT, {}), "fit_with_early_stopping", DEBUG_CELL)
        result = grade_all(ASSIGNMENT, {"debug_cell": nb}, workers=1)["debug_cell"]
        assert result.status == "ok", result.message
        return result

    @pytest.mark.slow
    def test_calling_fit_loses_the_early_stopping_parts_only(self, graded):
        cells = graded["calls_fit"].cells
        for gid in EARLY_PARTS:
            assert not cells[gid].passed and "nnlab.training.fit" in cells[gid].message, (
                cells[gid].message)
        others = [c for gid, c in cells.items() if gid not in EARLY_PARTS and not c.needs_manual]
        assert others and all(c.passed for c in others)

    @pytest.mark.slow
    def test_a_scratch_cell_comparing_with_fit_costs_nothing(self, debug_cell):
        failed = {gid: c.message for gid, c in debug_cell.cells.items()
                  if not c.needs_manual and not c.passed}
        assert not failed
        assert sum(c.points for c in autograded_cells(debug_cell)) == AUTOGRADED_POINTS

    @pytest.mark.slow
    def test_transposed_table_loses_the_shape_and_values_but_not_the_width(self, graded):
        result = graded["cv_transposed"]
        shape = result.cells["cross_validate_width_test"]
        assert not shape.passed and "transpose" in shape.message, shape.message
        assert not result.cells["cross_validate_width_test2"].passed
        # The width is right; the table's orientation must not make it look wrong.
        assert result.cells["cross_validate_width_test3"].passed
        messages = " ".join(c.message for c in result.cells.values())
        assert "constant factor" not in messages, messages

    @pytest.mark.slow
    @pytest.mark.parametrize(("variant", "failing"), [
        ("wrong0", "fit_with_early_stopping_test3"),  # never restores: only the restore part
        ("wrong1", "fit_with_early_stopping_test2"),  # patience off by one: only the stop part
        ("wrong2", "fit_with_early_stopping_test3"),  # live weights, not a copy: restore part
    ])
    def test_each_early_stopping_slip_costs_only_its_own_part(self, graded, variant, failing):
        parts = [f"fit_with_early_stopping_test{suffix}" for suffix in ("", "2", "3")]
        result = graded[variant]
        assert [gid for gid in parts if not result.cells[gid].passed] == [failing], (
            {gid: result.cells[gid].message for gid in parts})

    def test_a_transposed_table_is_reported_as_such_by_the_visible_test(self):
        with pytest.raises(AssertionError, match="transpose"):
            visible_output(ASSIGNMENT, "cross_validate_width_test", CV_TRANSPOSED)

    def test_live_weights_are_caught_by_the_visible_test(self):
        """The student sees this mistake before submitting: the visible lines alone fail it."""
        live = EARLY_STOPPING.format(snapshot="net.params()", stop=">=", restore=RESTORE)
        with pytest.raises(AssertionError, match="keep a copy"):
            visible_output(ASSIGNMENT, "fit_with_early_stopping_test3", live)

    @pytest.mark.slow
    def test_redefining_an_nnlab_helper_does_not_change_the_reference(self, graded):
        got, full = points(graded["shadowed_helper"], "cross_validate_width")
        assert got < full, "a redefined random_relu_features changed what the test expects"
        others = [c for c in autograded_cells(graded["shadowed_helper"])
                  if not c.grade_id.startswith("cross_validate_width_test")]
        failing = [c.message for c in others if not c.passed]
        assert others and not failing, failing


@pytest.mark.parametrize("test_id", sorted(FORMAT_ONLY))
def test_a_visible_test_that_checks_only_the_form_says_so(test_id):
    assert_says_format_only(ASSIGNMENT, test_id, FORMAT_ONLY[test_id])
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

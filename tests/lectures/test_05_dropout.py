"""Lecture 05 (dropout): do its autograded tests tell right answers from wrong ones?

Counting thinned networks, the dropout layer, expected activations, weight scaling at test
time and reading the runs off the table each get three typical slips (drop and keep
probability swapped, no rescaling, biases scaled) and one correct answer written another way.
Slips the visible tests must catch are among them: a count that is not an exact int,
scale_at_test's backward pass rescaled, p taken for the keep probability at p != 0.5, weights
scaled in place. The dropout layer must be written without nnlab.layers.Dropout: an answer
whose forward pass uses the layer loses that part only, and honest notebooks (a scratch cell
comparing with the layer, a local variable named Dropout) keep every point.
"""

from __future__ import annotations

import pytest

from tests.support.grading import grade_all, variant
from tests.support.validity import GradingValidity, PartialCredit, assert_full_automatic_marks
from tests.support.visible import assert_says_format_only, visible_output, with_scratch_cell

ASSIGNMENT = "05-dropout"

THINNED = '''
def count_thinned_networks(m):
    return {count}


def kept_units_pmf(m, p):
    q = 1.0 - p
    return np.array([{term} for k in range({stop})])
'''

DROPOUT = '''
def dropout_forward(x, p, rng, train=True, mode="inverted"):
    x = np.asarray(x, dtype=float)
    if not train {test_dropout}:
        return (x.copy() if mode == "inverted" else (1.0 - p) * x), None
    mask = rng.random(x.shape) >= p
    out = x * mask
    if mode == "inverted":
        out = out / {scale}
    return out, mask


def dropout_backward(dout, mask, p, mode="inverted"):
    dout = np.asarray(dout, dtype=float)
    dx = dout * {backward_mask}
    if mode == "inverted":
        dx = dx / {scale}
    return dx
'''

EXPECTED = '''
w_dot_z = 0.4 * 1.0 - 0.2 * 2.0 + 1.0 * 0.5 + 0.3 * 3.0
expected_train_standard = {standard}
test_time_standard = {standard}
expected_train_inverted = {inverted}
test_time_inverted = {inverted}
'''

SCALE_FOR_TEST = '''
def scale_for_test(params, drop_probs):
    probs = list(drop_probs)
    return [({weight}, {bias}) for l, (W, b) in enumerate(params) for p in [probs[l]]]
'''

WRONG = {
    "thinned_networks": [
        # 2m networks; distribution of the DROPPED units (p as the success probability)
        THINNED.format(count="2 * m", term="math.comb(m, k) * p**k * q ** (m - k)",
                       stop="m + 1"),
        # m squared networks; binomial coefficient forgotten
        THINNED.format(count="m**2", term="q**k * p ** (m - k)", stop="m + 1"),
        # the empty network left out; k = m missing
        THINNED.format(count="2**m - 1", term="math.comb(m, k) * q**k * p ** (m - k)",
                       stop="m"),
        # a float: exact for 2**100, but not the exact int the text asks for
        THINNED.format(count="math.pow(2, m)", term="math.comb(m, k) * q**k * p ** (m - k)",
                       stop="m + 1"),
    ],
    "dropout_layer": [
        DROPOUT.format(test_dropout="", scale="p", backward_mask="mask"),  # divides by p
        # inverted mode without rescaling
        DROPOUT.format(test_dropout="", scale="1.0", backward_mask="mask"),
        # drops units at test time too, and backward ignores the mask
        DROPOUT.format(test_dropout="and False", scale="(1.0 - p)", backward_mask="1.0"),
        # scale_at_test's backward pass divided by 1 - p as if it were inverted
        DROPOUT.format(test_dropout="", scale="(1.0 - p)", backward_mask="mask").replace(
            'dx = dout * mask\n    if mode == "inverted":\n        dx = dx / (1.0 - p)',
            "dx = dout * mask / (1.0 - p)"),
    ],
    "expected_activation": [
        # no factor 1 - p under the lecture's scheme; inverted expectation divided by 1 - p
        EXPECTED.format(standard="0.1 + w_dot_z", inverted="0.1 + w_dot_z / 0.75"),
        # p (drop probability) used as the keep probability
        EXPECTED.format(standard="0.1 + 0.25 * w_dot_z", inverted="0.1 + w_dot_z"),
        # bias scaled as well; inverted forgets the bias
        EXPECTED.format(standard="0.75 * (0.1 + w_dot_z)", inverted="w_dot_z"),
    ],
    "scale_for_test": [
        SCALE_FOR_TEST.format(weight="W * (1 - p)", bias="b * (1 - p)"),  # biases scaled
        SCALE_FOR_TEST.format(weight="W * p", bias="b"),  # drop instead of keep probability
        SCALE_FOR_TEST.format(weight="W / (1 - p)", bias="b"),  # inverted factor
        # right values, but the caller's weights are scaled in place
        """
def scale_for_test(params, drop_probs):
    for (W, b), p in zip(params, drop_probs):
        W *= 1.0 - p
    return params
""",
    ],
    "best_config": [
        # the run with the lowest validation loss at any epoch (the early-stopping minimum)
        "best_p = min(P_VALUES, key=lambda p: min(histories[p].val_loss))\n"
        "best_final_val_loss = min(histories[best_p].val_loss)\n",
        # right run, but its lowest instead of its final validation loss
        "best_p = min(P_VALUES, key=lambda p: histories[p].val_loss[-1])\n"
        "best_final_val_loss = min(histories[best_p].val_loss)\n",
        # judged by the training loss
        "best_p = min(P_VALUES, key=lambda p: histories[p].train_loss[-1])\n"
        "best_final_val_loss = histories[best_p].train_loss[-1]\n",
    ],
    "ensemble_choice": [
        'ensemble_choice = "A"\n',
        'ensemble_choice = "B"\n',
        'ensemble_choice = "D"\n',
    ],
}

ALTERNATIVE = {
    "thinned_networks": '''
def count_thinned_networks(m):
    return 1 << m


def kept_units_pmf(m, p):
    pmf = np.array([1.0])
    for _ in range(m):  # add one unit: dropped (index stays) or kept (index + 1)
        pmf = np.convolve(pmf, [p, 1.0 - p])
    return pmf
''',
    "dropout_layer": '''
def dropout_forward(x, p, rng, train=True, mode="inverted"):
    x = np.asarray(x, dtype=float)
    if train:
        keep = ~(rng.random(x.shape) < p)
        factor = 1.0 / (1.0 - p) if mode == "inverted" else 1.0
        return np.where(keep, x * factor, 0.0), keep
    return x * (1.0 if mode == "inverted" else 1.0 - p), None


def dropout_backward(dout, mask, p, mode="inverted"):
    factor = 1.0 / (1.0 - p) if mode == "inverted" else 1.0
    return np.where(mask, np.asarray(dout, dtype=float) * factor, 0.0)
''',
    "expected_activation": '''
expected_train_standard = test_time_standard = 1.15
expected_train_inverted = 0.1 + sum(w * z for w, z in zip([0.4, -0.2, 1.0, 0.3],
                                                          [1.0, 2.0, 0.5, 3.0]))
test_time_inverted = 1.5
''',
    "scale_for_test": '''
def scale_for_test(params, drop_probs):
    scaled = []
    for (W, b), p in zip(params, drop_probs):
        scaled.append((np.multiply(W, 1.0 - p), np.array(b, copy=True)))
    return scaled
''',
    "best_config": '''
best_p = 0.5  # read off the table
best_final_val_loss = 0.169
''',
    "ensemble_choice": 'ensemble_choice = "c".upper()\n',
}


SOLUTION_DROPOUT = DROPOUT.format(test_dropout="", scale="(1.0 - p)", backward_mask="mask")

# The forward pass delegated to the library, the backward pass written by hand.
LIBRARY_FORWARD = '''
def dropout_forward(x, p, rng, train=True, mode="inverted"):
    layer = Dropout(p, rng, mode=mode)
    out = layer.forward(np.asarray(x, dtype=float), train=train)
    return out, (layer.mask if train else None)


def dropout_backward(dout, mask, p, mode="inverted"):
    dx = np.asarray(dout, dtype=float) * mask
    return dx / (1.0 - p) if mode == "inverted" else dx
'''

# Honest: a local variable named like the forbidden class.
NAMED_LIKE_THE_LIBRARY = '''
def dropout_forward(x, p, rng, train=True, mode="inverted"):
    x = np.asarray(x, dtype=float)
    if not train:
        return (x if mode == "inverted" else (1.0 - p) * x), None
    Dropout = rng.random(x.shape) >= p  # the keep-mask
    scale = 1.0 / (1.0 - p) if mode == "inverted" else 1.0
    return x * Dropout * scale, Dropout


def dropout_backward(dout, mask, p, mode="inverted"):
    Dropout = 1.0 / (1.0 - p) if mode == "inverted" else 1.0
    return np.asarray(dout, dtype=float) * mask * Dropout
'''

# Honest: a scratch cell after the answer that compares it with the library.
DEBUG_CELL = """
x_try = np.arange(6.0).reshape(2, 3)
mine, _ = dropout_forward(x_try, 0.4, np.random.default_rng(3))
theirs = Dropout(0.4, np.random.default_rng(3)).forward(x_try)
print("same as nnlab:", np.allclose(mine, theirs))
"""


# visible test cell -> a well-formed answer whose value is wrong
FORMAT_ONLY = {
    "expected_activation_test": "expected_train_standard = test_time_standard = 2.0",
    "expected_activation_test2": "expected_train_inverted = test_time_inverted = 2.0",
    "best_config_test": "best_p = 0.2\nbest_final_val_loss = 0.5",
    "ensemble_choice_test": 'ensemble_choice = "A"',
}


class TestGradingValidity(GradingValidity, PartialCredit):
    assignment, wrong, alternative = ASSIGNMENT, WRONG, ALTERNATIVE
    format_only_tests = frozenset(FORMAT_ONLY)
    autograded_points = 13

    @pytest.fixture(scope="class")
    @classmethod
    def rule_variants(cls):
        variants = {
            "library_forward": variant(ASSIGNMENT, {"dropout_layer": LIBRARY_FORWARD}),
            "named_like_the_library": variant(ASSIGNMENT,
                                              {"dropout_layer": NAMED_LIKE_THE_LIBRARY}),
            "debug_cell": with_scratch_cell(
                variant(ASSIGNMENT, {"dropout_layer": SOLUTION_DROPOUT}), "dropout_layer",
                DEBUG_CELL),
        }
        results = grade_all(ASSIGNMENT, variants, workers=2)
        for name, result in results.items():
            assert result.status == "ok", (name, result.message)
        return results

    @pytest.mark.slow
    def test_forward_with_the_library_loses_the_forward_part_only(self, rule_variants):
        cells = rule_variants["library_forward"].cells
        forward, backward = cells["dropout_layer_test"], cells["dropout_layer_test2"]
        assert not forward.passed and "nnlab.layers.Dropout" in forward.message, forward.message
        assert backward.passed, backward.message

    @pytest.mark.slow
    @pytest.mark.parametrize("name", ["named_like_the_library", "debug_cell"])
    def test_honest_notebooks_score_full_marks(self, rule_variants, name):
        assert_full_automatic_marks(rule_variants[name], 13)


@pytest.mark.parametrize("test_id", sorted(FORMAT_ONLY))
def test_a_visible_test_that_checks_only_the_form_says_so(test_id):
    assert_says_format_only(ASSIGNMENT, test_id, FORMAT_ONLY[test_id])


# Slips the student must see before submitting: (visible test cell, answer, message fragment)
VISIBLE_CATCHES = {
    "count_as_float": ("thinned_networks_test", WRONG["thinned_networks"][3], "a Python int"),
    "scale_at_test_backward_rescaled": ("dropout_layer_test2", WRONG["dropout_layer"][3],
                                        "scale_at_test mode"),
    "drop_for_keep_probability": ("scale_for_test_test", WRONG["scale_for_test"][1],
                                  "KEEP probability"),
    "weights_scaled_in_place": ("scale_for_test_test", WRONG["scale_for_test"][3], "in place"),
}


@pytest.mark.parametrize("case", sorted(VISIBLE_CATCHES))
def test_the_visible_test_catches_the_slip(case):
    test_id, answer, fragment = VISIBLE_CATCHES[case]
    with pytest.raises(AssertionError, match=fragment):
        visible_output(ASSIGNMENT, test_id, answer)


def test_the_visible_test_enforces_the_rule_before_submission():
    with pytest.raises(AssertionError, match="nnlab.layers.Dropout"):
        visible_output(ASSIGNMENT, "dropout_layer_test", LIBRARY_FORWARD)
    # the backward part, written by hand, passes on the same answer
    visible_output(ASSIGNMENT, "dropout_layer_test2", LIBRARY_FORWARD)

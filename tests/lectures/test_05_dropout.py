"""Lecture 05 (dropout): do its autograded tests tell right answers from wrong ones?

Counting thinned networks, the dropout layer, expected activations, weight scaling at test
time and reading the runs off the table each get three typical slips (drop and keep
probability swapped, no rescaling, biases scaled) and one correct answer written another way.
"""

from __future__ import annotations

from tests.support.validity import GradingValidity

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
    ],
    "dropout_layer": [
        DROPOUT.format(test_dropout="", scale="p", backward_mask="mask"),  # divides by p
        # inverted mode without rescaling
        DROPOUT.format(test_dropout="", scale="1.0", backward_mask="mask"),
        # drops units at test time too, and backward ignores the mask
        DROPOUT.format(test_dropout="and False", scale="(1.0 - p)", backward_mask="1.0"),
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


class TestGradingValidity(GradingValidity):
    assignment, wrong, alternative = ASSIGNMENT, WRONG, ALTERNATIVE
    autograded_points = 13

"""Lecture 03 (optimizers): do its autograded tests tell right answers from wrong ones?

Momentum, AdaGrad, RMSProp and Adam steps, the optimal GD rate and the quiz answers each get
three typical slips (delta inside or outside the root, no bias correction, stale state) and
one correct answer written another way. The "solve it without nnlab.optim" rule is judged on
what the answer calls: calling the library loses the points, while a debug comparison with
nnlab.optim in the answer cell costs nothing; updating the given arrays in place loses points
where the text asks for new arrays.
"""

from __future__ import annotations

import textwrap

from tests.support.validity import GradingValidity, PartialCredit, messages, points

ASSIGNMENT = "03-optimizers"
AUTOGRADED_POINTS = 21


def src(text: str) -> str:
    return textwrap.dedent(text).strip("\n")


MOMENTUM = src("""
    def momentum_step(theta, g, v, lr, beta):
        v_new = {v_new}
        theta_new = {theta_new}
        return theta_new, v_new
""")

ADAGRAD = src("""
    def adagrad_step(theta, g, r, lr, delta=1e-7):
        r_new = {r_new}
        theta_new = {theta_new}
        return theta_new, r_new
""")

RMSPROP = src("""
    def rmsprop_step(theta, g, r, lr, rho=0.9, delta=1e-6):
        r_new = {r_new}
        theta_new = {theta_new}
        return theta_new, r_new
""")

ADAM = src("""
    def adam_step(theta, g, s, r, t, lr=0.001, rho1=0.9, rho2=0.999, delta=1e-8):
        s_new = rho1 * s + (1 - rho1) * g
        r_new = rho2 * r + (1 - rho2) * g * g
        s_hat = {s_hat}
        r_hat = {r_hat}
        theta_new = {theta_new}
        return theta_new, s_new, r_new
""")
S_HAT_OK = "s_new / (1 - rho1**t)"
R_HAT_OK = "r_new / (1 - rho2**t)"
ADAM_THETA_OK = "theta - lr * s_hat / (np.sqrt(r_hat) + delta)"

# answer grade_id -> (three wrong answers, one alternative correct answer)
ANSWERS = {
    "gd_rate": (
        [
            "best_lr = 2 / 20\nbest_rate = 1 - 0.5 * (2 / 20)",       # the stability limit
            "best_lr = 1 / 20\nbest_rate = 1 - 0.5 / 20",             # 1/lambda_max
            "best_lr = 2 / 20.5\nbest_rate = (20 - 0.5) / 20",        # wrong rate formula
        ],
        src("""
            kappa = 20 / 0.5
            best_rate = (kappa - 1) / (kappa + 1)
            best_lr = 1 / ((0.5 + 20) / 2)
        """),
    ),
    "momentum_step": (
        [
            MOMENTUM.format(v_new="beta * v + lr * g", theta_new="theta + v_new"),  # sign
            MOMENTUM.format(v_new="beta * v - lr * g", theta_new="theta + v"),      # old v
            # PyTorch's buffer returned in place of the course's velocity
            MOMENTUM.format(v_new="beta * v + g", theta_new="theta - lr * v_new"),
            src("""
                def momentum_step(theta, g, v, lr, beta):
                    v *= beta                                  # changes the caller's arrays
                    v -= lr * g
                    theta += v
                    return theta, v
            """),
            src("""
                from nnlab.optim import Momentum as Heavy      # the library under another name

                def momentum_step(theta, g, v, lr, beta):
                    opt = Heavy(lr, beta)
                    params = {"p": np.array(theta, dtype=float)}
                    opt.state["p"] = {"v": np.array(v, dtype=float)}
                    opt.step(params, {"p": g})
                    return params["p"], opt.state["p"]["v"]
            """),
        ],
        src("""
            def momentum_step(theta, g, v, lr, beta):
                velocity = np.multiply(beta, v)
                velocity -= np.multiply(lr, g)
                return np.add(theta, velocity), velocity
        """),
    ),
    "curve_match": (
        [
            'curve_match = {"GD": "A", "momentum 0.5": "B", "momentum 0.9": "C"}',
            'curve_match = {"GD": "C", "momentum 0.5": "B", "momentum 0.9": "A"}',
            'curve_match = {"GD": "B", "momentum 0.5": "A", "momentum 0.9": "C"}',
        ],
        'curve_match = dict(zip(["momentum 0.9", "GD", "momentum 0.5"], "ABC"))',
    ),
    "adagrad_step": (
        [
            ADAGRAD.format(r_new="r + g * g",                                # delta in sqrt
                           theta_new="theta - lr / np.sqrt(delta + r_new) * g"),
            ADAGRAD.format(r_new="r + g * g",                                # stale r
                           theta_new="theta - lr / (delta + np.sqrt(r)) * g"),
            ADAGRAD.format(r_new="g * g",                                    # no accumulation
                           theta_new="theta - lr / (delta + np.sqrt(r_new)) * g"),
            src("""
                def adagrad_step(theta, g, r, lr, delta=1e-7):
                    r += g * g                                 # changes the caller's r
                    return theta - lr / (delta + np.sqrt(r)) * g, r
            """),
        ],
        ADAGRAD.format(r_new="np.add(r, np.square(g))",
                       theta_new="theta - g * lr / (np.sqrt(r_new) + delta)"),
    ),
    "rmsprop_step": (
        [
            RMSPROP.format(r_new="rho * r + g * g",                          # no (1 - rho)
                           theta_new="theta - lr / np.sqrt(delta + r_new) * g"),
            RMSPROP.format(r_new="rho * r + (1 - rho) * g * g",              # delta outside
                           theta_new="theta - lr / (delta + np.sqrt(r_new)) * g"),
            RMSPROP.format(r_new="(1 - rho) * r + rho * g * g",              # rho swapped
                           theta_new="theta - lr / np.sqrt(delta + r_new) * g"),
        ],
        RMSPROP.format(r_new="r + (1 - rho) * (g ** 2 - r)",
                       theta_new="theta - lr * g / np.sqrt(r_new + delta)"),
    ),
    "adam_step": (
        [
            ADAM.format(s_hat="s_new", r_hat="r_new", theta_new=ADAM_THETA_OK),  # no correction
            ADAM.format(s_hat="s_new / (1 - rho1 ** (t + 1))",                # off by one in t
                        r_hat="r_new / (1 - rho2 ** (t + 1))", theta_new=ADAM_THETA_OK),
            ADAM.format(s_hat=S_HAT_OK, r_hat=R_HAT_OK,                       # delta in sqrt
                        theta_new="theta - lr * s_hat / np.sqrt(r_hat + delta)"),
        ],
        src("""
            def adam_step(theta, g, s, r, t, lr=0.001, rho1=0.9, rho2=0.999, delta=1e-8):
                s = s + (1 - rho1) * (g - s)
                r = r + (1 - rho2) * (np.square(g) - r)
                first = s / (1 - np.power(rho1, t))
                second = r / (1 - np.power(rho2, t))
                return theta - lr * first / (np.sqrt(second) + delta), s, r
        """),
    ),
    "adam_t1": (
        [
            "adam_first_step = -0.05\nadam_first_step_uncorrected = -0.158",   # sign error
            "adam_first_step = 0.158\nadam_first_step_uncorrected = 0.05",     # swapped
            # sqrt forgotten on the second moment
            "adam_first_step = 0.05 * 0.004 / 0.004 ** 2\n"
            "adam_first_step_uncorrected = 0.05 * 0.0004 / (0.001 * 0.004 ** 2)",
        ],
        src("""
            g, lr = -0.004, 0.05
            adam_first_step = -lr * g / (abs(g) + 1e-8)
            adam_first_step_uncorrected = lr * 0.1 * 0.004 / (np.sqrt(0.001) * 0.004 + 1e-8)
        """),
    ),
    "hyperparameters": (
        [
            'hyperparameter_letters = ["A"]',
            'hyperparameter_letters = ["A", "B", "D"]',
            'hyperparameter_letters = ["B", "C"]',
        ],
        'hyperparameter_letters = list("DA")',
    ),
}

WRONG = {answer_id: wrong for answer_id, (wrong, _) in ANSWERS.items()}
ALTERNATIVE = {answer_id: alternative for answer_id, (_, alternative) in ANSWERS.items()}

# Honest notebooks that must score full marks.
DEBUG_COMPARISON = {
    # The text invites comparing with nnlab.optim: doing so in the answer cell is not
    # calling it from the answer.
    "momentum_step": src("""
        def momentum_step(theta, g, v, lr, beta):
            v_new = beta * v - lr * g
            return theta + v_new, v_new


        reference = optim.Momentum(lr=0.1, beta=0.9)
        params = {"w": np.array([1.0, -2.0])}
        reference.step(params, {"w": np.array([0.5, -1.0])})
        mine, _ = momentum_step(np.array([1.0, -2.0]), np.array([0.5, -1.0]), np.zeros(2),
                                0.1, 0.9)
        print("same as nnlab.optim.Momentum:", np.allclose(mine, params["w"]))
    """),
    "adam_step": src("""
        from nnlab.optim import Adam


        def adam_step(theta, g, s, r, t, lr=0.001, rho1=0.9, rho2=0.999, delta=1e-8):
            s = rho1 * s + (1 - rho1) * g
            r = rho2 * r + (1 - rho2) * g * g
            s_hat, r_hat = s / (1 - rho1**t), r / (1 - rho2**t)
            return theta - lr * s_hat / (np.sqrt(r_hat) + delta), s, r


        path = optim.run(Adam(0.1), lambda x: 2 * x, np.array([1.0, -1.0]), 3)
        print("library Adam after 3 steps:", path[-1])
    """),
    # A numpy selection of letters: numpy string scalars arrive as plain strings.
    "hyperparameters": src("""
        letters = np.array(["A", "B", "C", "D", "E"])
        learned = np.array([False, True, True, False, True])
        hyperparameter_letters = list(letters[~learned])
    """),
}


class TestGradingValidity(GradingValidity, PartialCredit):
    assignment, wrong, alternative = ASSIGNMENT, WRONG, ALTERNATIVE
    format_only_tests = frozenset({"gd_rate_test", "curve_match_test", "adam_t1_test",
                                   "adam_t1_test2", "hyperparameters_test"})
    autograded_points = AUTOGRADED_POINTS
    extra_variants = {"debug_comparison": DEBUG_COMPARISON}

    def test_debug_comparisons_and_numpy_answers_score_full_marks(self, graded):
        result = graded["debug_comparison"]
        for answer_id in DEBUG_COMPARISON:
            got, full = points(result, answer_id)
            assert got == full, messages(result, answer_id)

    def test_calling_the_library_and_changing_inputs_are_named(self, graded):
        in_place, library = "wrong3", "wrong4"
        assert any("in place" in m for m in messages(graded[in_place], "momentum_step"))
        assert any("in place" in m for m in messages(graded[in_place], "adagrad_step"))
        assert all("nnlab.optim.Momentum" in m and "without nnlab.optim" in m
                   for m in messages(graded[library], "momentum_step"))

"""Tests for nnlab.check: the assertions visible notebook tests call."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from nnlab import check
from nnlab.check import CheckFailed


@pytest.fixture(autouse=True)
def silent(capfd):
    """Every check, passing or failing, must write nothing to stdout or stderr."""
    yield
    out, err = capfd.readouterr()
    assert out == "" and err == ""


def fails(fn, *args, **kwargs) -> str:
    with pytest.raises(CheckFailed) as info:
        fn(*args, **kwargs)
    assert isinstance(info.value, AssertionError)
    return str(info.value)


def test_close_passes_for_arrays_lists_tuples_and_scalars():
    check.close(np.array([[1.0, 2.0]]), np.array([[1.0, 2.0 + 1e-9]]))
    check.close([1.0, 2.0], np.array([1.0, 2.0]))
    check.close((1, 2), [1.0, 2.0])
    check.close(0.5, 0.5 + 1e-10)
    check.close(np.float64(3.0), 3)
    check.close(np.array([True, False]), [1.0, 0.0])


def test_close_reports_shape_mismatch_with_transpose_hint():
    msg = fails(check.close, np.zeros((3, 2)), np.zeros((2, 3)), name="W")
    assert "(3, 2)" in msg and "(2, 3)" in msg
    assert "transpose" in msg and "W.T" in msg
    msg = fails(check.close, np.zeros((4, 1)), np.zeros(4))
    assert "(4, 1)" in msg and "(4,)" in msg and "ravel" in msg
    msg = fails(check.close, np.zeros(5), np.zeros(4))
    assert "(5,)" in msg and "(4,)" in msg and "transpose" not in msg


def test_close_reports_nan_and_inf_with_location():
    actual = np.array([[1.0, 2.0], [np.nan, 4.0]])
    msg = fails(check.close, actual, np.ones((2, 2)), name="probs")
    assert "probs contains NaN" in msg and "(1, 0)" in msg and "1 of 4" in msg
    msg = fails(check.close, [1.0, np.inf], [1.0, 2.0])
    assert "inf" in msg
    # NaN expected in the same places is accepted
    check.close([np.nan, 1.0], [np.nan, 1.0])


def test_close_shows_relative_error_next_to_tolerance():
    msg = fails(check.close, [1.0, 2.0, 3.5], [1.0, 2.0, 3.0], rtol=1e-6, name="loss")
    assert "loss is not close" in msg
    assert "1 of 3 entries differ" in msg and "index (2,)" in msg
    assert "got 3.5" in msg and "expected 3" in msg
    rel = 0.5 / 3.0
    assert f"relative error {rel:.2e}" in msg
    assert "rtol=1e-06" in msg


def test_close_hints_at_constant_factor_and_sign():
    expected = np.array([0.2, -0.4, 1.0])
    msg = fails(check.close, expected * 2, expected)
    assert "2 x the expected" in msg and "1/2" in msg
    msg = fails(check.close, -expected, expected)
    assert "wrong sign" in msg


@pytest.mark.parametrize("garbage, words", [
    (None, "None"),
    ("0.5", "str"),
    ({"a": 1}, "dict"),
    ([1.0, "x"], "str"),
    ([[1.0, 2.0], [3.0]], "ragged"),
    (np.array(["a", "b"]), "dtype"),
    (1 + 2j, "complex"),
    (np.array([1 + 1j]), "dtype"),
    (object(), "object"),
])
def test_close_rejects_non_numeric_input_clearly(garbage, words):
    msg = fails(check.close, garbage, [1.0, 2.0], name="answer")
    assert "answer" in msg and words in msg


def test_close_does_not_trust_objects_that_lie():
    class Liar(np.ndarray):
        def __eq__(self, other):
            return np.ones(np.shape(self), dtype=bool)

        def __sub__(self, other):
            return np.zeros(np.shape(self))

        __rsub__ = __sub__

        def __abs__(self):
            return np.zeros(np.shape(self))

    liar = np.array([5.0, 6.0]).view(Liar)
    fails(check.close, liar, [1.0, 2.0])

    class AlwaysEqual(float):
        def __eq__(self, other):
            return True

        def __sub__(self, other):
            return 0.0

    fails(check.number, AlwaysEqual(5.0), 1.0)

    class SneakyStr(str):
        def __eq__(self, other):
            return True

        __hash__ = str.__hash__

    fails(check.choice, SneakyStr("Z"), ("A", "B"))


def test_number():
    check.number(0.25, 0.25)
    check.number(np.array(0.25), 0.25)
    msg = fails(check.number, np.array([0.25, 0.5]), 0.25, name="lr")
    assert "lr should be a single number" in msg and "(2,)" in msg
    msg = fails(check.number, 0.3, 0.25, rtol=1e-3)
    assert "relative error 2.00e-01" in msg and "rtol=1e-03" in msg


def test_shape_with_wildcards_and_hints():
    check.shape(np.zeros((5, 10)), (5, 10))
    check.shape(np.zeros((7, 10)), (None, 10))
    check.shape([[1, 2, 3]], (1, 3))
    msg = fails(check.shape, np.zeros((10, 5)), (5, 10), name="scores")
    assert "(10, 5)" in msg and "(5, 10)" in msg and "scores.T" in msg
    msg = fails(check.shape, np.zeros((7, 3)), (None, 10))
    assert "(7, 3)" in msg and "(None, 10)" in msg
    msg = fails(check.shape, np.zeros(3), (3, 1))
    assert "[:, None]" in msg


def test_finite():
    check.finite(np.ones(3))
    msg = fails(check.finite, np.array([1.0, -np.inf]), name="loss")
    assert "loss contains inf" in msg and "(1,)" in msg
    assert "NaN" in fails(check.finite, float("nan"))


def test_choice():
    check.choice("B", ("A", "B", "C", "D"))
    msg = fails(check.choice, "E", ("A", "B", "C", "D"))
    assert "answer must be one of 'A', 'B', 'C', 'D'" in msg and "'E'" in msg
    msg = fails(check.choice, "b", ("A", "B", "C", "D"))
    assert "did you mean 'B'" in msg
    msg = fails(check.choice, 2, ("A", "B"), name="q3")
    assert "q3 must be one of 'A', 'B'" in msg and "int" in msg
    assert "empty" in fails(check.choice, "", ("A", "B"))


def test_gradient_accepts_correct_and_rejects_wrong_gradients():
    a = np.array([1.0, -2.0, 0.5])

    def f(w):
        return float(np.sum(a * w**2))

    w = np.array([0.3, -1.2, 2.0])
    w_before = w.copy()
    check.gradient(f, w, 2 * a * w)
    check.gradient(f, w, lambda v: 2 * a * v)
    np.testing.assert_array_equal(w, w_before)

    msg = fails(check.gradient, f, w, a * w, name="dw")
    assert "dw does not match" in msg and "tolerance 1e-06" in msg
    assert "0.5 x the expected" in msg
    wrong = 2 * a * w
    wrong[1] += 1.0
    msg = fails(check.gradient, f, w, wrong)
    assert "index (1,)" in msg
    assert "(3, 1)" in fails(check.gradient, f, w, (2 * a * w)[:, None])


def test_gradient_swallows_student_output_and_reports_their_errors():
    def noisy(w):
        print("debugging", w)
        import sys

        print("oops", file=sys.stderr)
        return float(np.sum(w))

    check.gradient(noisy, np.zeros(2), np.ones(2))

    def broken(w):
        return 1.0 / 0.0

    assert "ZeroDivisionError" in fails(check.gradient, broken, np.zeros(2), np.ones(2))
    assert "single number" in fails(check.gradient, lambda w: w, np.zeros(2), np.ones(2))


def test_checks_do_not_warn(recwarn):
    fails(check.close, np.array([np.inf, 1.0]), [1.0, np.inf])
    fails(check.close, np.array([1e308, 1.0]), [-1e308, 1.0])
    check.close(np.zeros(2), np.zeros(2))
    assert len(recwarn) == 0


junk = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-10**30, 10**30),
              st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=3),
              st.complex_numbers(), st.binary(max_size=2)),
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.tuples(inner, inner),
                            st.dictionaries(st.text(max_size=2), inner, max_size=2)),
    max_leaves=6,
)


@settings(max_examples=150, deadline=None)
@given(actual=junk)
def test_close_never_crashes_on_arbitrary_input(actual):
    # Either the check passes or it fails with CheckFailed; no other exception escapes.
    try:
        check.close(actual, [1.0, 2.0])
    except CheckFailed:
        pass


@settings(max_examples=100, deadline=None)
@given(values=st.lists(st.floats(-1e6, 1e6), min_size=1, max_size=6))
def test_close_accepts_itself_and_rejects_a_shifted_copy(values):
    a = np.array(values)
    check.close(a, a.copy())
    shifted = a + 1e-3 + 1e-3 * np.abs(a)
    with pytest.raises(CheckFailed, match="relative error"):
        check.close(shifted, a)


# ------------------------------------------------------------------ not_calling (trip-wire)

def _momentum_by_hand(theta, g, v, lr, beta):
    v = beta * v - lr * g
    return theta + v, v


def test_not_calling_passes_honest_code_and_names_what_was_called():
    from nnlab import optim

    args = (np.ones(3), np.ones(3), np.zeros(3), 0.1, 0.9)
    with check.not_calling("nnlab.optim"):
        _momentum_by_hand(*args)

    def through_library(theta, g, v, lr, beta):
        params = {"w": theta.copy()}
        optim.Momentum(lr, beta).step(params, {"w": g})
        return params["w"], v

    with pytest.raises(CheckFailed) as info:
        with check.not_calling("nnlab.optim"):
            through_library(*args)
    message = str(info.value)
    assert "nnlab.optim.Momentum" in message and "without nnlab.optim" in message
    assert info.value.diagnosis == message


def test_not_calling_sees_aliases_and_objects_built_before_the_block():
    from nnlab.optim import Momentum as Renamed

    built_earlier = Renamed(0.1, 0.9)
    with pytest.raises(CheckFailed, match=r"Momentum\.step"):
        with check.not_calling("nnlab.optim.Momentum"):
            built_earlier.step({"w": np.ones(2)}, {"w": np.ones(2)})
    importlib = __import__("importlib")
    sneaky = getattr(importlib.import_module("nnlab." + "optim"), "Mom" + "entum")
    with pytest.raises(CheckFailed, match="Momentum"):
        with check.not_calling("nnlab.optim.Momentum"):
            sneaky(0.1)


def test_not_calling_a_class_does_not_catch_its_siblings():
    from nnlab import optim

    # SGD shares Optimizer.step with Momentum; only Momentum is ruled out here.
    with check.not_calling("nnlab.optim.Momentum"):
        optim.SGD(0.1).step({"w": np.ones(2)}, {"w": np.ones(2)})
    with pytest.raises(CheckFailed, match=r"nnlab\.optim\.SGD"):
        with check.not_calling("nnlab.optim"):
            optim.SGD(0.1).step({"w": np.ones(2)}, {"w": np.ones(2)})


def test_not_calling_ignores_names_calls_outside_the_block_and_check_itself():
    from nnlab import functions, gradcheck

    functions.sigmoid_grad(np.zeros(2))  # a debug call before the block
    with check.not_calling("nnlab.functions.sigmoid_grad"):
        sigmoid_grad = functions.sigmoid(0.0) * (1 - functions.sigmoid(0.0))  # noqa: F841
        functions.tanh_grad(np.zeros(2))  # shares its decorator's wrapper with sigmoid_grad
    with check.not_calling("nnlab.gradcheck"):
        check.gradient(lambda w: float(np.sum(w**2)), np.ones(3), 2 * np.ones(3))
    with pytest.raises(CheckFailed, match="numerical_gradient"):
        with check.not_calling("nnlab.gradcheck"):
            gradcheck.numerical_gradient(lambda w: float(np.sum(w**2)), np.ones(3))


def test_not_calling_restores_the_profiler_and_lets_errors_through():
    import sys

    before = sys.getprofile()
    with pytest.raises(ZeroDivisionError):
        with check.not_calling("nnlab.optim"):
            1 / 0  # noqa: B018
    assert sys.getprofile() is before
    with pytest.raises(CheckFailed):
        with check.not_calling("nnlab.gradcheck"):
            with check.not_calling("nnlab.optim"):  # nested: the outer block still sees it
                from nnlab.gradcheck import relative_error
                relative_error(np.ones(2), np.ones(2))
    assert sys.getprofile() is before


@pytest.mark.parametrize("target", ["nnlab.optim.Nope", "nolib.thing", "nnlab..optim", "",
                                    "nnlab.optim.np.pi"])
def test_not_calling_a_misspelt_target_is_an_error(target):
    with pytest.raises(ValueError, match="trip-wire target"):
        with check.not_calling(target):
            pass


def test_not_calling_through_a_backend_uses_its_report():
    class Backend:
        def __init__(self, report):
            self.report, self.armed = report, []

        def arm(self, targets):
            self.armed.append(targets)
            return len(self.armed)

        def disarm(self, token):
            return self.report

    clean, dirty = Backend(None), Backend("nnlab.optim.Adam")
    with check.tripwire_backend(clean):
        with check.not_calling("nnlab.optim"):
            from nnlab import optim
            optim.Adam(0.1)  # runs here, not where the backend watches
    assert clean.armed == [("nnlab.optim",)]
    with pytest.raises(CheckFailed, match="nnlab.optim.Adam"):
        with check.tripwire_backend(dirty):
            with check.not_calling("nnlab.optim"):
                pass


# ------------------------------------------------------- diagnosis and hints (hidden-safe)

def failure(fn, *args, **kwargs) -> CheckFailed:
    with pytest.raises(CheckFailed) as info:
        fn(*args, **kwargs)
    return info.value


@pytest.mark.parametrize("actual, expected", [
    (np.array([2.0, 4.0, 6.0]), np.array([1.0, 2.0, 3.0])),    # a factor of 2
    (np.array([1.0, 2.0, 9.0]), np.array([1.0, 2.0, 3.0])),    # one entry off
    (np.array([-1.0, -2.0]), np.array([1.0, 2.0])),            # sign
    (np.array(0.3), np.array(0.25)),                           # one number
])
def test_diagnosis_of_a_value_does_not_depend_on_the_expected_numbers(actual, expected):
    # Scaling both sides keeps every relation (factor, sign, which entry differs) but
    # changes every number: a diagnosis quoting a number of the expected value would change.
    first = failure(check.close, actual, expected, name="dw").diagnosis
    scaled = failure(check.close, actual * 7.13, expected * 7.13, name="dw").diagnosis
    assert first == scaled
    assert first.startswith("dw is not close to the expected value")


def test_diagnosis_says_where_and_how():
    d = failure(check.close, [1.0, 2.0, 9.0, 5.0], [1.0, 2.0, 3.0, 4.0]).diagnosis
    assert "2 of 4 entries differ, the first at index (2,)" in d
    d = failure(check.close, [[2.0, 4.0], [6.0, 8.0]], [[1.0, 2.0], [3.0, 4.0]]).diagnosis
    assert "same constant factor" in d and "mean vs sum" in d
    assert "wrong sign" in failure(check.number, -0.05, 0.05).diagnosis
    d = failure(check.close, [1.0, np.nan], [1.0, 2.0], name="p").diagnosis
    assert "p contains NaN at index (1,)" in d


def test_shape_diagnosis_names_the_axis_but_not_the_expected_sizes():
    d = failure(check.close, np.zeros((3, 5)), np.zeros((3, 13)), name="W").diagnosis
    assert "W has shape (3, 5)" in d and "axis 1" in d and "13" not in d
    d = failure(check.close, np.zeros((13, 7)), np.zeros((7, 13)), name="W").diagnosis
    assert "transpose" in d and "axis 0, 1" in d
    d = failure(check.shape, np.zeros(6), (2, 3), name="x").diagnosis
    assert "1 axis" in d and "reshape" in d and "(2, 3)" not in d


def test_diagnosis_survives_pickling():
    import pickle

    error = failure(check.close, [2.0, 4.0], [1.0, 2.0], name="dw")
    copy = pickle.loads(pickle.dumps(error))
    assert str(copy) == str(error) and copy.diagnosis == error.diagnosis


def test_choice_diagnosis_never_lists_the_options():
    d = failure(check.choice, "b", ("B",), name="q").diagnosis
    assert "'B'" not in d and "q is not one of the accepted answers" in d


@pytest.mark.parametrize("actual, expected", [
    (9.0, 10.0),                                            # one number: always "a factor"
    (0.5, 1.0),
    (np.array([0.999998, 1.999996]), np.array([1.0, 2.0])),  # a small error, not a factor
    (np.array([1.02807, 2.05614]), np.array([1.0, 2.0])),    # Adam without bias correction
])
def test_constant_factor_hint_only_where_informative(actual, expected):
    message = fails(check.close, actual, expected, rtol=1e-7)
    assert "constant factor" not in message and "mean vs sum" not in message


def test_integer_accepts_ints_and_rejects_floats_with_a_hint():
    check.integer(26, 26)
    check.integer(np.int64(26), 26)
    check.integer(7)
    assert "not a float" in fails(check.integer, 26.0, 26, name="count")
    assert "use int(...)" in fails(check.integer, 26.0, 26)
    assert "not a bool" in fails(check.integer, True, 1)
    assert "Python int" in fails(check.integer, np.int64(3), 3, python_int=True)
    error = failure(check.integer, 25, 26, name="count")
    assert "count is 25, expected 26" in str(error) and "26" not in error.diagnosis


def test_format_only_prints_to_stdout_only(capfd):
    check.format_only("largest_stable_lr")
    out, err = capfd.readouterr()
    assert out == "largest_stable_lr: format OK; the value is checked when graded\n"
    assert err == ""

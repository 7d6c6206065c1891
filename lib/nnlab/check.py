"""Assertions for the visible tests in the course notebooks.

Contract
--------
Every function returns None when the check passes and raises ``CheckFailed``
(a subclass of AssertionError) with a message a student can act on when it
does not; its ``diagnosis`` says what is wrong without quoting the expected
value (safe to show for a hidden test). Nothing is ever written to stderr, and
nothing to stdout except by format_only: warnings are silenced and the output
of student callables is swallowed, because a grading cell that writes to
stderr scores zero.

    close(actual, expected, rtol=1e-6, atol=1e-8, name="result")
        |actual - expected| <= atol + rtol * |expected| entrywise, equal shapes.
    number(actual, expected, rtol=1e-6, name="result", atol=1e-12)
        like close, but actual must be a single number.
    integer(actual, expected=None, name="result", python_int=False)
        actual must be an integer (an int or a NumPy integer; only an int if
        python_int), equal to expected when one is given. A float never passes.
    shape(actual, expected_shape, name="result")
        expected_shape may contain None as a wildcard, e.g. (None, 10).
    finite(x, name="result")
        no NaN or inf anywhere.
    choice(answer, options, name="answer")
        answer must be one of the option strings (case-sensitive).
    gradient(f, x, analytic, rtol=1e-6, name="gradient")
        f(x) -> scalar; analytic is an array shaped like x (or a callable
        returning one); compared with a centred-difference gradient.
    format_only(name)
        prints "<name>: format OK; the value is checked when graded" (stdout),
        for visible tests that check only the form of an answer.
    unchanged(fn, *args, **kwargs)
        calls fn(*args, **kwargs) and returns its result; fails if the call
        changed one of the arrays it was given (in place, e.g. `theta -= ...`).
    not_calling(*targets)
        a context manager: fails on exit if the code run inside the block called
        one of the named library objects (dotted paths, e.g. "nnlab.optim" or
        "nnlab.layers.Dropout"); see nnlab.tripwire. Only calls inside the block
        count. Put only the call of the student's answer inside it: the checks
        and the expected values belong outside.

``actual`` may be a number, a list/tuple of numbers, or a numpy array. It is
type-checked first and then copied into a fresh float64 array, so every
comparison is made by numpy on plain floats, never by the object itself.
"""

from __future__ import annotations

import contextlib
import io
import numbers
import threading
import warnings

import numpy as np

__all__ = ["CheckFailed", "close", "number", "integer", "shape", "finite", "choice", "gradient",
           "format_only", "not_calling", "unchanged"]

_MAX_NESTED = 1_000_000  # entries inspected in nested lists before giving up


class CheckFailed(AssertionError):
    """A notebook check did not pass; the message says what to fix.

    `diagnosis` (str or None) describes the mistake without quoting any value of the expected
    answer (shape and axis, sign, a constant factor, where a NaN is, which entry first
    differs), so it can be shown even when the test itself is hidden.
    """

    def __init__(self, message: str = "", diagnosis: str | None = None):
        super().__init__(message)
        self.diagnosis = diagnosis

    def __reduce__(self):  # keep the diagnosis when the failure crosses a process boundary
        return (type(self), (str(self), self.diagnosis))


def _own(message: str) -> CheckFailed:
    """A failure that describes only the student's own value: its message is its diagnosis."""
    return CheckFailed(message, diagnosis=message)


@contextlib.contextmanager
def _quiet():
    """Silence warnings and floating-point complaints, and swallow any printing."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with np.errstate(all="ignore"):
            with contextlib.redirect_stdout(io.StringIO()):
                with contextlib.redirect_stderr(io.StringIO()):
                    yield


def _describe(obj) -> str:
    kind = type(obj).__name__
    try:
        text = repr(obj) if isinstance(obj, str | bytes) else None
    except Exception:  # noqa: BLE001 - never let a hostile repr escape
        text = None
    return f"{kind} {text}" if text else kind


def _is_plain_number(obj) -> bool:
    return isinstance(obj, numbers.Real | np.bool_) and not isinstance(obj, np.ndarray)


def _check_nested(obj, name: str) -> None:
    """Accept only numbers, numeric ndarrays, and lists/tuples of those."""
    stack = [obj]
    seen = 0
    while stack:
        item = stack.pop()
        seen += 1
        if seen > _MAX_NESTED:
            raise _own(f"{name} is a nested list too large to check; use a numpy array")
        if isinstance(item, list | tuple):
            stack.extend(item)
        elif isinstance(item, np.ndarray):
            dtype = np.ndarray.view(item, np.ndarray).dtype  # not a subclass's own .dtype
            if dtype.kind not in "biuf":
                raise _own(f"{name} must hold real numbers, but it contains an array of "
                                  f"dtype {dtype}")
        elif isinstance(item, complex | np.complexfloating):
            raise _own(f"{name} contains a complex number ({item!r}); expected real numbers")
        elif not _is_plain_number(item):
            hint = ""
            if item is None:
                hint = " -- did you forget a `return`, or leave a cell unfinished?"
            elif hasattr(item, "data") and type(item).__name__ == "Value":
                hint = " -- for a graph Value compare its .data"
            elif isinstance(item, str):
                hint = " -- remove the quotes to give a number"
            raise _own(f"{name} must be a number or an array of numbers, "
                              f"got {_describe(item)}{hint}")


def _as_array(obj, name: str) -> np.ndarray:
    """Type-check obj, then copy it into a new float64 ndarray (never trusting obj)."""
    if obj is None:
        raise _own(f"{name} is None -- did you forget a `return`, "
                          "or leave a cell unfinished?")
    _check_nested(obj, name)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            if isinstance(obj, np.ndarray):
                # The base-class view ignores any overridden methods of an ndarray subclass.
                arr = np.array(np.ndarray.view(obj, np.ndarray), dtype=np.float64, copy=True)
            else:
                arr = np.array(obj, dtype=np.float64)
    except Exception as exc:  # noqa: BLE001 - any failure here is the student's input
        raise _own(f"{name} could not be read as an array of numbers "
                          f"({type(exc).__name__}: {exc}); ragged nested lists are a "
                          "common cause") from None
    return arr


def _fmt_index(index) -> str:
    return "" if len(index) == 0 else f" at index {tuple(int(i) for i in index)}"


def _shape_hint(name: str, got: tuple, want: tuple) -> str:
    """What a shape mismatch suggests, in words that quote neither shape."""
    if len(got) >= 2 and got == tuple(reversed(want)):
        return f" -- the axes are reversed: did you mean {name}.T (a transpose)?"
    if int(np.prod(got)) == int(np.prod(want)):
        if got == want + (1,) or got + (1,) == want:
            return " -- same numbers, one extra axis of length 1: use .ravel() or [:, None]"
        if want == ():
            return " -- expected a single number: use .item() or float(...)"
        return " -- same number of entries, arranged differently: reshape?"
    return ""


def _shape_failure(name: str, got: tuple, want: tuple, shown_want=None) -> CheckFailed:
    """A shape mismatch; the diagnosis names the axes that differ, never the expected sizes."""
    shown = want if shown_want is None else shown_want
    hint = _shape_hint(name, got, want)
    if hint.endswith("reshape?"):
        hint = f" -- same number of entries: reshape to {shown}?"
    message = f"{name} has shape {got}, expected shape {shown}{hint}"
    if len(got) != len(want):
        differs = (f"it has {len(got)} ax{'is' if len(got) == 1 else 'es'}, the expected "
                   f"value has {len(want)}")
    else:
        axes = [str(i) for i, (g, w) in enumerate(zip(got, want, strict=True))
                if w is not None and g != w]
        differs = f"its length differs from the expected one along axis {', '.join(axes)}"
    diagnosis = f"{name} has shape {got}: {differs}{_shape_hint(name, got, want)}"
    return CheckFailed(message, diagnosis=diagnosis)


def _nonfinite_message(name: str, arr: np.ndarray) -> str | None:
    for test, label in ((np.isnan, "NaN"), (np.isinf, "inf")):
        bad = test(arr)
        if np.any(bad):
            first = np.argwhere(bad)[0] if arr.ndim else ()
            return (f"{name} contains {label}{_fmt_index(first)} ({int(np.sum(bad))} of "
                    f"{arr.size} entries) -- look for log(0), 0/0, exp overflow or a "
                    "learning rate that is too large")
    return None


def _compare(actual: np.ndarray, expected: np.ndarray, rtol: float, atol: float,
             name: str) -> None:
    if actual.shape != expected.shape:
        raise _shape_failure(name, actual.shape, expected.shape)
    expected_nonfinite = ~np.isfinite(expected)
    if np.any(expected_nonfinite):
        same = np.array_equal(actual[expected_nonfinite], expected[expected_nonfinite],
                              equal_nan=True)
        if not same:
            raise _own(f"{name} should have NaN/inf exactly where the expected value has")
        mask = ~expected_nonfinite
    else:
        mask = np.ones(expected.shape, dtype=bool)
    message = _nonfinite_message(name, np.where(mask, actual, 0.0))
    if message:
        raise _own(message)

    err = np.where(mask, np.abs(actual - expected), 0.0)
    allowed = atol + rtol * np.abs(np.where(mask, expected, 0.0))
    bad = err > allowed
    if not np.any(bad):
        return
    worst = np.unravel_index(np.argmax(np.where(bad, err - allowed, -np.inf)), err.shape)
    a, e = float(actual[worst]), float(expected[worst])
    rel = abs(a - e) / abs(e) if e != 0 else float("inf")
    where = _fmt_index(worst) if actual.ndim else ""
    count = f"{int(np.sum(bad))} of {bad.size} entries differ; " if actual.size > 1 else ""
    relation = _relation_hint(actual[mask], expected[mask])
    msg = (f"{name} is not close to the expected value: {count}worst{where}: got {a:.10g}, "
           f"expected {e:.10g} (relative error {rel:.2e}, tolerance rtol={rtol:.0e}, "
           f"atol={atol:.0e}){_relation_hint(actual[mask], expected[mask], quote_factor=True)}")
    raise CheckFailed(msg, diagnosis=_value_diagnosis(name, bad, relation))


def _value_diagnosis(name: str, bad: np.ndarray, relation: str) -> str:
    """Which entries are off, and how, without any number of the expected value."""
    text = f"{name} is not close to the expected value"
    if bad.size > 1:
        first = np.argwhere(bad)[0]
        text += (f": {int(np.sum(bad))} of {bad.size} entries differ, the first"
                 f"{_fmt_index(first)}")
    return text + relation


def _relation_hint(actual: np.ndarray, expected: np.ndarray, quote_factor: bool = False) -> str:
    """Spot 'right up to the sign' and 'right up to a constant factor'.

    The factor hint is given only where it is informative: for two or more nonzero entries
    that share one ratio clearly away from 1 (a single number is always some multiple of the
    expected one, and a ratio near 1 is a small error, not a missing 1/2 or 1/N). The factor
    itself is quoted only when asked (in messages that show the expected value anyway): with
    the student's value it would give the expected one away.
    """
    actual, expected = np.ravel(actual), np.ravel(expected)
    nonzero = expected != 0
    if not np.any(nonzero) or np.any(actual[~nonzero] != 0):
        return ""
    ratios = actual[nonzero] / expected[nonzero]
    ratio = float(ratios[0])
    if ratio == 0 or not np.allclose(ratios, ratio, rtol=1e-6, atol=0):
        return ""
    if np.isclose(ratio, -1.0, rtol=1e-6, atol=0):
        return (" -- every entry has the wrong sign" if ratios.size > 1
                else " -- it has the wrong sign")
    if ratios.size < 2 or 0.8 < abs(ratio) < 1.25:
        return ""
    if quote_factor:
        return (f" -- every entry is {ratio:.6g} x the expected one: a missing constant "
                "factor (1/2, 1/N, mean vs sum)?")
    sign = " and the wrong sign" if ratio < 0 else ""
    return (f" -- every entry is off by the same constant factor{sign}: a missing constant "
            "factor (1/2, 1/N, mean vs sum)?")


def close(actual, expected, rtol: float = 1e-6, atol: float = 1e-8, name: str = "result"):
    """Assert actual ~= expected entrywise (same shape); scalars, lists or arrays."""
    with _quiet():
        a = _as_array(actual, name)
        e = _as_array(expected, "expected")
        _compare(a, e, rtol, atol, name)


def number(actual, expected, rtol: float = 1e-6, name: str = "result", atol: float = 1e-12):
    """Assert actual is a single number close to expected."""
    with _quiet():
        a = _as_array(actual, name)
        if a.size != 1:
            raise _own(f"{name} should be a single number, got an array of shape {a.shape}")
        e = _as_array(expected, "expected").reshape(())
        _compare(a.reshape(()), e, rtol, atol, name)


def integer(actual, expected=None, name: str = "result", python_int: bool = False):
    """Assert actual is an integer, equal to `expected` (an int) when one is given.

    Accepted: a Python int, and a NumPy integer scalar unless python_int is True. Not
    accepted: bool, floats (even 26.0), arrays. Use it where the text says "an integer".
    """
    kinds = (int,) if python_int else (int, np.integer)
    wanted = "a Python int" if python_int else "an integer (an int)"
    if isinstance(actual, bool | np.bool_) or not isinstance(actual, kinds):
        hint = ""
        if isinstance(actual, float | np.floating):
            hint = " -- use int(...), or // instead of / (math.pow and ** with a float give floats)"
        elif isinstance(actual, np.integer):
            hint = " -- convert it with int(...)"
        raise _own(f"{name} must be {wanted}, not a {type(actual).__name__}{hint}")
    if expected is not None and int(actual) != int(expected):
        raise CheckFailed(f"{name} is {int(actual)}, expected {int(expected)}",
                          diagnosis=f"{name} is not the expected integer")


def shape(actual, expected_shape, name: str = "result"):
    """Assert actual has expected_shape (a tuple; None entries match any length)."""
    with _quiet():
        got = _as_array(actual, name).shape
        want = tuple(expected_shape)
        if len(got) == len(want):
            if all(w is None or g == w for g, w in zip(got, want, strict=True)):
                return
            # Fill the wildcards from `got` so the transpose/reshape hints still apply.
            concrete = tuple(g if w is None else w for g, w in zip(got, want, strict=True))
        else:
            concrete = tuple(1 if w is None else w for w in want)
        raise _shape_failure(name, got, concrete, shown_want=want)


def finite(x, name: str = "result"):
    """Assert x contains no NaN and no inf."""
    with _quiet():
        message = _nonfinite_message(name, _as_array(x, name))
        if message:
            raise _own(message)


def choice(answer, options, name: str = "answer"):
    """Assert answer is one of the option strings, e.g. options=("A", "B", "C", "D")."""
    listed = ", ".join(repr(o) for o in options)
    required = f"{name} must be one of {listed}"
    # The diagnosis never lists the options: a hidden test's options may be the key.
    if not isinstance(answer, str):
        raise CheckFailed(f"{required} (a string in quotes); got {_describe(answer)}",
                          diagnosis=f"{name} must be a string in quotes; got {_describe(answer)}")
    answer = str.__str__(answer)  # a plain str copy: a str subclass cannot fake equality
    if answer in options:
        return
    not_accepted = f"{name} is not one of the accepted answers; got {answer!r}"
    near = [o for o in options if isinstance(o, str) and o.strip().lower()
            == answer.strip().lower()]
    if near:
        raise CheckFailed(f"{required}; got {answer!r} -- did you mean {near[0]!r}? "
                          "(exact spelling and case matter)", diagnosis=not_accepted)
    if not answer.strip():
        raise CheckFailed(f"{required}; the answer is still empty",
                          diagnosis=f"{name} is still empty")
    raise CheckFailed(f"{required}; got {answer!r}", diagnosis=not_accepted)


def format_only(name: str = "answer") -> None:
    """Say that a visible test checked only the form of `name`, so a pass is not mistaken
    for a right value. Call it last in the visible part of such a test. Writes to stdout
    (never stderr: nbgrader scores a cell that writes to stderr as zero)."""
    print(f"{name}: format OK; the value is checked when graded")


def _reference_gradient(f, x: np.ndarray) -> np.ndarray:
    """The test's own numerical gradient: exempt from not_calling("nnlab.gradcheck")."""
    from nnlab.gradcheck import numerical_gradient

    return numerical_gradient(f, x)


def _reference_error(a: np.ndarray, b: np.ndarray) -> float:
    from nnlab.gradcheck import relative_error

    return relative_error(a, b)


def gradient(f, x, analytic, rtol: float = 1e-6, name: str = "gradient"):
    """Assert analytic (array shaped like x, or callable x -> array) matches the numeric gradient.

    f: callable, x (float array) -> scalar. x is copied; the student's x is not modified.
    The comparison uses the scaled relative error of nnlab.gradcheck.relative_error.
    """
    with _quiet():
        point = _as_array(x, "x")
        if callable(analytic):
            try:
                analytic = analytic(point.copy())
            except Exception as exc:  # noqa: BLE001 - report the student's error as a check
                raise _own(f"computing the analytic {name} raised "
                           f"{type(exc).__name__}: {exc}") from exc
        grad = _as_array(analytic, name)

        def scalar_f(z):
            value = f(z.copy())
            v = _as_array(value, "f(x)")
            if v.size != 1:
                raise _own(f"f(x) must return a single number (a loss), got shape {v.shape}")
            return float(v.reshape(()))

        try:
            numeric = _reference_gradient(scalar_f, point.copy())
        except CheckFailed:
            raise
        except Exception as exc:  # noqa: BLE001
            raise _own(f"calling f(x) raised {type(exc).__name__}: {exc}") from exc
        if grad.shape != numeric.shape:
            raise _shape_failure(name, grad.shape, numeric.shape)
        message = _nonfinite_message(name, grad)
        if message:
            raise _own(message)
        err = _reference_error(grad, numeric)
        if err > rtol:
            diff = np.abs(grad - numeric)
            worst = np.unravel_index(np.argmax(diff), diff.shape)
            relation = _relation_hint(grad, numeric)
            bad = diff > rtol * np.maximum(np.abs(numeric), 1e-8)
            diagnosis = _value_diagnosis(name, bad if np.any(bad) else diff == diff.max(),
                                         relation)
            raise CheckFailed(
                f"{name} does not match the numerical gradient: relative error {err:.2e} > "
                f"tolerance {rtol:.0e}; worst{_fmt_index(worst)}: analytic "
                f"{float(grad[worst]):.8g}, numeric {float(numeric[worst]):.8g}"
                + _relation_hint(grad, numeric, quote_factor=True),
                diagnosis=diagnosis.replace("the expected value", "the numerical gradient"),
            )


# ------------------------------------------------------------------------------ trip-wire

class _LocalTripwires:
    """The default backend: trip-wires in this very process (a student's own kernel)."""

    def arm(self, targets: tuple[str, ...]):
        from nnlab.tripwire import Tripwire

        wire = Tripwire(targets, exempt=(_reference_gradient, _reference_error))
        wire.start()
        return wire

    def disarm(self, token) -> str | None:
        return token.stop()


_LOCAL = _LocalTripwires()
_backends = threading.local()


@contextlib.contextmanager
def tripwire_backend(backend):
    """Make not_calling arm its trip-wires through `backend` on this thread, for the block.

    backend.arm(targets: tuple[str, ...]) -> token and backend.disarm(token) -> the dotted
    name of the first target called, or None. The grader uses this to arm the trip-wire in
    the student's kernel, where the answer runs, while the test runs in its own process.
    """
    previous = getattr(_backends, "backend", None)
    _backends.backend = backend
    try:
        yield
    finally:
        _backends.backend = previous


@contextlib.contextmanager
def not_calling(*targets: str):
    """Fail on exit if code run inside the block called one of the `targets`.

    targets: dotted paths of library objects: a module ("nnlab.optim": every function, class
    and method defined in it), a class ("nnlab.optim.Momentum": instantiating it or calling
    its methods) or a function ("nnlab.gradcheck.numerical_gradient"). A misspelt target
    raises ValueError. Calls outside the block never count, nor do names in the code; an
    exception raised inside the block propagates unchanged. check.gradient's own numerical
    gradient does not count either, but computing an expected value with a target inside
    the block does: keep only the calls of the answer inside it.
    """
    from nnlab.tripwire import resolve

    if not targets:
        raise ValueError("not_calling needs at least one dotted name, e.g. 'nnlab.optim'")
    resolve(targets)  # a misspelt rule fails here, in the test's own process
    backend = getattr(_backends, "backend", None) or _LOCAL
    token = backend.arm(tuple(targets))
    try:
        yield
    except BaseException:
        backend.disarm(token)
        raise
    called = backend.disarm(token)
    if called is not None:
        rule = ", ".join(targets)
        message = (f"your code called {called}, but this exercise asks you to solve it "
                   f"without {rule} -- write the computation yourself")
        raise CheckFailed(message, diagnosis=message)


# ---------------------------------------------------------------------- in-place changes

_ORDINALS = ("1st", "2nd", "3rd")


def _ordinal(index: int) -> str:
    return _ORDINALS[index] if index < len(_ORDINALS) else f"{index + 1}th"


def _first_change(before, after, depth: int = 0) -> str | None:
    """Where an array inside `before` differs from its counterpart in `after`, or None.

    Only arrays (also inside lists, tuples and dicts) are compared; other values are the
    answer's own business.
    """
    if depth > 20:
        return None
    if isinstance(before, np.ndarray):
        if not isinstance(after, np.ndarray):
            return ""
        b, a = np.ndarray.view(before, np.ndarray), np.ndarray.view(after, np.ndarray)
        same = b.shape == a.shape and b.dtype == a.dtype and np.array_equal(
            b, a, equal_nan=b.dtype.kind in "fc")
        return None if same else ""
    if isinstance(before, (list, tuple)) and isinstance(after, (list, tuple)):
        if len(before) != len(after):
            return ""
        for index, (b, a) in enumerate(zip(before, after, strict=True)):
            inner = _first_change(b, a, depth + 1)
            if inner is not None:
                return f"[{index}]{inner}"
    if isinstance(before, dict) and isinstance(after, dict):
        for key, b in before.items():
            if key not in after:
                return f"[{key!r}]"
            inner = _first_change(b, after[key], depth + 1)
            if inner is not None:
                return f"[{key!r}]{inner}"
    return None


def _copy_arrays(value, depth: int = 0):
    if isinstance(value, np.ndarray):
        return np.array(np.ndarray.view(value, np.ndarray), copy=True)
    if depth > 20:
        return value
    if isinstance(value, (list, tuple)):
        return [_copy_arrays(item, depth + 1) for item in value]
    if isinstance(value, dict):
        return {key: _copy_arrays(item, depth + 1) for key, item in value.items()}
    return value


def unchanged(fn, *args, **kwargs):
    """Call fn(*args, **kwargs) and return its result; fail if it changed an array argument.

    An answer asked to return new arrays must not modify the arrays it is given (`theta -=
    lr * g` changes the caller's theta). Arrays are compared exactly, also inside lists,
    tuples and dicts; other arguments are not compared. While grading, fn runs in the
    student's kernel and its arguments are copies: the kernel sends back the arguments as
    the call left them (see `__call_and_return_arguments__` in autograder.trusted).
    """
    report = getattr(type(fn), "__call_and_return_arguments__", None)
    if report is not None:
        result, args_after, kwargs_after = report(fn, args, kwargs)
        before_args, before_kwargs = args, kwargs
        label, names = "your function", None
    else:
        before_args = [_copy_arrays(arg) for arg in args]
        before_kwargs = {key: _copy_arrays(value) for key, value in kwargs.items()}
        result = fn(*args, **kwargs)
        args_after, kwargs_after = args, kwargs
        label = getattr(fn, "__name__", None) or "your function"
        names = _parameter_names(fn)
    changed = None
    for index, before in enumerate(before_args):
        after = args_after[index] if index < len(args_after) else None
        where = _first_change(before, after)
        if where is not None:
            named = names[index] if names and index < len(names) else None
            changed = (f"its argument `{named}`" if named
                       else f"its {_ordinal(index)} argument") + where
            break
    if changed is None:
        for key, before in before_kwargs.items():
            where = _first_change(before, kwargs_after.get(key))
            if where is not None:
                changed = f"its argument `{key}`{where}"
                break
    if changed is not None:
        message = (f"{label} changed {changed} in place; leave the arrays you are given as "
                   "they are and return new ones (write `theta = theta - step`, "
                   "not `theta -= step`)")
        raise CheckFailed(message, diagnosis=message)
    return result


def _parameter_names(fn) -> list[str] | None:
    import inspect

    try:
        return list(inspect.signature(fn).parameters)
    except (TypeError, ValueError):
        return None

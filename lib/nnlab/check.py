"""Assertions for the visible tests in the course notebooks.

Contract
--------
Every function returns None when the check passes and raises ``CheckFailed``
(a subclass of AssertionError) with a message a student can act on when it
does not. Nothing is ever written to stdout or stderr: warnings are silenced
and the output of student callables is swallowed, because a grading cell
that writes to stderr scores zero.

    close(actual, expected, rtol=1e-6, atol=1e-8, name="result")
        |actual - expected| <= atol + rtol * |expected| entrywise, equal shapes.
    number(actual, expected, rtol=1e-6, name="result", atol=1e-12)
        like close, but actual must be a single number.
    shape(actual, expected_shape, name="result")
        expected_shape may contain None as a wildcard, e.g. (None, 10).
    finite(x, name="result")
        no NaN or inf anywhere.
    choice(answer, options, name="answer")
        answer must be one of the option strings (case-sensitive).
    gradient(f, x, analytic, rtol=1e-6, name="gradient")
        f(x) -> scalar; analytic is an array shaped like x (or a callable
        returning one); compared with a centred-difference gradient.

``actual`` may be a number, a list/tuple of numbers, or a numpy array. It is
type-checked first and then copied into a fresh float64 array, so every
comparison is made by numpy on plain floats, never by the object itself.
"""

from __future__ import annotations

import contextlib
import io
import numbers
import warnings

import numpy as np

__all__ = ["CheckFailed", "close", "number", "shape", "finite", "choice", "gradient"]

_MAX_NESTED = 1_000_000  # entries inspected in nested lists before giving up


class CheckFailed(AssertionError):
    """A notebook check did not pass; the message says what to fix."""


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
            raise CheckFailed(f"{name} is a nested list too large to check; use a numpy array")
        if isinstance(item, list | tuple):
            stack.extend(item)
        elif isinstance(item, np.ndarray):
            dtype = np.ndarray.view(item, np.ndarray).dtype  # not a subclass's own .dtype
            if dtype.kind not in "biuf":
                raise CheckFailed(f"{name} must hold real numbers, but it contains an array of "
                                  f"dtype {dtype}")
        elif isinstance(item, complex | np.complexfloating):
            raise CheckFailed(f"{name} contains a complex number ({item!r}); expected real numbers")
        elif not _is_plain_number(item):
            hint = ""
            if item is None:
                hint = " -- did you forget a `return`, or leave a cell unfinished?"
            elif hasattr(item, "data") and type(item).__name__ == "Value":
                hint = " -- for a graph Value compare its .data"
            elif isinstance(item, str):
                hint = " -- remove the quotes to give a number"
            raise CheckFailed(f"{name} must be a number or an array of numbers, "
                              f"got {_describe(item)}{hint}")


def _as_array(obj, name: str) -> np.ndarray:
    """Type-check obj, then copy it into a new float64 ndarray (never trusting obj)."""
    if obj is None:
        raise CheckFailed(f"{name} is None -- did you forget a `return`, "
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
        raise CheckFailed(f"{name} could not be read as an array of numbers "
                          f"({type(exc).__name__}: {exc}); ragged nested lists are a "
                          "common cause") from None
    return arr


def _fmt_index(index) -> str:
    return "" if len(index) == 0 else f" at index {tuple(int(i) for i in index)}"


def _shape_message(name: str, got: tuple, want: tuple) -> str:
    msg = f"{name} has shape {got}, expected shape {want}"
    if len(got) >= 2 and got == tuple(reversed(want)):
        msg += f" -- the axes are reversed: did you mean {name}.T (a transpose)?"
    elif int(np.prod(got)) == int(np.prod(want)):
        if got == want + (1,) or got + (1,) == want:
            msg += " -- same numbers, one extra axis of length 1: use .ravel() or [:, None]"
        elif want == ():
            msg += " -- expected a single number: use .item() or float(...)"
        else:
            msg += f" -- same number of entries: reshape to {want}?"
    return msg


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
        raise CheckFailed(_shape_message(name, actual.shape, expected.shape))
    expected_nonfinite = ~np.isfinite(expected)
    if np.any(expected_nonfinite):
        same = np.array_equal(actual[expected_nonfinite], expected[expected_nonfinite],
                              equal_nan=True)
        if not same:
            raise CheckFailed(f"{name} should have NaN/inf exactly where the expected value has")
        mask = ~expected_nonfinite
    else:
        mask = np.ones(expected.shape, dtype=bool)
    message = _nonfinite_message(name, np.where(mask, actual, 0.0))
    if message:
        raise CheckFailed(message)

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
    msg = (f"{name} is not close to the expected value: {count}worst{where}: got {a:.10g}, "
           f"expected {e:.10g} (relative error {rel:.2e}, tolerance rtol={rtol:.0e}, "
           f"atol={atol:.0e})")
    msg += _factor_hint(actual[mask], expected[mask])
    raise CheckFailed(msg)


def _factor_hint(actual: np.ndarray, expected: np.ndarray) -> str:
    """Spot the common 'right up to a constant factor' mistakes."""
    nonzero = expected != 0
    if not np.any(nonzero) or np.any(actual[~nonzero] != 0):
        return ""
    ratios = actual[nonzero] / expected[nonzero]
    ratio = float(ratios[0])
    if ratio == 0 or not np.allclose(ratios, ratio, rtol=1e-6, atol=0):
        return ""
    if np.isclose(ratio, -1.0):
        return " -- every entry has the wrong sign"
    return (f" -- every entry is {ratio:.6g} x the expected one: a missing constant "
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
            raise CheckFailed(f"{name} should be a single number, got an array of shape "
                              f"{a.shape}")
        e = _as_array(expected, "expected").reshape(())
        _compare(a.reshape(()), e, rtol, atol, name)


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
        message = _shape_message(name, got, concrete)
        raise CheckFailed(message.replace(f"expected shape {concrete}",
                                          f"expected shape {want}", 1))


def finite(x, name: str = "result"):
    """Assert x contains no NaN and no inf."""
    with _quiet():
        message = _nonfinite_message(name, _as_array(x, name))
        if message:
            raise CheckFailed(message)


def choice(answer, options, name: str = "answer"):
    """Assert answer is one of the option strings, e.g. options=("A", "B", "C", "D")."""
    listed = ", ".join(repr(o) for o in options)
    required = f"{name} must be one of {listed}"
    if not isinstance(answer, str):
        raise CheckFailed(f"{required} (a string in quotes); got {_describe(answer)}")
    answer = str.__str__(answer)  # a plain str copy: a str subclass cannot fake equality
    if answer in options:
        return
    near = [o for o in options if isinstance(o, str) and o.strip().lower()
            == answer.strip().lower()]
    if near:
        raise CheckFailed(f"{required}; got {answer!r} -- did you mean {near[0]!r}? "
                          "(exact spelling and case matter)")
    if not answer.strip():
        raise CheckFailed(f"{required}; the answer is still empty")
    raise CheckFailed(f"{required}; got {answer!r}")


def gradient(f, x, analytic, rtol: float = 1e-6, name: str = "gradient"):
    """Assert analytic (array shaped like x, or callable x -> array) matches the numeric gradient.

    f: callable, x (float array) -> scalar. x is copied; the student's x is not modified.
    The comparison uses the scaled relative error of nnlab.gradcheck.relative_error.
    """
    from nnlab.gradcheck import numerical_gradient, relative_error

    with _quiet():
        point = _as_array(x, "x")
        if callable(analytic):
            try:
                analytic = analytic(point.copy())
            except Exception as exc:  # noqa: BLE001 - report the student's error as a check
                raise CheckFailed(f"computing the analytic {name} raised "
                                  f"{type(exc).__name__}: {exc}") from exc
        grad = _as_array(analytic, name)

        def scalar_f(z):
            value = f(z.copy())
            v = _as_array(value, "f(x)")
            if v.size != 1:
                raise CheckFailed(f"f(x) must return a single number (a loss), got shape {v.shape}")
            return float(v.reshape(()))

        try:
            numeric = numerical_gradient(scalar_f, point.copy())
        except CheckFailed:
            raise
        except Exception as exc:  # noqa: BLE001
            raise CheckFailed(f"calling f(x) raised {type(exc).__name__}: {exc}") from exc
        if grad.shape != numeric.shape:
            raise CheckFailed(_shape_message(name, grad.shape, numeric.shape))
        message = _nonfinite_message(name, grad)
        if message:
            raise CheckFailed(message)
        err = relative_error(grad, numeric)
        if err > rtol:
            diff = np.abs(grad - numeric)
            worst = np.unravel_index(np.argmax(diff), diff.shape)
            raise CheckFailed(
                f"{name} does not match the numerical gradient: relative error {err:.2e} > "
                f"tolerance {rtol:.0e}; worst{_fmt_index(worst)}: analytic "
                f"{float(grad[worst]):.8g}, numeric {float(numeric[worst]):.8g}"
                + _factor_hint(grad, numeric)
            )

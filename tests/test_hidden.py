"""Hidden tests stay hidden: no message from under a hidden line, inputs from a secret.

Three leaks are covered here: a visible helper called from a hidden test reporting the hidden
expected value; a student recording the hidden inputs and printing them into their own
feedback (inputs now come from the grader's secret, different per submission); and the
grading secret itself (where it lives, who can read it).
"""

from __future__ import annotations

import os
import re
import stat
import threading

import nbformat
import numpy as np
import pytest
from nnlab import check
from nnlab.hidden import FALLBACK_SECRET, hidden_rng, using_secret

from autograder import secret, trusted
from autograder.notebooks import HIDDEN_MARKERS

# ------------------------------------------------------------------ messages (unit level)

HELPER_CELL = '''def compare(got, want):
    check.number(got, want, name="loss")
compare(answer, 1.0)
### BEGIN HIDDEN TESTS
compare(answer, 0.987654)
assert answer > 0, "the loss is never negative"
### END HIDDEN TESTS'''


def run_cell(source: str, answer):
    cell = trusted.TestCell("demo", source, trusted.hidden_line_numbers(source, HIDDEN_MARKERS))
    trusted.prepare(cell)
    try:
        exec(cell.code, {"check": check, "answer": answer})
    except Exception as error:  # noqa: BLE001 - the failure is what we inspect
        return trusted.student_message(error, cell)
    return "passed"


def test_visible_helper_called_from_a_hidden_line_reveals_nothing():
    message = run_cell(HELPER_CELL, 1.0)  # passes the visible call, fails the hidden one
    assert message.startswith("hidden test failed")
    assert "0.98" not in message and "0.99" not in message


def test_visible_helper_called_from_a_visible_line_keeps_its_full_message():
    message = run_cell(HELPER_CELL, 3.0)
    assert "loss" in message and "1" in message and not message.startswith("hidden")


def test_instructors_assert_on_a_hidden_line_is_still_shown():
    source = HELPER_CELL.replace("compare(answer, 0.987654)\n", "").replace(
        "compare(answer, 1.0)\n", "")
    message = run_cell(source, -1.0)
    assert message == "hidden test failed: the loss is never negative"


def test_library_assertion_on_a_hidden_line_is_withheld():
    source = "x = 1\n### BEGIN HIDDEN TESTS\nnp.testing.assert_allclose(answer, 0.4242)\n" \
             "### END HIDDEN TESTS"
    cell = trusted.TestCell("demo", source, trusted.hidden_line_numbers(source, HIDDEN_MARKERS))
    trusted.prepare(cell)
    with pytest.raises(AssertionError) as caught:
        exec(cell.code, {"np": np, "answer": 1.0})
    message = trusted.student_message(caught.value, cell)
    assert "0.4242" not in message and message.startswith("hidden test failed")


def test_a_value_free_diagnosis_is_shown_under_a_hidden_line():
    class Diagnosed(AssertionError):
        diagnosis = "the sign is flipped"

    source = "x = 1\n### BEGIN HIDDEN TESTS\nfail(0.31415)\n### END HIDDEN TESTS"

    def fail(value):
        raise Diagnosed(f"expected {value}")

    cell = trusted.TestCell("demo", source, trusted.hidden_line_numbers(source, HIDDEN_MARKERS))
    trusted.prepare(cell)
    with pytest.raises(Diagnosed) as caught:
        exec(cell.code, {"fail": fail})
    message = trusted.student_message(caught.value, cell)
    assert message == "hidden test failed: the sign is flipped"


# ------------------------------------------------------------------------ hidden_rng


def draw(name: str, secret_value: bytes | None = None) -> np.ndarray:
    with using_secret(secret_value):
        return hidden_rng(name).normal(size=5)


def test_hidden_rng_depends_on_the_secret_and_the_name():
    a, b = draw("adam_step", b"one secret"), draw("adam_step", b"another secret")
    assert not np.allclose(a, b)
    assert not np.allclose(a, draw("momentum_step", b"one secret"))
    np.testing.assert_array_equal(a, draw("adam_step", b"one secret"))


def test_without_a_secret_hidden_rng_is_reproducible_from_the_public_fallback():
    np.testing.assert_array_equal(draw("adam_step"), draw("adam_step", FALLBACK_SECRET))
    np.testing.assert_array_equal(draw("adam_step"), hidden_rng("adam_step").normal(size=5))


def test_secret_is_per_thread():
    seen = {}

    def worker(label: bytes):
        with using_secret(label):
            threading.Event().wait(0.05)  # overlap with the other thread
            seen[label] = hidden_rng("x").normal(size=5)

    threads = [threading.Thread(target=worker, args=(s,)) for s in (b"s1", b"s2")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    np.testing.assert_array_equal(seen[b"s1"], draw("x", b"s1"))
    np.testing.assert_array_equal(seen[b"s2"], draw("x", b"s2"))


@pytest.mark.parametrize("bad", [b"", "text", 3])
def test_bad_secret_is_refused(bad):
    with pytest.raises(ValueError, match="secret"):
        with using_secret(bad):
            pass


def test_hidden_rng_needs_a_name():
    with pytest.raises(ValueError, match="name"):
        hidden_rng("")


# ------------------------------------------------------------------- the workspace secret


def test_workspace_secret_is_created_once_private_and_kept(tmp_path, monkeypatch):
    monkeypatch.delenv(secret.ENV_VARIABLE, raising=False)
    first = secret.workspace_secret(tmp_path / "grading")
    path = tmp_path / "grading" / secret.FILE_NAME
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(first) >= 32
    assert secret.workspace_secret(tmp_path / "grading") == first
    assert secret.workspace_secret(tmp_path / "elsewhere") != first


def test_workspace_secret_readable_by_others_is_refused(tmp_path, monkeypatch):
    monkeypatch.delenv(secret.ENV_VARIABLE, raising=False)
    secret.workspace_secret(tmp_path)
    os.chmod(tmp_path / secret.FILE_NAME, 0o644)
    with pytest.raises(secret.SecretProblem, match="chmod 600"):
        secret.workspace_secret(tmp_path)


def test_empty_secret_file_is_refused(tmp_path, monkeypatch):
    monkeypatch.delenv(secret.ENV_VARIABLE, raising=False)
    path = tmp_path / secret.FILE_NAME
    path.write_text("")
    os.chmod(path, 0o600)
    with pytest.raises(secret.SecretProblem, match="empty"):
        secret.workspace_secret(tmp_path)


def test_environment_variable_overrides_the_file(tmp_path, monkeypatch):
    monkeypatch.setenv(secret.ENV_VARIABLE, "from the environment")
    assert secret.workspace_secret(tmp_path) == b"from the environment"
    assert not (tmp_path / secret.FILE_NAME).exists()


def test_every_submission_gets_its_own_secret():
    base = b"workspace"
    one = secret.submission_secret(base, b'{"cells": []}')
    assert one == secret.submission_secret(base, b'{"cells": []}')
    assert one != secret.submission_secret(base, b'{"cells": [] }')
    assert one != secret.submission_secret(b"other workspace", b'{"cells": []}')
    assert base not in one


def test_secret_file_is_git_ignored():
    from autograder import course

    ignored = (course.ROOT / ".gitignore").read_text().splitlines()
    assert "grading/" in ignored


# ------------------------------------------------------- hidden blocks draw from the secret

# A literal seed of two or more digits (or one made from bytes) fixes inputs for everyone.
# Single-digit seeds remain for trusted-side construction (a reference layer's unused init),
# and a hidden test may repeat a seed the visible notebook itself uses: it re-runs the
# notebook's own experiment, whose outcome is what the question asks for.
LITERAL_SEED = re.compile(r"default_rng\(\s*(\d{2,}|int\.from_bytes[^)]*\))")


def hidden_blocks(path):
    pattern = re.escape(HIDDEN_MARKERS[0]) + r"(.*?)" + re.escape(HIDDEN_MARKERS[1])
    for cell in nbformat.read(path, as_version=4).cells:
        yield from re.findall(pattern, cell.source, re.S)


def solution_notebooks():
    from autograder import course

    return sorted(course.SOLUTIONS.glob("*/*.ipynb"))


@pytest.mark.parametrize("path", solution_notebooks(), ids=lambda p: p.parent.name)
def test_hidden_tests_draw_their_random_inputs_from_the_grading_secret(path):
    blocks = list(hidden_blocks(path))
    pattern = re.escape(HIDDEN_MARKERS[0]) + r".*?" + re.escape(HIDDEN_MARKERS[1])
    visible = "\n".join(re.sub(pattern, "", c.source, flags=re.S)
                        for c in nbformat.read(path, as_version=4).cells)
    fixed = [seed.group(0) for block in blocks for seed in LITERAL_SEED.finditer(block)
             if seed.group(0) not in visible]
    assert not fixed, fixed
    assert any("hidden_rng(" in block for block in blocks)


# ------------------------------------------------- through the real grading path (lecture 02)

BACKPROP = "02-backprop"

# The model solution, wrapped: right on the visible tests (four examples), 1 % off on the
# hidden ones. It records what it is called with, and the true loss, for the cell below.
RECORDING_ANSWER = '''
{solution}

_right_answer = two_layer_loss_grads
recorded_X, true_J = [], []


def two_layer_loss_grads(X, Y, params, lam=0.0):
    J, grads = _right_answer(X, Y, params, lam)
    if len(X) != 4:
        recorded_X.append(np.asarray(X).tolist())
        true_J.append(J)
        J = 1.01 * J
    return J, grads
'''

PRINT_RECORDED = 'import json\nprint("RECORDED " + json.dumps({"X": recorded_X, "J": true_J}))'


def recording_submission():
    """Lecture 02 with the recording answer and, after its test, a cell printing the record."""
    from tests.support.grading import source_path, strip_solution_markers, variant

    source = nbformat.read(source_path(BACKPROP), as_version=4)
    solution = next(c.source for c in source.cells
                    if c.metadata.get("nbgrader", {}).get("grade_id") == "two_layer_loss_grads")
    nb = variant(BACKPROP, {"two_layer_loss_grads": RECORDING_ANSWER.format(
        solution=strip_solution_markers(solution))})
    index = next(i for i, c in enumerate(nb.cells)
                 if c.metadata.get("nbgrader", {}).get("grade_id") == "two_layer_loss_grads_test")
    nb.cells.insert(index + 1, nbformat.v4.new_code_cell(PRINT_RECORDED))
    return nb


def printed_record(result) -> dict:
    import json

    for cell in result.notebook.cells:
        for output in cell.get("outputs", []):
            text = output.get("text", "")
            if "RECORDED " in text:
                return json.loads(text.split("RECORDED ", 1)[1])
    raise AssertionError("the student's cell printed nothing")


@pytest.fixture(scope="module")
def recorded_runs():
    """The recording submission graded three times: no secret, and two different secrets."""
    from autograder.engine import grade_submission
    from tests.support.grading import TEST_LIMITS, source_path

    nb = recording_submission()
    runs = {}
    for label, value in (("fallback", None), ("one", b"secret one"), ("two", b"secret two")):
        result = grade_submission(source_path(BACKPROP), nb, limits=TEST_LIMITS, secret=value)
        assert result.status == "ok", result.message
        runs[label] = result
    return runs


@pytest.mark.slow
def test_helper_called_from_a_hidden_test_does_not_reveal_the_expected_loss(recorded_runs):
    for result in recorded_runs.values():
        cell = result.cells["two_layer_loss_grads_test"]
        assert not cell.passed
        assert cell.message.startswith("hidden test failed"), cell.message
        for true_loss in printed_record(result)["J"]:
            # check.number prints values to 10 significant digits; none may appear.
            assert f"{true_loss:.5g}" not in cell.message, cell.message


@pytest.mark.slow
def test_recorded_hidden_inputs_differ_between_grading_secrets(recorded_runs):
    inputs = {label: printed_record(result)["X"] for label, result in recorded_runs.items()}
    assert inputs["one"] and inputs["two"]
    assert inputs["one"] != inputs["two"]
    # What a student can compute without the secret (hidden_rng in their own kernel, i.e. the
    # public fallback) is not what the grader used.
    assert inputs["fallback"] not in (inputs["one"], inputs["two"])
    with using_secret(b"secret one"):
        first = hidden_rng("two_layer_loss_grads").normal(size=(1, 2))
    np.testing.assert_allclose(inputs["one"][0], first)  # the grader really used the secret


def test_a_resubmission_is_graded_with_new_hidden_inputs():
    base = b"workspace secret"
    first = recording_submission()
    second = recording_submission()
    second.cells.append(nbformat.v4.new_code_cell("# one more comment"))
    secrets = [secret.submission_secret(base, nbformat.writes(nb).encode()) for nb in
               (first, second)]
    draws = []
    for value in secrets:
        with using_secret(value):
            draws.append(hidden_rng("two_layer_loss_grads").normal(size=4))
    assert not np.allclose(draws[0], draws[1])


# ------------------------------------------------ through `python -m autograder grade`

SECRET_SQUARE_TEST = '''assert square(3) == 9
### BEGIN HIDDEN TESTS
from nnlab.hidden import hidden_rng

for x in hidden_rng("square").normal(size=3):
    assert abs(square(float(x)) - x * x) < 1e-12, "square is wrong for some number"
### END HIDDEN TESTS'''

RECORDING_SQUARE = '''seen = []


def square(x):
    seen.append(x)
    return x * x'''

PRINT_SEEN = 'print("SEEN", seen)'


def class_with_recording_students(tmp_path):
    from tests.test_pipeline import CORRECT, build_assignment, put, student_notebook

    source_root = build_assignment(tmp_path / "solutions")
    path = source_root / "fx" / "fx.ipynb"
    nb = nbformat.read(path, as_version=4)
    test_cell = next(c for c in nb.cells if c.metadata["nbgrader"]["grade_id"] == "square_test")
    test_cell.source = SECRET_SQUARE_TEST
    nbformat.write(nb, path)
    submissions = tmp_path / "submitted"
    for student, comment in (("ada", ""), ("bo", "\n# my own version")):
        answers = dict(CORRECT, square=RECORDING_SQUARE + comment)
        student_nb = student_notebook(answers)
        index = next(i for i, c in enumerate(student_nb.cells)
                     if c.metadata.get("nbgrader", {}).get("grade_id") == "square_test")
        student_nb.cells.insert(index + 1, nbformat.v4.new_code_cell(PRINT_SEEN))
        put(submissions, student, student_nb)
    return source_root, submissions, tmp_path / "out"


def seen_in_feedback(out, student: str) -> list[float]:
    from tests.test_pipeline import page_text

    page = page_text(next((out / "feedback" / student).rglob("*.html")))
    found = re.search(r"SEEN \[([^\]]*)\]", page)
    assert found, f"{student}'s printed record is not in the feedback"
    return [float(v) for v in found.group(1).split(",")]


@pytest.mark.slow
def test_grader_draws_hidden_inputs_per_submission_from_a_private_secret(tmp_path, monkeypatch):
    from tests.test_pipeline import by_student, grade, read_grades

    monkeypatch.delenv(secret.ENV_VARIABLE, raising=False)
    source_root, submissions, out = class_with_recording_students(tmp_path)
    assert grade(source_root, submissions, out, "--workers", "1") == 0
    rows = by_student(read_grades(out))
    assert rows["ada"]["square_test"] == rows["bo"]["square_test"] == "2.0"
    assert stat.S_IMODE((out / secret.FILE_NAME).stat().st_mode) == 0o600

    ada, bo = seen_in_feedback(out, "ada"), seen_in_feedback(out, "bo")
    hidden = {"ada": ada[1:], "bo": bo[1:]}  # the first call is the visible square(3)
    assert len(hidden["ada"]) == 3 and hidden["ada"] != hidden["bo"]
    computable = list(hidden_rng("square").normal(size=3))  # the public fallback
    assert not np.allclose(hidden["ada"], computable)

    # Regrading the same bytes with the same secret draws the same inputs.
    assert grade(source_root, submissions, out, "--workers", "1", "--force") == 0
    np.testing.assert_array_equal(seen_in_feedback(out, "ada"), ada)

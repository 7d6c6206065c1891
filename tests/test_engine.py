"""grade_submission on the fixture assignment: scores, statuses, assembly rules, feedback."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import nbformat
import pytest
from nbgrader.utils import determine_grade, is_grade

from autograder.engine import (
    EnvironmentProblem,
    Limits,
    assemble,
    grade_submission,
    load_source,
    verify_environment,
)
from autograder.notebooks import grade_id
from tests.support.grading import cells_for, grade_all, variant

pytestmark = pytest.mark.slow

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "autograde"
SOURCE = FIXTURE / "source" / "fixture.ipynb"
LIMITS = Limits(cell_timeout=10.0, notebook_timeout=40.0, max_output_bytes=20_000)


def load(name):
    return nbformat.read(FIXTURE / "submissions" / f"{name}.ipynb", as_version=4)


def cell_of(nb, gid):
    return next(cell for cell in nb.cells if grade_id(cell) == gid)


def _duplicated_answer():
    nb = load("correct")
    fake = copy.deepcopy(cell_of(nb, "slope"))
    fake.source = "slope_at_zero = 0.5"
    fake.id = "dupe"
    nb.cells.append(fake)  # a later copy must not override the first
    return nb


def _added_cells():
    nb = load("wrong")
    index = nb.cells.index(cell_of(nb, "slope_test"))
    # A student cell placed before the test fixes the answer: it runs in that position.
    nb.cells.insert(index, nbformat.v4.new_code_cell("slope_at_zero = 0.25"))
    return nb


def _missing_answer():
    nb = load("correct")
    nb.cells.remove(cell_of(nb, "sigmoid"))
    return nb


def _stderr_warning():
    nb = load("correct")
    cell_of(nb, "sigmoid").source += (
        "\nimport sys, warnings\nwarnings.warn('deprecated thing')\n"
        "print('note', file=sys.stderr)"
    )
    return nb


def _release_stub(gid):
    return cell_of(variant(SOURCE, {}, base="release"), gid).source


SIGMOID_HALVES = ("def sigmoid(z):\n    z = np.asarray(z, dtype=float)",
                  "    return 1.0 / (1.0 + np.exp(-z))")


def _split_answer():
    """JupyterLab's "split cell": both halves keep the answer's metadata."""
    nb = load("correct")
    first = cell_of(nb, "sigmoid")
    second = copy.deepcopy(first)
    first.source, second.source = SIGMOID_HALVES
    second.id = "second-half"
    nb.cells.insert(nb.cells.index(first) + 1, second)
    return nb


def _stub_copy_first():
    """The answer cell copied and pasted, and the starter code left in the first copy."""
    nb = load("correct")
    answer = cell_of(nb, "sigmoid")
    stub = copy.deepcopy(answer)
    stub.source = _release_stub("sigmoid")
    stub.id = "stub-copy"
    nb.cells.insert(nb.cells.index(answer), stub)
    return nb


def _lost_metadata():
    """The answer lost its nbgrader metadata (pasted into a fresh cell): the starter code
    must not run after it and replace the student's function."""
    nb = load("correct")
    cell_of(nb, "sigmoid").metadata.pop("nbgrader")
    return nb


def _huge_output():
    nb = load("correct")
    cell_of(nb, "slope").source += "\nfor i in range(50_000):\n    print('x' * 80)"
    return nb


@pytest.fixture(scope="module")
def graded():
    variants = {name: load(name) for name in ("correct", "blank", "partial", "wrong")}
    variants.update(duplicated=_duplicated_answer(), added=_added_cells(),
                    missing=_missing_answer(), stderr=_stderr_warning(), huge=_huge_output(),
                    split=_split_answer(), stub_first=_stub_copy_first(),
                    lost_metadata=_lost_metadata(),
                    built=variant(SOURCE, {"choice": 'activation_choice = "c"'}))
    return grade_all(SOURCE, variants, workers=2, limits=LIMITS)


@pytest.mark.parametrize("name, score", [("correct", 6), ("blank", 0), ("partial", 3),
                                         ("wrong", 0), ("duplicated", 6), ("added", 1),
                                         ("missing", 4), ("stderr", 6), ("huge", 6),
                                         ("built", 5), ("split", 6), ("stub_first", 6),
                                         ("lost_metadata", 6)])
def test_scores(graded, name, score):
    result = graded[name]
    assert result.status == "ok", result.message
    assert result.score == score, {g: c.message for g, c in result.cells.items()}
    assert result.max_score == 7
    assert list(result.cells) == ["sigmoid_test", "slope_test", "choice_test",
                                  "running_mean_test", "explain"]


def test_manual_cell_needs_grading(graded):
    manual = graded["correct"].cells["explain"]
    assert manual.needs_manual and manual.points == 0 and not manual.passed


def test_messages_are_specific(graded):
    wrong = graded["wrong"].cells
    assert wrong["sigmoid_test"].message.startswith("hidden test failed:")
    assert "not the best option" in wrong["choice_test"].message
    assert "slope_at_zero" in wrong["slope_test"].message
    assert "NotImplementedError" in graded["blank"].cells["sigmoid_test"].message
    assert "appears more than once" in graded["duplicated"].message
    assert "sigmoid" in graded["missing"].message
    assert "joined" in graded["split"].message
    assert "starter code was ignored" in graded["stub_first"].message
    assert "would have replaced your sigmoid" in graded["lost_metadata"].message


def _answer_code(nb, gid):
    info = load_source(SOURCE)
    steps, _ = assemble(info, nb)
    return next(step.code for step in steps if step.source is not None
                and step.source.grade_id == gid)


def test_assembly_reads_answers_as_the_student_meant_them():
    assert _answer_code(_split_answer(), "sigmoid") == "\n".join(SIGMOID_HALVES)
    assert "np.exp" in _answer_code(_stub_copy_first(), "sigmoid")
    assert _answer_code(_lost_metadata(), "sigmoid") == ""
    # A stub that defines nothing the student defined still runs (the answer is missing).
    assert _answer_code(_missing_answer(), "sigmoid") == _release_stub("sigmoid")


def test_copies_of_an_answer_further_down_run_where_they_stand():
    info = load_source(SOURCE)
    steps, _ = assemble(info, _duplicated_answer())
    assert [step.code for step in steps][-1] == "slope_at_zero = 0.5"
    assert _answer_code(_duplicated_answer(), "slope").strip().endswith("0.25")
    # Two unchanged stubs: one stub is graded, nothing runs twice.
    nb = load("blank")
    stub = copy.deepcopy(cell_of(nb, "slope"))
    stub.id = "again"
    nb.cells.insert(nb.cells.index(cell_of(nb, "slope")) + 1, stub)
    steps, _ = assemble(info, nb)
    runs = [step for step in steps if step.code == _release_stub("slope")
            and (step.source is None or step.source.grade_id == "slope")]
    assert len(runs) == 1


def test_huge_output_is_truncated_and_recorded(graded):
    result = graded["huge"]
    assert result.output_truncated
    text = nbformat.writes(result.notebook)
    assert "output truncated" in text
    assert len(text) < 200_000


def test_cells_for_selects_an_answers_tests(graded):
    assert [c.grade_id for c in cells_for(graded["built"], "choice")] == ["choice_test"]
    assert not cells_for(graded["built"], "choice")[0].passed
    with pytest.raises(KeyError):
        cells_for(graded["built"], "nonexistent")


def test_graded_notebook_agrees_with_nbgrader(graded):
    for name in ("correct", "partial", "wrong"):
        result = graded[name]
        nbformat.validate(result.notebook)
        for cell in result.notebook.cells:
            if is_grade(cell) and cell.cell_type == "code":
                points, _ = determine_grade(cell)
                assert points == result.cells[grade_id(cell)].points


@pytest.mark.parametrize("content, words", [
    (b"", "empty"),
    (b"{not json", "invalid JSON"),
    (b"\xff\xfe\x00garbage", "UTF-8"),
    (json.dumps({"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}).encode(),
     "right notebook"),
    (json.dumps({"nbformat": 2, "worksheets": []}).encode(), ""),
])
def test_bad_files_are_invalid(tmp_path, content, words):
    path = tmp_path / "submission.ipynb"
    path.write_bytes(content)
    result = grade_submission(SOURCE, path, limits=LIMITS)
    assert result.status == "invalid"
    assert words in result.message
    assert result.score == 0 and result.max_score == 7


def test_verify_environment(tmp_path):
    assert verify_environment(SOURCE, limits=LIMITS).score == 6
    broken = nbformat.read(SOURCE, as_version=4)
    cell_of(broken, "slope_test").source = "check.number(slope_at_zero, 0.3)"
    path = tmp_path / "broken.ipynb"
    nbformat.write(broken, path)
    with pytest.raises(EnvironmentProblem, match="slope_test"):
        verify_environment(path, limits=LIMITS)

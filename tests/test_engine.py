"""grade_submission on the fixture assignment: scores, statuses, assembly rules, feedback."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import nbformat
import pytest
from nbgrader.utils import determine_grade, is_grade

from autograder.engine import EnvironmentProblem, Limits, grade_submission, verify_environment
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


def _huge_output():
    nb = load("correct")
    cell_of(nb, "slope").source += "\nfor i in range(50_000):\n    print('x' * 80)"
    return nb


@pytest.fixture(scope="module")
def graded():
    variants = {name: load(name) for name in ("correct", "blank", "partial", "wrong")}
    variants.update(duplicated=_duplicated_answer(), added=_added_cells(),
                    missing=_missing_answer(), stderr=_stderr_warning(), huge=_huge_output(),
                    built=variant(SOURCE, {"choice": 'activation_choice = "c"'}))
    return grade_all(SOURCE, variants, workers=2, limits=LIMITS)


@pytest.mark.parametrize("name, score", [("correct", 6), ("blank", 0), ("partial", 3),
                                         ("wrong", 0), ("duplicated", 6), ("added", 1),
                                         ("missing", 4), ("stderr", 6), ("huge", 6),
                                         ("built", 5)])
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

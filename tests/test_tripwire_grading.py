"""check.not_calling through the real grader: the trip-wire is armed in the student's kernel.

A miniature assignment asks for the sigmoid's derivative without nnlab.functions.sigmoid_grad.
Its first test cell calls the answer inside `check.not_calling`; its second checks the value
outside it, so an answer that calls the library loses the first cell's points only.
"""

from __future__ import annotations

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from autograder.engine import Limits
from tests.support.grading import answered, grade_all, strip_solution_markers

pytestmark = pytest.mark.slow

LIMITS = Limits(cell_timeout=30.0, notebook_timeout=120.0)

ANSWER = '''def slope(z):
    """The derivative of the logistic sigmoid at z (an array)."""
    ### BEGIN SOLUTION
    s = 1.0 / (1.0 + np.exp(-z))
    return s * (1.0 - s)
    ### END SOLUTION'''

RULE_TEST = '''with check.not_calling("nnlab.functions.sigmoid_grad"):
    result = slope(np.array([0.0, 2.0]))
### BEGIN HIDDEN TESTS
with check.not_calling("nnlab.functions.sigmoid_grad"):
    hidden = slope(np.linspace(-3.0, 3.0, 7))
### END HIDDEN TESTS'''

VALUE_TEST = '''check.close(slope(np.array([0.0])), [0.25], name="slope(0)")'''


def _marked(cell, gid, **flags):
    meta = {"grade": False, "grade_id": gid, "locked": False, "schema_version": 3,
            "solution": False, "task": False}
    meta.update(flags)
    cell.metadata["nbgrader"] = meta
    return cell


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    nb = new_notebook(cells=[
        _marked(new_code_cell("import numpy as np\nfrom nnlab import check, functions"),
                "imports", locked=True),
        _marked(new_markdown_cell("Write `slope(z)`. Do not call "
                                  "`nnlab.functions.sigmoid_grad`; the test checks this."),
                "intro", locked=True),
        _marked(new_code_cell(ANSWER), "slope", solution=True),
        _marked(new_code_cell(RULE_TEST), "slope_test", grade=True, locked=True, points=1),
        _marked(new_code_cell(VALUE_TEST), "slope_test2", grade=True, locked=True, points=1),
    ])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    path = tmp_path_factory.mktemp("tripwire") / "tripwire.ipynb"
    nbformat.write(nb, path)
    return path


HONEST = '''def slope(z):
    sigmoid_grad = functions.sigmoid(z) * (1 - functions.sigmoid(z))
    return sigmoid_grad'''
LIBRARY = '''def slope(z):
    return functions.sigmoid_grad(z)'''
ALIASED = '''from nnlab.functions import sigmoid_grad as helper

def slope(z):
    return helper(z)'''
DEBUG_CELL = "print(functions.sigmoid_grad(np.array([0.0])))  # compare with the library"


@pytest.fixture(scope="module")
def graded(source):
    def with_answer(text, debug=False):
        nb = answered(source, {"slope": text})
        if debug:  # a scratch cell the student added after the answer
            at = next(i for i, c in enumerate(nb.cells) if c.metadata.get("nbgrader", {})
                      .get("grade_id") == "slope")
            nb.cells.insert(at + 1, new_code_cell(DEBUG_CELL))
        return nb

    variants = {"solution": with_answer(strip_solution_markers(ANSWER)),
                "honest_names": with_answer(HONEST, debug=True),
                "library": with_answer(LIBRARY), "aliased": with_answer(ALIASED)}
    return grade_all(source, variants, workers=2, limits=LIMITS)


def test_honest_answers_with_library_names_and_debug_calls_score_full(graded):
    for name in ("solution", "honest_names"):
        result = graded[name]
        assert result.status == "ok", result.message
        assert result.score == 2, {g: c.message for g, c in result.cells.items()}


@pytest.mark.parametrize("name", ["library", "aliased"])
def test_calling_the_library_loses_only_the_rule_cell(graded, name):
    cells = graded[name].cells
    assert not cells["slope_test"].passed
    assert "nnlab.functions.sigmoid_grad" in cells["slope_test"].message
    assert "without" in cells["slope_test"].message
    assert cells["slope_test2"].passed

"""Builds small nbgrader source notebooks for tests of the release and course tooling."""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook


def nbgrader(cell, grade_id, *, solution=False, grade=False, locked=False, points=None):
    meta = {
        "grade": grade,
        "grade_id": grade_id,
        "locked": locked,
        "schema_version": 3,
        "solution": solution,
        "task": False,
    }
    if points is not None:
        meta["points"] = points
    cell.metadata["nbgrader"] = meta
    return cell


def source_notebook() -> nbformat.NotebookNode:
    """A two-exercise assignment: one code answer with hidden tests, one manual answer."""
    cells = [
        nbgrader(new_markdown_cell("# Fixture\nSquare a number."), "intro", locked=True),
        nbgrader(new_code_cell("import numpy as np"), "imports", locked=True),
        nbgrader(
            new_code_cell(
                "def square(x):\n    ### BEGIN SOLUTION\n    return x * x\n    ### END SOLUTION"
            ),
            "square",
            solution=True,
        ),
        nbgrader(
            new_code_cell(
                "assert square(3) == 9\n### BEGIN HIDDEN TESTS\nassert square(-4) == 16\n"
                "### END HIDDEN TESTS"
            ),
            "square_test",
            grade=True,
            locked=True,
            points=2,
        ),
        nbgrader(new_markdown_cell("Why is a square never negative?"), "why_q", locked=True),
        nbgrader(
            new_markdown_cell(
                "### BEGIN SOLUTION\n**Model answer.** A product of two numbers of equal sign.\n\n"
                "**Rubric (1 point).** Mentions signs.\n### END SOLUTION"
            ),
            "why",
            solution=True,
            grade=True,
            points=1,
        ),
    ]
    nb = new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    return nb


def write_course(root: Path, assignment: str = "01-fixture", nb=None) -> Path:
    """Write `nb` (default: source_notebook()) as root/solutions/<assignment>/fixture.ipynb."""
    path = root / "solutions" / assignment / "fixture.ipynb"
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb if nb is not None else source_notebook(), path)
    return path

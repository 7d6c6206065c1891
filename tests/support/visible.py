"""What a student sees when running a notebook's visible tests, and notebooks with scratch cells.

visible_output(assignment, test_id, answer_source) -> (stdout, stderr)
    Runs, in a fresh namespace of this process, the import statements of the source
    notebook's locked cells, then `answer_source` (the student's answer), then the visible
    part of test cell `test_id` (its source without the hidden-test blocks, as released), as
    a student's kernel would. Returns what that test printed; an exception of the test propagates.
with_scratch_cell(nb, after, source) -> nb
    nb (a student notebook) with a code cell the student added, without nbgrader metadata,
    right after the cell whose grade id is `after`.
"""

from __future__ import annotations

import ast
import contextlib
import io
import re

from nbformat.v4 import new_code_cell

from autograder.notebooks import grade_id, is_answer_cell, is_test_cell, read_notebook
from tests.support.grading import source_path

HIDDEN_BLOCK = re.compile(r"^[ \t]*### BEGIN HIDDEN TESTS\n.*?^[ \t]*### END HIDDEN TESTS[ \t]*\n?",
                          re.S | re.M)


def _imports(cells) -> str:
    """The import statements of the locked cells that are neither answers nor tests."""
    lines = []
    for cell in cells:
        if cell.cell_type != "code" or is_answer_cell(cell) or is_test_cell(cell):
            continue
        for node in ast.parse(cell.source).body:
            if isinstance(node, ast.Import | ast.ImportFrom):
                lines.append(ast.unparse(node))
    return "\n".join(lines)


def visible_output(assignment: str, test_id: str, answer_source: str) -> tuple[str, str]:
    cells = read_notebook(source_path(assignment)).cells
    test = next(c for c in cells if grade_id(c) == test_id)
    namespace: dict = {}
    exec(_imports(cells), namespace)  # noqa: S102 - the course's own notebook
    exec(answer_source, namespace)  # noqa: S102 - an answer written in the test module
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        exec(HIDDEN_BLOCK.sub("", test.source), namespace)  # noqa: S102
    return out.getvalue(), err.getvalue()


def with_scratch_cell(nb, after: str, source: str):
    at = next(i for i, c in enumerate(nb.cells) if grade_id(c) == after)
    nb.cells.insert(at + 1, new_code_cell(source))
    return nb


def assert_says_format_only(assignment: str, test_id: str, answer_source: str) -> None:
    """A visible test that checks only the form passes a well-formed wrong answer, and says
    so on stdout (never stderr, which nbgrader would score as 0)."""
    out, err = visible_output(assignment, test_id, answer_source)
    assert "format OK; the value is checked when graded" in out
    assert not err

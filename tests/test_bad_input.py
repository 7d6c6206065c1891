"""Bad submissions each get a row with a clear status and message; the batch goes on.

One class of odd submissions is imported and graded in a single run (to keep the suite fast).
"""

from __future__ import annotations

import io
import zipfile
from datetime import datetime

import nbformat
import pytest
from nbgrader.api import Gradebook

from autograder.gradebook import create_gradebook, db_url_for, register_assignment
from autograder.importer import import_submissions
from tests.test_pipeline import (
    ASSIGNMENT,
    CORRECT,
    MAX_SCORE,
    PARTIAL,
    build_assignment,
    by_student,
    grade,
    put,
    read_grades,
    student_notebook,
)


def cell_index(nb, grade_id: str) -> int:
    return next(i for i, c in enumerate(nb.cells)
                if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)


def with_answer(square: str) -> nbformat.NotebookNode:
    return student_notebook({**CORRECT, "square": square})


@pytest.mark.slow
def test_every_odd_submission_gets_a_row_and_the_batch_continues(tmp_path):
    source_root = build_assignment(tmp_path / "solutions")
    submissions = tmp_path / "submitted"

    put(submissions, "json", b'{"cells": [')
    put(submissions, "empty", b"")
    put(submissions, "latin1", b'{"cells": [], "note": "caf\xe9"}')
    put(submissions, "v3", nbformat.writes(student_notebook(CORRECT), version=3))

    missing_cells = student_notebook(CORRECT)
    del missing_cells.cells[cell_index(missing_cells, "mean")]
    del missing_cells.cells[cell_index(missing_cells, "square_test")]
    put(submissions, "missing", missing_cells)

    duplicated = student_notebook(CORRECT)
    wrong_copy = nbformat.from_dict(duplicated.cells[cell_index(duplicated, "square")])
    wrong_copy = nbformat.v4.new_code_cell("def square(x):\n    return -1",
                                           metadata=dict(wrong_copy.metadata))
    duplicated.cells.insert(cell_index(duplicated, "square") + 1, wrong_copy)
    put(submissions, "dup", duplicated)

    put(submissions, "warns", with_answer(
        "import sys, warnings\n"
        "warnings.warn('this API is deprecated', DeprecationWarning, stacklevel=1)\n"
        "print('progress note', file=sys.stderr)\n"
        "def square(x):\n    return x * x"
    ))
    put(submissions, "loud", with_answer(
        "print('x' * 3_000_000)\ndef square(x):\n    return x * x"
    ))
    put(submissions, "wrongname", student_notebook(CORRECT), name="fx (1) copy.ipynb")
    put(submissions, "fine", student_notebook(PARTIAL))

    # An LMS download with a student who is not on the roster.
    roster = tmp_path / "roster.csv"
    roster.write_text("id\n" + "\n".join(
        ["json", "empty", "latin1", "v3", "missing", "dup", "warns", "loud", "wrongname",
         "fine", "ghost"]) + "\n")
    # Blackboard's naming, submitted ten minutes after the due date set below.
    archive = tmp_path / "late.zip"
    with zipfile.ZipFile(archive, "w") as handle:
        handle.writestr("Assignment 1_newcomer_attempt_2030-01-01-00-10-00_fx.ipynb",
                        nbformat.writes(student_notebook(CORRECT)))
    said = io.StringIO()
    report = import_submissions(ASSIGNMENT, archive, submissions, roster_path=roster,
                                source_root=source_root, stream=said)
    assert report["students_added_to_roster"] == ["newcomer"]
    assert "added to the roster" in said.getvalue() and "newcomer" in said.getvalue()
    assert "ghost" in report["roster_students_without_submission"]

    out = tmp_path / "out"
    create_gradebook(out / "gradebook.db")
    register_assignment(db_url_for(out / "gradebook.db"), source_root, ASSIGNMENT)
    with Gradebook(db_url_for(out / "gradebook.db")) as gb:
        gb.update_or_create_assignment(ASSIGNMENT, duedate=datetime(2030, 1, 1))
    assert grade(source_root, submissions, out, "--workers", "2") == 0
    with Gradebook(db_url_for(out / "gradebook.db")) as gb:  # the LMS's time reached nbgrader
        assert gb.find_submission(ASSIGNMENT, "newcomer").total_seconds_late == 600
        assert gb.find_submission(ASSIGNMENT, "fine").total_seconds_late == 0
    rows = by_student(read_grades(out))
    assert len(read_grades(out)) == len(rows) == 12  # 11 on the roster + the newcomer

    def check(student, status, score=None, says=""):
        row = rows[student]
        assert row["status"] == status, row
        assert float(row["max_score"]) == MAX_SCORE
        if score is not None:
            assert float(row["score"]) == score, row
        assert says.lower() in row["message"].lower(), row
        if status != "ok":
            assert row["message"].strip(), row  # always a reason a person can read
        assert "nnlab-task-" not in row["message"]  # names the student's file, not scratch

    check("json", "invalid", 0.0, "invalid JSON")
    check("empty", "invalid", 0.0, "empty")
    check("latin1", "invalid", 0.0, "UTF-8")
    # Two adjacent cells with one grade_id are the halves of a split cell: joined in order, the
    # second definition wins, as it does when the student runs the notebook.
    check("dup", "ok", 1.0, "split into 2 pieces")
    check("missing", "ok", 2.0, "missing answer cells")
    check("warns", "ok", 3.0)
    check("wrongname", "ok", 3.0, "renamed")
    check("ghost", "missing", 0.0, "no submission")
    check("newcomer", "ok", 3.0)
    assert float(rows["fine"]["score"]) == 2.0 and rows["fine"]["status"] == "ok"

    check("v3", "ok", 3.0, "old notebook format (nbformat 3)")
    assert rows["dup"]["message"].count("split into 2 pieces") == 1

    # A huge output is cut, not fatal: the answer still counts, the page stays small.
    check("loud", "ok", 3.0, "output truncated")
    page = out / "feedback" / "loud" / ASSIGNMENT / "fx.html"
    assert page.stat().st_size < 2_500_000

    for student in ("json", "empty", "latin1"):
        assert (out / "feedback" / student / ASSIGNMENT / "fx.html").is_file()

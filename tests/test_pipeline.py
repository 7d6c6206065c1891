"""`python -m autograder grade`: grades.csv, gradebook, feedback and report for a small class.

A two-exercise assignment (square: 2 points, mean: 1 point, plus one manually graded answer
worth 1 point) is graded for a correct, a partially correct and a blank submission. The
expected points follow from how the submissions were written, not from running the code.
The helpers here are shared by the other grading tests.
"""

from __future__ import annotations

import csv
import html
import io
import re
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from autograder.cli import main
from autograder.gradebook import integrity_problems
from tests.course_fixture import nbgrader

ASSIGNMENT = "fx"
HIDDEN_SQUARE = "square(-4) == 16"
HIDDEN_MEAN = "mean([0.5, 1.5, 4.0])"
SOLUTIONS = {
    "square": "def square(x):\n    return x * x",
    "mean": "def mean(xs):\n    return float(np.mean(xs))",
}
STUB = "# YOUR CODE HERE\nraise NotImplementedError()"
CORRECT = dict(SOLUTIONS)
PARTIAL = {"square": SOLUTIONS["square"], "mean": "def mean(xs):\n    return 0.0"}
BLANK = {"square": STUB, "mean": STUB}
MAX_AUTO = 3.0  # square_test 2 + mean_test 1
MAX_SCORE = 4.0  # plus the manual answer
CELL_COLUMNS = ["square_test", "mean_test", "why"]


def source_cells(square: str, mean: str, hidden: bool = True) -> list:
    def wrap(code: str) -> str:
        return f"### BEGIN SOLUTION\n{code}\n### END SOLUTION" if hidden else code

    square_test = "assert square(3) == 9\n"
    mean_test = "assert abs(mean([1, 2, 3]) - 2.0) < 1e-12\n"
    if hidden:
        square_test += f"### BEGIN HIDDEN TESTS\nassert {HIDDEN_SQUARE}\n### END HIDDEN TESTS"
        mean_test += (f"### BEGIN HIDDEN TESTS\nassert abs({HIDDEN_MEAN} - 2.0) < 1e-12\n"
                      "### END HIDDEN TESTS")
    return [
        nbgrader(new_markdown_cell("# Fixture\nTwo small functions."), "intro", locked=True),
        nbgrader(new_code_cell("import numpy as np"), "imports", locked=True),
        nbgrader(new_code_cell(wrap(square)), "square", solution=True),
        nbgrader(new_code_cell(square_test), "square_test", grade=True, locked=True, points=2),
        nbgrader(new_code_cell(wrap(mean)), "mean", solution=True),
        nbgrader(new_code_cell(mean_test), "mean_test", grade=True, locked=True, points=1),
        nbgrader(new_markdown_cell("Why is a square never negative?"), "why_q", locked=True),
        nbgrader(new_markdown_cell("### BEGIN SOLUTION\nSigns.\n### END SOLUTION"
                                   if hidden else "YOUR ANSWER HERE"),
                 "why", solution=True, grade=True, points=1),
    ]


def with_kernelspec(nb):
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    return nb


def build_assignment(root: Path, first_cell: str = "import numpy as np") -> Path:
    """root/fx/fx.ipynb, an nbgrader source notebook; returns root."""
    nb = with_kernelspec(new_notebook(cells=source_cells(SOLUTIONS["square"], SOLUTIONS["mean"])))
    nb.cells[1].source = first_cell
    (root / ASSIGNMENT).mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, root / ASSIGNMENT / "fx.ipynb")
    return root


def student_notebook(answers: dict[str, str]) -> nbformat.NotebookNode:
    """What a student hands in: the release layout with `answers` in the answer cells."""
    return with_kernelspec(new_notebook(cells=source_cells(answers["square"], answers["mean"],
                                                           hidden=False)))


def put(submissions: Path, student: str, data, name: str = "fx.ipynb") -> Path:
    target = submissions / student / ASSIGNMENT / name
    target.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, nbformat.NotebookNode):
        data = nbformat.writes(data)
    target.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return target


def grade(source_root: Path, submissions: Path, out: Path, *extra: str) -> int:
    return main(["grade", ASSIGNMENT, "--submissions", str(submissions), "--out", str(out),
                 "--source-root", str(source_root), "--timeout", "20", *extra])


def read_grades(out: Path) -> list[dict]:
    with open(out / "grades.csv", newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def by_student(rows: list[dict]) -> dict[str, dict]:
    return {row["student_id"]: row for row in rows}


def page_text(path: Path) -> str:
    """The visible text of an HTML page (syntax highlighting splits code into spans)."""
    return html.unescape(re.sub(r"<[^>]+>", "", path.read_text(encoding="utf-8")))


def gradebook_scores(out: Path) -> dict[str, float]:
    """Score per student as `nbgrader export` computes it from the gradebook."""
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{out / 'gradebook.db'}") as gb:
        return {
            submission.student.id: float(submission.score)
            for submission in gb.find_assignment(ASSIGNMENT).submissions
        }


@pytest.fixture
def class_dir(tmp_path):
    source_root = build_assignment(tmp_path / "solutions")
    submissions = tmp_path / "submitted"
    put(submissions, "ada", student_notebook(CORRECT))
    put(submissions, "bo", student_notebook(PARTIAL))
    put(submissions, "cy", student_notebook(BLANK))
    roster = tmp_path / "roster.csv"
    roster.write_text("id,first_name,last_name\nada,Ada,L\nbo,Bo,B\ncy,Cy,C\ndee,Dee,D\n")
    return source_root, submissions, roster, tmp_path / "out"


@pytest.mark.slow
def test_class_is_graded_into_csv_gradebook_feedback_and_report(class_dir, capsys):
    source_root, submissions, roster, out = class_dir
    assert grade(source_root, submissions, out, "--workers", "2", "--roster", str(roster)) == 0
    printed = capsys.readouterr().out

    rows = read_grades(out)
    header = list(rows[0])
    assert header[:5] == ["student_id", "assignment", "score", "max_score", "status"]
    assert header[5:8] == CELL_COLUMNS
    table = by_student(rows)
    assert sorted(table) == ["ada", "bo", "cy", "dee"]
    expected = {"ada": (3.0, 2.0, 1.0), "bo": (2.0, 2.0, 0.0), "cy": (0.0, 0.0, 0.0)}
    for student, (score, square, mean) in expected.items():
        row = table[student]
        assert row["status"] == "ok", row
        assert float(row["score"]) == score
        assert float(row["max_score"]) == MAX_SCORE
        assert float(row["square_test"]) == square and float(row["mean_test"]) == mean
        assert row["why"] == ""  # manual answer: left for formgrader
    assert table["dee"]["status"] == "missing" and float(table["dee"]["score"]) == 0

    # The gradebook (what formgrader and `nbgrader export` read) agrees with grades.csv.
    assert gradebook_scores(out) == {s: e[0] for s, e in expected.items()}
    assert integrity_problems(out / "gradebook.db") == []
    assert (out / "autograded" / "ada" / ASSIGNMENT / "fx.ipynb").is_file()

    for student in expected:
        page = page_text(out / "feedback" / student / ASSIGNMENT / "fx.html")
        assert "square(3) == 9" in page  # visible test shown
        assert HIDDEN_SQUARE not in page and "0.5, 1.5, 4.0" not in page  # hidden never

    report = (out / "report.html").read_text()
    assert report.count("data:image/png;base64,") == 1 + 2  # total + two autograded cells
    assert "missing" in report

    assert "ok 3" in printed and "missing 1" in printed
    assert "slowest submissions" in printed


@pytest.mark.slow
def test_environment_check_refuses_to_grade_when_the_solution_fails(tmp_path, capsys):
    source_root = build_assignment(tmp_path / "solutions",
                                   first_cell="import numpy as np\nimport no_such_package_here")
    submissions = tmp_path / "submitted"
    put(submissions, "ada", student_notebook(CORRECT))
    out = tmp_path / "out"
    assert grade(source_root, submissions, out, "--workers", "1") != 0
    err = capsys.readouterr().err
    assert "environment check failed" in err and "Nothing was graded" in err
    assert not (out / "grades.csv").exists()
    assert not (out / "state.jsonl").exists()


def test_unknown_assignment_stops_the_run(tmp_path):
    source_root = build_assignment(tmp_path / "solutions")
    (tmp_path / "submitted").mkdir()
    with pytest.raises(SystemExit, match="unknown assignment"):
        main(["grade", "nope", "--submissions", str(tmp_path / "submitted"),
              "--out", str(tmp_path / "out"), "--source-root", str(source_root)])


def test_progress_bar_on_a_terminal_and_lines_otherwise():
    from autograder.progress import Progress

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    screen, log = Terminal(), io.StringIO()
    for stream in (screen, log):
        progress = Progress(2, stream)
        progress.update("ada fx ok")
        progress.update("bo fx ok")
        progress.close()
    assert "\r[" in screen.getvalue() and "ETA" in screen.getvalue()
    assert log.getvalue().splitlines()[0].startswith("[1/2] ada fx ok (ETA")
    assert "\r" not in log.getvalue()


def test_rows_for_several_assignments_and_notebooks(tmp_path):
    """Column names and row aggregation, without grading anything."""
    from autograder.pipeline import build_rows as rows_of
    from autograder.pipeline import graded_columns, plan_run

    root = build_assignment(tmp_path / "solutions")
    (root / "gx").mkdir()
    for name in ("one", "two"):
        (root / "gx" / f"{name}.ipynb").write_bytes((root / ASSIGNMENT / "fx.ipynb").read_bytes())
    columns = graded_columns(root, [ASSIGNMENT, "gx"], qualify=True)
    assert [c[0] for c in columns[ASSIGNMENT]] == [f"{ASSIGNMENT}/{c}" for c in CELL_COLUMNS]
    assert [c[0] for c in columns["gx"]][:3] == ["gx/one:square_test", "gx/one:mean_test",
                                                 "gx/one:why"]

    submissions = tmp_path / "submitted"
    put(submissions, "ada", student_notebook(CORRECT))
    for name in ("one", "two"):
        target = submissions / "ada" / "gx" / f"{name}.ipynb"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(nbformat.writes(student_notebook(CORRECT)))
    plan = plan_run(root, [ASSIGNMENT, "gx"], submissions, {"bo": {}}, {}, False)
    assert sorted((t.student, t.assignment, t.notebook) for t in plan.tasks) == [
        ("ada", ASSIGNMENT, "fx"), ("ada", "gx", "one"), ("ada", "gx", "two")]

    def record(notebook, status, square, mean):
        cells = {"square_test": {"points": square}, "mean_test": {"points": mean},
                 "why": {"points": 0.0, "needs_manual": True}}
        return {"status": status, "score": square + mean, "message": status * (status != "ok"),
                "cells": cells, "notebook": notebook}

    records = {("ada", ASSIGNMENT, "fx"): record("fx", "ok", 2.0, 1.0),
               ("ada", "gx", "one"): record("one", "ok", 2.0, 0.0),
               ("ada", "gx", "two"): record("two", "timeout", 0.0, 0.0)}
    rows = {(r["student_id"], r["assignment"]): r for r in rows_of(plan, records,
                                                                     [ASSIGNMENT, "gx"])}
    assert rows[("ada", "gx")]["status"] == "timeout"  # the worse of the two notebooks
    assert rows[("ada", "gx")]["score"] == 2.0 and rows[("ada", "gx")]["max_score"] == 8.0
    assert rows[("ada", "gx")]["gx/two:why"] == ""
    assert rows[("ada", ASSIGNMENT)]["status"] == "ok"
    assert rows[("bo", "gx")]["status"] == "missing"
    assert rows[("bo", "gx")]["message"] == "no submission"

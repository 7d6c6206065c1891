"""Resumable grading: unchanged submissions are skipped; a run killed with SIGKILL and
started again leaves every student in grades.csv exactly once and a sound gradebook."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time

import pytest

from autograder.gradebook import integrity_problems
from tests.test_pipeline import (
    ASSIGNMENT,
    CORRECT,
    PARTIAL,
    build_assignment,
    by_student,
    grade,
    put,
    read_grades,
    student_notebook,
)


def state_lines(out) -> list[str]:
    return (out / "state.jsonl").read_text().splitlines()


@pytest.mark.slow
def test_rerun_skips_identical_submissions_and_regrades_changed_ones(tmp_path, capsys):
    source_root = build_assignment(tmp_path / "solutions")
    submissions, out = tmp_path / "submitted", tmp_path / "out"
    put(submissions, "ada", student_notebook(CORRECT))
    put(submissions, "bo", student_notebook(PARTIAL))
    assert grade(source_root, submissions, out, "--workers", "2") == 0
    first_csv = (out / "grades.csv").read_text()
    assert len(state_lines(out)) == 2
    capsys.readouterr()

    # A line cut short by a kill must not stop the next run.
    with open(out / "state.jsonl", "a") as handle:
        handle.write('{"student": "ada", "assign')
    assert grade(source_root, submissions, out) == 0
    assert "grading 0 notebooks (2 unchanged" in capsys.readouterr().out
    assert (out / "grades.csv").read_text() == first_csv

    put(submissions, "bo", student_notebook(CORRECT))  # bo hands in a fixed notebook
    assert grade(source_root, submissions, out, "--workers", "1") == 0
    assert "grading 1 notebooks (1 unchanged" in capsys.readouterr().out
    assert float(by_student(read_grades(out))["bo"]["score"]) == 3.0

    assert grade(source_root, submissions, out, "--workers", "2", "--force") == 0
    assert "grading 2 notebooks (0 unchanged" in capsys.readouterr().out
    assert sorted(by_student(read_grades(out))) == ["ada", "bo"]
    assert integrity_problems(out / "gradebook.db") == []


@pytest.mark.slow
def test_kill_dash_nine_mid_run_then_rerun(tmp_path):
    source_root = build_assignment(tmp_path / "solutions")
    submissions, out = tmp_path / "submitted", tmp_path / "out"
    students = [f"s{i:02d}" for i in range(6)]
    slow = {**CORRECT, "square": "import time\ntime.sleep(0.5)\n" + CORRECT["square"]}
    for student in students:
        put(submissions, student, student_notebook(slow))
    command = [sys.executable, "-m", "autograder", "grade", ASSIGNMENT,
               "--submissions", str(submissions), "--out", str(out),
               "--source-root", str(source_root), "--workers", "1"]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               start_new_session=True)
    deadline = time.monotonic() + 240
    try:
        while time.monotonic() < deadline and process.poll() is None:
            state = out / "state.jsonl"
            if state.exists() and len(state.read_text().splitlines()) >= 2:
                break
            time.sleep(0.05)
        assert process.poll() is None, "the run ended before it could be killed"
    finally:
        os.killpg(process.pid, signal.SIGKILL)  # the run and its workers, as a crash would
        process.wait()
    graded_before = len(state_lines(out))
    assert 2 <= graded_before < len(students)

    assert subprocess.run(command, capture_output=True).returncode == 0
    rows = read_grades(out)
    assert sorted(row["student_id"] for row in rows) == students  # each exactly once
    assert all(row["status"] == "ok" and float(row["score"]) == 3.0 for row in rows)
    assert integrity_problems(out / "gradebook.db") == []
    with sqlite3.connect(out / "gradebook.db") as conn:
        (submitted,) = conn.execute("SELECT COUNT(*) FROM submitted_assignment").fetchone()
    assert submitted == len(students)
    # Only what the killed run had not stored was graded again.
    assert len(state_lines(out)) == len(students)

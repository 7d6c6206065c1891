"""`python -m autograder release`: nbgrader-generated, deterministic, checkable, all-or-nothing."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from autograder import release
from tests.course_fixture import source_notebook, write_course

ASSIGNMENT = "01-fixture"


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "autograder", "release", *args],
        capture_output=True,
        text=True,
        timeout=120,
    )


def released(root: Path) -> Path:
    return root / "course" / ASSIGNMENT / "fixture.ipynb"


def test_release_strips_solutions_hidden_tests_and_mark_scheme(tmp_path):
    write_course(tmp_path)
    assert release.main(ASSIGNMENT, check=False, root=tmp_path) == 0
    text = released(tmp_path).read_text()
    nb = nbformat.reads(text, as_version=4)
    answer = next(c for c in nb.cells if c.metadata["nbgrader"]["grade_id"] == "square")
    assert "return x * x" not in answer.source
    assert "raise NotImplementedError()" in answer.source
    assert "YOUR CODE HERE" in answer.source
    assert "square(-4)" not in text
    assert "Mentions signs" not in text
    assert "assert square(3) == 9" in text


def test_release_is_byte_identical_when_repeated(tmp_path):
    write_course(tmp_path)
    release.main(ASSIGNMENT, check=False, root=tmp_path)
    first = released(tmp_path).read_bytes()
    release.main(ASSIGNMENT, check=False, root=tmp_path)
    assert released(tmp_path).read_bytes() == first


def test_release_clears_outputs_and_execution_counts(tmp_path):
    nb = source_notebook()
    nb.cells[1].outputs = [nbformat.v4.new_output("stream", name="stdout", text="hi")]
    nb.cells[1].execution_count = 7
    write_course(tmp_path, nb=nb)
    release.main(ASSIGNMENT, check=False, root=tmp_path)
    out = json.loads(released(tmp_path).read_text())
    code = [c for c in out["cells"] if c["cell_type"] == "code"]
    assert all(c["outputs"] == [] and c["execution_count"] is None for c in code)


def test_check_passes_in_sync_and_names_the_stale_notebook(tmp_path, capsys):
    write_course(tmp_path)
    release.main(ASSIGNMENT, check=False, root=tmp_path)
    assert release.main(ASSIGNMENT, check=True, root=tmp_path) == 0

    nb = source_notebook()
    nb.cells[0].source += "\nNew sentence."
    write_course(tmp_path, nb=nb)
    capsys.readouterr()
    assert release.main(ASSIGNMENT, check=True, root=tmp_path) == 1
    assert f"course/{ASSIGNMENT}/fixture.ipynb" in capsys.readouterr().err


def test_check_reports_missing_and_extra_release_files(tmp_path):
    write_course(tmp_path)
    stale = release.stale_files(ASSIGNMENT, root=tmp_path)
    assert any("missing" in line for line in stale)
    release.main(ASSIGNMENT, check=False, root=tmp_path)
    (tmp_path / "course" / ASSIGNMENT / "notes.txt").write_text("hand-written")
    assert any("notes.txt" in line for line in release.stale_files(ASSIGNMENT, root=tmp_path))


def _malformed(kind: str) -> tuple[object, str]:
    nb = source_notebook()
    if kind == "invalid-json":
        return "{ not json", "invalid JSON"
    if kind == "markers-without-metadata":
        del nb.cells[2].metadata["nbgrader"]
        return nb, "cell 2"
    if kind == "duplicate-grade-id":
        nb.cells[3].metadata["nbgrader"]["grade_id"] = "square"
        return nb, "duplicate grade_id 'square'"
    if kind == "graded-without-points":
        del nb.cells[3].metadata["nbgrader"]["points"]
        return nb, "square_test"
    if kind == "mark-scheme-outside-task-cell":
        nb.cells[5].source += "\n=== BEGIN MARK SCHEME ===\nrubric\n=== END MARK SCHEME ==="
        return nb, "grade_id 'why'"
    raise AssertionError(kind)


@pytest.mark.parametrize(
    "kind",
    [
        "invalid-json",
        "markers-without-metadata",
        "duplicate-grade-id",
        "graded-without-points",
        "mark-scheme-outside-task-cell",
    ],
)
def test_malformed_source_fails_naming_file_and_cell_and_keeps_old_release(tmp_path, kind, capsys):
    path = write_course(tmp_path)
    release.main(ASSIGNMENT, check=False, root=tmp_path)
    before = released(tmp_path).read_bytes()

    content, expected_fragment = _malformed(kind)
    if isinstance(content, str):
        path.write_text(content)
    else:
        nbformat.write(content, path)
    capsys.readouterr()
    assert release.main(ASSIGNMENT, check=False, root=tmp_path) == 1
    err = capsys.readouterr().err
    assert "fixture.ipynb" in err
    assert expected_fragment in err
    assert released(tmp_path).read_bytes() == before
    leftovers = [p.name for p in (tmp_path / "course").iterdir() if p.name != ASSIGNMENT]
    assert leftovers == []


def test_cli_check_on_the_real_course_passes():
    result = run_cli("all", "--check")
    assert result.returncode == 0, result.stderr


def test_cli_rejects_unknown_assignment():
    result = run_cli("99-nonexistent")
    assert result.returncode != 0
    assert "99-nonexistent" in result.stderr

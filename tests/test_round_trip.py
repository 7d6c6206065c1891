"""The instructor's round trip: a Canvas download goes in, a Canvas gradebook CSV comes out.

Canvas download (files named as Canvas names them, one late, one resubmitted) → `import`
with the Canvas gradebook export as roster → `grade` (sandboxed) → a written answer marked
through nbgrader's Gradebook API as formgrader does → `export --format canvas` → parsed back.

The fixture assignment (tests/fixtures/autograde) is worth 6 automatic points plus a written
answer worth 1. Its correct submission earns all 6, its blank one 0, and its partial one
answers `slope` (1 point) and `running_mean` (2 points) wrongly, so earns 3.
"""

from __future__ import annotations

import csv
import io
import shutil
import time
import zipfile
from pathlib import Path

import pytest
from nbgrader.api import Gradebook

from autograder.cli import main
from autograder.gradebook import db_url_for

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "autograde"
ASSIGNMENT = "fixture-hw"
NOTEBOOK = "fixture"
WRITTEN = "explain"  # the manually graded answer, 1 point

CANVAS_GRADEBOOK = (
    "Student,ID,SIS User ID,SIS Login ID,Section,Fixture HW (4401)\n"
    "    Points Possible,,,,,7.00\n"
    '"Lovelace, Ada",101,S-101,lovelaceada,Section A,\n'
    '"Bell, Bo",102,S-102,bellbo,Section A,\n'
    '"Cole, Cy",103,S-103,colecy,Section B,\n'
    '"Dee, Dan",104,S-104,deedan,Section B,\n'
)
# Canvas: <name>[_LATE]_<user id>_<submission id>_<file as uploaded, "-1" on a resubmission>
DOWNLOAD = {
    "lovelaceada_101_9001_fixture.ipynb": "correct",
    "bellbo_LATE_102_9002_fixture.ipynb": "partial",
    "colecy_103_9003_fixture-1.ipynb": "blank",
}
WRITTEN_MARKS = {"lovelaceada": 1.0, "bellbo": 0.5, "colecy": 0.0}
EXPECTED = {"lovelaceada": 6 + 1.0, "bellbo": 3 + 0.5, "colecy": 0 + 0.0, "deedan": 0.0}


@pytest.mark.slow
def test_canvas_download_to_canvas_gradebook_csv(tmp_path, capsys):
    source_root = tmp_path / "solutions"
    (source_root / ASSIGNMENT).mkdir(parents=True)
    shutil.copyfile(FIXTURE / "source" / "fixture.ipynb",
                    source_root / ASSIGNMENT / f"{NOTEBOOK}.ipynb")
    roster = tmp_path / "canvas-gradebook.csv"
    roster.write_text(CANVAS_GRADEBOOK, encoding="utf-8")
    download = tmp_path / "submissions.zip"
    with zipfile.ZipFile(download, "w") as archive:
        for name, variant in DOWNLOAD.items():
            archive.write(FIXTURE / "submissions" / f"{variant}.ipynb", name)
    submissions, out = tmp_path / "submitted", tmp_path / "grading"
    common = ["--submissions", str(submissions), "--source-root", str(source_root)]

    assert main(["import", ASSIGNMENT, str(download), "--roster", str(roster), *common]) == 0
    assert main(["grade", ASSIGNMENT, "--out", str(out), "--workers", "2", "--timeout", "30",
                 *common]) == 0
    printed = capsys.readouterr().out
    assert "checking the grading environment" in printed
    assert "3 written answers wait in formgrader" in printed
    assert f"python -m autograder export {ASSIGNMENT} --format" in printed

    # What formgrader does when the instructor types a score.
    with Gradebook(db_url_for(out / "gradebook.db")) as gb:
        for student, points in WRITTEN_MARKS.items():
            grade = gb.find_grade(WRITTEN, NOTEBOOK, ASSIGNMENT, student)
            grade.manual_score = points
            grade.needs_manual_grade = False
        gb.db.commit()

    lms_file = tmp_path / "to-canvas.csv"
    assert main(["export", ASSIGNMENT, "--format", "canvas", "--roster", str(roster),
                 "--gradebook", str(out / "gradebook.db"), "--out", str(lms_file),
                 "--source-root", str(source_root)]) == 0
    rows = list(csv.reader(io.StringIO(lms_file.read_text(encoding="utf-8"))))
    assert rows[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section",
                       "Fixture HW (4401)"]
    assert rows[1][0].strip() == "Points Possible" and float(rows[1][-1]) == 7.0
    assert {row[3]: float(row[-1]) for row in rows[2:]} == EXPECTED
    assert {row[3]: row[1] for row in rows[2:]}["bellbo"] == "102"  # Canvas matches on ID

    # grades.csv, refreshed from the gradebook, says the same.
    assert main(["export", ASSIGNMENT, "--format", "csv", "--gradebook",
                 str(out / "gradebook.db"), "--source-root", str(source_root)]) == 0
    with open(out / "grades.csv", newline="", encoding="utf-8") as handle:
        table = {row["student_id"]: row for row in csv.DictReader(handle)}
    assert {s: float(row["score"]) for s, row in table.items()} == EXPECTED
    assert table["bellbo"][WRITTEN] == "0.5"
    assert table["deedan"]["status"] == "missing"


class _Terminal(io.StringIO):
    def isatty(self):
        return True


def test_the_environment_check_shows_it_is_running():
    from autograder.progress import Ticker

    plain = io.StringIO()
    with Ticker("checking", plain):
        pass
    lines = plain.getvalue().splitlines()
    assert lines[0] == "checking ..." and lines[1].startswith("checking: done in ")

    terminal = _Terminal()
    with Ticker("checking", terminal, interval=0.01):
        time.sleep(0.1)
    assert "\rchecking ... 0 s" in terminal.getvalue()
    assert terminal.getvalue().endswith("s\n")

    with pytest.raises(KeyError), Ticker("checking", plain):
        raise KeyError("x")
    assert "checking: stopped in" in plain.getvalue()

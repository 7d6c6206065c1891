"""`python -m autograder import`: LMS downloads -> SUBMISSIONS/<student>/<assignment>/<nb>.ipynb.

No notebook is executed here; these tests only sort files, so they are fast.
"""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path

import nbformat
import pytest

from autograder.cli import main
from autograder.importer import import_submissions, read_roster
from tests.course_fixture import source_notebook
from tests.support.downloads import marked_notebook, write_roster, write_source_root, zip_bytes

ASSIGNMENT = "fx"


@pytest.fixture
def source_root(tmp_path) -> Path:
    return write_source_root(tmp_path, ASSIGNMENT, "fx")


notebook_bytes = marked_notebook


def lms_zip(path: Path, files: dict[str, bytes]) -> Path:
    path.write_bytes(zip_bytes(files))
    return path


def test_lms_patterns_are_sorted_and_nothing_is_lost(tmp_path, source_root):
    files = {
        "alice_fx.ipynb": notebook_bytes("alice"),
        "bob_my copy of fx.ipynb": notebook_bytes("bob"),  # renamed notebook
        "doejane_LATE_1234_999_fx-1.ipynb": notebook_bytes("jane late"),  # Canvas
        "doejane_1234_998_fx.ipynb": notebook_bytes("jane first"),  # older Canvas upload
        "Carl Cee_555_assignsubmission_file_/fx.ipynb": notebook_bytes("carl"),  # Moodle
        "dave_fx.ipynb": b"\xff\xfe not a notebook",  # unreadable, still placed
        "readme.txt": b"a note from a student",
        "nobody.ipynb": notebook_bytes("orphan"),  # names no student
    }
    archive = lms_zip(tmp_path / "download.zip", files)
    roster = write_roster(
        tmp_path / "roster.csv",
        "id,first_name,last_name\nalice,Alice,A\n1234,Jane,Doe\n555,Carl,Cee\nerin,Erin,E\n",
    )
    submissions = tmp_path / "submitted"
    out = io.StringIO()
    report = import_submissions(
        ASSIGNMENT, archive, submissions, roster_path=roster, source_root=source_root, stream=out
    )

    def placed(student):
        return (submissions / student / ASSIGNMENT / "fx.ipynb").read_bytes()

    assert placed("alice") == files["alice_fx.ipynb"]
    assert placed("bob") == files["bob_my copy of fx.ipynb"]
    assert placed("1234") == files["doejane_LATE_1234_999_fx-1.ipynb"]  # roster id, newest
    assert placed("555") == files["Carl Cee_555_assignsubmission_file_/fx.ipynb"]
    assert placed("dave") == files["dave_fx.ipynb"]

    # Every byte of the download is somewhere under SUBMISSIONS, with its hash recorded.
    stored = {p.read_bytes() for p in submissions.rglob("*") if p.is_file()}
    assert all(data in stored for data in files.values())
    hashes = {entry["original"]: entry["sha256"] for entry in report["files"]}
    for name, data in files.items():
        assert hashes[name] == hashlib.sha256(data).hexdigest()
    aside = {Path(p).name for p in report["set_aside"]}
    assert aside == {"doejane_1234_998_fx.ipynb", "readme.txt", "nobody.ipynb"}

    text = out.getvalue()
    assert "bob" in report["students_added_to_roster"]
    assert "dave" in report["students_added_to_roster"]
    assert "added to the roster" in text and "bob" in text
    assert report["roster_students_without_submission"] == ["erin"]
    assert "erin" in text
    assert "renamed" in text and "unreadable" in text
    merged = read_roster(submissions / ".import" / "roster.csv")
    assert {"alice", "bob", "dave", "erin", "1234", "555"} <= set(merged)
    assert merged["1234"]["first_name"] == "Jane"
    saved = json.loads((submissions / ".import" / ASSIGNMENT / "report.json").read_text())
    assert saved["roster_students_without_submission"] == ["erin"]


def test_nbgrader_submitted_layout_and_folder_source(tmp_path, source_root):
    download = tmp_path / "submitted-copy"
    for student in ("s_01", "s_02"):
        (download / student / ASSIGNMENT).mkdir(parents=True)
        (download / student / ASSIGNMENT / "fx.ipynb").write_bytes(notebook_bytes(student))
    (download / "s_02" / ASSIGNMENT / "data.csv").write_text("1,2\n")
    submissions = tmp_path / "out"
    report = import_submissions(
        ASSIGNMENT, download, submissions, source_root=source_root, stream=io.StringIO()
    )
    for student in ("s_01", "s_02"):
        target = submissions / student / ASSIGNMENT / "fx.ipynb"
        assert target.read_bytes() == notebook_bytes(student)
    assert [Path(p).name for p in report["set_aside"]] == ["data.csv"]


def test_roster_ids_with_underscores_win_over_the_generic_pattern(tmp_path, source_root):
    archive = lms_zip(tmp_path / "d.zip", {"s_01_fx.ipynb": notebook_bytes("x")})
    roster = write_roster(tmp_path / "r.csv", "student_id\ns_01\n")
    submissions = tmp_path / "out"
    import_submissions(ASSIGNMENT, archive, submissions, roster_path=roster,
                       source_root=source_root, stream=io.StringIO())
    assert (submissions / "s_01" / ASSIGNMENT / "fx.ipynb").is_file()


def test_reimport_keeps_the_replaced_file(tmp_path, source_root):
    submissions = tmp_path / "out"
    first = lms_zip(tmp_path / "a.zip", {"alice_fx.ipynb": notebook_bytes("v1")})
    second = lms_zip(tmp_path / "b.zip", {"alice_fx.ipynb": notebook_bytes("v2")})
    for archive in (first, second):
        import_submissions(ASSIGNMENT, archive, submissions, source_root=source_root,
                           stream=io.StringIO())
    assert (submissions / "alice" / ASSIGNMENT / "fx.ipynb").read_bytes() == notebook_bytes("v2")
    kept = [p.read_bytes() for p in (submissions / ".import").rglob("fx.ipynb")]
    assert notebook_bytes("v1") in kept


def test_multi_notebook_assignment_sets_unknown_names_aside(tmp_path, source_root):
    nbformat.write(source_notebook(), source_root / ASSIGNMENT / "extra.ipynb")
    archive = lms_zip(tmp_path / "d.zip", {
        "alice_extra.ipynb": notebook_bytes("a"),
        "alice_homework.ipynb": notebook_bytes("b"),
    })
    submissions = tmp_path / "out"
    report = import_submissions(ASSIGNMENT, archive, submissions, source_root=source_root,
                                stream=io.StringIO())
    assert (submissions / "alice" / ASSIGNMENT / "extra.ipynb").read_bytes() == notebook_bytes("a")
    assert not (submissions / "alice" / ASSIGNMENT / "fx.ipynb").exists()
    notes = {e["original"]: e["note"] for e in report["files"]}
    assert "none of the assignment's notebooks" in notes["alice_homework.ipynb"]


def test_roster_without_header_and_with_a_blank_id(tmp_path):
    assert list(read_roster(write_roster(tmp_path / "a.csv", "alice\nbob\n"))) == ["alice", "bob"]
    with pytest.raises(ValueError, match="line 3 has no student id"):
        read_roster(write_roster(tmp_path / "b.csv", "id,email\nalice,a@x\n,b@x\n"))


def test_cli_reports_a_missing_source_and_an_unknown_assignment(tmp_path, source_root, capsys):
    common = ["--submissions", str(tmp_path / "out"), "--source-root", str(source_root)]
    assert main(["import", ASSIGNMENT, str(tmp_path / "nope.zip"), *common]) == 2
    assert "no such folder" in capsys.readouterr().err
    archive = lms_zip(tmp_path / "d.zip", {"alice_fx.ipynb": notebook_bytes("a")})
    with pytest.raises(SystemExit, match="unknown assignment"):
        main(["import", "no-such-assignment", str(archive), *common])

"""`import` reads who submitted what from each LMS's own naming, and only from it.

Every download here is built the way that LMS names its files (see autograder/lms_names.py
for the namings and where they come from). No notebook is executed: these tests only sort
files, so they are fast.
"""

from __future__ import annotations

import hashlib
import io
import json
import unicodedata
import zipfile
from datetime import datetime
from pathlib import Path

import nbformat
import pytest

from autograder.importer import import_submissions
from tests.support.downloads import marked_notebook, write_roster, write_source_root, zip_bytes

ASSIGNMENT = "01-gradient-descent"
NOTEBOOK = "gradient-descent"


@pytest.fixture
def source_root(tmp_path) -> Path:
    return write_source_root(tmp_path, ASSIGNMENT, NOTEBOOK)


notebook = marked_notebook


def download(tmp_path: Path, files: dict[str, bytes], name: str = "download.zip") -> Path:
    path = tmp_path / name
    path.write_bytes(zip_bytes(files))
    return path


def roster_file(tmp_path: Path, text: str) -> Path:
    return write_roster(tmp_path / "roster.csv", text)


def run_import(source_root, source, submissions, roster=None):
    out = io.StringIO()
    report = import_submissions(ASSIGNMENT, source, submissions, roster_path=roster,
                                source_root=source_root, stream=out)
    return report, out.getvalue()


def placed(submissions: Path, student: str) -> bytes:
    return (submissions / student / ASSIGNMENT / f"{NOTEBOOK}.ipynb").read_bytes()


def students(submissions: Path) -> set[str]:
    return {p.name for p in submissions.iterdir() if p.is_dir() and not p.name.startswith(".")}


def rows(report: dict) -> dict[str, dict]:
    return {row["original"]: row for row in report["files"]}


# ------------------------------------------------------------------ identity


@pytest.mark.parametrize("with_roster", [False, True])
def test_a_students_own_zip_cannot_replace_another_students_submission(
        tmp_path, source_root, with_roster):
    # Mallory's upload carries a file named like the victim's Canvas submission and an
    # nbgrader-style tree for carol: both are Mallory's files, nobody else's.
    mallorys_zip = zip_bytes({
        "victimjane_12380_99999999_gradient-descent.ipynb": notebook("forged for jane"),
        f"carol/{ASSIGNMENT}/{NOTEBOOK}.ipynb": notebook("forged for carol"),
    })
    source = download(tmp_path, {
        "victimjane_12380_500_gradient-descent.ipynb": notebook("jane's own"),
        "carolcee_12390_501_gradient-descent.ipynb": notebook("carol's own"),
        "mallorymae_12399_502_homework.zip": mallorys_zip,
    })
    roster = roster_file(tmp_path, "id,first_name,last_name\n12380,Jane,Victim\n"
                                   "12390,Carol,Cee\n12399,Mae,Mallory\n") if with_roster else None
    submissions = tmp_path / "submitted"
    report, _ = run_import(source_root, source, submissions, roster)

    jane, carol, mallory = ("12380", "12390", "12399") if with_roster else (
        "victimjane", "carolcee", "mallorymae")
    assert students(submissions) == {jane, carol, mallory}
    assert placed(submissions, jane) == notebook("jane's own")
    assert placed(submissions, carol) == notebook("carol's own")
    # Mallory's single notebook slot takes one of her files; the other is kept, not graded.
    forged = (notebook("forged for jane"), notebook("forged for carol"))
    assert placed(submissions, mallory) in forged
    inside = [r for r in report["files"] if r["original"].startswith("mallorymae_12399_502")]
    assert len(inside) == 3 and {r["student"] for r in inside} == {mallory}


def test_a_plain_named_zip_belongs_to_its_uploader_too(tmp_path, source_root):
    source = download(tmp_path, {
        "victim_gradient-descent.ipynb": notebook("victim's own"),
        "mallory_homework.zip": zip_bytes({
            "victim_12380_99999999_gradient-descent.ipynb": notebook("forged"),
            f"carol/{ASSIGNMENT}/{NOTEBOOK}.ipynb": notebook("forged for carol"),
        }),
    })
    submissions = tmp_path / "submitted"
    run_import(source_root, source, submissions)
    assert students(submissions) == {"victim", "mallory"}
    assert placed(submissions, "victim") == notebook("victim's own")


def test_blackboard_names_the_student_before_attempt_and_the_newest_attempt_wins(
        tmp_path, source_root):
    receipt = ("Name: Jessica Hamrick (jhamrick)\nAssignment: Gradient descent\n"
               "Date Submitted: Saturday, 30 January 2016 20:30:10 o'clock GMT\n"
               "Current Grade: Needs Grading\n\nFiles:\n"
               "\tOriginal filename: gradient-descent.ipynb\n"
               "\tFilename: ps1_jhamrick_attempt_2016-01-30-20-30-10_gradient-descent.ipynb\n")
    source = download(tmp_path, {
        # nbgrader's zip_collect documentation uses exactly these names.
        "ps1_jhamrick_attempt_2016-01-30-20-30-10_gradient-descent.ipynb": notebook("new"),
        "ps1_jhamrick_attempt_2016-01-30-20-30-10.txt": receipt.encode(),
        "ps1_jhamrick_attempt_2016-01-29-09-00-00_gradient-descent.ipynb": notebook("old"),
        "ps1_hacker_attempt_2016-01-30-16-30-10_myproblem1.ipynb": notebook("hacker"),
        # An assignment name with spaces and underscores, a username with '_' on the roster.
        "Homework 1_part_b_j_smith_attempt_2016-02-01-08-05-00_gradient-descent.ipynb":
            notebook("smith"),
    })
    roster = roster_file(tmp_path, "username\njhamrick\nhacker\nj_smith\n")
    submissions = tmp_path / "submitted"
    report, said = run_import(source_root, source, submissions, roster)

    assert students(submissions) == {"jhamrick", "hacker", "j_smith"}
    assert placed(submissions, "jhamrick") == notebook("new")
    assert placed(submissions, "hacker") == notebook("hacker")  # renamed, the only notebook
    assert placed(submissions, "j_smith") == notebook("smith")
    stamp = (submissions / "jhamrick" / ASSIGNMENT / "timestamp.txt").read_text()
    assert stamp.startswith("2016-01-30 20:30:10")
    by_name = rows(report)
    assert by_name["ps1_jhamrick_attempt_2016-01-30-20-30-10.txt"]["action"] == "receipt kept"
    old = by_name["ps1_jhamrick_attempt_2016-01-29-09-00-00_gradient-descent.ipynb"]
    assert old["action"] == "set aside" and "older upload" in old["note"]
    assert "renamed" in said and "myproblem1.ipynb" in said


def test_brightspace_files_and_folders_match_the_roster_by_name_without_accents(
        tmp_path, source_root):
    source = download(tmp_path, {
        "397063-2557369 - José Núñez - Sep 24, 2024 926 PM - gradient-descent.ipynb":
            notebook("jose"),
        "397064-2557370 - John Doe - Sep 24, 2024 1005 AM/gradient-descent.ipynb":
            notebook("john"),
        "397064-2557370 - John Doe - Sep 24, 2024 1005 AM/notes.pdf": b"%PDF-1.4",
        "index.html": b"<html>the LMS's index</html>",
    })
    roster = roster_file(tmp_path, "id,first_name,last_name\njnunez,Jose,Nunez\njdoe,John,Doe\n")
    submissions = tmp_path / "submitted"
    report, _ = run_import(source_root, source, submissions, roster)
    assert students(submissions) == {"jnunez", "jdoe"}
    assert placed(submissions, "jnunez") == notebook("jose")
    assert placed(submissions, "jdoe") == notebook("john")
    assert (submissions / "jnunez" / ASSIGNMENT / "timestamp.txt").read_text().startswith(
        "2024-09-24 21:26:00")
    assert (submissions / "jdoe" / ASSIGNMENT / "timestamp.txt").read_text().startswith(
        "2024-09-24 10:05:00")
    assert report["students_added_to_roster"] == []

    # Without a roster the name itself becomes the id, accents kept.
    elsewhere = tmp_path / "no-roster"
    run_import(source_root, source, elsewhere)
    assert students(elsewhere) == {"josé-núñez", "john-doe"}


def test_a_name_shared_by_two_roster_students_matches_neither(tmp_path, source_root):
    source = download(tmp_path, {
        "1-2 - Jane Doe - Sep 24, 2024 926 PM - gradient-descent.ipynb": notebook("a jane")})
    roster = roster_file(tmp_path, "id,first_name,last_name\njd1,Jane,Doe\njd2,Jané,Doe\n")
    submissions = tmp_path / "submitted"
    report, said = run_import(source_root, source, submissions, roster)
    assert not {"jd1", "jd2"} & students(submissions)
    assert "matches several roster students (jd1, jd2)" in said
    assert placed(submissions, "jane-doe") == notebook("a jane")  # kept apart, to resolve


def test_canvas_newest_upload_wins_and_the_late_flag_is_kept_also_with_a_roster(
        tmp_path, source_root):
    empty = nbformat.writes(nbformat.v4.new_notebook()).encode()
    source = download(tmp_path, {
        "doejane_1234_998_gradient-descent.ipynb": empty,  # first upload, empty
        "doejane_LATE_1234_999_gradient-descent-1.ipynb": notebook("jane, resubmitted"),
        "leeann_77_12_gradient-descent.ipynb": notebook("ann newer"),  # 12 > 5 as numbers
        "leeann_77_5_gradient-descent.ipynb": notebook("ann older"),
    })
    # A roster whose ids are the Canvas names: they must not bypass the Canvas naming.
    roster = roster_file(tmp_path, "login\ndoejane\nleeann\n")
    submissions = tmp_path / "submitted"
    report, said = run_import(source_root, source, submissions, roster)
    assert students(submissions) == {"doejane", "leeann"}
    assert placed(submissions, "doejane") == notebook("jane, resubmitted")
    assert placed(submissions, "leeann") == notebook("ann newer")
    info = json.loads((submissions / "doejane" / ASSIGNMENT / ".submission.json").read_text())
    assert info["late"] is True and info["lms"] == ["canvas"]
    assert report["late"] == ["doejane"] and "late" in said and "doejane" in said
    older = rows(report)["doejane_1234_998_gradient-descent.ipynb"]
    assert older["action"] == "set aside" and older["student"] == "doejane"


def test_canvas_logins_beyond_ascii_match_the_roster(tmp_path, source_root):
    decomposed = unicodedata.normalize("NFD", "núñezjosé")  # as macOS zips write it
    source = download(tmp_path, {
        f"{decomposed}_88_1203_gradient-descent.ipynb": notebook("josé"),
        "王伟_89_1204_gradient-descent.ipynb": notebook("wang"),
        "zoë_90_1205_gradient-descent.ipynb": notebook("zoë"),
    })
    roster = roster_file(tmp_path, "login\nnúñezjosé\n王伟\n")
    submissions = tmp_path / "submitted"
    report, _ = run_import(source_root, source, submissions, roster)
    assert placed(submissions, "núñezjosé") == notebook("josé")
    assert placed(submissions, "王伟") == notebook("wang")
    assert placed(submissions, "zoë") == notebook("zoë")
    assert report["students_added_to_roster"] == ["zoë"]


def test_moodle_folders_and_flat_files_with_names_beyond_ascii(tmp_path, source_root):
    source = download(tmp_path, {
        "José Núñez_4242_assignsubmission_file/gradient-descent.ipynb": notebook("josé"),
        "Zoë Ångström_4343_assignsubmission_file_gradient-descent.ipynb": notebook("zoë"),
        "Wei Wang_4545_assignsubmission_file_/sub/gradient-descent.ipynb": notebook("wei"),
        "Participant_4444_assignsubmission_file_gradient-descent.ipynb": notebook("blind"),
        "Zoë Ångström_4343_assignsubmission_onlinetext_/onlinetext.html": b"<p>hi</p>",
    })
    roster = roster_file(tmp_path, "id,first_name,last_name\njn1,Jose,Nunez\nza2,Zoe,Angstrom\n"
                                   "4545,Wei,Wang\n")
    submissions = tmp_path / "submitted"
    report, _ = run_import(source_root, source, submissions, roster)
    assert placed(submissions, "jn1") == notebook("josé")  # by name, accents ignored
    assert placed(submissions, "za2") == notebook("zoë")
    assert placed(submissions, "4545") == notebook("wei")  # by participant id
    assert placed(submissions, "4444") == notebook("blind")  # blind marking: the id only
    assert report["students_added_to_roster"] == ["4444"]
    text = rows(report)["Zoë Ångström_4343_assignsubmission_onlinetext_/onlinetext.html"]
    assert text["student"] == "za2" and text["action"] == "set aside"


def test_nbgrader_submitted_and_exchange_trees_carry_their_times(tmp_path, source_root):
    tree = tmp_path / "tree"
    inbound = tree / "inbound"
    for stamp, marker in (("2024-01-05 10:00:00.000000 UTC", "alice new"),
                          ("2024-01-04 09:00:00.000000 UTC", "alice old")):
        folder = inbound / f"alice+{ASSIGNMENT}+{stamp}+f3a9"
        folder.mkdir(parents=True)
        (folder / f"{NOTEBOOK}.ipynb").write_bytes(notebook(marker))
        (folder / "timestamp.txt").write_text(stamp)
    older_format = inbound / f"dan+{ASSIGNMENT}+2024-01-03 08:00:00.000000 UTC"
    older_format.mkdir()
    (older_format / f"{NOTEBOOK}.ipynb").write_bytes(notebook("dan"))
    bob = tree / "submitted" / "bob" / ASSIGNMENT
    bob.mkdir(parents=True)
    (bob / f"{NOTEBOOK}.ipynb").write_bytes(notebook("bob"))
    (bob / "timestamp.txt").write_text("2024-01-06 12:30:00.000000 UTC")
    submissions = tmp_path / "submitted"
    run_import(source_root, tree, submissions)
    assert students(submissions) == {"alice", "bob", "dan"}
    assert placed(submissions, "alice") == notebook("alice new")
    assert placed(submissions, "dan") == notebook("dan")
    times = {s: (submissions / s / ASSIGNMENT / "timestamp.txt").read_text()[:19]
             for s in ("alice", "bob", "dan")}
    assert times == {"alice": "2024-01-05 10:00:00", "bob": "2024-01-06 12:30:00",
                     "dan": "2024-01-03 08:00:00"}


def test_the_exact_notebook_name_beats_a_newer_renamed_one(tmp_path, source_root):
    source = download(tmp_path, {
        "amyadams_5_10_gradient-descent.ipynb": notebook("the real one"),
        "amyadams_5_11_scratch.ipynb": notebook("scratch"),  # uploaded later
        "benbo_6_20_my gradient descent copy.ipynb": notebook("ben renamed"),
        "benbo_6_21_scratch.ipynb": notebook("ben scratch"),  # newer, but the name says less
    })
    submissions = tmp_path / "submitted"
    report, _ = run_import(source_root, source, submissions)
    assert placed(submissions, "amyadams") == notebook("the real one")
    assert placed(submissions, "benbo") == notebook("ben renamed")
    scratch = rows(report)["amyadams_5_11_scratch.ipynb"]
    assert scratch["action"] == "set aside" and "extra notebook" in scratch["note"]
    kept = submissions / scratch["placed_as"]
    assert kept.read_bytes() == notebook("scratch")


# ------------------------------------------------------------ nothing lost


def test_report_lists_every_file_with_its_hash_including_nested_and_duplicate_members(
        tmp_path, source_root):
    inner = zip_bytes({"deeper/gradient-descent.ipynb": notebook("nested")})
    own = zip_bytes({"readme.md": b"my notes", "inner.zip": inner})
    path = tmp_path / "download.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("kimkay_3_30_upload.zip", own)
        archive.writestr("lulu_4_40_gradient-descent.ipynb", notebook("lulu first"))
        with pytest.warns(UserWarning, match="Duplicate name"):
            archive.writestr("lulu_4_40_gradient-descent.ipynb", notebook("lulu second"))
    submissions = tmp_path / "submitted"
    report, _ = run_import(source_root, path, submissions)

    originals = [row["original"] for row in report["files"]]
    assert originals.count("lulu_4_40_gradient-descent.ipynb") == 2
    assert set(originals) == {
        "kimkay_3_30_upload.zip", "kimkay_3_30_upload.zip!/readme.md",
        "kimkay_3_30_upload.zip!/inner.zip",
        "kimkay_3_30_upload.zip!/inner.zip!/deeper/gradient-descent.ipynb",
        "lulu_4_40_gradient-descent.ipynb",
    }
    contents = {
        "kimkay_3_30_upload.zip": own, "kimkay_3_30_upload.zip!/readme.md": b"my notes",
        "kimkay_3_30_upload.zip!/inner.zip": inner,
        "kimkay_3_30_upload.zip!/inner.zip!/deeper/gradient-descent.ipynb": notebook("nested"),
    }
    for row in report["files"]:
        assert row["action"] in ("imported", "set aside", "opened"), row
        if row["original"] in contents:
            assert row["sha256"] == hashlib.sha256(contents[row["original"]]).hexdigest()
    lulu = [r for r in report["files"] if r["original"].startswith("lulu")]
    assert {r["sha256"] for r in lulu} == {hashlib.sha256(notebook(m)).hexdigest()
                                           for m in ("lulu first", "lulu second")}
    # The later of two same-named members is the newer; the other is kept, not dropped.
    assert placed(submissions, "lulu") == notebook("lulu second")
    assert placed(submissions, "kimkay") == notebook("nested")
    stored = {p.read_bytes() for p in submissions.rglob("*") if p.is_file()}
    assert notebook("lulu first") in stored and b"my notes" in stored


def test_a_second_import_keeps_the_first_report(tmp_path, source_root):
    submissions = tmp_path / "submitted"
    first = download(tmp_path, {"amyadams_5_10_gradient-descent.ipynb": notebook("v1")}, "a.zip")
    second = download(tmp_path, {"amyadams_5_11_gradient-descent.ipynb": notebook("v2")}, "b.zip")
    run_import(source_root, first, submissions)
    run_import(source_root, second, submissions)
    base = submissions / ".import" / ASSIGNMENT
    reports = sorted(base.glob("*/report.json"))
    assert len(reports) == 2
    sources = [json.loads(p.read_text())["source"] for p in reports]
    assert sources == [str(first), str(second)]
    log = [json.loads(line) for line in (base / "imports.jsonl").read_text().splitlines()]
    assert [entry["source"] for entry in log] == [str(first), str(second)]
    assert placed(submissions, "amyadams") == notebook("v2")
    replaced = [p.read_bytes() for p in base.glob("*/replaced/amyadams/*")]
    assert replaced == [notebook("v1")]


def test_lms_time_survives_in_nbgrader_format(tmp_path, source_root):
    from nbgrader.utils import parse_utc

    source = download(tmp_path, {
        "ps1_ann_attempt_2024-03-01-23-59-30_gradient-descent.ipynb": notebook("ann")})
    submissions = tmp_path / "submitted"
    run_import(source_root, source, submissions)
    text = (submissions / "ann" / ASSIGNMENT / "timestamp.txt").read_text().strip()
    assert parse_utc(text) == datetime(2024, 3, 1, 23, 59, 30)


# ------------------------------------------------------- into nbgrader's gradebook


def test_submission_time_and_late_flag_reach_nbgrader_late_penalties(
        tmp_path, source_root, monkeypatch):
    from nbgrader.api import Gradebook

    from autograder import course
    from autograder.gradebook import (
        GradebookWriter,
        create_gradebook,
        db_url_for,
        register_assignment,
        submission_time,
    )

    source = download(tmp_path, {
        "ps1_ann_attempt_2024-03-02-00-10-00_gradient-descent.ipynb": notebook("ann, 10 min late"),
        "ps1_bob_attempt_2024-03-01-23-00-00_gradient-descent.ipynb": notebook("bob, on time"),
        "cydcox_LATE_31_310_gradient-descent.ipynb": notebook("cyd, late by Canvas' word"),
    })
    submissions = tmp_path / "submitted"
    run_import(source_root, source, submissions)

    # The course's nbgrader configuration decides the penalty; here: late work scores zero.
    course_config = course.load_config
    monkeypatch.setattr(course, "load_config", lambda **overrides: course_config(
        LateSubmissionPlugin={"penalty_method": "zero"}, **overrides))
    database = tmp_path / "gradebook.db"
    create_gradebook(database)
    db_url = db_url_for(database)
    register_assignment(db_url, source_root, ASSIGNMENT)
    with Gradebook(db_url) as gb:
        gb.update_or_create_assignment(ASSIGNMENT, duedate=datetime(2024, 3, 2, 0, 0, 0))
    writer = GradebookWriter(db_url)
    try:
        for student in ("ann", "bob", "cydcox"):
            writer.record(ASSIGNMENT, NOTEBOOK, student, {"square_test": {"points": 2.0}},
                          submitted=submission_time(submissions / student / ASSIGNMENT))
    finally:
        writer.close()

    with Gradebook(db_url) as gb:
        late = {s: gb.find_submission(ASSIGNMENT, s).total_seconds_late
                for s in ("ann", "bob", "cydcox")}
        penalty = {s: gb.find_submission_notebook(NOTEBOOK, ASSIGNMENT, s).late_submission_penalty
                   for s in ("ann", "bob", "cydcox")}
        assert gb.find_submission(ASSIGNMENT, "ann").timestamp == datetime(2024, 3, 2, 0, 10)
    assert late == {"ann": 600.0, "bob": 0, "cydcox": 1.0}
    assert penalty["ann"] == penalty["cydcox"] == 2.0  # 'zero': the whole score
    assert not penalty["bob"]


def test_utf8_names_zipped_without_the_utf8_flag_are_read_as_utf8(tmp_path, source_root):
    # Older zip tools write UTF-8 names without flag bit 11; zipfile would decode cp437.
    real = "núñezjosé_88_1203_gradient-descent.ipynb".encode()
    placeholder = b"x" * len(real)
    data = zip_bytes({placeholder.decode(): notebook("josé")}).replace(placeholder, real)
    source = tmp_path / "download.zip"
    source.write_bytes(data)
    with zipfile.ZipFile(source) as check:
        assert not check.infolist()[0].flag_bits & 0x800
    submissions = tmp_path / "submitted"
    run_import(source_root, source, submissions, roster_file(tmp_path, "login\nnúñezjosé\n"))
    assert placed(submissions, "núñezjosé") == notebook("josé")


def test_whole_lms_downloads_inside_a_folder_are_containers_not_students(tmp_path, source_root):
    folder = tmp_path / "downloads"
    folder.mkdir()
    (folder / "cs101-assignment_1_submissions.zip").write_bytes(zip_bytes({
        "amyadams_5_10_gradient-descent.ipynb": notebook("amy")}))
    (folder / "gradebook_xyz101_s1_2016_ps1_2016-02-10-17-00-00.zip").write_bytes(zip_bytes({
        "ps1_hacker_attempt_2016-01-30-20-30-10_gradient-descent.ipynb": notebook("hacker")}))
    (folder / "Homework 1 Download Sep 24, 2024 1005 AM.zip").write_bytes(zip_bytes({
        "1-2 - John Doe - Sep 24, 2024 926 PM - gradient-descent.ipynb": notebook("john")}))
    # A Moodle participant folder may hold a folder named like the assignment: still Moodle.
    moodle = folder / "Wei Wang_4545_assignsubmission_file" / ASSIGNMENT
    moodle.mkdir(parents=True)
    (moodle / f"{NOTEBOOK}.ipynb").write_bytes(notebook("wei"))
    submissions = tmp_path / "submitted"
    run_import(source_root, folder, submissions)
    assert students(submissions) == {"amyadams", "hacker", "john-doe", "4545"}
    assert placed(submissions, "4545") == notebook("wei")


def test_two_canvas_students_with_the_same_name_stay_apart_without_a_roster(
        tmp_path, source_root):
    source = download(tmp_path, {
        "smithjohn_101_1_gradient-descent.ipynb": notebook("first john"),
        "smithjohn_202_2_gradient-descent.ipynb": notebook("second john"),
    })
    submissions = tmp_path / "submitted"
    run_import(source_root, source, submissions)
    assert placed(submissions, "smithjohn-101") == notebook("first john")
    assert placed(submissions, "smithjohn-202") == notebook("second john")


def test_the_summary_stays_short_for_a_big_class(tmp_path, source_root):
    files = {f"s{i:03d}_{i}_{i}_gradient-descent.ipynb": notebook(f"s{i}") for i in range(60)}
    files |= {f"__MACOSX/._s{i:03d}_{i}_{i}_gradient-descent.ipynb": b"\0" for i in range(60)}
    report, said = run_import(source_root, download(tmp_path, files), tmp_path / "submitted")
    assert len(report["imported"]) == 60 and len(report["set_aside"]) == 60
    lines = said.splitlines()
    assert len(lines) < 30
    assert lines[0].startswith(f"{ASSIGNMENT}: 120 files read; imported 60 notebooks of 60 "
                               "students") and "60 set aside" in lines[0]
    assert "... and 40 more (see the report)" in said


def test_nbgraders_own_blackboard_download_example(tmp_path):
    """The real files of nbgrader's zip_collect documentation, as nbgrader ships them."""
    import nbgrader

    docs = Path(nbgrader.__file__).parent / "docs" / "source" / "user_guide"
    archive = docs / "downloaded" / "ps1" / "archive"
    if not archive.is_dir():
        pytest.skip("this nbgrader installation ships without its documentation files")
    submissions = tmp_path / "submitted"
    report = import_submissions("ps1", archive, submissions, source_root=docs / "source",
                                stream=io.StringIO())
    assert students(submissions) == {"hacker", "bitdiddle"}
    newest = archive / "ps1_hacker_attempt_2016-01-30-20-30-10_problem1.ipynb"
    assert (submissions / "hacker" / "ps1" / "problem1.ipynb").read_bytes() == newest.read_bytes()
    for student in ("hacker", "bitdiddle"):
        assert (submissions / student / "ps1" / "problem2.ipynb").is_file()
    assert (submissions / "hacker" / "ps1" / "timestamp.txt").read_text().startswith(
        "2016-01-30 20:30:10")
    renamed = rows(report)["notebooks.zip!/ps1_hacker_attempt_2016-01-30-16-30-10_myproblem1.ipynb"]
    assert renamed["action"] == "set aside" and renamed["student"] == "hacker"
    assert len(report["files"]) == 9  # 3 files, the zip, its 6 members

"""`python -m autograder export`: the gradebook, manual scores included, in each LMS's format.

A gradebook is filled the way `grade` fills it (autograder.gradebook) for the fixture
assignment of test_pipeline (square_test 2 points, mean_test 1, the written answer `why` 1),
then written answers are marked through nbgrader's Gradebook API, as formgrader does. The
expected scores follow from those numbers; each written file is parsed back and compared,
and its header with the one the LMS documents.
"""

from __future__ import annotations

import csv
import io

import pytest
from nbgrader.api import Gradebook

from autograder.cli import main
from autograder.export import ExportProblem, export, matching_column, read_gradebook
from autograder.gradebook import GradebookWriter, create_gradebook, db_url_for, register_assignment
from tests.test_pipeline import ASSIGNMENT, build_assignment

# student: (square_test, mean_test, manual score of `why`), or None for no submission
MARKS = {"ada": (2.0, 1.0, 1.0), "bo": (2.0, 0.0, 0.5), "cy": None}
EXPECTED = {"ada": 4.0, "bo": 2.5, "cy": 0.0}
MAX_SCORE = 4.0

CANVAS_ROSTER = (
    "Student,ID,SIS User ID,SIS Login ID,Section,Fx (88123)\n"
    "    Points Possible,,,,,4.00\n"
    '"Lovelace, Ada",101,S1,ada,A,\n'
    '"Bell, Bo",102,S2,bo,A,\n'
    '"Cole, Cy",103,S3,cy,B,\n'
)
MOODLE_ROSTER = (
    "Identifier,Full name,Username,Email address,Status,Grade,Maximum Grade,"
    "Grade can be changed,Last modified (submission),Last modified (grade),Feedback comments\n"
    "Participant 501,Ada Lovelace,ada,ada@x.example,Submitted,,{max},Yes,-,-,\n"
    "Participant 502,Bo Bell,bo,bo@x.example,Submitted,,{max},Yes,-,-,\n"
    "Participant 503,Cy Cole,cy,cy@x.example,No submission,,{max},Yes,-,-,\n"
)
BLACKBOARD_ROSTER = (
    '"Last Name","First Name","Username","Student ID","Last Access","Availability",'
    '"FX [Total Pts: 4 Score] |555"\n'
    '"Lovelace","Ada","ada","9001","","Available",""\n'
    '"Bell","Bo","bo","9002","","Available",""\n'
    '"=HYPERLINK(""http://x"")","Cy","cy","9003","","Available",""\n'
)
D2L_ROSTER = (
    "OrgDefinedId,Username,Last Name,First Name,Email,"
    "fx Points Grade <Numeric MaxPoints:4>,End-of-Line Indicator\n"
    "#7001,#ada,Lovelace,Ada,,,#\n#7002,#bo,Bell,Bo,,,#\n#7003,#cy,Cole,Cy,,,#\n"
)


def fill_gradebook(root, manual=True):
    """A gradebook as `grade` leaves it, with the written answers marked when `manual`."""
    source_root = build_assignment(root / "solutions")
    db = root / "gradebook.db"
    create_gradebook(db)
    register_assignment(db_url_for(db), source_root, ASSIGNMENT)
    writer = GradebookWriter(db_url_for(db))
    for student, marks in MARKS.items():
        writer.add_student(student)
        if marks is None:
            continue
        writer.record(ASSIGNMENT, "fx", student, {
            "square_test": {"points": marks[0]}, "mean_test": {"points": marks[1]},
            "why": {"needs_manual": True}})
    writer.close()
    if manual:
        with Gradebook(db_url_for(db)) as gb:
            for student, marks in MARKS.items():
                if marks is not None:
                    gb.find_grade("why", "fx", ASSIGNMENT, student).manual_score = marks[2]
            gb.db.commit()
    return source_root, db


@pytest.fixture
def graded(tmp_path):
    return fill_gradebook(tmp_path)


def roster(tmp_path, text, name="roster.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def read_csv(path):
    return list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"))))


def nbgrader_export_scores(db) -> dict[str, float]:
    """What `nbgrader export` writes for this gradebook (its own plugin, run on it)."""
    from nbgrader.plugins.export import CsvExportPlugin

    out = db.parent / "nbgrader-grades.csv"
    with Gradebook(db_url_for(db)) as gb:
        CsvExportPlugin(to=str(out)).export(gb)
    return {row["student_id"]: float(row["score"]) for row in csv.DictReader(out.open())}


def test_gradebook_reading_includes_manual_scores(graded):
    _, db = graded
    data = read_gradebook(db, [ASSIGNMENT])
    assert {s: data.results[(s, ASSIGNMENT)].score for s in MARKS} == EXPECTED
    assert data.results[("bo", ASSIGNMENT)].cells[("fx", "why")] == 0.5
    assert data.max_scores == {ASSIGNMENT: MAX_SCORE}
    assert nbgrader_export_scores(db) == EXPECTED


def test_canvas_gradebook_import_file(graded, tmp_path):
    source_root, db = graded
    out = tmp_path / "canvas.csv"
    export("canvas", [ASSIGNMENT], db, out, roster(tmp_path, CANVAS_ROSTER),
           source_root=source_root)
    rows = read_csv(out)
    assert rows[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "Fx (88123)"]
    assert rows[1][0].strip() == "Points Possible" and float(rows[1][5]) == MAX_SCORE
    by_login = {row[3]: row for row in rows[2:]}
    assert {login: float(row[5]) for login, row in by_login.items()} == EXPECTED
    assert by_login["ada"][:3] == ["Lovelace, Ada", "101", "S1"]


def test_canvas_needs_the_canvas_roster(graded, tmp_path):
    source_root, db = graded
    simple = roster(tmp_path, "student_id\nada\n")
    with pytest.raises(ExportProblem, match="Canvas gradebook export"):
        export("canvas", [ASSIGNMENT], db, tmp_path / "c.csv", simple, source_root=source_root)
    assert not (tmp_path / "c.csv").exists()


def test_canvas_rows_match_gradebook_ids_given_as_aliases(tmp_path):
    # Graded under the names Canvas puts in file names (sortable name, lowercased).
    source_root, db = fill_gradebook(tmp_path)
    with Gradebook(db_url_for(db)) as gb:
        assert sorted(s.id for s in gb.students) == ["ada", "bo", "cy"]
    aliased = CANVAS_ROSTER.replace(",ada,", ",a.lovelace,")  # SIS login differs from "ada"
    aliased = aliased.replace('"Lovelace, Ada"', '"Ada"')  # file-name name is now "ada"
    out = tmp_path / "canvas.csv"
    summary = export("canvas", [ASSIGNMENT], db, out, roster(tmp_path, aliased),
                     source_root=source_root)
    assert summary.not_on_roster == []
    scores = {row[3]: row[5] for row in read_csv(out)[2:]}
    assert float(scores["a.lovelace"]) == EXPECTED["ada"]


@pytest.mark.parametrize(("moodle_max", "factor"), [("4.00", 1.0), ("100.00", 25.0)])
def test_moodle_worksheet_is_written_back_with_grades(graded, tmp_path, moodle_max, factor):
    source_root, db = graded
    worksheet = roster(tmp_path, MOODLE_ROSTER.format(max=moodle_max))
    out = tmp_path / "moodle.csv"
    summary = export("moodle", [ASSIGNMENT], db, out, worksheet, source_root=source_root)
    rows = read_csv(out)
    assert rows[0] == ["Identifier", "Full name", "Username", "Email address", "Status",
                       "Grade", "Maximum Grade", "Grade can be changed",
                       "Last modified (submission)", "Last modified (grade)",
                       "Feedback comments"]
    grades = {row[0]: float(row[5]) for row in rows[1:]}
    assert grades == {"Participant 501": EXPECTED["ada"] * factor,
                      "Participant 502": EXPECTED["bo"] * factor,
                      "Participant 503": 0.0}
    assert bool(summary.notes) == (factor != 1.0)


def test_moodle_refuses_several_assignments(graded, tmp_path):
    source_root, db = graded
    with pytest.raises(ExportProblem, match="one assignment"):
        export("moodle", [ASSIGNMENT, ASSIGNMENT], db, tmp_path / "m.csv",
               roster(tmp_path, MOODLE_ROSTER.format(max="4")), source_root=source_root)


def test_blackboard_upload_reuses_the_column_id_and_neutralises_formulas(graded, tmp_path):
    source_root, db = graded
    out = tmp_path / "bb.csv"
    export("blackboard", [ASSIGNMENT], db, out, roster(tmp_path, BLACKBOARD_ROSTER),
           source_root=source_root)
    rows = read_csv(out)
    assert rows[0] == ["Last Name", "First Name", "Username", "Student ID",
                       "FX [Total Pts: 4 Score] |555"]
    assert {row[2]: float(row[4]) for row in rows[1:]} == EXPECTED
    hostile = next(row for row in rows[1:] if row[2] == "cy")
    assert hostile[0].startswith("'=")


def test_blackboard_without_its_roster_uses_student_ids_as_usernames(graded, tmp_path):
    source_root, db = graded
    out = tmp_path / "bb.csv"
    export("blackboard", [ASSIGNMENT], db, out, None, source_root=source_root)
    rows = read_csv(out)
    assert rows[0][-1] == f"{ASSIGNMENT} [Total Pts: 4 Score]"
    assert {row[2]: float(row[4]) for row in rows[1:]} == EXPECTED


def test_d2l_grades_import_file(graded, tmp_path):
    source_root, db = graded
    out = tmp_path / "d2l.csv"
    export("d2l", [ASSIGNMENT], db, out, roster(tmp_path, D2L_ROSTER), source_root=source_root)
    rows = read_csv(out)
    assert rows[0] == ["OrgDefinedId", "Username", "fx Points Grade <Numeric MaxPoints:4>",
                       "End-of-Line Indicator"]
    assert {row[1]: float(row[2]) for row in rows[1:]} == EXPECTED
    assert {row[0] for row in rows[1:]} == {"7001", "7002", "7003"}
    assert all(row[3] == "#" for row in rows[1:])


def test_missing_blank_leaves_the_missing_student_empty(graded, tmp_path):
    source_root, db = graded
    out = tmp_path / "d2l.csv"
    export("d2l", [ASSIGNMENT], db, out, roster(tmp_path, D2L_ROSTER), missing="blank",
           source_root=source_root)
    assert {row[1]: row[2] for row in read_csv(out)[1:]}["cy"] == ""


def test_unmarked_written_answers_stop_the_export_unless_allowed(tmp_path):
    source_root, db = fill_gradebook(tmp_path, manual=False)
    out = tmp_path / "bb.csv"
    with pytest.raises(ExportProblem, match=r"2 written answers are not graded yet .*ada"):
        export("blackboard", [ASSIGNMENT], db, out, source_root=source_root)
    assert not out.exists()
    export("blackboard", [ASSIGNMENT], db, out, allow_ungraded=True, source_root=source_root)
    assert {row[2]: float(row[4]) for row in read_csv(out)[1:]} == {"ada": 3.0, "bo": 2.0,
                                                                    "cy": 0.0}


def test_csv_layout_agrees_with_nbgrader_export_and_fills_manual_cells(graded, tmp_path):
    source_root, db = graded
    out = tmp_path / "grades.csv"
    export("csv", [ASSIGNMENT], db, out, source_root=source_root)
    with open(out, newline="", encoding="utf-8") as handle:
        rows = {row["student_id"]: row for row in csv.DictReader(handle)}
    assert list(rows["ada"])[:8] == ["student_id", "assignment", "score", "max_score",
                                     "status", "square_test", "mean_test", "why"]
    assert {s: float(r["score"]) for s, r in rows.items()} == nbgrader_export_scores(db)
    assert rows["bo"]["why"] == "0.5" and rows["bo"]["mean_test"] == "0.0"
    assert rows["cy"]["status"] == "missing" and rows["cy"]["why"] == ""


def test_cli_export_writes_under_the_gradebook_folder_by_default(graded, tmp_path, capsys):
    source_root, db = graded
    code = main(["export", ASSIGNMENT, "--format", "d2l", "--gradebook", str(db),
                 "--roster", str(roster(tmp_path, D2L_ROSTER)),
                 "--source-root", str(source_root)])
    assert code == 0
    written = db.parent / "export" / f"{ASSIGNMENT}-d2l.csv"
    assert written.is_file() and str(written) in capsys.readouterr().out
    assert main(["export", ASSIGNMENT, "--format", "canvas", "--gradebook", str(db),
                 "--roster", str(roster(tmp_path, "student_id\nada\n", "s.csv")),
                 "--source-root", str(source_root)]) == 2
    assert "needs the Canvas gradebook export" in capsys.readouterr().err


def test_cli_export_without_a_gradebook_says_to_grade_first(tmp_path, capsys):
    source_root = build_assignment(tmp_path / "solutions")
    assert main(["export", ASSIGNMENT, "--format", "csv", "--gradebook",
                 str(tmp_path / "none.db"), "--source-root", str(source_root)]) == 2
    assert "run `python -m autograder grade` first" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("header", "found"),
    [
        (["Student", "01 Gradient descent (1234)"], "01 Gradient descent (1234)"),
        (["Student", "Gradient Descent (1234)"], "Gradient Descent (1234)"),
        (["Gradient descent [Total Pts: 19 Score] |88"],
         "Gradient descent [Total Pts: 19 Score] |88"),
        (["Gradient descent Points Grade <Numeric MaxPoints:19>"],
         "Gradient descent Points Grade <Numeric MaxPoints:19>"),
        (["Gradient descent", "Backprop (12)"], None),  # no LMS suffix: not a grade column
    ],
)
def test_assignment_columns_are_found_by_name(header, found):
    assert matching_column(header, "01-gradient-descent") == found

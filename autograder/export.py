"""`python -m autograder export ASSIGNMENT|all --format F`: grades out of nbgrader's gradebook.

The gradebook (grading/gradebook.db) holds the automatic scores of `grade` and the manual
scores given in formgrader, so every file written here includes both. A student's score is
nbgrader's: automatic plus manual points, minus nbgrader's late penalty, never below 0
(exactly the `score` column of `nbgrader export`).

Formats (the header of each is what that LMS's own export and import use):

    canvas      Canvas gradebook import: Student, ID, SIS User ID, SIS Login ID, Section,
                one column per assignment, and the "Points Possible" row. Needs the Canvas
                gradebook export as --roster (it carries Canvas's student IDs).
    moodle      Moodle grading worksheet: the worksheet given as --roster, written back with
                its Grade column filled in (scaled to its "Maximum Grade" when that differs).
                One assignment per file, as in Moodle.
    blackboard  Blackboard Grade Center upload: Last Name, First Name, Username, Student ID,
                one column per assignment ("Name [Total Pts: 10 Score] |1234" when the
                Grade Center download given as --roster has that column).
    d2l         Brightspace grades import: OrgDefinedId, Username, "<item> Points Grade",
                End-of-Line Indicator.
    csv         the layout of `grade`'s grades.csv (student_id, assignment, score,
                max_score, status, one column per graded cell, message), manual cells
                filled in from the gradebook.

An assignment column reuses the roster's column of the same name (ignoring case,
punctuation, a leading number and the LMS's id suffix); otherwise it is named after the
assignment, which the LMS creates as a new column on import.

Missing students (no submission) score 0 everywhere, as in `nbgrader export`; with
missing="blank" the LMS files leave their cell empty so the LMS's own missing-work policy
applies. Text cells that a spreadsheet would run as a formula are neutralised.

    read_gradebook(db_path, assignments) -> Gradebook data (students, results, max scores)
    export(fmt, assignments, db_path, out, roster_path=None, ...) -> ExportSummary
    write_grades_csv(path, db_path, source_root, assignments, state_path) -> rows
"""

from __future__ import annotations

import csv
import io
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from . import course
from .rosters import LmsRoster, read_lms_roster

FORMATS = ("canvas", "moodle", "blackboard", "d2l", "csv")
CANVAS_IDENTITY = ("Student", "ID", "SIS User ID", "SIS Login ID", "Integration ID", "Section")
CANVAS_POINTS_ROW = "    Points Possible"
BLACKBOARD_IDENTITY = ("Last Name", "First Name", "Username", "Student ID")
D2L_END = "End-of-Line Indicator"
# A cell starting with one of these is run as a formula by spreadsheet programs.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


class ExportProblem(ValueError):
    """The export cannot be written as asked; the message says what to do."""


# ------------------------------------------------------------------------- gradebook


@dataclass
class Result:
    """One student's grade for one assignment, as nbgrader's gradebook has it."""

    submitted: bool = False
    raw_score: float = 0.0
    penalty: float = 0.0
    score: float = 0.0  # max(0, raw_score - penalty), nbgrader export's "score"
    timestamp: str = ""
    cells: dict = field(default_factory=dict)  # (notebook, grade_id) -> points or None
    awaiting: int = 0  # written answers not graded yet


@dataclass
class GradebookData:
    students: dict  # id -> {"first_name", "last_name", "email"}
    max_scores: dict  # assignment -> float
    results: dict  # (student, assignment) -> Result


def read_gradebook(db_path: Path, assignments: list[str] | None = None) -> GradebookData:
    """Everything the exports need from nbgrader's gradebook at `db_path`.

    assignments: names to read (None: every assignment in the gradebook). A name the
    gradebook does not know raises ExportProblem.
    """
    from nbgrader.api import Gradebook, MissingEntry

    from .gradebook import db_url_for

    db_path = Path(db_path)
    if not db_path.is_file():
        raise ExportProblem(f"no gradebook at {db_path}; run `python -m autograder grade` "
                            "first (with --out grading/ for the course gradebook)")
    with Gradebook(db_url_for(db_path)) as gb:
        known = [a.name for a in gb.assignments]
        wanted = known if assignments is None else assignments
        unknown = [a for a in wanted if a not in known]
        if unknown:
            raise ExportProblem(f"{db_path} has no grades for {', '.join(unknown)} "
                                f"(it has: {', '.join(known) or 'none'})")
        students = {s.id: {"first_name": s.first_name or "", "last_name": s.last_name or "",
                           "email": s.email or ""} for s in gb.students}
        max_scores, results = {}, {}
        for name in wanted:
            assignment = gb.find_assignment(name)
            max_scores[name] = float(assignment.max_score)
            for student in students:
                try:
                    submission = gb.find_submission(name, student)
                except MissingEntry:
                    results[(student, name)] = Result()
                    continue
                raw = float(submission.score)
                penalty = float(submission.late_submission_penalty or 0.0)
                result = Result(True, raw, penalty, max(0.0, raw - penalty),
                                str(submission.timestamp or ""))
                for notebook in submission.notebooks:
                    for grade in notebook.grades:
                        pending = grade.manual_score is None and grade.auto_score is None
                        result.awaiting += bool(pending and grade.needs_manual_grade)
                        result.cells[(notebook.name, grade.name)] = (
                            None if pending else float(grade.score))
                results[(student, name)] = result
    return GradebookData(students, max_scores, results)


# --------------------------------------------------------------------------- cells


def _text(value) -> str:
    """A text cell a spreadsheet shows as text, never runs as a formula.

    Moodle's "-" (no date) and signed numbers are left alone: they are not formulas, and the
    LMS must get its own values back unchanged.
    """
    value = "" if value is None else str(value)
    if not value.startswith(FORMULA_START):
        return value
    if value[0] in "+-" and re.fullmatch(r"[+-](\d+(\.\d*)?)?", value):
        return value
    return "'" + value


def points(value: float) -> str:
    """7.5 -> '7.5', 10.0 -> '10': plain decimal numbers every LMS parses."""
    text = f"{round(float(value), 4):.4f}".rstrip("0").rstrip(".")
    return "0" if text in ("", "-0") else text


def _key(title: str) -> str:
    return re.sub(r"[\W_]", "", title.lower())


COLUMN_SUFFIXES = (
    re.compile(r"\s*\(\d+\)\s*$"),  # Canvas "Name (12345)"
    re.compile(r"\s*\[Total Pts:[^\]]*\]\s*(\|\s*\d+)?\s*$", re.I),  # Blackboard
    re.compile(r"\s*Points Grade(\s*<[^>]*>)?\s*$", re.I),  # D2L
)


def matching_column(header: list[str], assignment: str) -> str | None:
    """The roster column that holds `assignment`'s grade, if any (see module docstring)."""
    wanted = {_key(assignment), _key(re.sub(r"^\d+[\W_]*", "", assignment))}
    for title in header:
        bare = title
        for suffix in COLUMN_SUFFIXES:
            bare = suffix.sub("", bare)
        if bare != title and _key(bare) in wanted:
            return title
    return None


# ------------------------------------------------------------------------- writing


@dataclass
class ExportSummary:
    path: Path
    rows: int
    not_on_roster: list  # gradebook students the LMS file could not name
    notes: list


def _write(path: Path, rows: list[list[str]]) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(rows)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(buffer.getvalue(), encoding="utf-8")
    os.replace(tmp, path)


def _by_roster(roster: LmsRoster, students) -> tuple[dict, list]:
    """{roster student id: gradebook student id} matched on id or alias; and the
    gradebook students the roster does not have."""
    index = {}
    for student, fields in roster.students.items():
        for name in [student, *fields.get("aliases", [])]:
            index.setdefault(name, student)
    mapped, unmatched = {}, []
    for student in students:
        target = index.get(student)
        if target is None or target in mapped:
            unmatched.append(student)
        else:
            mapped[target] = student
    return mapped, unmatched


def _score_cell(data: GradebookData, student: str | None, assignment: str, missing: str,
                scale: float = 1.0) -> str:
    result = data.results.get((student, assignment)) if student else None
    if result is None or not result.submitted:
        return "" if missing == "blank" else "0"
    return points(result.score * scale)


def _columns(roster: LmsRoster | None, assignments: list[str], fallback) -> list[str]:
    header = roster.header if roster else []
    return [matching_column(header, a) or fallback(a) for a in assignments]


def _canvas(data, assignments, roster, missing):
    identity = [c for c in roster.header if c in CANVAS_IDENTITY]
    columns = _columns(roster, assignments, lambda a: a)
    mapped, unmatched = _by_roster(roster, data.students)
    rows = [identity + columns,
            [CANVAS_POINTS_ROW] + [""] * (len(identity) - 1)
            + [points(data.max_scores[a]) for a in assignments]]
    for student, row in roster.rows.items():
        graded = mapped.get(student)
        rows.append([_text(row.get(c, "")) for c in identity]
                    + [_score_cell(data, graded, a, missing) for a in assignments])
    return rows, unmatched, []


def _moodle(data, assignments, roster, missing):
    if len(assignments) != 1:
        raise ExportProblem("a Moodle grading worksheet holds one assignment; export them "
                            "one at a time")
    (assignment,) = assignments
    if "Grade" not in roster.header:
        raise ExportProblem(f"{roster.path} has no Grade column")
    mapped, unmatched = _by_roster(roster, data.students)
    notes = []
    rows = [list(roster.header)]
    for student, row in roster.rows.items():
        scale = 1.0
        maximum = row.get("Maximum Grade", "").strip()
        try:
            moodle_max = float(maximum) if maximum else None
        except ValueError:
            raise ExportProblem(f"{roster.path}: Maximum Grade {maximum!r} of {student} is "
                                "not a number") from None
        if moodle_max and abs(moodle_max - data.max_scores[assignment]) > 1e-9:
            scale = moodle_max / data.max_scores[assignment]
            note = (f"scores scaled from {points(data.max_scores[assignment])} to Moodle's "
                    f"maximum grade {points(moodle_max)}")
            if note not in notes:
                notes.append(note)
        cells = dict(row)
        cells["Grade"] = _score_cell(data, mapped.get(student), assignment, missing, scale)
        rows.append([cells["Grade"] if c == "Grade" else _text(cells.get(c, ""))
                     for c in roster.header])
    return rows, unmatched, notes


def _identity_rows(data, roster, fmt):
    """(roster rows to write, unmatched) for Blackboard and D2L, whose Username may simply
    be our student id when no LMS roster is given."""
    if roster is not None and roster.format == fmt:
        mapped, unmatched = _by_roster(roster, data.students)
        return [(mapped.get(s), roster.rows[s], roster.students[s]) for s in roster.rows], \
            unmatched
    return [(s, {}, {**data.students[s], "username": s}) for s in sorted(data.students)], []


def _blackboard(data, assignments, roster, missing):
    columns = _columns(roster if roster and roster.format == "blackboard" else None,
                       assignments,
                       lambda a: f"{a} [Total Pts: {points(data.max_scores[a])} Score]")
    entries, unmatched = _identity_rows(data, roster, "blackboard")
    rows = [list(BLACKBOARD_IDENTITY) + columns]
    for graded, row, fields in entries:
        identity = [row.get("Last Name", fields.get("last_name", "")),
                    row.get("First Name", fields.get("first_name", "")),
                    row.get("Username", fields.get("username", "")),
                    row.get("Student ID", "")]
        rows.append([_text(v) for v in identity]
                    + [_score_cell(data, graded, a, missing) for a in assignments])
    return rows, unmatched, []


def _d2l(data, assignments, roster, missing):
    own = roster if roster and roster.format == "d2l" else None
    columns = _columns(own, assignments, lambda a: f"{a} Points Grade")
    entries, unmatched = _identity_rows(data, roster, "d2l")
    rows = [["OrgDefinedId", "Username", *columns, D2L_END]]
    for graded, row, fields in entries:
        org_id = row.get("OrgDefinedId", row.get("Org Defined ID", "")).lstrip("#")
        username = row.get("Username", "").lstrip("#") or fields.get("username", "")
        rows.append([_text(org_id), _text(username)]
                    + [_score_cell(data, graded, a, missing) for a in assignments] + ["#"])
    return rows, unmatched, []


WRITERS = {"canvas": _canvas, "moodle": _moodle, "blackboard": _blackboard, "d2l": _d2l}
NEEDS_OWN_ROSTER = {
    "canvas": "the Canvas gradebook export (Grades → Export → Export Entire Gradebook)",
    "moodle": "the assignment's grading worksheet (View all submissions → Download grading "
              "worksheet)",
}


def export(
    fmt: str,
    assignments: list[str],
    db_path: Path,
    out: Path,
    roster_path: Path | None = None,
    missing: str = "zero",
    allow_ungraded: bool = False,
    source_root: Path = course.SOLUTIONS,
    state_path: Path | None = None,
) -> ExportSummary:
    """Write the grades of `assignments` in format `fmt` to `out`; see the module docstring.

    Raises ExportProblem (nothing written) when the roster cannot identify students in
    that LMS, or when written answers still await grading and not allow_ungraded.
    """
    if fmt not in FORMATS:
        raise ExportProblem(f"unknown format {fmt!r} (choose from {', '.join(FORMATS)})")
    if missing not in ("zero", "blank"):
        raise ExportProblem(f"missing must be 'zero' or 'blank', not {missing!r}")
    if fmt == "csv":
        rows = write_grades_csv(out, db_path, source_root, assignments, state_path)
        return ExportSummary(Path(out), len(rows), [], [])
    data = read_gradebook(db_path, assignments)
    awaiting = sorted((s, a) for (s, a), r in data.results.items() if r.awaiting)
    if awaiting and not allow_ungraded:
        count = sum(data.results[k].awaiting for k in awaiting)
        who = ", ".join(f"{s} ({a})" for s, a in awaiting[:5])
        more = ", ..." if len(awaiting) > 5 else ""
        raise ExportProblem(
            f"{count} written answers are not graded yet ({who}{more}); "
            "grade them in formgrader (jupyter lab → Formgrader), or pass --allow-ungraded "
            "to export them as 0")
    roster = read_lms_roster(roster_path) if roster_path else None
    if fmt in NEEDS_OWN_ROSTER and (roster is None or roster.format != fmt):
        given = f" ({roster_path} is a {roster.format} roster)" if roster else ""
        raise ExportProblem(f"--format {fmt} needs {NEEDS_OWN_ROSTER[fmt]} as --roster, so "
                            f"the file carries {fmt.capitalize()}'s own student ids{given}")
    rows, unmatched, notes = WRITERS[fmt](data, assignments, roster, missing)
    _write(out, rows)
    return ExportSummary(Path(out), len(rows) - 1, unmatched, notes)


# ----------------------------------------------------------------------- grades.csv


def write_grades_csv(path: Path, db_path: Path, source_root: Path, assignments: list[str],
                     state_path: Path | None = None,
                     data: GradebookData | None = None) -> list[dict]:
    """Rewrite `grade`'s grades.csv from the gradebook, manual scores included.

    Layout as pipeline.write_grades: student_id, assignment, score, max_score, status, one
    column per graded cell, message. score is nbgrader's (see module docstring); a manual
    cell not graded yet stays blank. status and message come from the run's state file
    (OUT/state.jsonl) when there is one: "missing" for no submission, else the grading
    status. `data`: the gradebook already read with read_gradebook. Returns the rows written.
    """
    from .pipeline import FIXED_COLUMNS, STATUS_ORDER, StateFile, graded_columns

    data = data or read_gradebook(db_path, assignments)
    columns = graded_columns(Path(source_root), assignments, qualify=len(assignments) > 1)
    records: dict = {}
    if state_path and Path(state_path).is_file():
        state = StateFile(Path(state_path))
        records = dict(state.records)
    rows = []
    for assignment in assignments:
        for student in sorted(data.students):
            result = data.results[(student, assignment)]
            found = [r for (s, a, _), r in records.items() if s == student and a == assignment]
            statuses = [r["status"] for r in found] or (["ok"] if result.submitted else [])
            status = next((s for s in STATUS_ORDER if s in statuses), "missing")
            if not result.submitted:
                status = "missing"
            messages = [r["message"] for r in found if r.get("message")]
            row = {"student_id": student, "assignment": assignment,
                   "score": round(result.score, 6),
                   "max_score": data.max_scores[assignment], "status": status,
                   "message": "; ".join(messages) if result.submitted else "no submission"}
            for column, notebook, grade_id, _points, manual in columns[assignment]:
                value = result.cells.get((notebook, grade_id))
                # As `grade` writes it: a written answer nobody has graded stays blank.
                row[column] = "" if value is None and (manual or result.submitted) \
                    else round(value or 0.0, 6)
            rows.append(row)
    header = FIXED_COLUMNS + [c[0] for a in assignments for c in columns[a]] + ["message"]
    table = [header] + [[_text(row.get(c, "")) if isinstance(row.get(c), str) else row[c]
                         for c in header] for row in rows]
    table += _rows_outside_gradebook(Path(path), data.students, assignments, header)
    _write(Path(path), table)
    return rows


def _rows_outside_gradebook(path: Path, students, assignments: list[str],
                            header: list[str]) -> list[list[str]]:
    """Rows of the grades.csv `grade` just wrote for students the gradebook cannot hold.

    `grade` refuses ids that would be unsafe to show (markup, quotes) before anything is
    stored, and gives them an `invalid` row naming the reason; rebuilding from the gradebook
    must not drop those rows, or the student would vanish from the class list.
    """
    if not path.is_file():
        return []
    with open(path, newline="", encoding="utf-8") as handle:
        old = list(csv.DictReader(handle))
    known = {str(s) for s in students}
    return [[row.get(column) or "" for column in header] for row in old
            if row.get("assignment") in assignments and row.get("status") == "invalid"
            and row.get("student_id") not in known]

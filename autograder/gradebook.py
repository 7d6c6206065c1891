"""The nbgrader gradebook, written by exactly one process (the grading run's main process).

The gradebook of a run is OUT/gradebook.db and its autograded notebooks live in
OUT/autograded/<student>/<assignment>/<notebook>.ipynb, i.e. nbgrader's own layout. With
OUT = grading/ (the course workspace of autograder/nbgrader_config.py) this is the course
gradebook that formgrader and `nbgrader export` read without any extra option.

    register_assignment(db_url, source_root, assignment)   make the assignment known (once)
    GradebookWriter(db_url)                                  one connection for a whole run
        .add_student(student_id, first_name, last_name, email)
        .record(assignment, notebook, student, cells, submitted=None)   store one notebook
            cells: {grade_id: {"points": float, "needs_manual": bool}}
            submitted: Submitted (when and whether late), from submission_time(folder)
    submission_time(folder) -> Submitted     what `import` left in SUBMISSIONS/<s>/<a>/

Late submissions: the submission time becomes SubmittedAssignment.timestamp, so nbgrader's
own machinery applies: total_seconds_late against the assignment's due date (plus any
extension), and the configured LateSubmissionPlugin (penalty_method 'none' or 'zero', or
your own plugin class via AssignLatePenalties.plugin_class) sets each notebook's
late_submission_penalty, exactly as `nbgrader autograde` would. An LMS that flags lateness
without a time (Canvas "_LATE") is recorded as submitted one second after the due date.
    integrity_problems(db_path) -> list[str]                 empty when the database is sound
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import sys
import warnings
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from nbgrader.api import Gradebook, MissingEntry

from . import course
from .notebooks import nbgrader_meta, read_notebook

# nbgrader's Gradebook runs the `alembic` command; find it next to this Python even when
# the environment is used without being activated.
if shutil.which("alembic") is None:
    os.environ["PATH"] = os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", "")


def db_url_for(path: Path) -> str:
    return f"sqlite:///{Path(path).resolve()}"


def create_gradebook(path: Path) -> None:
    """Create an empty nbgrader gradebook at `path` unless one exists.

    Does what nbgrader's Gradebook() does for a new database (create the tables, stamp the
    alembic revision) but reads the revision in this process instead of running the
    `alembic` command, which costs seconds per run.
    """
    import nbgrader
    from alembic.config import Config as AlembicConfig
    from alembic.script import ScriptDirectory
    from nbgrader.api import Base
    from sqlalchemy import create_engine, inspect, text

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(db_url_for(path), future=True)
    try:
        if inspect(engine).get_table_names():
            return
        config = AlembicConfig()
        config.set_main_option(
            "script_location", os.path.join(os.path.dirname(nbgrader.__file__), "alembic")
        )
        head = ScriptDirectory.from_config(config).get_current_head()
        Base.metadata.create_all(bind=engine)
        with engine.begin() as conn:
            conn.execute(text("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL)"))
            conn.execute(text("INSERT INTO alembic_version (version_num) VALUES (:v)"),
                         {"v": head})
    finally:
        engine.dispose()


def _graded_ids(nb) -> set[str]:
    return {nbgrader_meta(c)["grade_id"] for c in nb.cells if nbgrader_meta(c).get("grade")}


def _is_registered(db_url: str, assignment: str, notebooks: dict[str, set[str]]) -> bool:
    with Gradebook(db_url) as gb:
        try:
            known = gb.find_assignment(assignment)
        except MissingEntry:
            return False
        registered = {nb.name: {cell.name for cell in nb.grade_cells} for nb in known.notebooks}
    return all(registered.get(name) == ids for name, ids in notebooks.items())


def register_assignment(db_url: str, source_root: Path, assignment: str) -> None:
    """Record `assignment` (its notebooks, graded, answer and locked cells) in the gradebook.

    Runs the first half of nbgrader's generate_assignment pipeline (ClearSolutions,
    ClearOutput, ComputeChecksums, SaveCells) on each source notebook, so the gradebook holds
    what `nbgrader generate_assignment` would have put there. Does nothing when the gradebook
    already knows the same graded cells. Raises RuntimeError with nbgrader's reason (e.g.
    graded cells changed after submissions were recorded).
    """
    from nbgrader.preprocessors import ClearOutput, ClearSolutions, ComputeChecksums, SaveCells

    paths = sorted((Path(source_root) / assignment).glob("*.ipynb"))
    sources = {path.stem: read_notebook(path) for path in paths}
    if _is_registered(db_url, assignment, {k: _graded_ids(nb) for k, nb in sources.items()}):
        return
    config = course.load_config()
    with Gradebook(db_url) as gb:
        gb.update_or_create_assignment(assignment)
    for name, nb in sources.items():
        resources = {"nbgrader": {"db_url": db_url, "assignment": assignment, "notebook": name}}
        for step in (ClearSolutions, ClearOutput, ComputeChecksums, SaveCells):
            nb, resources = step(config=config).preprocess(nb, resources)


@dataclass(frozen=True)
class Submitted:
    """When a submission was made (naive UTC, nbgrader's convention) and whether the LMS
    called it late."""

    at: datetime | None = None
    late: bool = False


def submission_time(folder: Path) -> Submitted:
    """The time in FOLDER/timestamp.txt (nbgrader's file) and the late flag `import` kept in
    FOLDER/.submission.json; missing or unreadable files mean "not known"."""
    from nbgrader.utils import parse_utc

    folder = Path(folder)
    at = None
    try:
        at = parse_utc((folder / "timestamp.txt").read_text(encoding="utf-8").strip() or None)
    except (OSError, ValueError, OverflowError, UnicodeDecodeError):
        pass
    try:
        late = json.loads((folder / ".submission.json").read_text(encoding="utf-8")).get("late")
    except (OSError, ValueError, AttributeError):
        late = False
    return Submitted(at, bool(late))


class GradebookWriter:
    """One open gradebook for a whole run; every method commits before returning."""

    def __init__(self, db_url: str):
        self.gradebook = Gradebook(db_url)
        self._late_plugin = None

    def close(self) -> None:
        self.gradebook.close()

    def add_student(self, student_id: str, first_name=None, last_name=None, email=None) -> None:
        fields = {
            k: v
            for k, v in (("first_name", first_name), ("last_name", last_name), ("email", email))
            if v
        }
        self.gradebook.update_or_create_student(student_id, **fields)

    def record(self, assignment: str, notebook: str, student: str, cells: dict,
               submitted: Submitted | None = None) -> None:
        """Store the autograded scores of one notebook; a regrade overwrites the old scores.

        cells: {grade_id: {"points": float, "needs_manual": bool}}; graded cells of the
        assignment that are absent score 0 (the notebook could not be graded).
        submitted: the submission's time and late flag; sets the submission timestamp and
        the notebook's late penalty (see the module docstring).
        """
        gb = self.gradebook
        self.add_student(student)
        with warnings.catch_warnings():
            # nbgrader's add_submission trips SQLAlchemy's autoflush notice; harmless.
            warnings.simplefilter("ignore")
            submission = gb.update_or_create_submission(assignment, student)
        submission.timestamp = self._timestamp(submission, submitted or Submitted())
        graded = gb.find_submission_notebook(notebook, assignment, student)
        for grade in graded.grades:
            info = cells.get(grade.name, {})
            manual = bool(info.get("needs_manual")) or grade.cell_type == "markdown"
            grade.needs_manual_grade = manual
            grade.auto_score = None if manual else float(info.get("points", 0.0))
        gb.db.commit()
        self._apply_late_penalty(submission, graded, student)

    @staticmethod
    def _timestamp(submission, submitted: Submitted) -> datetime | None:
        if submitted.at is not None:
            return submitted.at
        duedate = submission.assignment.duedate
        if submitted.late and duedate is not None:
            return duedate + timedelta(seconds=1)  # late by the LMS's word, time unknown
        return None

    def _apply_late_penalty(self, submission, graded, student: str) -> None:
        """What nbgrader's AssignLatePenalties does, with the course's configured plugin."""
        if self._late_plugin is None:
            from nbgrader.preprocessors import AssignLatePenalties

            config = course.load_config()
            self._late_plugin = AssignLatePenalties(config=config).plugin_class(config=config)
        self.gradebook.db.refresh(graded)
        penalty = None
        if submission.total_seconds_late > 0:
            penalty = self._late_plugin.late_submission_penalty(
                student, graded.score, submission.total_seconds_late)
            if penalty is not None:
                penalty = min(max(float(penalty), 0.0), float(graded.score))
        graded.late_submission_penalty = penalty
        self.gradebook.db.commit()


def integrity_problems(db_path: Path) -> list[str]:
    """SQLite's own integrity check plus one submission per (student, assignment)."""
    problems: list[str] = []
    with sqlite3.connect(str(db_path)) as conn:
        verdict = [row[0] for row in conn.execute("PRAGMA integrity_check")]
        if verdict != ["ok"]:
            problems.extend(f"sqlite: {line}" for line in verdict)
        duplicates = conn.execute(
            "SELECT student_id, assignment_id, COUNT(*) FROM submitted_assignment "
            "GROUP BY student_id, assignment_id HAVING COUNT(*) > 1"
        ).fetchall()
        problems.extend(f"{s}: {n} submissions of assignment {a}" for s, a, n in duplicates)
    return problems


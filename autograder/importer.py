"""`python -m autograder import ASSIGNMENT SOURCE`: sort an LMS download into the grading layout.

SOURCE is the folder or .zip the LMS gave (archives inside are opened, defensively: see
archives.py). Who submitted each file is read from the name the LMS gave it, and only from
that name (lms_names.py documents each LMS's naming: Canvas, Blackboard, Brightspace/D2L,
Moodle, nbgrader's submitted/ and exchange trees, plain <student>_<file>). Everything inside
a student's own folder or archive belongs to that student, whatever it is called.

For each student and each notebook of the assignment (solutions/ASSIGNMENT/*.ipynb), one
file is chosen and copied to
    SUBMISSIONS/<student_id>/<ASSIGNMENT>/<notebook>.ipynb
ranked by: the exact notebook name (LMS resubmission suffixes "-1", " (1)" removed) before
a renamed one, a name containing the notebook's before any other; then the newest upload
(submission time, the LMS's upload counter, the resubmission number). A renamed file is
used only for a one-notebook assignment. Next to it, when the LMS said so:
    timestamp.txt       the submission time, in nbgrader's own format (`nbgrader autograde`
                        and `grade` hand it to the gradebook for late penalties)
    .submission.json    the LMS, the late flag, the time and the file the notebook came from
Student ids must be safe folder names (identity.safe_id_problem); ids come from the roster
when it knows the student (by id, alias or accent-insensitive name), else from the name.

Nothing is lost, and every input is accounted for. Each import gets its own folder
    SUBMISSIONS/.import/<ASSIGNMENT>/<UTC time>/report.json    every file of SOURCE (archive
        members, nested members, duplicates) with its sha256, student, and what was done
    SUBMISSIONS/.import/<ASSIGNMENT>/<UTC time>/unsorted/      every file not imported
    SUBMISSIONS/.import/<ASSIGNMENT>/<UTC time>/replaced/      files a newer import replaced
    SUBMISSIONS/.import/<ASSIGNMENT>/imports.jsonl             one line per import, appended
    SUBMISSIONS/.import/<ASSIGNMENT>/report.json               a copy of the newest report
A bad file (damaged, encrypted or bomb archive, symlink, unsafe name, unreadable notebook)
is set aside with its reason; it never stops the import of the others.

Roster (--roster CSV; see read_roster): students found but not on it are added and
reported; roster students without a file are reported as missing. The merged roster is kept
in SUBMISSIONS/.import/roster.csv, which `grade` reads when no --roster is given.
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

from . import course
from .archives import ArchiveLimits, Entry, is_junk, list_download
from .identity import RosterIndex, safe_id_problem
from .import_choice import choose, name_rank
from .import_record import (
    Found,
    copy_aside,
    print_summary,
    run_folder,
    safe_component,
    unused,
    write_report,
)
from .lms_names import Claim, claim_path, read_blackboard_receipt
from .notebooks import NotebookProblem, read_notebook
from .rosters import default_roster_path, read_roster, write_roster

IMPORT_DIR = ".import"
ID_HEADERS = ("student_id", "id", "username", "login", "user", "sis user id", "student")
SUBMISSION_INFO = ".submission.json"
TIMESTAMP_FILE = "timestamp.txt"  # nbgrader's name (CourseDirectory.get_existing_timestamp)


# -------------------------------------------------------------------------- roster


# ----------------------------------------------------------------------- the import


def _readable_problem(path: Path) -> str:
    try:
        read_notebook(path)
    except NotebookProblem as problem:
        return str(problem).split(": ", 1)[-1]
    except RecursionError:
        return "JSON nested too deeply to read"
    except MemoryError:
        return "too large to read"
    return ""


def _classify(entries: list[Entry], assignment: str, roster: dict) -> list[Found]:
    """A Found per entry, with its claim and student; set-aside reasons filled in."""
    known = sorted({s for s in roster} | {str(a) for f in roster.values()
                                         for a in f.get("aliases") or []})
    found = []
    for position, entry in enumerate(entries):
        item = Found(entry.display, entry.sha256, entry.size, position=position, entry=entry)
        found.append(item)
        if entry.problem:
            item.action, item.note = "set aside", entry.problem
        elif is_junk(entry.parts):
            item.action, item.note = "set aside", "system file (macOS, Windows or Jupyter)"
        elif entry.parts[-1][1] == "archive":
            item.action, item.note = "opened", "its files are listed after it"
        try:
            claimed = claim_path(entry.parts, assignment, known)
        except Exception as error:  # one odd name must not cost the class its import
            item.action = "set aside"
            item.add_note(f"its name could not be read ({type(error).__name__}: {error})")
            continue
        if claimed is None:
            continue
        index, claim = claimed
        item.claim, item.lms = claim, claim.lms
        own = index == len(entry.parts) - 1 and claim.file_name
        item.file_name = claim.file_name if own else entry.name
        item.late = claim.late
        item.submitted_at = claim.submitted_at.isoformat(" ") if claim.submitted_at else ""
    _assign_students([item for item in found if item.claim], roster)
    return found


def _assign_students(items: list[Found], roster: dict) -> None:
    """Set item.student from the roster, else from the name; a name shared by two
    different people (two Canvas users both 'smithjohn') gets the LMS id appended."""
    people: dict[str, set] = {}
    index = RosterIndex(roster)
    for item in items:
        student, note = index.match(list(item.claim.ids), item.claim.full_name)
        item.student = student or ""
        item.add_note(note)
        if not student:
            people.setdefault(item.claim.default_id, set()).add(item.claim.person)
    for item in items:
        if item.student:
            continue
        default = item.claim.default_id
        if len(people[default]) > 1:
            default = f"{default}-{item.claim.person[-1]}"
        item.student = default


def import_submissions(
    assignment: str,
    source: Path,
    submissions: Path,
    roster_path: Path | None = None,
    source_root: Path = course.SOLUTIONS,
    stream=None,
    limits: ArchiveLimits | None = None,
) -> dict:
    """Import SOURCE for `assignment` into `submissions`; return the report (also saved).

    Raises ValueError only when SOURCE itself cannot be read, or the roster is malformed.
    """
    stream = stream or sys.stdout
    course.resolve_assignments(assignment, Path(source_root))
    notebooks = sorted(p.stem for p in (Path(source_root) / assignment).glob("*.ipynb"))
    submissions = Path(submissions)
    merged_path = default_roster_path(submissions)
    roster = read_roster(merged_path) if merged_path.is_file() else {}
    given = read_roster(roster_path) if roster_path else {}
    for student in given:
        if problem := safe_id_problem(student):
            raise ValueError(f"{roster_path}: the student id {student!r} cannot be a folder "
                             f"name ({problem})")
    for student, fields in given.items():
        roster.setdefault(student, {}).update(fields)
    on_roster = set(roster)

    base = submissions / IMPORT_DIR / assignment
    with tempfile.TemporaryDirectory(prefix="nnlab-import-") as scratch:
        entries = list_download(Path(source), Path(scratch) / "blobs", limits or ArchiveLimits())
        run_dir = run_folder(base)
        found = _classify(entries, assignment, roster)
        placed = _place(found, assignment, notebooks, submissions, run_dir)
        for item in found:
            if item.action == "opened" and item.entry.incomplete:
                item.add_note("kept whole: some of its files could not be read")
                copy_aside(item, run_dir / "unsorted", submissions)
            elif item.action == "set aside":
                copy_aside(item, run_dir / "unsorted", submissions)

    students = sorted({item.student for item in placed})
    added = [s for s in students if s not in on_roster]
    for student in added:
        roster[student] = _names_for(student, found)
    have = {s for s in roster if (submissions / s / assignment).is_dir()
            and any((submissions / s / assignment).glob("*.ipynb"))}
    missing = sorted(s for s in on_roster if s not in have)
    write_roster(merged_path, roster)
    report = {
        "assignment": assignment,
        "source": str(source),
        "imported_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "files": [item.row() for item in found],
        "imported": sorted(item.placed_as for item in placed),
        "set_aside": sorted(item.placed_as or item.original for item in found
                            if item.action == "set aside"),
        "late": sorted({item.student for item in placed if item.late}),
        "students_added_to_roster": added,
        "roster_students_without_submission": missing,
    }
    write_report(report, base, run_dir, submissions, len(found), len(placed))
    print_summary(report, found, placed, run_dir, submissions, stream)
    return report


def _names_for(student: str, found: list[Found]) -> dict:
    for item in found:
        if item.student == student and item.claim and item.claim.full_name:
            first, _, last = item.claim.full_name.partition(" ")
            return {"first_name": first, "last_name": last}
    return {}


def _place(found: list[Found], assignment: str, notebooks: list[str], submissions: Path,
           run_dir: Path) -> list[Found]:
    """Choose and copy each student's notebooks; return the Found rows that were imported."""
    by_student: dict[str, list[Found]] = {}
    for item in found:
        if item.action or item.claim is None:
            if not item.action:
                item.action = "set aside"
                item.note = ("the file name names no student (see the LMS namings in "
                             "autograder/README.md)" if item.entry.name.endswith(".ipynb")
                             else "not a notebook, and names no student")
            continue
        problem = safe_id_problem(item.student)
        if problem:
            item.action = "set aside"
            item.add_note(f"the student id {item.student!r} taken from the name is not a safe "
                          f"folder name: {problem}")
            continue
        if item.claim.receipt:
            item.action = "receipt kept"
            _keep_receipt(item, run_dir, submissions)
            continue
        if item.entry.name == TIMESTAMP_FILE:
            item.action, item.note = "set aside", "nbgrader's submission time, read"
            continue
        if not item.entry.name.lower().endswith(".ipynb"):
            item.action, item.note = "set aside", f"not a notebook (from {item.student})"
            continue
        by_student.setdefault(item.student, []).append(item)

    placed: list[Found] = []
    for student, candidates in sorted(by_student.items()):
        chosen = choose(candidates, notebooks)
        written = []
        for notebook, item in chosen.items():
            try:
                _write(item, notebook, student, assignment, submissions, run_dir)
            except (OSError, ValueError) as error:  # e.g. a name the file system refuses
                item.action = "set aside"
                item.add_note(f"could not be written: {error}")
                continue
            written.append(item)
        if written:
            _write_submission_info(submissions / student / assignment, written, found)
        placed.extend(written)
        for item in candidates:
            if item in chosen.values():
                continue
            item.action = "set aside"
            same = [nb for nb, best in chosen.items() if name_rank(item.file_name, nb) == 2]
            if same:
                item.note = (f"an older upload; {chosen[same[0]].original} is imported as "
                             f"{same[0]}.ipynb")
            elif len(notebooks) == 1 and chosen:
                graded = chosen[notebooks[0]].original
                item.note = (f"an extra notebook, kept but not graded; {graded} is imported "
                             f"as {notebooks[0]}.ipynb")
            else:
                item.note = (f"{item.file_name} is none of the assignment's notebooks "
                             f"({', '.join(notebooks)}); kept, not graded")
    return placed


def _keep_receipt(item: Found, run_dir: Path, submissions: Path) -> None:
    target = unused(run_dir / "receipts" / item.student / safe_component(item.entry.name))
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(item.entry.path, target)
    item.placed_as = target.relative_to(submissions).as_posix()
    text = item.entry.path.read_bytes()[:1 << 16].decode("utf-8", "replace")
    name = read_blackboard_receipt(text)["full_name"]
    if name and not item.claim.full_name:
        item.claim = Claim(**{**item.claim.__dict__, "full_name": name})


def _nbgrader_time(item: Found, found: list[Found]):
    """The submission time from a timestamp.txt next to the file in the same claimed folder."""
    from nbgrader.utils import parse_utc

    folder = item.entry.parts[:-1]
    for other in found:
        if other.entry.parts[:-1] == folder and other.entry.name == TIMESTAMP_FILE \
                and other.entry.path is not None and other.entry.size < 1000:
            try:
                return parse_utc(other.entry.path.read_text(encoding="utf-8").strip())
            except (ValueError, OverflowError, UnicodeDecodeError):
                return None
    return None


def _write(item: Found, notebook: str, student: str, assignment: str, submissions: Path,
           run_dir: Path) -> None:
    folder = submissions / student / assignment
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{notebook}.ipynb"
    data = item.entry.path.read_bytes()
    if target.is_file() and target.read_bytes() != data:
        kept = unused(run_dir / "replaced" / student / target.name)
        kept.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(target, kept)
        item.add_note(f"replaced an earlier import (kept at {kept.relative_to(submissions)})")
    target.write_bytes(data)
    item.action, item.notebook = "imported", notebook
    item.placed_as = target.relative_to(submissions).as_posix()
    if name_rank(item.file_name, notebook) < 2:
        item.add_note(f"renamed: {item.file_name} imported as {notebook}.ipynb")
    problem = _readable_problem(target)
    if problem:
        item.add_note(f"unreadable ({problem}); grading will mark it invalid")


def _write_submission_info(folder: Path, chosen: list[Found], found: list[Found]) -> None:
    """timestamp.txt (the newest chosen file's time, when the LMS gave times) and
    .submission.json (LMS, late flag, time, where each notebook came from)."""
    times = []
    for item in chosen:
        submitted = item.claim.submitted_at or _nbgrader_time(item, found)
        if submitted is not None:
            item.submitted_at = submitted.isoformat(" ")
            times.append(submitted)
    stamp = folder / TIMESTAMP_FILE
    if times:
        stamp.write_text(max(times).strftime("%Y-%m-%d %H:%M:%S.%f") + "\n", encoding="utf-8")
    elif stamp.exists():
        stamp.unlink()  # an earlier import's time (kept in its report) is not this file's
    info = {
        "lms": sorted({item.lms for item in chosen}),
        "late": any(item.late for item in chosen),
        "submitted_at": max(times).isoformat(" ") if times else None,
        "files": {item.notebook: {"from": item.original, "sha256": item.sha256}
                  for item in chosen},
    }
    (folder / SUBMISSION_INFO).write_text(json.dumps(info, ensure_ascii=False, indent=1) + "\n",
                                          encoding="utf-8")

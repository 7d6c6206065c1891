"""`python -m autograder import ASSIGNMENT SOURCE`: sort LMS downloads into the grading layout.

SOURCE is a folder or a .zip (zips inside are opened too) holding any of:
  - flat files <student>_<anything>.ipynb;
  - Canvas downloads   <login>[_LATE]_<user id>_<submission id>_<original name>;
  - Moodle downloads   <Full Name>_<participant id>_assignsubmission_file_<original name>,
                       as flat files or as one folder per participant;
  - nbgrader's submitted/ layout  <student>/<ASSIGNMENT>/<notebook>.ipynb.
File names are matched with nbgrader's zip_collect FileNameCollectorPlugin (named-group
regular expressions). Each notebook found is copied to
    SUBMISSIONS/<student_id>/<ASSIGNMENT>/<notebook>.ipynb
under the notebook name the assignment expects (solutions/<ASSIGNMENT>/); when the assignment
has one notebook, a renamed file is mapped to it and the rename is recorded.

Nothing is lost: every other file (unknown student, unknown notebook, older duplicate,
non-notebook, a file replaced by a newer import) is copied to
    SUBMISSIONS/.import/<ASSIGNMENT>/unsorted/...
and listed in SUBMISSIONS/.import/<ASSIGNMENT>/report.json with the sha256 of its bytes.
Unreadable notebooks are still placed (grading gives them status 'invalid' with the reason).

Roster (--roster CSV, header with id/student_id/username/login, optional first_name,
last_name, email): students found but not on it are added and reported; roster students
without a file are reported as missing. The merged roster is kept in
SUBMISSIONS/.import/roster.csv, which `grade` reads when no --roster is given.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import shutil
import sys
import tempfile
import zipfile
from dataclasses import asdict, dataclass
from pathlib import Path

from . import course
from .notebooks import NotebookProblem, read_notebook
from .rosters import default_roster_path, read_roster, write_roster

IMPORT_DIR = ".import"
ID_HEADERS = ("student_id", "id", "username", "login", "user", "sis user id", "student")
JUNK = ("__MACOSX", ".DS_Store", ".ipynb_checkpoints", "Thumbs.db")

# Tried in order; student_id is the preferred identifier, the other named groups are
# alternatives checked against the roster (Canvas: login or numeric id; Moodle: id or name).
FILENAME_PATTERNS = (
    ("canvas", r"^(?P<student_id>[A-Za-z][A-Za-z0-9.\-]*?)(?P<late>_LATE)?_(?P<user_id>\d+)"
               r"_(?P<timestamp>\d+)_(?P<file_id>.+)$"),
    ("moodle", r"^(?P<full_name>[^_]+)_(?P<student_id>\d+)_assignsubmission_file_"
               r"(?P<file_id>.+)$"),
    ("flat", r"^(?P<student_id>[^_\s]+)_(?P<file_id>.+)$"),
)
MOODLE_FOLDER = re.compile(r"^(?P<full_name>[^_]+)_(?P<student_id>\d+)_assignsubmission_\w+?_?$")
RESUBMISSION_SUFFIX = re.compile(r"(-\d+| \(\d+\))$")  # Canvas "-1", browser " (1)"


# -------------------------------------------------------------------------- roster


# ------------------------------------------------------------------------ matching


@dataclass
class Found:
    """One file of SOURCE and what the import did with it."""

    original: str  # path inside SOURCE
    sha256: str
    size: int
    student: str = ""
    notebook: str = ""
    placed_as: str = ""
    note: str = ""
    order: tuple = ()


def _collector(pattern: str):
    from nbgrader.plugins.zipcollect import FileNameCollectorPlugin

    # A quiet logger: not matching one of several patterns is expected, not a warning.
    quiet = logging.getLogger("autograder.import.collect")
    quiet.setLevel(logging.ERROR)
    return FileNameCollectorPlugin(named_regexp=pattern, valid_ext=[".ipynb"], log=quiet)


def _name_key(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text.lower())


def _pick_student(candidates: list[str], full_name: str, roster: dict[str, dict]) -> str:
    """The candidate id that is on the roster, else the roster student with that name,
    else the first candidate."""
    for candidate in candidates:
        if candidate in roster:
            return candidate
    if full_name:
        wanted = _name_key(full_name)
        for student, fields in roster.items():
            names = (fields.get("first_name", ""), fields.get("last_name", ""))
            if wanted and wanted in (_name_key("".join(names)), _name_key("".join(names[::-1]))):
                return student
    return candidates[0]


def match_file(rel: Path, assignment: str, roster: dict) -> tuple[str, str, tuple] | None:
    """(student, original notebook name, ordering key) for one file of SOURCE, or None."""
    parts = rel.parts
    # nbgrader submitted/ layout: .../<student>/<ASSIGNMENT>/<file>
    for index in range(len(parts) - 2):
        if parts[index + 1] == assignment and index + 2 == len(parts) - 1:
            return parts[index], parts[-1], ()
    # Moodle: one folder per participant
    if len(parts) >= 2:
        folder = MOODLE_FOLDER.match(parts[-2])
        if folder:
            student = _pick_student([folder["student_id"]], folder["full_name"], roster)
            return student, parts[-1], ()
    # A roster id followed by '_' wins, so ids that contain '_' themselves still match.
    for student in sorted(roster, key=len, reverse=True):
        if parts[-1].startswith(f"{student}_") and len(parts[-1]) > len(student) + 1:
            return student, parts[-1][len(student) + 1:], ()
    for _layout, pattern in FILENAME_PATTERNS:
        groups = _collector(pattern).collect(parts[-1])
        if not groups:
            continue
        candidates = [groups["student_id"]] + [groups[g] for g in ("user_id",) if groups.get(g)]
        student = _pick_student(candidates, groups.get("full_name") or "", roster)
        order = (int(groups.get("timestamp") or 0), not groups.get("late"))
        return student, groups["file_id"], order
    return None


def _expected_name(original: str, notebooks: list[str]) -> tuple[str, str]:
    """(expected notebook stem or '', note) for a student's file called `original`."""
    stem = Path(original).stem
    bare = RESUBMISSION_SUFFIX.sub("", stem)
    for candidate in (stem, bare):
        if candidate in notebooks:
            return candidate, ""
    if len(notebooks) == 1:
        return notebooks[0], f"renamed: {original} imported as {notebooks[0]}.ipynb"
    return "", f"{original} is none of the assignment's notebooks ({', '.join(notebooks)})"


# -------------------------------------------------------------------------- import


def _gather(source: Path, scratch: Path) -> Path:
    """A folder with every file of SOURCE, zips (also nested ones) opened."""
    if source.is_file():
        if not zipfile.is_zipfile(source):
            raise ValueError(f"{source}: not a folder or a .zip file")
        root = scratch / "source"
        _unzip(source, root)
        return root
    if not source.is_dir():
        raise ValueError(f"{source}: no such folder or .zip file")
    root = scratch / "source"
    shutil.copytree(source, root)
    for inner in sorted(root.rglob("*.zip")):
        if zipfile.is_zipfile(inner):
            _unzip(inner, inner.with_suffix(""))
            inner.unlink()
    return root


def _unzip(archive: Path, target: Path) -> None:
    with zipfile.ZipFile(archive) as handle:
        for member in handle.infolist():
            # ZipFile.extract drops absolute paths and '..', so nothing escapes `target`.
            handle.extract(member, target)
    for inner in sorted(target.rglob("*.zip")):
        if zipfile.is_zipfile(inner):
            _unzip(inner, inner.with_suffix(""))
            inner.unlink()


def import_submissions(
    assignment: str,
    source: Path,
    submissions: Path,
    roster_path: Path | None = None,
    source_root: Path = course.SOLUTIONS,
    stream=None,
) -> dict:
    """Import SOURCE for `assignment` into `submissions`; return the report (also saved)."""
    stream = stream or sys.stdout
    course.resolve_assignments(assignment, Path(source_root))
    notebooks = sorted(p.stem for p in (Path(source_root) / assignment).glob("*.ipynb"))
    submissions = Path(submissions)
    merged_path = default_roster_path(submissions)
    roster = read_roster(merged_path) if merged_path.is_file() else {}
    given = read_roster(roster_path) if roster_path else {}
    for student, fields in given.items():
        roster.setdefault(student, {}).update(fields)
    on_roster = set(roster)

    report_dir = submissions / IMPORT_DIR / assignment
    unsorted = report_dir / "unsorted"
    found: list[Found] = []
    with tempfile.TemporaryDirectory(prefix="nnlab-import-") as scratch:
        root = _gather(Path(source), Path(scratch))
        files = sorted(p for p in root.rglob("*") if p.is_file())
        chosen: dict[tuple[str, str], tuple[Found, Path]] = {}
        for path in files:
            rel = path.relative_to(root)
            data = path.read_bytes()
            item = Found(rel.as_posix(), hashlib.sha256(data).hexdigest(), len(data))
            found.append(item)
            if any(part in JUNK for part in rel.parts):
                item.note = "system file from the archive"
                continue
            if path.suffix.lower() != ".ipynb":
                item.note = "not a notebook"
                continue
            match = match_file(rel, assignment, roster)
            if match is None:
                item.note = "file name names no student"
                continue
            item.student, original, item.order = match
            item.notebook, item.note = _expected_name(original, notebooks)
            if not item.notebook:
                continue
            slot = (item.student, item.notebook)
            previous = chosen.get(slot)
            if previous is None or previous[0].order <= item.order:
                if previous is not None:
                    previous[0].note = "an older or duplicate submission; the newer one is graded"
                chosen[slot] = (item, path)
            else:
                item.note = "an older or duplicate submission; the newer one is graded"

        placed = {id(item) for item, _ in chosen.values()}
        for item, path in chosen.values():
            target = submissions / item.student / assignment / f"{item.notebook}.ipynb"
            target.parent.mkdir(parents=True, exist_ok=True)
            data = path.read_bytes()
            if target.is_file() and target.read_bytes() != data:
                kept = unsorted / "replaced" / item.student / target.name
                kept.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(target, kept)
                item.note = "; ".join(filter(None, [item.note, f"replaced an earlier import "
                                                    f"(kept at {kept.relative_to(submissions)})"]))
            target.write_bytes(data)
            item.placed_as = target.relative_to(submissions).as_posix()
            try:
                read_notebook(target)
            except NotebookProblem as problem:
                reason = str(problem).split(": ", 1)[-1]
                item.note = "; ".join(filter(None, [item.note, f"unreadable ({reason})"]))
        for item in found:
            if id(item) in placed:
                continue
            aside = unsorted / item.original
            aside.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(root / item.original, aside)
            item.placed_as = aside.relative_to(submissions).as_posix()

    students = sorted({item.student for item in found if item.student and item.notebook})
    added = [s for s in students if s not in on_roster]
    for student in added:
        roster[student] = {}
    have = {s for s in roster if (submissions / s / assignment).is_dir()
            and any((submissions / s / assignment).glob("*.ipynb"))}
    missing = sorted(s for s in on_roster if s not in have)
    write_roster(merged_path, roster)
    report = {
        "assignment": assignment,
        "source": str(source),
        "files": [asdict(item) | {"order": list(item.order)} for item in found],
        "imported": sorted(item.placed_as for item in found if id(item) in placed),
        "set_aside": sorted(item.placed_as for item in found if id(item) not in placed),
        "students_added_to_roster": added,
        "roster_students_without_submission": missing,
    }
    report_dir.mkdir(parents=True, exist_ok=True)
    (report_dir / "report.json").write_text(json.dumps(report, indent=1), encoding="utf-8")

    print(f"{assignment}: imported {len(placed)} notebooks of {len(students)} students "
          f"into {submissions}", file=stream)
    for item in found:
        if id(item) in placed and item.note:
            print(f"  note: {item.original}: {item.note}", file=stream)
    if report["set_aside"]:
        print(f"  {len(report['set_aside'])} files set aside in {unsorted}:", file=stream)
        for item in found:
            if id(item) not in placed:
                print(f"    {item.original}: {item.note}", file=stream)
    if added:
        print(f"  added to the roster (not on it before): {', '.join(added)}", file=stream)
    if missing:
        print(f"  on the roster without a submission: {', '.join(missing)}", file=stream)
    print(f"  report: {report_dir / 'report.json'}", file=stream)
    return report

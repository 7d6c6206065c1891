"""The record of one import: a row per input file, safe copies, report and audit log.

Each import writes into its own folder, SUBMISSIONS/.import/<ASSIGNMENT>/<UTC time>/, so a
later import never overwrites an earlier one's report or set-aside files:
    report.json     {"files": [row, ...], "imported", "set_aside", "late", ...}; a row is
                    Found.row(): original, sha256, size, action, student, lms, notebook,
                    placed_as, note, submitted_at, late, file_name
    unsorted/       files not imported, at their place in the download (archive
                    boundaries as '<name>!' folders, every name made a safe component)
Next to those folders, imports.jsonl gets one appended line per import and report.json is a
copy of the newest report.
"""

from __future__ import annotations

import json
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

from .archives import Entry
from .lms_names import Claim


@dataclass(eq=False)  # rows are compared by identity: two uploads may be byte-identical
class Found:
    """One file of SOURCE and what the import did with it (a row of report.json)."""

    original: str  # its place in SOURCE: folders joined by '/', archive boundaries by '!/'
    sha256: str
    size: int
    action: str = ""  # imported | set aside | opened | receipt kept
    student: str = ""
    lms: str = ""
    notebook: str = ""
    placed_as: str = ""  # relative to SUBMISSIONS
    note: str = ""
    submitted_at: str = ""
    late: bool = False
    file_name: str = ""  # the student's own name for the file, LMS decorations removed
    position: int = 0  # its place in the listing of the download
    entry: Entry | None = field(default=None, repr=False)
    claim: Claim | None = field(default=None, repr=False)

    def add_note(self, text: str) -> None:
        self.note = "; ".join(filter(None, [self.note, text]))

    def row(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if k not in ("entry", "claim")}


def safe_component(name: str) -> str:
    """`name` as one harmless path component: no separators, no '..', at most ~180 bytes."""
    cleaned = "".join("_" if (ord(c) < 32 or c in '/\\:<>"|?*') else c for c in name)
    if cleaned in ("", ".", ".."):
        cleaned = cleaned.replace(".", "_") or "_"
    encoded = cleaned.encode("utf-8")
    if len(encoded) > 180:  # file systems allow 255 bytes; leave room for suffixes
        cleaned = encoded[:180].decode("utf-8", "ignore") + "~"
    return cleaned


def safe_relative(entry: Entry) -> Path:
    """The entry's place in SOURCE as a relative path that stays where it is put."""
    pieces = []
    for index, (name, kind) in enumerate(entry.parts):
        last = index == len(entry.parts) - 1
        pieces.append(safe_component(name) + ("!" if kind == "archive" and not last else ""))
    return Path(*pieces)


def unused(path: Path) -> Path:
    """`path`, or 'name (2).ext', 'name (3).ext'... when it is taken: nothing is overwritten."""
    if not path.exists():
        return path
    for number in range(2, 100_000):
        candidate = path.with_name(f"{path.stem} ({number}){path.suffix}")
        if not candidate.exists():
            return candidate
    raise OSError(f"{path}: too many files of that name")


def copy_aside(item: Found, folder: Path, submissions: Path) -> None:
    """Copy the file under `folder` at its place in the download; note where in the row."""
    entry = item.entry
    if entry is None or entry.path is None:
        return  # nothing readable to keep (a link, an encrypted member): the row says why
    target = unused(folder / safe_relative(entry))
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(entry.path, target)
    item.placed_as = target.relative_to(submissions).as_posix()


def run_folder(base: Path) -> Path:
    """A new folder base/<UTC time>[-n] for this import's report and kept files."""
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    folder = base / stamp
    number = 1
    while folder.exists():
        number += 1
        folder = base / f"{stamp}-{number}"
    folder.mkdir(parents=True)
    return folder


def write_report(report: dict, base: Path, run_dir: Path, submissions: Path,
                 files: int, imported: int) -> None:
    """The import's report.json, a copy as base/report.json, one line in imports.jsonl."""
    text = json.dumps(report, indent=1, ensure_ascii=False)
    (run_dir / "report.json").write_text(text, encoding="utf-8")
    (base / "report.json").write_text(text, encoding="utf-8")
    line = {k: report[k] for k in ("assignment", "source", "imported_at")} | {
        "report": (run_dir / "report.json").relative_to(submissions).as_posix(),
        "files": files, "imported": imported, "set_aside": len(report["set_aside"])}
    with open(base / "imports.jsonl", "a", encoding="utf-8") as log:
        log.write(json.dumps(line, ensure_ascii=False) + "\n")


SUMMARY_LINES = 20  # per list; report.json has every file


def _listed(lines: list[str], stream) -> None:
    for line in lines[:SUMMARY_LINES]:
        print(line, file=stream)
    if len(lines) > SUMMARY_LINES:
        print(f"    ... and {len(lines) - SUMMARY_LINES} more (see the report)", file=stream)


def print_summary(report: dict, found: list[Found], placed: list[Found], run_dir: Path,
                  submissions: Path, stream) -> None:
    """A short account of the import: counts first, then the files needing a look."""
    students = {item.student for item in placed}
    aside = [item for item in found if item.action == "set aside"]
    print(f"{report['assignment']}: {len(found)} files read; imported {len(placed)} notebooks "
          f"of {len(students)} students into {submissions}; {len(aside)} set aside", file=stream)
    _listed([f"  note: {item.original}: {item.note}" for item in placed if item.note], stream)
    if report["late"]:
        print(f"  late (per the LMS): {', '.join(report['late'])}", file=stream)
    if aside:
        print(f"  set aside in {run_dir / 'unsorted'}:", file=stream)
        _listed([f"    {item.original}: {item.note}" for item in aside], stream)
    if report["students_added_to_roster"]:
        print(f"  added to the roster (not on it before): "
              f"{', '.join(report['students_added_to_roster'])}", file=stream)
    if report["roster_students_without_submission"]:
        print(f"  on the roster without a submission: "
              f"{', '.join(report['roster_students_without_submission'])}", file=stream)
    print(f"  report: {run_dir / 'report.json'}", file=stream)

"""Who submitted a file, read from the name the LMS gave it (one parser per LMS).

Each parser takes one path component of a download (a file, a folder, or a student's
uploaded archive) and returns a Claim, or None when the name is not that LMS's naming:

Canvas (Assignments > Download Submissions), files only; lib/content_zipper.rb:
    <sortable name>[_LATE]_<user id>_<attachment id>_<uploaded file name>
    doejane_LATE_1234_999_gradient-descent-1.ipynb     núñezjosé_88_1203_gradient-descent.ipynb
    anonymous grading:  [LATE_]anon_<anonymous id>_<attachment id>_<uploaded file name>
  The sortable name ("Doe, Jane") is lower-cased with every non-letter removed, so it keeps
  accents and scripts. The attachment id grows with every upload, so it orders uploads; a
  file uploaded again under a name the student already used gets "-1", "-2" before its
  extension. Canvas states lateness (_LATE) but no time.
Blackboard Learn (Grade Center > Assignment File Download), files only:
    <Assignment>_<username>_attempt_<YYYY-MM-DD-HH-MM-SS>_<uploaded file name>
    <Assignment>_<username>_attempt_<YYYY-MM-DD-HH-MM-SS>.txt      the attempt's receipt
    ps1_hacker_attempt_2016-01-30-20-30-10_problem1.ipynb   (nbgrader's zip_collect example)
  The assignment name may contain '_' and spaces; the username is the part right before
  "_attempt_". The receipt is text ("Name: Alyssa Hacker (hacker)", "Date Submitted: ...",
  "Original filename: ..."); see read_blackboard_receipt.
Brightspace / D2L (Assignments > Download), files or one folder per submission:
    <id>-<id> - <First Last> - <Mon D, YYYY HMM AM> - <uploaded file name>
    397063-2557369 - John Doe - Sep 24, 2024 926 PM - gradient-descent.ipynb
    397063-2557369 - John Doe - Sep 24, 2024 926 PM/gradient-descent.ipynb
  The name is the only thing that identifies the student (match it with a D2L class list
  roster); the time is the LMS's local time, without a zone. The zip also holds index.html.
Moodle (Assignment > Download all submissions), one folder per participant (Moodle 3.1+)
or flat files (the "Download submissions in folders" option off):
    <Full Name>_<participant id>_assignsubmission_file[_]/<uploaded path>
    <Full Name>_<participant id>_assignsubmission_file_<uploaded file name>
    Participant_<participant id>_assignsubmission_file_...     (blind marking)
  Moodle replaces '_' in the full name by a space, keeps accents; the participant id is
  the "Participant <id>" identifier of the grading worksheet. No time, no late flag.
nbgrader's own trees:
    submitted/<student>/<assignment>/<notebook>.ipynb  [+ timestamp.txt]   (nbgrader collect)
    inbound/<student>+<assignment>+<timestamp>[+<random>]/<notebook>.ipynb  (the exchange)
Plain names, for downloads from other tools:  <student>_<anything>  (files and uploaded
archives, never folders; a roster id followed by '_' wins, so ids containing '_' work).
A whole LMS download kept inside the folder or zip given to `import` is recognised by its
own name (see LMS_DOWNLOADS) and opened as part of the download, not as one student's.

Times are naive datetimes as the LMS wrote them (nbgrader's convention for due dates too:
compare them on one clock), except nbgrader's, which are UTC.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime

from .identity import nfc


@dataclass(frozen=True)
class Claim:
    """What an LMS-level name says about the files it names."""

    lms: str
    ids: tuple[str, ...]  # identifiers to look up on the roster, most specific first
    default_id: str  # the student id to use when the roster does not know the student
    full_name: str = ""
    file_name: str = ""  # the student's own name for the file ('' for a folder claim)
    submitted_at: datetime | None = None
    late: bool = False
    sequence: int = 0  # the LMS's upload counter (Canvas attachment id): higher is newer
    receipt: bool = False  # a Blackboard attempt receipt, not a submitted file
    person: tuple = field(default=(), compare=False)  # tells apart students sharing a default_id


# ----------------------------------------------------------------------------- Canvas

CANVAS = re.compile(
    r"^(?P<name>\w+?)(?P<late>_LATE)?_(?P<user_id>\d+)_(?P<attachment_id>\d+)_(?P<file>.+)$"
)
CANVAS_ANONYMOUS = re.compile(
    r"^(?P<late>LATE_)?anon_(?P<anon_id>[A-Za-z0-9]+)_(?P<attachment_id>\d+)_(?P<file>.+)$"
)


def parse_canvas(name: str) -> Claim | None:
    anonymous = CANVAS_ANONYMOUS.match(name)
    if anonymous:
        anon = f"anon_{anonymous['anon_id']}"
        return Claim("canvas", (anon,), anon, file_name=anonymous["file"],
                     late=bool(anonymous["late"]), sequence=int(anonymous["attachment_id"]),
                     person=("canvas", anon))
    match = CANVAS.match(name)
    if not match or match["name"] == "LATE":
        return None
    return Claim(
        "canvas", (match["user_id"], match["name"]), match["name"], file_name=match["file"],
        late=bool(match["late"]), sequence=int(match["attachment_id"]),
        person=("canvas", match["user_id"]),
    )


# ------------------------------------------------------------------------- Blackboard

BLACKBOARD = re.compile(
    r"^(?P<prefix>.+?_[^_]+)_attempt_(?P<stamp>\d{4}-\d\d-\d\d-\d\d-\d\d-\d\d)"
    r"(?:_(?P<file>.+)|(?P<receipt>\.txt))$"
)


def parse_blackboard(name: str) -> Claim | None:
    match = BLACKBOARD.match(name)
    if not match:
        return None
    tokens = match["prefix"].split("_")
    # The username is the last token; longer tails are tried first on the roster so that
    # usernames containing '_' still match. The first token always belongs to the assignment.
    tails = tuple("_".join(tokens[i:]) for i in range(1, len(tokens)))
    stamp = datetime.strptime(match["stamp"], "%Y-%m-%d-%H-%M-%S")
    return Claim(
        "blackboard", tails, tokens[-1], file_name=match["file"] or "", submitted_at=stamp,
        receipt=bool(match["receipt"]), person=("blackboard", tokens[-1]),
    )


RECEIPT_NAME = re.compile(r"^Name:\s*(?P<name>.*?)\s*\((?P<user>[^()]+)\)\s*$", re.MULTILINE)
RECEIPT_FILES = re.compile(
    r"Original filename:\s*(?P<original>.+?)\s*\n\s*Filename:\s*(?P<stored>.+?)\s*$", re.MULTILINE
)


def read_blackboard_receipt(text: str) -> dict:
    """{"full_name", "username", "files": {stored name: original name}} of a receipt."""
    name = RECEIPT_NAME.search(text)
    return {
        "full_name": name["name"] if name else "",
        "username": name["user"] if name else "",
        "files": {m["stored"]: m["original"] for m in RECEIPT_FILES.finditer(text)},
    }


# -------------------------------------------------------------------------------- D2L

D2L = re.compile(
    r"^(?P<ids>\d+-\d+) - (?P<name>.+?) - (?P<month>[A-Za-z]{3})[a-z]* (?P<day>\d{1,2}), "
    r"(?P<year>\d{4}) (?P<clock>\d{3,4}) (?P<half>[AP]M)(?: - (?P<file>.+))?$"
)
MONTHS = {m: i for i, m in enumerate(
    ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), 1)}


def _d2l_time(match: re.Match) -> datetime | None:
    month = MONTHS.get(match["month"].lower())
    hour, minute = int(match["clock"][:-2]), int(match["clock"][-2:])
    if month is None or not 1 <= hour <= 12 or minute > 59:
        return None
    hour = hour % 12 + (12 if match["half"] == "PM" else 0)
    try:
        return datetime(int(match["year"]), month, int(match["day"]), hour, minute)
    except ValueError:
        return None


def name_slug(full_name: str) -> str:
    """A folder-safe id from a person's name: 'José Núñez' -> 'josé-núñez'."""
    return re.sub(r"[\W_]+", "-", full_name.casefold()).strip("-")


def parse_d2l(name: str, is_folder: bool) -> Claim | None:
    match = D2L.match(name)
    if not match or bool(match["file"]) == is_folder:
        return None
    full = match["name"].strip()
    return Claim("d2l", (), name_slug(full), full_name=full, file_name=match["file"] or "",
                 submitted_at=_d2l_time(match), person=("d2l", name_slug(full)))


# ----------------------------------------------------------------------------- Moodle

MOODLE_FOLDER = re.compile(r"^(?P<name>[^_]+)_(?P<pid>\d+)_assignsubmission_(?P<plugin>[a-z]+)_?$")
MOODLE_FILE = re.compile(
    r"^(?P<name>[^_]+)_(?P<pid>\d+)_assignsubmission_(?P<plugin>[a-z]+)_(?P<file>.+)$"
)


def parse_moodle(name: str, is_folder: bool) -> Claim | None:
    match = (MOODLE_FOLDER if is_folder else MOODLE_FILE).match(name)
    if not match:
        return None
    full = "" if match["name"] == "Participant" else match["name"].strip()
    return Claim("moodle", (match["pid"], f"Participant {match['pid']}"), match["pid"],
                 full_name=full, file_name="" if is_folder else match["file"],
                 person=("moodle", match["pid"]))


# --------------------------------------------------------------------------- nbgrader


def parse_nbgrader_inbound(name: str, assignment: str) -> Claim | None:
    """<student>+<assignment>+<timestamp>[+<random>]: nbgrader's exchange inbound folder."""
    from nbgrader.utils import parse_utc

    for pieces in (name.rsplit("+", 3), name.rsplit("+", 2)):
        if len(pieces) >= 3 and pieces[1] == assignment and pieces[0]:
            try:
                stamp = parse_utc(pieces[2])
            except (ValueError, OverflowError):
                continue
            return Claim("nbgrader exchange", (pieces[0],), pieces[0], submitted_at=stamp,
                         person=("nbgrader", pieces[0]))
    return None


# ------------------------------------------------------------------------------ plain

PLAIN = re.compile(r"^(?P<student>[^_\s]+)_(?P<file>.+)$")


def parse_plain(name: str, known_ids: list[str]) -> Claim | None:
    for student in sorted(known_ids, key=len, reverse=True):
        if name.startswith(f"{student}_") and len(name) > len(student) + 1:
            return Claim("plain", (student,), student, file_name=name[len(student) + 1:],
                         person=("plain", student))
    match = PLAIN.match(name)
    if not match:
        return None
    return Claim("plain", (match["student"],), match["student"], file_name=match["file"],
                 person=("plain", match["student"]))


# ------------------------------------------------------------------------------ paths

# Whole downloads re-zipped or kept inside a folder are containers, not a student's upload:
# Blackboard gradebook_<course>_<assignment>_<YYYY-MM-DD-HH-MM-SS>.zip, Canvas
# <course>-<assignment>_submissions.zip (spaces become '_'), Brightspace
# "<assignment> Download <Mon D, YYYY HMM AM>.zip". (Moodle's <course>-<assignment>-<id>.zip
# cannot be told from a student's file by its name: pass it as SOURCE itself.)
LMS_DOWNLOADS = (
    re.compile(r"^gradebook_.+_\d{4}-\d\d-\d\d-\d\d-\d\d-\d\d\.zip$", re.IGNORECASE),
    re.compile(r"^.+[_ ]submissions\.zip$", re.IGNORECASE),
    re.compile(r"^.+ Download [A-Za-z]{3}[a-z]* \d{1,2}, \d{4} \d{3,4} [AP]M\.zip$"),
)


def claim_path(parts: list[tuple[str, str]], assignment: str,
               known_ids: list[str]) -> tuple[int, Claim] | None:
    """The outermost component of a path whose LMS name says who submitted it.

    parts: [(name, kind)] from the top of the download down to the file, kind being
    "folder", "archive" (a .zip, opened) or "file". Returns (index of that component,
    its Claim). Everything below the claiming component belongs to that student, whatever
    it is called: names inside a student's folder or archive never change its owner.
    """
    names = [nfc(name) for name, _ in parts]
    for index, (name, (_, kind)) in enumerate(zip(names, parts, strict=True)):
        if kind == "folder":
            claim = (parse_nbgrader_inbound(name, assignment) or parse_moodle(name, True)
                     or parse_d2l(name, True))
            below = names[index + 1:]
            if claim is None and len(below) >= 2 and below[0] == assignment:
                claim = Claim("nbgrader submitted", (name,), name, person=("nbgrader", name))
        elif kind == "archive" and any(p.match(name) for p in LMS_DOWNLOADS):
            claim = None
        else:
            claim = (parse_blackboard(name) or parse_d2l(name, False) or parse_canvas(name)
                     or parse_moodle(name, False) or parse_plain(name, known_ids))
        if claim is not None:
            return index, claim
    return None

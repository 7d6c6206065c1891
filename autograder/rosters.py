"""Class rosters, read from the files learning management systems export.

    read_roster(path) -> {student_id: {"first_name": str, "last_name": str, "email": str,
                                       "aliases": [str, ...]}}
    read_lms_roster(path) -> LmsRoster     the same students plus the file's own layout
    write_roster(path, roster)             the simple CSV below (aliases kept)
    default_roster_path(submissions)       where `import` keeps the merged roster

Recognised files (the format is told from the header row):

- **Canvas** gradebook export (Grades → Export): `Student, ID, SIS User ID, SIS Login ID,
  [Integration ID,] Section, <assignment columns>`, with a "Points Possible" row (and on
  newer Canvas a "Manual Posting" row) under the header. The student id is the SIS login,
  else the SIS user id, else Canvas's numeric ID. Aliases: the numeric ID, the SIS ids, and
  the name Canvas puts in submission file names (the sortable name "Núñez, José" lowercased
  without spaces or punctuation: `núñezjosé`).
- **Moodle** grading worksheet (Assignment → Download grading worksheet): `Identifier,
  Full name, [identity fields such as Username, ID number,] Email address, Status, Grade,
  Maximum Grade, ...`. "Participant 12345" is Moodle's per-assignment number, never a
  student id: the id is the Username, else the ID number, else the email address. Aliases:
  the participant number (it is in Moodle's download file names) and the full name.
- **Blackboard** Grade Center download (Work Offline → Download; comma or tab delimited,
  UTF-8 or UTF-16): `Last Name, First Name, Username, Student ID, Last Access,
  Availability, <columns "Name [Total Pts: 10 Score] |1234">`. The id is the Username.
  Aliases: the Student ID.
- **D2L Brightspace** grades export or class list: `OrgDefinedId` (or `Org Defined ID`),
  `Username`, `Last Name`, `First Name`, `Email`, ..., often `End-of-Line Indicator`.
  D2L prefixes ids with "#" so spreadsheets keep them as text; the "#" is dropped. The id is
  the Username, else the OrgDefinedId. Aliases: the OrgDefinedId and "First Last" (D2L's
  download file names carry the full name).
- **Simple CSV**: a header naming the id column (`student_id`, `id`, `username`, `login`,
  ...) and optionally `first_name`, `last_name`, `name`, `email`, `aliases` (separated by
  ";"). Without a recognised header the first column holds the ids.

"aliases" are the other identifiers the LMS uses for the same student, in particular in the
names of downloaded files; the importer matches a file on the student id or any alias.
A malformed roster raises ValueError naming the file and the line.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

IMPORT_DIR = ".import"
SIMPLE_ID_HEADERS = ("student_id", "id", "username", "login", "user", "sis user id", "student")
FIELDS = ("first_name", "last_name", "email")
ALIAS_SEPARATOR = ";"

# Rows Canvas puts between the header and the students; they carry no student.
CANVAS_LABEL_ROWS = ("points possible", "manual posting")
CANVAS_TEST_STUDENT = "student, test"
MOODLE_PARTICIPANT = re.compile(r"^Participant (\d+)$")


@dataclass
class LmsRoster:
    """A roster file as the LMS wrote it.

    format: "canvas", "moodle", "blackboard", "d2l" or "simple"
    header: the column titles, in the file's order
    rows: {student_id: {column title: value}}, each student's whole row
    preamble: rows between the header and the students (Canvas's "Points Possible")
    students: what read_roster returns
    """

    path: Path
    format: str
    header: list[str]
    rows: dict[str, dict[str, str]] = field(default_factory=dict)
    preamble: list[list[str]] = field(default_factory=list)
    students: dict[str, dict] = field(default_factory=dict)


def default_roster_path(submissions: Path) -> Path:
    return Path(submissions) / IMPORT_DIR / "roster.csv"


def read_roster(path: Path) -> dict[str, dict]:
    """{student_id: {first_name, last_name, email, aliases}} from any recognised roster file.

    "aliases" lists the student's other identifiers in that LMS (numeric ids, logins,
    participant numbers, the name used in file names); see the module docstring.
    ValueError naming the file and line for a malformed roster.
    """
    return read_lms_roster(path).students


def read_lms_roster(path: Path) -> LmsRoster:
    path = Path(path)
    rows = _table(path)
    if not rows:
        return LmsRoster(path, "simple", [])
    header = [cell.strip() for cell in rows[0]]
    kind = detect_format(header)
    reader = {"canvas": _canvas, "moodle": _moodle, "blackboard": _blackboard, "d2l": _d2l,
              "simple": _simple}[kind]
    roster = LmsRoster(path, kind, header)
    reader(roster, rows)
    return roster


def detect_format(header: list[str]) -> str:
    """The LMS that writes a roster with this header row."""
    lower = {cell.strip().lower() for cell in header}
    if {"student", "id"} <= lower and lower & {"sis login id", "sis user id"}:
        return "canvas"
    if {"identifier", "full name"} <= lower:
        return "moodle"
    if lower & {"orgdefinedid", "org defined id", "end-of-line indicator"}:
        return "d2l"
    if {"last name", "first name", "username"} <= lower:
        return "blackboard"
    return "simple"


def _table(path: Path) -> list[list[str]]:
    """The rows of a CSV or tab-separated file in UTF-8 or UTF-16; blank rows dropped."""
    try:
        data = path.read_bytes()
    except OSError as error:
        raise ValueError(f"{path}: cannot read the roster ({error.strerror})") from None
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        encoding = "utf-16"  # Blackboard's "Work Offline" download
    else:
        encoding = "utf-8-sig"
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as error:
        raise ValueError(f"{path}: not a UTF-8 or UTF-16 text file ({error.reason} at byte "
                         f"{error.start}); save the roster as CSV UTF-8") from None
    first = text.split("\n", 1)[0]
    delimiter = "\t" if first.count("\t") > first.count(",") else ","
    rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    numbered = []
    for line, row in enumerate(rows, start=1):
        if any(cell.strip() for cell in row):
            numbered.append(_Row(row, line))
    return numbered


class _Row(list):
    """A CSV row that remembers its line number in the file."""

    def __init__(self, cells, line: int):
        super().__init__(cells)
        self.line = line


def _cell(header_index: dict[str, int], row: list[str], *names: str) -> str:
    for name in names:
        index = header_index.get(name.lower())
        if index is not None and index < len(row):
            value = row[index].strip()
            if value:
                return value
    return ""


def _index(header: list[str]) -> dict[str, int]:
    index: dict[str, int] = {}
    for position, title in enumerate(header):
        index.setdefault(title.strip().lower(), position)
    return index


def _add(roster: LmsRoster, student: str, fields: dict, aliases, row: list[str], line: int):
    if student in roster.students:
        raise ValueError(f"{roster.path}: line {line} repeats student id {student!r}")
    aliases = [a for a in dict.fromkeys(aliases) if a and a != student]
    roster.students[student] = {**{k: fields.get(k, "") for k in FIELDS}, "aliases": aliases}
    roster.rows[student] = {title: (row[i] if i < len(row) else "")
                            for i, title in enumerate(roster.header)}


def canvas_file_name(sortable_name: str) -> str:
    """The student part of a Canvas submission file name: "Núñez, José" -> "núñezjosé"."""
    return re.sub(r"[\W_]", "", unicodedata.normalize("NFC", sortable_name).lower())


def _canvas(roster: LmsRoster, rows: list[_Row]) -> None:
    index = _index(roster.header)
    for row in rows[1:]:
        name = _cell(index, row, "student")
        canvas_id = _cell(index, row, "id")
        if not canvas_id:
            if name.lower() in CANVAS_LABEL_ROWS:
                roster.preamble.append(list(row))
                continue
            raise ValueError(f"{roster.path}: line {row.line} has no Canvas ID "
                             f"(student {name!r})")
        if name.lower() == CANVAS_TEST_STUDENT:
            continue  # Canvas's built-in test student
        login = _cell(index, row, "sis login id")
        sis_user = _cell(index, row, "sis user id")
        student = login or sis_user or canvas_id
        last, _, first = name.partition(",")
        fields = {"first_name": first.strip(), "last_name": last.strip()}
        aliases = [canvas_id, sis_user, login, canvas_file_name(name)]
        _add(roster, student, fields, aliases, row, row.line)


def _moodle(roster: LmsRoster, rows: list[_Row]) -> None:
    index = _index(roster.header)
    identity = [h for h in ("username", "id number", "email address") if h in index]
    if not identity:
        raise ValueError(f"{roster.path}: line 1: this Moodle grading worksheet has no "
                         "Username, ID number or Email address column to identify students "
                         "(\"Identifier\" is only Moodle's participant number); add one in "
                         "Site administration → Users → Show user identity")
    for row in rows[1:]:
        identifier = _cell(index, row, "identifier")
        participant = MOODLE_PARTICIPANT.match(identifier)
        if not participant:
            raise ValueError(f"{roster.path}: line {row.line}: Identifier {identifier!r} is "
                             "not Moodle's \"Participant <number>\"")
        student = _cell(index, row, *identity)
        if not student:
            raise ValueError(f"{roster.path}: line {row.line} ({identifier}) has no "
                             f"{' or '.join(identity)}")
        full_name = _cell(index, row, "full name")
        first, _, last = full_name.partition(" ")
        fields = {"first_name": first, "last_name": last,
                  "email": _cell(index, row, "email address")}
        aliases = [participant.group(1), full_name, _cell(index, row, "id number")]
        _add(roster, student, fields, aliases, row, row.line)


def _blackboard(roster: LmsRoster, rows: list[_Row]) -> None:
    index = _index(roster.header)
    for row in rows[1:]:
        student = _cell(index, row, "username")
        if not student:
            raise ValueError(f"{roster.path}: line {row.line} has no Username")
        fields = {"first_name": _cell(index, row, "first name"),
                  "last_name": _cell(index, row, "last name"),
                  "email": _cell(index, row, "email")}
        _add(roster, student, fields, [_cell(index, row, "student id")], row, row.line)


def _d2l_id(value: str) -> str:
    return value[1:] if value.startswith("#") else value


def _d2l(roster: LmsRoster, rows: list[_Row]) -> None:
    index = _index(roster.header)
    for row in rows[1:]:
        username = _d2l_id(_cell(index, row, "username"))
        org_id = _d2l_id(_cell(index, row, "orgdefinedid", "org defined id"))
        student = username or org_id
        if not student:
            raise ValueError(f"{roster.path}: line {row.line} has no Username or OrgDefinedId")
        first = _cell(index, row, "first name")
        last = _cell(index, row, "last name")
        fields = {"first_name": first, "last_name": last, "email": _cell(index, row, "email")}
        _add(roster, student, fields, [org_id, f"{first} {last}".strip()], row, row.line)


def _simple(roster: LmsRoster, rows: list[_Row]) -> None:
    index = _index(roster.header)
    id_header = next((h for h in SIMPLE_ID_HEADERS if h in index), None)
    if id_header is None:
        # No recognised header: the first column holds the ids, every row is a student.
        roster.header = ["student_id"]
        for row in rows:
            if row[0].strip():
                _add(roster, row[0].strip(), {}, [], [row[0].strip()], row.line)
        return
    for row in rows[1:]:
        student = _cell(index, row, id_header)
        if not student:
            raise ValueError(f"{roster.path}: line {row.line} has no student id")
        fields = {key: _cell(index, row, key) for key in FIELDS}
        name = _cell(index, row, "name")
        if name and not fields["first_name"]:
            first, _, last = name.partition(" ")
            fields.update(first_name=first, last_name=last)
        aliases = [a.strip() for a in _cell(index, row, "aliases").split(ALIAS_SEPARATOR)]
        _add(roster, student, fields, aliases, row, row.line)


def write_roster(path: Path, roster: dict[str, dict]) -> None:
    """Write `roster` as the simple CSV (student_id, first_name, last_name, email, aliases)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["student_id", *FIELDS, "aliases"])
        for student in sorted(roster):
            fields = roster[student]
            aliases = ALIAS_SEPARATOR.join(fields.get("aliases") or [])
            writer.writerow([student, *(fields.get(k, "") for k in FIELDS), aliases])

"""Student ids that are safe folder names, and matching LMS names against a roster.

A student id becomes a folder name twice (SUBMISSIONS/<id>/ when importing, OUT/feedback/<id>/
and OUT/autograded/<id>/ when grading), so an id is accepted only when it is one harmless
path component on Linux, macOS and Windows alike:

    safe_id_problem(text) -> str | None     why `text` is not a safe id (None: it is safe)

Rules: 1 to 128 characters (nbgrader's Student.id column), Unicode letters welcome
(`núñezjosé`, `王伟`); no '/', '\\', ':', control or format characters, none of Windows'
forbidden `<>"|?*`; not starting with '.' (hidden, `.`/`..`, macOS `._` files) or '_'
(the grading tools skip such folders), no surrounding spaces; not a Windows device name
(CON, NUL, COM1, ...).

Matching is forgiving where people are: names compare without accents, case or
punctuation (`name_key("José Núñez") == name_key("jose nunez") == "josenunez"`), ids compare
after Unicode NFC normalisation and case folding (zip tools store `é` either composed or
decomposed).

    RosterIndex(roster).match(ids, full_name) -> (student_id | None, note)
"""

from __future__ import annotations

import re
import unicodedata

MAX_ID_LENGTH = 128
_FORBIDDEN = set('/\\:<>"|?*')
_WINDOWS_DEVICES = re.compile(r"^(con|prn|aux|nul|com\d|lpt\d)(\..*)?$", re.IGNORECASE)


def nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def safe_id_problem(text: str) -> str | None:
    """None when `text` can be used as a student id (a folder name), else the reason."""
    if not text:
        return "it is empty"
    if len(text) > MAX_ID_LENGTH:
        return f"it is longer than {MAX_ID_LENGTH} characters"
    if text != text.strip():
        return "it begins or ends with a space"
    if text.startswith("."):
        return "it begins with '.' (a hidden or parent folder name)"
    if text.startswith("_"):
        return "it begins with '_'"
    bad = sorted({c for c in text if c in _FORBIDDEN or unicodedata.category(c)[0] == "C"})
    if bad:
        return "it contains " + ", ".join(repr(c) for c in bad)
    if _WINDOWS_DEVICES.match(text):
        return "it is a reserved device name on Windows"
    return None


def id_key(text: str) -> str:
    """How ids compare: NFC, case-folded, surrounding space removed."""
    return nfc(text).strip().casefold()


def name_key(text: str) -> str:
    """How people's names compare: no accents, no case, letters and digits only."""
    decomposed = unicodedata.normalize("NFKD", text)
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    return "".join(c for c in bare.casefold() if c.isalnum())


def roster_name_keys(fields: dict) -> set[str]:
    """The keys a roster entry's name is known by: 'first last' and 'last first'."""
    first, last = fields.get("first_name") or "", fields.get("last_name") or ""
    keys = {name_key(first + last), name_key(last + first)}
    keys.discard("")
    return keys


class RosterIndex:
    """Which roster student an LMS name refers to; built once per import.

        RosterIndex(roster).match(ids, full_name) -> (student_id | None, note)

    `ids` are the identifiers the LMS put in the name, most specific first (a numeric user
    id, a login, a sortable name like 'doejane'); each is compared with every roster id and
    its "aliases". Failing that, `full_name` (and each id, as a name: Canvas writes the
    sortable name 'núñezjosé') is compared with roster names, ignoring accents. A name
    shared by several roster students matches none of them (the note says so).
    """

    def __init__(self, roster: dict[str, dict]):
        self.by_id: dict[str, str] = {}
        self.by_name: dict[str, set[str]] = {}
        for student, fields in roster.items():
            for alias in [*(fields.get("aliases") or []), student]:  # the id itself wins
                self.by_id[id_key(str(alias))] = student
            for key in roster_name_keys(fields):
                self.by_name.setdefault(key, set()).add(student)

    def match(self, ids: list[str], full_name: str) -> tuple[str | None, str]:
        for identifier in ids:
            if identifier and id_key(identifier) in self.by_id:
                return self.by_id[id_key(identifier)], ""
        for name in [full_name, *ids]:
            hits = sorted(self.by_name.get(name_key(name or ""), ()))
            if len(hits) == 1:
                return hits[0], ""
            if len(hits) > 1:
                return None, (f"the name {name!r} matches several roster students "
                              f"({', '.join(hits)})")
        return None, ""

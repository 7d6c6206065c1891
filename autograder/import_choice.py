"""Which of a student's notebook files is graded for each notebook of the assignment.

    choose(candidates, notebooks) -> {notebook: candidate}

A candidate has .file_name (the student's own name for the file, LMS decorations removed),
.claim (lms_names.Claim: submission time, upload counter) and .original (its place in the
download). Ranked by, in this order:
  1. name_rank: the notebook's own name (with an LMS resubmission suffix "-1" or " (1)"
     removed) beats a name containing it, which beats any other name; other names are used
     only for a one-notebook assignment (so a stray scratch.ipynb never replaces
     gradient-descent.ipynb, and fills the slot only when it is the student's only notebook);
  2. upload_order: the newest upload by submission time, then the LMS's upload counter
     (Canvas attachment id), then the resubmission number, then the later place in the
     download (of two members with the same name in one zip, the one added last).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from .identity import name_key

if TYPE_CHECKING:
    from .import_record import Found

RESUBMISSION = ("-", " (")  # Canvas "name-1.ipynb", browsers "name (1).ipynb"


def split_resubmission(stem: str) -> tuple[str, int]:
    """('gradient-descent', 2) for 'gradient-descent-2' or 'gradient-descent (2)'."""
    for opener in RESUBMISSION:
        head, sep, tail = stem.rpartition(opener)
        digits = tail[:-1] if opener == " (" and tail.endswith(")") else tail
        if sep and head and digits.isdigit() and (opener == " (") == tail.endswith(")"):
            return head, int(digits)
    return stem, 0


def name_rank(file_name: str, notebook: str) -> int:
    """2: the notebook's own name, 1: a name containing it, 0: anything else."""
    stem = Path(file_name).stem
    if stem.casefold() == notebook.casefold() or \
            split_resubmission(stem)[0].casefold() == notebook.casefold():
        return 2
    return 1 if name_key(notebook) and name_key(notebook) in name_key(stem) else 0


def upload_order(item: Found) -> tuple:
    claim = item.claim
    stem = Path(item.file_name).stem
    return (claim.submitted_at or datetime.min, claim.sequence, split_resubmission(stem)[1],
            item.position)


def choose(candidates: list[Found], notebooks: list[str]) -> dict[str, Found]:
    """{notebook: the student's file for it} from one student's notebook files."""
    chosen: dict[str, Found] = {}
    for notebook in notebooks:
        ranked = [(name_rank(item.file_name, notebook), item) for item in candidates
                  if item not in chosen.values()]
        usable = [(rank, item) for rank, item in ranked if rank == 2 or len(notebooks) == 1]
        if usable:
            _, best = max(usable, key=lambda pair: (pair[0], upload_order(pair[1])))
            chosen[notebook] = best
    return chosen

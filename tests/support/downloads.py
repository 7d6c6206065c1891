"""Building LMS downloads for the import tests: notebooks told apart by a marker, zips, rosters.

Contract:
  marked_notebook(marker) -> bytes: a valid course notebook whose bytes differ per marker.
  zip_bytes({member name: bytes}) -> the bytes of a zip holding those members.
  write_source_root(tmp_path, assignment, notebook) -> solutions/ root with one source
      notebook at <assignment>/<notebook>.ipynb (what import reads the expected names from).
  write_roster(path, text) -> path, the roster text written as UTF-8.
"""

from __future__ import annotations

import functools
import io
import zipfile
from pathlib import Path

import nbformat

from tests.course_fixture import source_notebook


@functools.cache
def marked_notebook(marker: str) -> bytes:
    """A valid notebook whose bytes differ per `marker`, so files can be told apart."""
    nb = source_notebook()
    nb.cells[0].source += f"\n\n{marker}"
    return nbformat.writes(nb).encode("utf-8")


def zip_bytes(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def write_source_root(tmp_path: Path, assignment: str, notebook: str) -> Path:
    root = tmp_path / "solutions"
    (root / assignment).mkdir(parents=True)
    nbformat.write(source_notebook(), root / assignment / f"{notebook}.ipynb")
    return root


def write_roster(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path

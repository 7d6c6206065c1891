"""Every file of a download (a folder or a .zip, archives inside opened), read defensively.

    entries = list_download(source, scratch, ArchiveLimits())

returns one Entry per file found: plain files, each archive itself, and every member of
every archive, nested ones included, duplicates included (a zip may hold two members of the
same name; both are listed). A member's bytes are written to `scratch` under a counter,
never under its own name, so no name ("../x", "/etc/passwd", "C:\\x") can write anywhere.

Nothing here raises for one bad file; the Entry carries the reason instead (`problem`),
and the caller sets the file aside:
  - symbolic links (in a folder or stored in a zip) are listed, never followed;
  - sockets, pipes and devices in a folder are listed, never read;
  - encrypted members, CRC errors, truncated or damaged zips, unsupported compression;
  - zip bombs: a member above `max_member_bytes`, or above `ratio_floor` bytes with a
    compression ratio above `max_ratio`, or one that would take the whole download past
    `max_total_bytes`, is refused from its header before a byte is inflated (zipfile
    stops at the declared size, so a lying header ends in a CRC error, also refused);
  - archives nested deeper than `max_depth` are kept unopened.
Only the download itself being unreadable (not a folder, not a zip) raises ValueError.
"""

from __future__ import annotations

import hashlib
import os
import stat
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

from .identity import nfc

JUNK_NAMES = {".DS_Store", "Thumbs.db", "desktop.ini"}
JUNK_FOLDERS = {"__MACOSX", ".ipynb_checkpoints"}
CHUNK = 1 << 20
MAX_FOLDER_DEPTH = 64  # no LMS nests deeper; recursion must stop long before Python's limit


@dataclass(frozen=True)
class ArchiveLimits:
    max_total_bytes: int = 4 << 30  # everything inflated from archives in one import
    max_member_bytes: int = 512 << 20
    max_ratio: float = 200.0  # inflated / compressed
    ratio_floor: int = 1 << 20  # small members may compress as well as they like
    max_depth: int = 8  # archives inside archives inside the download
    max_members: int = 100_000


@dataclass
class Entry:
    """One file of the download; `parts` are (name, kind) from the top down."""

    parts: list[tuple[str, str]]  # kind: "folder", "archive" or "file"
    path: Path | None  # where its bytes are now (None: not read, see problem)
    size: int
    sha256: str
    problem: str = ""  # why it could not be read or opened; the caller sets it aside
    incomplete: bool = False  # an archive some of whose members could not be extracted

    @property
    def display(self) -> str:
        """'a/b.zip!/c/d.ipynb': folders joined by '/', archive boundaries shown as '!/'."""
        text = ""
        for index, (name, kind) in enumerate(self.parts):
            text += name
            if index < len(self.parts) - 1:
                text += "!/" if kind == "archive" else "/"
        return text

    @property
    def name(self) -> str:
        return self.parts[-1][0]


def is_junk(parts: list[tuple[str, str]]) -> bool:
    """macOS resource forks and folders, Windows and Jupyter leftovers."""
    names = [name for name, _ in parts]
    return (any(n in JUNK_FOLDERS for n in names[:-1]) or names[-1] in JUNK_NAMES
            or names[-1].startswith("._"))


def _hash_file(path: Path) -> tuple[str, int]:
    digest, size = hashlib.sha256(), 0
    with open(path, "rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


class _Reader:
    """One walk over a download; holds the byte budget and the scratch counter."""

    def __init__(self, scratch: Path, limits: ArchiveLimits):
        self.scratch = scratch
        self.limits = limits
        self.inflated = 0
        self.count = 0
        scratch.mkdir(parents=True, exist_ok=True)

    def blob(self) -> Path:
        self.count += 1
        return self.scratch / f"{self.count:07d}"

    # ------------------------------------------------------------------ folders

    def folder(self, root: Path, parts: list) -> list[Entry]:
        found: list[Entry] = []
        if len(parts) > MAX_FOLDER_DEPTH:
            return [Entry(parts, None, 0, "", f"folders nested more than {MAX_FOLDER_DEPTH} "
                                              "deep; not read")]
        try:
            children = sorted(os.scandir(root), key=lambda e: e.name)
        except OSError as error:
            return [Entry(parts, None, 0, "", f"folder cannot be read: {error.strerror}")]
        for child in children:
            here = parts + [(nfc(child.name), "file")]
            if child.is_symlink():
                target = os.readlink(child.path)
                found.append(Entry(here, None, 0, "", f"a symbolic link (to {target}), "
                                                      "not followed"))
            elif child.is_dir(follow_symlinks=False):
                found.extend(self.folder(Path(child.path), parts + [(nfc(child.name), "folder")]))
            elif not child.is_file(follow_symlinks=False):
                mode = stat.filemode(child.stat(follow_symlinks=False).st_mode)
                found.append(Entry(here, None, 0, "", f"not a regular file ({mode})"))
            else:
                found.extend(self.file(Path(child.path), here, depth=0))
        return found

    def file(self, path: Path, parts: list, depth: int) -> list[Entry]:
        """A file on disk; opened when it is named .zip (and is not junk)."""
        digest, size = _hash_file(path)
        entry = Entry(parts, path, size, digest)
        if not path.name.lower().endswith(".zip") or is_junk(parts):
            return [entry]
        if depth >= self.limits.max_depth:
            entry.problem = (f"an archive nested more than {self.limits.max_depth} levels "
                             "deep; not opened")
            return [entry]
        entry.parts = parts[:-1] + [(parts[-1][0], "archive")]
        return [entry, *self.archive(entry, depth + 1)]

    # ----------------------------------------------------------------- archives

    def archive(self, entry: Entry, depth: int) -> list[Entry]:
        """Every member of the zip `entry` (nested archives opened up to max_depth)."""
        limits = self.limits
        try:
            handle = zipfile.ZipFile(entry.path)
        except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError) as error:
            entry.problem = f"not a readable zip (damaged or truncated: {error})"
            return []
        found: list[Entry] = []
        with handle:
            members = [i for i in handle.infolist() if not i.is_dir()]
            if len(members) > limits.max_members:
                entry.problem = f"{len(members)} files, more than {limits.max_members}"
                return []
            for info in members:
                parts = entry.parts + [(n, "folder") for n in _member_parts(info)[:-1]]
                parts.append((_member_parts(info)[-1], "file"))
                member = self.member(handle, info, parts)
                found.append(member)
                if member.problem:
                    entry.incomplete = True
                    continue
                if _looks_like_zip(member) and not is_junk(parts):
                    if depth >= limits.max_depth:
                        member.problem = (f"an archive nested more than {limits.max_depth} "
                                          "levels deep; not opened")
                        continue
                    member.parts[-1] = (member.parts[-1][0], "archive")
                    inner = self.archive(member, depth + 1)
                    found.extend(inner)
        return found

    def member(self, handle: zipfile.ZipFile, info: zipfile.ZipInfo, parts: list) -> Entry:
        limits = self.limits
        entry = Entry(parts, None, info.file_size, "")
        mode = info.external_attr >> 16
        if stat.S_ISLNK(mode):
            entry.problem = "a symbolic link stored in the zip, not followed"
            return entry
        if info.flag_bits & 0x1:
            entry.problem = "encrypted (password-protected), cannot be read"
            return entry
        ratio = info.file_size / max(info.compress_size, 1)
        if info.file_size > limits.ratio_floor and ratio > limits.max_ratio:
            entry.problem = (f"refused as a zip bomb: {info.compress_size:,} bytes would inflate "
                             f"to {info.file_size:,} (ratio {ratio:,.0f}:1, limit "
                             f"{limits.max_ratio:,.0f}:1)")
            return entry
        if info.file_size > limits.max_member_bytes:
            entry.problem = (f"refused: it would inflate to {info.file_size:,} bytes "
                             f"(limit {limits.max_member_bytes:,})")
            return entry
        if self.inflated + info.file_size > limits.max_total_bytes:
            entry.problem = (f"refused: the download would inflate to more than "
                             f"{limits.max_total_bytes:,} bytes in all")
            return entry
        target = self.blob()
        digest, size = hashlib.sha256(), 0
        try:
            with handle.open(info) as source, open(target, "wb") as sink:
                while chunk := source.read(CHUNK):
                    size += len(chunk)
                    if size > info.file_size:  # never trust the header alone
                        raise zipfile.BadZipFile("more bytes than its header declares")
                    digest.update(chunk)
                    sink.write(chunk)
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError, RuntimeError,
                NotImplementedError, ValueError) as error:
            target.unlink(missing_ok=True)
            entry.problem = f"damaged in the zip, cannot be read ({error})"
            return entry
        finally:
            self.inflated += size
        entry.path, entry.size, entry.sha256 = target, size, digest.hexdigest()
        return entry


def _member_parts(info: zipfile.ZipInfo) -> list[str]:
    """A member's name as path components, decoded as its creator meant it."""
    name = info.filename
    if not info.flag_bits & 0x800:
        # No UTF-8 flag: zipfile decoded cp437, but most tools (macOS, 7-Zip) wrote UTF-8.
        try:
            name = name.encode("cp437").decode("utf-8")
        except (UnicodeEncodeError, UnicodeDecodeError):
            pass
    pieces = [nfc(p) for p in name.replace("\\", "/").split("/") if p not in ("", ".")]
    return pieces or ["(unnamed)"]


def _looks_like_zip(entry: Entry) -> bool:
    # By name only: .docx, .xlsx and wheels are zips too, but they are files to keep whole.
    return entry.path is not None and entry.name.lower().endswith(".zip")


def list_download(source: Path, scratch: Path, limits: ArchiveLimits | None = None
                  ) -> list[Entry]:
    """Every file of SOURCE (a folder or a .zip), see the module docstring."""
    source = Path(source)
    reader = _Reader(Path(scratch), limits or ArchiveLimits())
    if source.is_dir():
        return reader.folder(source, [])
    if not source.is_file():
        raise ValueError(f"{source}: no such folder or .zip file")
    if not zipfile.is_zipfile(source):
        raise ValueError(f"{source}: not a folder or a readable .zip file")
    digest, size = _hash_file(source)
    top = Entry([], source, size, digest)
    found = reader.archive(top, depth=1)
    if top.problem:
        raise ValueError(f"{source}: {top.problem}")
    return found

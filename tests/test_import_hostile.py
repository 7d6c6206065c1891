"""Hostile downloads: every bad file is set aside with its reason, nothing escapes, the
rest of the class is imported and `import` exits 0 with its report written."""

from __future__ import annotations

import io
import os
import struct
import time
import zipfile
import zlib
from pathlib import Path

import pytest

from autograder.archives import ArchiveLimits
from autograder.cli import main
from autograder.importer import import_submissions
from tests.test_import_lms import (
    ASSIGNMENT,
    NOTEBOOK,
    download,
    notebook,
    placed,
    rows,
    run_import,
    students,
    zip_bytes,
)
from tests.test_import_lms import source_root as source_root  # noqa: F401 (fixture)


def files_under(folder: Path) -> set[Path]:
    return {p for p in folder.rglob("*")}


def note_of(report: dict, original: str) -> str:
    row = rows(report)[original]
    assert row["action"] == "set aside", row
    return row["note"]


# ------------------------------------------------------------------ names


def test_traversal_and_system_names_are_set_aside_and_nothing_escapes(tmp_path, source_root):
    outside_before = files_under(tmp_path)
    source = download(tmp_path, {
        f".._{NOTEBOOK}.ipynb": notebook("dotdot"),
        f"../../escape_{NOTEBOOK}.ipynb": notebook("escape"),
        f"/abs/{NOTEBOOK}.ipynb": notebook("absolute"),
        f"__MACOSX/._amy_{NOTEBOOK}.ipynb": b"\x00\x05\x16\x07 resource fork",
        f"._amy_{NOTEBOOK}.ipynb": b"\x00\x05\x16\x07 resource fork",
        f"CON_{NOTEBOOK}.ipynb": notebook("windows device"),
        f"amy_{NOTEBOOK}.ipynb": notebook("amy"),
    })
    submissions = tmp_path / "work" / "submitted"
    report, said = run_import(source_root, source, submissions)

    assert placed(submissions, "amy") == notebook("amy")
    assert "not a safe folder name" in note_of(report, f".._{NOTEBOOK}.ipynb")
    assert "not a safe folder name" in note_of(report, f"CON_{NOTEBOOK}.ipynb")
    assert "system file" in note_of(report, f"__MACOSX/._amy_{NOTEBOOK}.ipynb")
    assert "system file" in note_of(report, f"._amy_{NOTEBOOK}.ipynb")
    assert not {".", "..", "__MACOSX", "CON"} & students(submissions)
    # Names are labels, never paths: everything written is under SUBMISSIONS.
    new = files_under(tmp_path) - outside_before
    assert all(p == submissions.parent or submissions.parent in p.parents for p in new
               if p != source), sorted(new)
    assert f".._{NOTEBOOK}.ipynb" in said and "not a safe folder name" in said


def test_import_refuses_a_roster_id_that_is_not_a_safe_folder_name(tmp_path, source_root,
                                                                   capsys):
    roster = tmp_path / "roster.csv"
    roster.write_text("id\namy\n../../outside\n")
    source = download(tmp_path, {f"amy_{NOTEBOOK}.ipynb": notebook("amy")})
    status = main(["import", ASSIGNMENT, str(source), "--roster", str(roster),
                   "--submissions", str(tmp_path / "submitted"), "--source-root", str(source_root)])
    assert status == 2
    error = capsys.readouterr().err
    assert "roster.csv" in error and "'../../outside'" in error


def test_grading_refuses_roster_ids_that_are_not_safe_folder_names(tmp_path, source_root,
                                                                   capsys):
    submissions = tmp_path / "submitted"
    (submissions / "amy" / ASSIGNMENT).mkdir(parents=True)
    (submissions / "amy" / ASSIGNMENT / f"{NOTEBOOK}.ipynb").write_bytes(notebook("amy"))
    roster = tmp_path / "roster.csv"
    roster.write_text("id\namy\n../../outside\n")
    out = tmp_path / "out"
    status = main(["grade", ASSIGNMENT, "--submissions", str(submissions), "--out", str(out),
                   "--roster", str(roster), "--source-root", str(source_root)])
    assert status == 2
    assert "'../../outside'" in capsys.readouterr().err
    assert not (tmp_path / "outside").exists() and not out.exists()


# --------------------------------------------------------------- bad archives


def encrypted(data: bytes) -> bytes:
    """The zip `data` with every member flagged as encrypted (what `zip -e` sets)."""
    raw = bytearray(data)
    for signature, offset in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        start = raw.find(signature)
        while start != -1:
            raw[start + offset] |= 0x1
            start = raw.find(signature, start + 4)
    return bytes(raw)


def crc_broken(data: bytes, needle: bytes) -> bytes:
    """A stored zip whose member bytes no longer match their CRC."""
    index = data.find(needle)
    return data[:index] + bytes([data[index] ^ 0xFF]) + data[index + 1:]


def nested(levels: int) -> bytes:
    data = notebook("at the bottom")
    name = f"{NOTEBOOK}.ipynb"
    for level in range(levels):
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
            archive.writestr(name, data)
        data, name = buffer.getvalue(), f"level{level}.zip"
    return data


def test_one_bad_archive_never_stops_the_class(tmp_path, source_root, capsys):
    stored = io.BytesIO()
    with zipfile.ZipFile(stored, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr(f"{NOTEBOOK}.ipynb", b'{"cells": [], "marker": "crc victim"}')
    whole = zip_bytes({f"{NOTEBOOK}.ipynb": notebook("truncated")})
    files = {
        "amyadams_1_10_upload.zip": encrypted(zip_bytes({f"{NOTEBOOK}.ipynb": notebook("x")})),
        "benbo_2_20_upload.zip": crc_broken(stored.getvalue(), b"crc victim"),
        "cyd_3_30_upload.zip": whole[: len(whole) // 2],
        "dee_4_40_upload.zip": nested(1100),
        f"eve_5_50_{NOTEBOOK}.ipynb": b'{"cells": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
        f"fay_6_60_{NOTEBOOK}.ipynb": notebook("fay"),
    }
    source = download(tmp_path, files)
    submissions = tmp_path / "submitted"
    args = ["import", ASSIGNMENT, str(source), "--submissions", str(submissions),
            "--source-root", str(source_root)]
    assert main(args) == 0
    said = capsys.readouterr().out
    report_path = submissions / ".import" / ASSIGNMENT / "report.json"
    import json

    report = json.loads(report_path.read_text())
    assert placed(submissions, "fay") == notebook("fay")
    assert "encrypted" in note_of(report, f"amyadams_1_10_upload.zip!/{NOTEBOOK}.ipynb")
    assert "CRC" in note_of(report, f"benbo_2_20_upload.zip!/{NOTEBOOK}.ipynb")
    assert "not a readable zip" in note_of(report, "cyd_3_30_upload.zip")
    deep = [r for r in report["files"] if r["original"].startswith("dee_4_40")]
    assert any("nested more than" in r["note"] for r in deep)
    # The deeply nested JSON is placed (it is eve's file) and marked unreadable.
    eve = rows(report)[f"eve_5_50_{NOTEBOOK}.ipynb"]
    assert eve["action"] == "imported" and "nested too deeply" in eve["note"]
    # Archives that could not be read completely are kept whole, byte for byte.
    kept = {p.read_bytes() for p in (submissions / ".import").rglob("*") if p.is_file()}
    for name in ("amyadams_1_10_upload.zip", "benbo_2_20_upload.zip", "cyd_3_30_upload.zip"):
        assert files[name] in kept, name
    for name in ("encrypted", "CRC", "not a readable zip", "nested more than"):
        assert name in said


def bomb(path: Path, gigabytes: float) -> Path:
    """A valid zip of one member of zeros: ~1 KB of deflate per MiB inflated.

    Built from one compressed block repeated (each ends in a full flush, so blocks are
    independent), which takes a second instead of deflating a gigabyte.
    """
    megabytes = int(gigabytes * 1024)
    chunk = bytes(1 << 20)
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = compressor.compress(chunk) + compressor.flush(zlib.Z_FULL_FLUSH)
    data = block * megabytes + compressor.flush()
    crc = 0
    for _ in range(megabytes):
        crc = zlib.crc32(chunk, crc)
    size = megabytes << 20
    name = f"{NOTEBOOK}.ipynb".encode()
    local = struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, 8, 0, 0, crc, len(data), size,
                        len(name), 0) + name
    central = struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, 8, 0, 0, crc,
                          len(data), size, len(name), 0, 0, 0, 0, 0, 0) + name
    end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, 1, 1, len(central),
                      len(local) + len(data), 0)
    path.write_bytes(local + data + central + end)
    return path


def test_a_zip_bomb_is_refused_from_its_header_quickly(tmp_path, source_root):
    inner = bomb(tmp_path / "bomb.zip", 1.1)
    assert inner.stat().st_size < 1_300_000
    with zipfile.ZipFile(inner) as check:  # a real bomb: its header says 1.1 GB
        assert check.infolist()[0].file_size > 1_100_000_000
    source = download(tmp_path, {"mallorymae_9_90_upload.zip": inner.read_bytes(),
                                 f"fay_6_60_{NOTEBOOK}.ipynb": notebook("fay")})
    inner.unlink()
    submissions = tmp_path / "submitted"
    started = time.perf_counter()
    report, _ = run_import(source_root, source, submissions)
    elapsed = time.perf_counter() - started
    assert placed(submissions, "fay") == notebook("fay")
    assert "zip bomb" in note_of(report, f"mallorymae_9_90_upload.zip!/{NOTEBOOK}.ipynb")
    # Inflating it would take over ten seconds here and write 1.1 GB; refusing takes neither.
    assert elapsed < 8.0, elapsed
    biggest = max(p.stat().st_size for p in tmp_path.rglob("*") if p.is_file())
    assert biggest < 2_000_000


def test_the_total_inflated_size_of_a_download_is_capped(tmp_path, source_root):
    random = os.urandom(600_000)  # incompressible: no ratio alarm, only the total
    source = download(tmp_path, {
        "amyadams_1_10_upload.zip": zip_bytes({"data.bin": random}),
        "benbo_2_20_upload.zip": zip_bytes({"data.bin": random[::-1]}),
    })
    report = import_submissions(
        ASSIGNMENT, source, tmp_path / "submitted", source_root=source_root,
        stream=io.StringIO(), limits=ArchiveLimits(max_total_bytes=1_000_000),
    )
    notes = [r["note"] for r in report["files"] if r["original"].endswith("data.bin")]
    assert sum("more than 1,000,000 bytes in all" in n for n in notes) == 1


def test_a_member_whose_header_understates_its_size_is_refused(tmp_path, source_root):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(f"{NOTEBOOK}.ipynb", bytes(5_000_000))
    raw = bytearray(buffer.getvalue())
    for signature, offset in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        start = raw.find(signature) + offset
        raw[start:start + 4] = struct.pack("<I", 1000)  # "1000 bytes", in truth 5 MB
    source = download(tmp_path, {"mallorymae_9_90_upload.zip": bytes(raw)})
    report, _ = run_import(source_root, source, tmp_path / "submitted")
    note = note_of(report, f"mallorymae_9_90_upload.zip!/{NOTEBOOK}.ipynb")
    assert "damaged" in note
    assert max(p.stat().st_size for p in (tmp_path / "submitted").rglob("*") if p.is_file()) \
        < 100_000


# ---------------------------------------------------------------- links


def test_symlinks_are_listed_never_followed(tmp_path, source_root):
    secret = tmp_path / "solutions-copy.ipynb"
    secret.write_bytes(notebook("the instructor's solution"))
    secret_folder = tmp_path / "private"
    secret_folder.mkdir()
    (secret_folder / f"bob_{NOTEBOOK}.ipynb").write_bytes(notebook("private"))
    folder = tmp_path / "download"
    folder.mkdir()
    (folder / f"amy_{NOTEBOOK}.ipynb").symlink_to(secret)
    (folder / "linked-folder").symlink_to(secret_folder, target_is_directory=True)
    (folder / f"cyd_{NOTEBOOK}.ipynb").write_bytes(notebook("cyd"))
    os.mkfifo(folder / f"dee_{NOTEBOOK}.ipynb")  # reading it would block forever

    link = zipfile.ZipInfo(f"eve_{NOTEBOOK}.ipynb")
    link.external_attr = (0o120777 << 16)
    with zipfile.ZipFile(folder / "eve_5_50_upload.zip", "w") as archive:
        archive.writestr(link, str(secret))

    submissions = tmp_path / "submitted"
    report, _ = run_import(source_root, folder, submissions)
    assert students(submissions) == {"cyd"}
    assert "symbolic link" in note_of(report, f"amy_{NOTEBOOK}.ipynb")
    assert "symbolic link" in note_of(report, "linked-folder")
    assert "not a regular file" in note_of(report, f"dee_{NOTEBOOK}.ipynb")
    assert "symbolic link" in note_of(report, f"eve_5_50_upload.zip!/eve_{NOTEBOOK}.ipynb")
    stored = {p.read_bytes() for p in submissions.rglob("*") if p.is_file() and not p.is_symlink()}
    assert notebook("the instructor's solution") not in stored
    assert notebook("private") not in stored
    assert not any(p.is_symlink() for p in submissions.rglob("*"))


@pytest.mark.parametrize("name", ["..", ".", ".hidden", "_x", "a/b", "a\\b", "x:y", "a\x00b",
                                  " padded", "NUL", "com1.txt", "x" * 129])
def test_unsafe_student_ids(name):
    from autograder.identity import safe_id_problem

    assert safe_id_problem(name)


@pytest.mark.parametrize("name", ["amy", "núñezjosé", "王伟", "j_smith", "jane.doe@uni.edu",
                                  "12380", "josé-núñez", "anon_Xk3p9"])
def test_safe_student_ids(name):
    from autograder.identity import safe_id_problem

    assert safe_id_problem(name) is None


def test_absurdly_deep_folders_are_set_aside(tmp_path, source_root):
    folder = tmp_path / "download"
    deep = folder.joinpath(*["d"] * 80)
    deep.mkdir(parents=True)
    (deep / f"amy_{NOTEBOOK}.ipynb").write_bytes(notebook("deep"))
    (folder / f"cyd_{NOTEBOOK}.ipynb").write_bytes(notebook("cyd"))
    report, _ = run_import(source_root, folder, tmp_path / "submitted")
    assert students(tmp_path / "submitted") == {"cyd"}
    assert any("nested more than 64" in r["note"] for r in report["files"])

"""The student bundle: it sets up with its README's command, runs the course, and holds no
solution or hidden test.

The set-up test runs the README's command in a fresh folder with one change, so that it
takes seconds and needs no network: pip gets `--no-deps`, and the new environment sees this
test environment's packages through a .pth file (the dependencies are those of the course's
pyproject.toml, checked separately). The bundle's own pyproject is built and installed for
real, so a missing file, a broken package list or the autograder sneaking in shows up.
"""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import nbformat
import pytest

from autograder import course
from autograder.bundle import (
    INSTRUCTOR_PLUGINS,
    BundleProblem,
    build_bundle,
    runtime_dependencies,
)
from autograder.cli import main

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ROOT = course.ROOT
RELEASED = ["01-gradient-descent", "02-backprop"]
MARKERS = {"### BEGIN SOLUTION": "### END SOLUTION",
           "### BEGIN HIDDEN TESTS": "### END HIDDEN TESTS"}

RUNNER = """
import json, sys
import nbformat
from nbclient import NotebookClient
nb = nbformat.read(sys.argv[1], as_version=4)
nb.cells.append(nbformat.v4.new_code_cell(
    "import nnlab, importlib.util\\n"
    "print(nnlab.__file__)\\n"
    "print(importlib.util.find_spec('autograder'))"))
NotebookClient(nb, timeout=300, kernel_name="python3", allow_errors=True,
               resources={"metadata": {"path": sys.argv[2]}}).execute()
cells = []
for cell in nb.cells:
    if cell.cell_type != "code":
        continue
    errors = [o for o in cell.outputs if o.output_type == "error"]
    text = "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")
    cells.append({"solution": bool(cell.metadata.get("nbgrader", {}).get("solution")),
                  "error": errors[0]["ename"] if errors else None, "text": text})
print(json.dumps(cells))
"""


def readme_setup_command(readme: str) -> str:
    match = re.search(r"<!-- setup-command -->\s*```(?:bash|sh)?\n(.+?)\n```", readme, re.S)
    assert match, "the student README must mark its set-up command with <!-- setup-command -->"
    return match.group(1).strip()


@pytest.fixture(scope="module")
def unpacked(tmp_path_factory):
    """The bundle of two assignments, built as a .zip and unpacked in a fresh folder."""
    work = tmp_path_factory.mktemp("bundle")
    archive = work / "course.zip"
    assert main(["bundle", ",".join(RELEASED), "--out", str(archive)]) == 0
    with zipfile.ZipFile(archive) as handle:
        handle.extractall(work / "student")
    (folder,) = (work / "student").iterdir()
    return archive, folder


@pytest.fixture(scope="module")
def installed(unpacked):
    """The bundle set up with its README's command (see the module docstring)."""
    _, folder = unpacked
    command = readme_setup_command((folder / "README.md").read_text(encoding="utf-8"))
    make_venv, install, launch = (part.strip() for part in command.split("&&"))
    assert make_venv == "python3 -m venv .venv"
    assert install == ".venv/bin/pip install ."
    assert launch == ".venv/bin/jupyter lab course/"
    # Same Python as this test environment, so its packages can stand in for the downloads.
    subprocess.run([sys.executable, *make_venv.split()[1:]], cwd=folder, check=True)
    python = folder / ".venv" / "bin" / "python"
    site = subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_paths()"
                           "['purelib'])"], capture_output=True, text=True, check=True)
    Path(site.stdout.strip(), "test-dependencies.pth").write_text(
        sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run([*install.split(), "--no-deps", "--quiet"], cwd=folder, check=True,
                   timeout=300)
    return folder, python


def test_bundle_holds_the_released_course_and_no_instructor_files(unpacked):
    _, folder = unpacked
    top = sorted(p.name for p in folder.iterdir())
    assert top == ["README.md", "course", "environment.yml", "jupyter-config", "lib",
                   "pyproject.toml"]
    assert sorted(p.name for p in (folder / "course").iterdir()) == [*RELEASED, "README.md"]
    names = {p.relative_to(folder).as_posix() for p in folder.rglob("*")}
    for forbidden in ("solutions", "autograder", "grading", "tests", "nbgrader_config.py",
                      "gradebook.db"):
        assert not any(forbidden in name.split("/") for name in names), forbidden
    assert (folder / "lib" / "nnlab" / "data_files" / "digits.npz").is_file()


def test_student_pyproject_installs_nnlab_with_the_course_dependencies(unpacked):
    _, folder = unpacked
    student = tomllib.loads((folder / "pyproject.toml").read_text())
    ours = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert student["project"]["dependencies"] == ours["project"]["dependencies"]
    assert student["project"]["requires-python"] == ours["project"]["requires-python"]
    assert student["tool"]["setuptools"]["packages"]["find"]["include"] == ["nnlab", "nnlab.*"]
    assert runtime_dependencies(ROOT / "pyproject.toml")[1] == ours["project"]["dependencies"]
    conda = (folder / "environment.yml").read_text()
    for dependency in ours["project"]["dependencies"]:
        assert f"  - {dependency}\n" in conda


@pytest.mark.slow
def test_set_up_command_installs_a_working_course_without_the_autograder(installed, tmp_path):
    folder, python = installed
    notebook = folder / "course" / RELEASED[0] / "gradient-descent.ipynb"
    runner = tmp_path / "run.py"
    runner.write_text(RUNNER)
    done = subprocess.run([python, runner, notebook, notebook.parent], capture_output=True,
                          text=True, cwd=tmp_path, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    cells = json.loads(done.stdout.strip().splitlines()[-1])

    *course_cells, probe = cells
    nnlab_file, autograder_spec = probe["text"].split()
    assert Path(nnlab_file).is_relative_to(folder / ".venv"), nnlab_file  # the installed copy
    assert autograder_spec == "None"
    stubs = [i for i, cell in enumerate(course_cells) if cell["solution"]]
    assert stubs, "the release notebook should have answer cells"
    # Everything before the first exercise runs. After it, the only failures are the stubs'
    # NotImplementedError, raised where a stub runs or is called, and NameError where a
    # cell uses a value an unanswered stub never assigned.
    assert all(cell["error"] is None for cell in course_cells[:stubs[0]])
    errors = [cell["error"] for cell in course_cells if cell["error"]]
    assert "NotImplementedError" in errors
    assert set(errors) <= {"NotImplementedError", "NameError"}, errors


@pytest.mark.slow
def test_student_jupyterlab_hides_nbgrader_instructor_panels(installed):
    folder, python = installed
    config = folder / ".venv" / "etc" / "jupyter" / "labconfig" / "page_config.json"
    assert json.loads(config.read_text())["disabledExtensions"] == dict.fromkeys(
        INSTRUCTOR_PLUGINS, True)
    env = {"JUPYTER_PATH": str(Path(sys.prefix) / "share" / "jupyter"), "PATH": "/usr/bin:/bin"}
    listing = subprocess.run([python, "-m", "jupyterlab.labextensions", "list"], env=env,
                             capture_output=True, text=True, timeout=120)
    disabled = listing.stdout.split("Disabled extensions:")[-1] + listing.stderr.split(
        "Disabled extensions:")[-1]
    for plugin in INSTRUCTOR_PLUGINS:
        assert plugin in disabled
    assert "@jupyter/nbgrader:assignment-list" not in disabled


def test_instructor_plugin_names_exist_in_the_installed_nbgrader():
    static = Path(sys.prefix) / "share" / "jupyter" / "labextensions" / "@jupyter" / "nbgrader"
    code = "".join(p.read_text(errors="replace") for p in static.rglob("*.js"))
    for plugin in INSTRUCTOR_PLUGINS:
        assert f'"{plugin}"' in code, f"nbgrader no longer registers {plugin}"


def secret_lines() -> set[str]:
    """Non-trivial lines inside solution and hidden-test blocks of solutions/, less those
    that also appear outside those blocks (those are not secrets)."""
    inside, outside = set(), set()
    for path in sorted((ROOT / "solutions").glob("*/*.ipynb")):
        for cell in nbformat.read(path, as_version=4).cells:
            closing = None
            for line in cell.source.splitlines():
                text = line.strip()
                if closing is None and text in MARKERS:
                    closing = MARKERS[text]
                elif closing is not None and text == closing:
                    closing = None
                else:
                    (inside if closing else outside).add(text)
    # Text given to students anyway: the task statements (which may quote a line of the
    # answer as a hint) and the library.
    given = "\n".join(outside) + "\n".join(
        p.read_text() for p in (ROOT / "lib" / "nnlab").rglob("*.py"))
    return {line for line in inside
            if len(line) >= 12 and re.search(r"[A-Za-z]{3}", line) and line not in given}


def archive_texts(name: str, data: bytes, depth: int = 0):
    """(name, text) of a file and, recursively, of every member of a zip or wheel in it."""
    if zipfile.is_zipfile(io.BytesIO(data)) and depth < 4:
        with zipfile.ZipFile(io.BytesIO(data)) as handle:
            for member in handle.namelist():
                yield from archive_texts(f"{name}!{member}", handle.read(member), depth + 1)
        return
    text = data.decode("utf-8", errors="replace")
    yield name, text
    if name.endswith(".ipynb"):
        yield name, "\n".join(c.source for c in nbformat.reads(text, as_version=4).cells)


def test_no_solution_or_hidden_test_line_is_anywhere_in_the_bundle(unpacked, tmp_path):
    archive, folder = unpacked
    secrets = secret_lines()
    assert len(secrets) > 50  # the course has many; an empty set would prove nothing
    wheel_dir = tmp_path / "wheel"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w",
                    str(wheel_dir), str(folder)], check=True, timeout=300)
    (wheel,) = wheel_dir.glob("*.whl")
    texts = list(archive_texts(archive.name, archive.read_bytes()))
    texts += list(archive_texts(wheel.name, wheel.read_bytes()))
    assert any("nnlab/data_files/digits.npz" in name for name, _ in texts)  # wheel was opened
    for name, text in texts:
        found = [line for line in secrets if line in text]
        assert not found, f"{name} holds solution or hidden-test lines: {found[:3]}"


def test_the_leak_check_finds_a_planted_solution_line(tmp_path):
    line = sorted(secret_lines())[0]
    assert list(archive_texts("x.py", f"x = 1\n{line}\n".encode()))[0][1].count(line) == 1


def test_bundle_refuses_unknown_assignments_and_a_full_folder(tmp_path, capsys):
    with pytest.raises(BundleProblem, match="no released assignment 99-nope"):
        build_bundle("99-nope", tmp_path / "b")
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "mine.txt").write_text("keep me")
    assert main(["bundle", "all", "--out", str(tmp_path / "full")]) == 2
    assert "not an empty folder" in capsys.readouterr().err
    assert (tmp_path / "full" / "mine.txt").read_text() == "keep me"


def test_bundle_refuses_files_with_solution_markers(tmp_path):
    root = tmp_path / "repo"
    (root / "course" / "01-x").mkdir(parents=True)
    (root / "course" / "01-x" / "x.ipynb").write_text('{"source": "### BEGIN SOLUTION"}')
    (root / "lib" / "nnlab").mkdir(parents=True)
    (root / "lib" / "nnlab" / "__init__.py").write_text("")
    (root / "pyproject.toml").write_text((ROOT / "pyproject.toml").read_text())
    with pytest.raises(BundleProblem, match="course/01-x/x.ipynb"):
        build_bundle("all", tmp_path / "out", root=root)
    assert not (tmp_path / "out").exists()


def test_bundle_into_a_new_folder_holds_only_the_named_assignment(tmp_path):
    out = tmp_path / "handout" / "course"
    assert build_bundle("01-gradient-descent", out) == out
    assert sorted(p.name for p in (out / "course").iterdir()) == ["01-gradient-descent",
                                                                  "README.md"]
    readme = (out / "README.md").read_text(encoding="utf-8")
    assert "`course/01-gradient-descent/`" in readme and "02-backprop" not in readme
    assert readme_setup_command(readme) == (
        "python3 -m venv .venv && .venv/bin/pip install . && .venv/bin/jupyter lab course/")

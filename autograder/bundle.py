"""`python -m autograder bundle [ASSIGNMENT|all] --out DIR|FILE.zip`: the course for students.

This repository holds solutions/ (every answer and hidden test), the autograder and the
grading workspace, so students must not get it. The bundle holds only what a student needs:

    README.md          set-up in one command, how to work and hand in
    course/            the released notebooks (all, or the assignments named, e.g.
                       "01-gradient-descent,02-backprop" for the ones released so far)
                       and the syllabus
    lib/nnlab/         the helper library the notebooks import
    pyproject.toml     installs nnlab and the runtime dependencies; not the autograder
    environment.yml    the conda alternative
    jupyter-config/    labconfig/page_config.json: hides nbgrader's instructor panels
                       (formgrader, course list, create assignment); installed into the
                       environment's etc/jupyter by `pip install .`

Left out: solutions/, autograder/, tests/, bench/, grading/ (submissions, gradebook,
feedback), nbgrader_config.py. As a last guard, the build refuses to write a bundle in
which any file carries nbgrader's solution or hidden-test markers.

    build_bundle(selection, out) -> Path    raises BundleProblem
"""

from __future__ import annotations

import json
import re
import shutil
import tempfile
import zipfile
from pathlib import Path

from . import course

BUNDLE_NAME = "nnlab-course"
SETUP_COMMAND = "python3 -m venv .venv && .venv/bin/pip install . && .venv/bin/jupyter lab course/"
CONDA_COMMAND = ("conda env create -f environment.yml && conda activate nnlab-course && "
                 "jupyter lab course/")
# nbgrader's JupyterLab plugins for instructors; students keep assignment-list, validate
# and the menu. Names as registered by the @jupyter/nbgrader labextension.
INSTRUCTOR_PLUGINS = (
    "@jupyter/nbgrader:formgrader",
    "@jupyter/nbgrader:course-list",
    "@jupyter/nbgrader:create-assignment",
)
SECRET_MARKERS = ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS")
SKIPPED = ("__pycache__", ".ipynb_checkpoints", ".DS_Store")


class BundleProblem(ValueError):
    """The bundle cannot be built as asked; nothing was written."""


def released(selection: str, course_dir: Path = course.COURSE) -> list[str]:
    """The assignment folders of course/ named by `selection` ("all" or "a,b,...")."""
    available = sorted(p.name for p in Path(course_dir).iterdir()
                       if p.is_dir() and any(p.glob("*.ipynb")))
    if selection == "all":
        return available
    names = [name.strip().rstrip("/") for name in selection.split(",") if name.strip()]
    unknown = [name for name in names if name not in available]
    if unknown or not names:
        raise BundleProblem(f"no released assignment {', '.join(unknown) or repr(selection)} "
                            f"in {course_dir} (released: {', '.join(available)}); run "
                            "`python -m autograder release` first")
    return names


def runtime_dependencies(pyproject: Path) -> tuple[str, list[str]]:
    """(requires-python, dependencies) of the course's pyproject.toml."""
    text = Path(pyproject).read_text(encoding="utf-8")
    python = re.search(r'^requires-python\s*=\s*"([^"]+)"', text, re.M)
    block = re.search(r"^dependencies\s*=\s*\[(.*?)^\]", text, re.S | re.M)
    if not python or not block:
        raise BundleProblem(f"{pyproject}: no requires-python or dependencies list")
    return python.group(1), re.findall(r'"([^"]+)"', block.group(1))


def student_pyproject(python: str, dependencies: list[str]) -> str:
    deps = "".join(f'    "{dep}",\n' for dep in dependencies)
    return f'''[build-system]
requires = ["setuptools>=61"]
build-backend = "setuptools.build_meta"

[project]
name = "nnlab"
version = "0.1.0"
description = "The helper library and environment of the neural-networks course."
requires-python = "{python}"
dependencies = [
{deps}]

[tool.setuptools.packages.find]
where = ["lib"]
include = ["nnlab", "nnlab.*"]

[tool.setuptools.package-data]
nnlab = ["data_files/*"]

# Hides nbgrader's instructor panels in this environment's JupyterLab.
[tool.setuptools.data-files]
"etc/jupyter/labconfig" = ["jupyter-config/labconfig/page_config.json"]
'''


def student_environment(python: str, dependencies: list[str]) -> str:
    lines = ["# The conda alternative to `pip install .`.", "name: nnlab-course",
             "channels:", "  - conda-forge", "dependencies:", f"  - python{python}", "  - pip"]
    lines += [f"  - {dep}" for dep in dependencies]
    lines += ["  - pip:", "      - ."]
    return "\n".join(lines) + "\n"


def student_readme(assignments: list[str]) -> str:
    listing = "\n".join(f"- `course/{name}/`" for name in assignments)
    return f"""# Neural networks, hands on: your course folder

This folder holds the assignments released so far, the small library they use (`nnlab`),
and everything needed to run them.

{listing}

## Set up (once)

On any machine with Python 3.10 or newer (Linux, macOS, or Windows with WSL), in this folder:

<!-- setup-command -->
```bash
{SETUP_COMMAND}
```

JupyterLab opens in your browser. Later, start it again with `.venv/bin/jupyter lab course/`.
(Running as root, e.g. in a container, add `--allow-root`.) With conda instead of pip:

```bash
{CONDA_COMMAND}
```

When your instructor releases more assignments you get a new copy of this folder; copy your
own notebooks across, or keep working in the old folder and open the new notebooks there.

## Work and hand in

Work through each notebook top to bottom. Each exercise cell says `YOUR CODE HERE`; the
locked cell below it checks your answer and tells you what to fix. Written answers
(`YOUR ANSWER HERE`) are graded by your instructor. Before you hand in, restart the kernel
and run the whole notebook. Hand in the notebook file (`.ipynb`) as your instructor asks,
under its original name, e.g. `gradient-descent.ipynb`.

The explorers can also be used on their own, in any notebook:
`from nnlab.explore import step_size_explorer, momentum_explorer, optimizer_race,
capacity_explorer, dropout_explorer, convolution_explorer`; each docstring shows how to call it.
"""


def page_config() -> str:
    return json.dumps({"disabledExtensions": {name: True for name in INSTRUCTOR_PLUGINS}},
                      indent=2) + "\n"


def _copy_tree(source: Path, target: Path) -> None:
    shutil.copytree(source, target, ignore=shutil.ignore_patterns(*SKIPPED, "*.pyc"),
                    symlinks=False)


def stage(assignments: list[str], target: Path, root: Path = course.ROOT) -> None:
    """Write the bundle's files into the empty folder `target`."""
    python, dependencies = runtime_dependencies(root / "pyproject.toml")
    (target / "course").mkdir(parents=True)
    for name in assignments:
        _copy_tree(root / "course" / name, target / "course" / name)
    syllabus = root / "course" / "README.md"
    if syllabus.is_file():
        shutil.copyfile(syllabus, target / "course" / "README.md")
    _copy_tree(root / "lib" / "nnlab", target / "lib" / "nnlab")
    (target / "pyproject.toml").write_text(student_pyproject(python, dependencies))
    (target / "environment.yml").write_text(student_environment(python, dependencies))
    (target / "README.md").write_text(student_readme(assignments), encoding="utf-8")
    config = target / "jupyter-config" / "labconfig" / "page_config.json"
    config.parent.mkdir(parents=True)
    config.write_text(page_config())
    leaks = [path.relative_to(target).as_posix() for path in sorted(target.rglob("*"))
             if path.is_file() and any(m.encode() in path.read_bytes() for m in SECRET_MARKERS)]
    if leaks:
        raise BundleProblem("refusing to bundle files with solution or hidden-test markers: "
                            + ", ".join(leaks))


def build_bundle(selection: str, out: Path, root: Path = course.ROOT) -> Path:
    """Build the student bundle of `selection` at `out` (a new folder, or a .zip)."""
    out = Path(out)
    assignments = released(selection, root / "course")
    if out.suffix.lower() == ".zip":
        with tempfile.TemporaryDirectory(prefix="nnlab-bundle-") as scratch:
            staged = Path(scratch) / BUNDLE_NAME
            stage(assignments, staged, root)
            out.parent.mkdir(parents=True, exist_ok=True)
            tmp = out.with_name(f".{out.name}.tmp")
            with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as archive:
                for path in sorted(staged.rglob("*")):
                    if path.is_file():
                        archive.write(path, path.relative_to(scratch).as_posix())
            tmp.replace(out)
        return out
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise BundleProblem(f"{out} exists and is not an empty folder; choose a new folder "
                            "or a .zip file")
    with tempfile.TemporaryDirectory(prefix="nnlab-bundle-", dir=out.parent
                                     if out.parent.is_dir() else None) as scratch:
        staged = Path(scratch) / BUNDLE_NAME
        stage(assignments, staged, root)
        if out.exists():
            out.rmdir()
        out.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(staged), str(out))
    return out

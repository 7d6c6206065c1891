"""The two ways to install the course (pip and conda) must ask for the same packages."""

from __future__ import annotations

import re
import sys
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ROOT = Path(__file__).resolve().parent.parent


def _name(requirement: str) -> str:
    return re.split(r"[<>=!~ \[;]", requirement.strip(), maxsplit=1)[0].lower()


def _environment_dependencies() -> dict[str, str]:
    """Parse environment.yml's top-level conda dependency list (no YAML library needed)."""
    deps: dict[str, str] = {}
    in_deps = False
    for line in (ROOT / "environment.yml").read_text().splitlines():
        if line.startswith("dependencies:"):
            in_deps = True
            continue
        if in_deps and re.match(r"^  - [^ ]", line) and not line.strip().endswith(":"):
            spec = line.strip()[2:].strip()
            deps[_name(spec)] = spec.replace(" ", "")
        elif in_deps and line and not line.startswith(" "):
            in_deps = False
    return deps


def _pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_environment_yml_mirrors_pyproject_runtime_dependencies():
    runtime = {_name(r): r.replace(" ", "") for r in _pyproject()["project"]["dependencies"]}
    conda = _environment_dependencies()
    conda_packages = {k: v for k, v in conda.items() if k not in {"python", "pip"}}
    assert set(conda_packages) == set(runtime), (
        f"only in environment.yml: {sorted(set(conda_packages) - set(runtime))}; "
        f"only in pyproject.toml: {sorted(set(runtime) - set(conda_packages))}"
    )
    for name, spec in runtime.items():
        conda_spec = conda_packages[name]
        assert conda_spec == spec, f"{name}: pyproject {spec!r} vs conda {conda_spec!r}"


def test_environment_yml_python_floor_matches_pyproject():
    floor = _pyproject()["project"]["requires-python"]
    assert _environment_dependencies()["python"] == "python" + floor


def test_environment_yml_installs_the_project_itself():
    assert "- -e ." in (ROOT / "environment.yml").read_text()


def test_runtime_dependencies_stay_the_agreed_small_set():
    names = {_name(r) for r in _pyproject()["project"]["dependencies"]}
    assert names == {"jupyterlab", "notebook", "ipywidgets", "numpy", "matplotlib", "nbgrader",
                     "nh3", "latex2mathml"}


def test_nbgrader_floor_has_the_jupyterlab_and_validate_fixes():
    (spec,) = [r for r in _pyproject()["project"]["dependencies"] if _name(r) == "nbgrader"]
    assert ">=0.9.6" in spec.replace(" ", "")


def test_packages_import_from_their_declared_folders():
    import nnlab

    import autograder

    assert Path(nnlab.__file__).resolve().parent == ROOT / "lib" / "nnlab"
    assert Path(autograder.__file__).resolve().parent == ROOT / "autograder"


def test_readme_test_command_is_what_ci_runs():
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    match = re.search(r"<!-- test-command -->\s*```(?:bash|sh)?\n(.+?)\n```", readme, re.S)
    assert match, "README must mark its test command with <!-- test-command -->"
    command = match.group(1).strip()
    assert command in ci, f"README test command not run verbatim by .ci/run:\n{command}"

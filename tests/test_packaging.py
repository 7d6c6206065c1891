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
    assert names == {"jupyterlab", "notebook", "ipywidgets", "ipyevents", "numpy", "matplotlib",
                     "nbgrader", "nh3", "latex2mathml"}


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


def _readme_section(title: str) -> str:
    readme = (ROOT / "README.md").read_text()
    start = readme.index(f"## {title}")
    end = readme.find("\n## ", start + 1)
    return readme[start:end if end > 0 else None]


def _autograder_commands(text: str) -> list[list[str]]:
    import shlex

    return [shlex.split(command) for command in
            re.findall(r"`((?:\.venv/bin/)?python -m autograder [^`]+)`", text)]


def test_instructor_setup_activates_the_environment_the_commands_need():
    section = _readme_section("For instructors")
    match = re.search(r"<!-- instructor-setup -->\s*```bash\n(.+?)\n```", section, re.S)
    assert match, "README must mark the instructors' set-up with <!-- instructor-setup -->"
    steps = [step.strip() for step in match.group(1).split("&&")]
    assert steps == ["python3 -m venv .venv", ".venv/bin/pip install -e .",
                     "source .venv/bin/activate"]
    # Every bare `python`, `jupyter` or `nbgrader` command in the section relies on it.
    commands = re.findall(r"`((?:python|jupyter|nbgrader) [^`]*|jupyter lab)`", section)
    assert len(commands) >= 8


def test_activated_environment_provides_the_instructor_commands():
    import shutil
    import subprocess

    activate = ROOT / ".venv" / "bin" / "activate"
    if not activate.is_file():
        import pytest

        pytest.skip("no .venv in the repository root (the README's set-up was not run here)")
    script = ("source .venv/bin/activate && python -c 'import nbformat, autograder' && "
              "command -v jupyter && command -v nbgrader && command -v alembic && "
              "python -m autograder export --help")
    done = subprocess.run([shutil.which("bash") or "/bin/bash", "-c", script], cwd=ROOT,
                          env={"PATH": "/usr/bin:/bin", "HOME": str(ROOT)},
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "--format" in done.stdout


def test_readme_autograder_commands_parse_and_keep_student_data_in_grading():
    from autograder.cli import build_parser

    commands = _autograder_commands((ROOT / "README.md").read_text())
    assert {argv[3] for argv in commands} >= {"release", "bundle", "import", "grade", "export"}
    for argv in commands:
        args = build_parser().parse_args(argv[3:])  # SystemExit on a wrong option
        data = [getattr(args, name, None) for name in ("source", "roster", "submissions")]
        if args.command in ("bundle", "export", "grade"):
            data.append(args.out)
        for path in filter(None, data):  # defaults are absolute paths under ROOT/grading
            assert (ROOT / path).is_relative_to(ROOT / "grading"), f"{' '.join(argv)}: {path}"


def test_readme_student_command_is_the_bundles():
    from autograder.bundle import SETUP_COMMAND

    assert f"```bash\n{SETUP_COMMAND}\n```" in _readme_section("For students")


SANDBOX_PROBE = '''
from autograder.sandbox import Limits, SandboxedKernel


def test_needs_the_sandbox():
    SandboxedKernel(Limits())


def test_fails_for_another_reason():
    assert 1 == 2
'''


def _run_without_bwrap(tmp_path, require: bool):
    import subprocess

    probe = tmp_path / "test_probe.py"
    probe.write_text(SANDBOX_PROBE)
    empty = tmp_path / "no-tools"  # a PATH on which bwrap cannot be found
    empty.mkdir(exist_ok=True)
    env = {"PATH": str(empty), "HOME": str(tmp_path), "NNLAB_REQUIRE_SANDBOX": "1" if require
           else "0"}
    return subprocess.run(
        [sys.executable, "-m", "pytest", str(probe), "-p", "tests.conftest", "-rs", "-q",
         "-p", "no:cacheprovider", "--rootdir", str(tmp_path)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)


def test_sandbox_tests_are_skipped_with_the_reason_where_bubblewrap_is_missing(tmp_path):
    done = _run_without_bwrap(tmp_path, require=False)
    assert "1 failed, 1 skipped" in done.stdout, done.stdout
    assert "needs the grading sandbox: bubblewrap (`bwrap`) is not installed" in done.stdout
    assert "test_fails_for_another_reason" in done.stdout  # other failures stay failures


def test_sandbox_tests_fail_where_the_sandbox_is_required(tmp_path):
    done = _run_without_bwrap(tmp_path, require=True)
    assert "2 failed" in done.stdout, done.stdout
    assert "NNLAB_REQUIRE_SANDBOX=1 demands the sandbox tests" in done.stdout

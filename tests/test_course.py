"""Tests that bind the course together: every lecture's source runs green, its release is in
sync and leaks nothing, and plain nbgrader understands the course layout."""

from __future__ import annotations

import ast
import builtins
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, CellTimeoutError

from autograder import course
from autograder.notebooks import (
    HIDDEN_MARKERS,
    check_source_notebook,
    is_answer_cell,
    is_test_cell,
    nbgrader_meta,
)

ASSIGNMENTS = course.existing_assignments()
SOURCES = [p for a in ASSIGNMENTS for p in sorted((course.SOLUTIONS / a).glob("*.ipynb"))]
CELL_TIMEOUT = 60
RUNTIME_LIMIT = 60  # seconds; the budget is 20 s (bench/course.py), this catches regressions


def release_of(source: Path) -> Path:
    return course.COURSE / source.parent.name / source.name


def _id(path: Path) -> str:
    return path.parent.name


def execute(nb: nbformat.NotebookNode, cwd: Path, allow_errors: bool = False):
    env_backend = os.environ.get("MPLBACKEND")
    os.environ["MPLBACKEND"] = "Agg"
    try:
        client = NotebookClient(
            nb,
            timeout=CELL_TIMEOUT,
            kernel_name="python3",
            allow_errors=allow_errors,
            resources={"metadata": {"path": str(cwd)}},
        )
        start = time.perf_counter()
        client.execute()
        return time.perf_counter() - start
    finally:
        if env_backend is None:
            os.environ.pop("MPLBACKEND", None)
        else:
            os.environ["MPLBACKEND"] = env_backend


def test_assignments_are_the_lectures_in_order():
    unknown = [a for a in ASSIGNMENTS if a not in course.ASSIGNMENTS]
    assert not unknown, f"unexpected assignment folders in solutions/: {unknown}"
    for name in ASSIGNMENTS:
        topic = name.split("-", 1)[1]
        assert (course.SOLUTIONS / name / f"{topic}.ipynb").is_file(), name


@pytest.mark.parametrize("source", SOURCES, ids=_id)
def test_source_is_well_formed(source):
    nb = check_source_notebook(source)  # unique grade ids, points on graded cells, markup
    graded = [c for c in nb.cells if nbgrader_meta(c).get("grade")]
    assert len(graded) >= 6, f"{source}: a lecture needs at least 6 graded cells"


@pytest.mark.parametrize(
    "path",
    SOURCES + [release_of(s) for s in SOURCES],
    ids=lambda p: str(p.relative_to(course.ROOT)),
)
def test_notebook_is_stored_without_outputs(path):
    nb = nbformat.read(path, as_version=4)
    dirty = [
        i
        for i, c in enumerate(nb.cells)
        if c.cell_type == "code" and (c.get("outputs") or c.get("execution_count"))
    ]
    assert not dirty, f"{path}: cells {dirty} carry outputs; store notebooks cleared"


@pytest.mark.slow
@pytest.mark.parametrize("source", SOURCES, ids=_id)
def test_solution_runs_green_with_all_tests_passing(source):
    nb = nbformat.read(source, as_version=4)
    try:
        seconds = execute(nb, source.parent)
    except CellTimeoutError as error:
        pytest.fail(f"{source}: a cell exceeded {CELL_TIMEOUT} s: {error}")
    except CellExecutionError as error:
        failing = next(
            (
                (i, nbgrader_meta(c).get("grade_id"))
                for i, c in enumerate(nb.cells)
                if c.cell_type == "code" and any(o.output_type == "error" for o in c.outputs)
            ),
            ("?", None),
        )
        pytest.fail(f"{source}: cell {failing[0]} (grade_id {failing[1]!r}) failed:\n{error}")
    assert seconds < RUNTIME_LIMIT, f"{source}: took {seconds:.1f} s"
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        if nbgrader_meta(cell).get("grade") or is_answer_cell(cell):
            stderr = [o for o in cell.outputs if o.output_type == "stream" and o.name == "stderr"]
            assert not stderr, (
                f"{source}: graded cell {index} ({nbgrader_meta(cell).get('grade_id')}) wrote to "
                f"stderr, which nbgrader scores as 0: {stderr[0].text[:300]}"
            )


@pytest.mark.slow
@pytest.mark.parametrize("source", SOURCES, ids=_id)
def test_unsolved_release_fails_only_where_an_exercise_is_missing(source):
    nb = nbformat.read(release_of(source), as_version=4)
    execute(nb, source.parent, allow_errors=True)
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code" or is_test_cell(cell):
            continue
        for output in cell.outputs:
            if output.output_type != "error":
                continue
            text = f"{output.ename}: {output.evalue}"
            assert output.ename == "NotImplementedError" or re.search("xercise", text), (
                f"{release_of(source)}: cell {index} fails without naming the exercise it "
                f"waits on: {text}"
            )


@pytest.mark.parametrize("source", SOURCES, ids=_id)
def test_release_stubs_every_answer_and_hides_every_hidden_test(source):
    src = nbformat.read(source, as_version=4)
    rel = nbformat.read(release_of(source), as_version=4)
    released_text = release_of(source).read_text()
    rel_by_id = {nbgrader_meta(c).get("grade_id"): c for c in rel.cells if nbgrader_meta(c)}
    for cell in src.cells:
        gid = nbgrader_meta(cell).get("grade_id")
        if is_answer_cell(cell):
            stub = rel_by_id[gid].source
            assert "YOUR CODE HERE" in stub or "YOUR ANSWER HERE" in stub, f"{gid} not stubbed"
            solution = re.findall(r"### BEGIN SOLUTION\n(.*?)### END SOLUTION", cell.source, re.S)
            for block in solution:
                for line in block.splitlines():
                    if len(line.strip()) > 25:
                        assert line.strip() not in stub, f"{gid}: solution line leaked: {line}"
    # Lines that occur only inside hidden-test blocks must not reach the release.
    hidden_pattern = re.escape(HIDDEN_MARKERS[0]) + r"(.*?)" + re.escape(HIDDEN_MARKERS[1])
    source_text = source.read_text()
    visible_text = re.sub(hidden_pattern, "", "\n".join(c.source for c in src.cells), flags=re.S)
    for cell in src.cells:
        for block in re.findall(hidden_pattern, cell.source, re.S):
            for line in block.splitlines():
                line = line.strip()
                if len(line) > 25 and not line.startswith("#") and line not in visible_text:
                    gid = nbgrader_meta(cell).get("grade_id")
                    assert line not in released_text, f"{gid}: hidden test leaked: {line}"
    assert source_text.count(HIDDEN_MARKERS[0]) > 0 or not any(is_test_cell(c) for c in src.cells)
    assert HIDDEN_MARKERS[0] not in released_text


@pytest.mark.slow
def test_release_check_passes():
    result = subprocess.run(
        [sys.executable, "-m", "autograder", "release", "all", "--check"],
        capture_output=True,
        text=True,
        cwd=course.ROOT,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr


@pytest.mark.slow
def test_plain_nbgrader_autogrades_every_solution_to_full_marks(tmp_path):
    """Instructors may grade with plain nbgrader too: the solution, submitted as a student's
    work, must get every automatic point there, with no cell lost to stderr."""
    from nbgrader.api import Gradebook

    if not ASSIGNMENTS:
        pytest.fail("no assignments in solutions/")
    db = f"sqlite:///{tmp_path / 'gradebook.db'}"
    overrides = [
        f"--CourseDirectory.release_directory={tmp_path / 'release'}",
        f"--CourseDirectory.submitted_directory={tmp_path / 'submitted'}",
        f"--CourseDirectory.autograded_directory={tmp_path / 'autograded'}",
        f"--CourseDirectory.db_url={db}",
    ]
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    for source in SOURCES:
        name = source.parent.name
        submitted = tmp_path / "submitted" / "alice" / name
        submitted.mkdir(parents=True)
        (submitted / source.name).write_bytes(source.read_bytes())
        for command in (["generate_assignment", name, "--force"], ["autograde", name, "--force"]):
            result = subprocess.run(
                [sys.executable, "-m", "nbgrader", *command, *overrides],
                capture_output=True, text=True, cwd=course.ROOT, env=env, timeout=600,
            )
            assert result.returncode == 0, result.stderr[-3000:]
    with Gradebook(db) as gradebook:
        for name in ASSIGNMENTS:
            submission = gradebook.find_submission(name, "alice")
            assert submission.max_code_score > 0
            lost = [(g.name, g.score, g.max_score) for notebook in submission.notebooks
                    for g in notebook.grades if g.auto_score is not None and g.score != g.max_score]
            assert submission.code_score == submission.max_code_score, (name, lost)


@pytest.mark.slow
def test_plain_nbgrader_generates_and_lists_every_assignment(tmp_path):
    if not ASSIGNMENTS:
        pytest.fail("no assignments in solutions/")
    nbgrader = [sys.executable, "-m", "nbgrader"]
    overrides = [
        f"--CourseDirectory.release_directory={tmp_path / 'release'}",
        f"--CourseDirectory.db_url=sqlite:///{tmp_path / 'gradebook.db'}",
    ]
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    for name in ASSIGNMENTS:
        result = subprocess.run(
            [*nbgrader, "generate_assignment", name, "--force", *overrides],
            capture_output=True, text=True, cwd=course.ROOT, env=env, timeout=300,
        )
        assert result.returncode == 0, result.stderr
        assert (tmp_path / "release" / name).is_dir()
    listed = subprocess.run(
        [*nbgrader, "db", "assignment", "list", *overrides[1:]],
        capture_output=True, text=True, cwd=course.ROOT, env=env, timeout=120,
    )
    assert listed.returncode == 0, listed.stderr
    for name in ASSIGNMENTS:
        assert name in listed.stdout + listed.stderr


def _bound_names(tree: ast.AST) -> set[str]:
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, ast.arg):
            names.add(node.arg)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
    return names


def _parse_cell(source: str) -> ast.AST:
    lines = [line for line in source.splitlines() if not line.lstrip().startswith(("%", "!"))]
    return ast.parse("\n".join(lines))


@pytest.mark.parametrize("source", SOURCES, ids=_id)
def test_test_cells_take_only_the_students_answers_from_the_kernel(source):
    """At grading time a test cell's free names are fetched from the student's kernel, where
    the student may have redefined them. So a test may use, besides trusted imports and its
    own bindings, only names that an answer cell defines (the student's answer)."""
    nb = nbformat.read(source, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    answers = [_bound_names(_parse_cell(c.source)) for c in code if is_answer_cell(c)]
    answer_names = set().union(*answers)
    imported = set()
    for cell in code:
        if not is_answer_cell(cell) and not is_test_cell(cell):
            for node in ast.walk(_parse_cell(cell.source)):
                if isinstance(node, (ast.Import, ast.ImportFrom)):
                    imported.update((a.asname or a.name).split(".")[0] for a in node.names)
    trusted = imported | set(dir(builtins))
    for cell in code:
        if not is_test_cell(cell):
            continue
        tree = _parse_cell(cell.source)
        bound = _bound_names(tree)
        loaded = {
            n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)
        }
        from_kernel = loaded - bound - trusted - answer_names
        assert not from_kernel, (
            f"{source}: test cell {nbgrader_meta(cell).get('grade_id')!r} uses "
            f"{sorted(from_kernel)}, defined outside answer and test cells; "
            "a student could redefine them"
        )
        trusted |= bound


@pytest.mark.parametrize("source", SOURCES, ids=_id)
def test_syllabus_lists_every_exercise_of_the_lecture(source):
    syllabus = (course.COURSE / "README.md").read_text()
    row = next(
        (line for line in syllabus.splitlines() if f"({source.parent.name}/" in line), None
    )
    assert row, f"course/README.md has no syllabus row linking {source.parent.name}"
    nb = nbformat.read(source, as_version=4)
    missing = [
        nbgrader_meta(c)["grade_id"]
        for c in nb.cells
        if is_answer_cell(c) and f"`{nbgrader_meta(c)['grade_id']}`" not in row
    ]
    assert not missing, f"syllabus row of {source.parent.name} lacks exercises {missing}"

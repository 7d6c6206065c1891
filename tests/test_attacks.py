"""Student code must not turn a failing test into a passing one, nor escape its sandbox.

Every attack is applied on top of the WRONG fixture answers and must score no more than the
wrong answers alone. Resource attacks (memory, fork bomb, endless loop, exits) must end their
submission with status 'timeout' or 'error' while a correct submission graded alongside keeps
full marks.
"""

from __future__ import annotations

import ast
import copy
import os
import sys
from pathlib import Path

import nbformat
import pytest

from autograder.course import ROOT, SOLUTIONS
from autograder.engine import Limits
from autograder.notebooks import grade_id
from tests.support.grading import grade_all

pytestmark = pytest.mark.slow

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "autograde"
SOURCE = FIXTURE / "source" / "fixture.ipynb"
LIMITS = Limits(cell_timeout=4.0, notebook_timeout=25.0, memory_mb=1536, max_processes=32,
                max_output_bytes=50_000)
TEST_IDS = ("sigmoid_test", "slope_test", "choice_test", "running_mean_test")


def load(name: str) -> nbformat.NotebookNode:
    return nbformat.read(FIXTURE / "submissions" / f"{name}.ipynb", as_version=4)


def cell_of(nb, gid):
    return next(cell for cell in nb.cells if grade_id(cell) == gid)


def with_code(code: str, gid: str = "sigmoid", base: str = "wrong"):
    """`base` with `code` appended to answer cell `gid`."""
    nb = load(base)
    cell = cell_of(nb, gid)
    cell.source = cell.source + "\n" + code
    return nb


def with_cell_before(code: str, gid: str, base: str = "wrong"):
    """`base` with a new student code cell inserted just before cell `gid`."""
    nb = load(base)
    index = next(i for i, cell in enumerate(nb.cells) if grade_id(cell) == gid)
    nb.cells.insert(index, nbformat.v4.new_code_cell(code))
    return nb


def edited_tests(edit):
    nb = load("wrong")
    for cell in list(nb.cells):
        if grade_id(cell) in TEST_IDS:
            edit(nb, cell)
    return nb


def _replace_source(nb, cell):
    cell.source = "pass"


def _delete(nb, cell):
    nb.cells.remove(cell)


def _retype(kind):
    def edit(nb, cell):
        index = nb.cells.index(cell)
        maker = nbformat.v4.new_markdown_cell if kind == "markdown" else nbformat.v4.new_raw_cell
        replacement = maker(cell.source)
        replacement.metadata = copy.deepcopy(cell.metadata)
        nb.cells[index] = replacement
    return edit


def _duplicate_first(nb, cell):
    fake = copy.deepcopy(cell)
    fake.source = "pass"
    fake.id = cell.id + "x"
    nb.cells.insert(0, fake)


def _raise_points(nb, cell):
    cell.metadata["nbgrader"]["points"] = 100
    cell.source = "pass"


def _fake_outputs(nb, cell):
    cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text="Test passed.\n")]
    cell.execution_count = 1


GRADEBOOK_PROBE = "/tmp/nnlab-attack-gradebook.db"

ATTACKS = {
    "input_transformer": with_code(
        "get_ipython().input_transformers_post.append(lambda lines: ['pass\\n'])\n"
        "get_ipython().input_transformers_cleanup.append(lambda lines: ['pass\\n'])"
    ),
    "post_run_cell_hook": with_code(
        "def _forgive(result):\n    result.error_in_exec = None\n"
        "    result.error_before_exec = None\n"
        "get_ipython().events.register('post_run_cell', _forgive)\n"
        "get_ipython().events.register('pre_run_cell', lambda info: None)"
    ),
    "custom_exception_handler": with_code(
        "get_ipython().set_custom_exc((BaseException,), lambda *a, **k: None)"
    ),
    "patch_numpy": with_code(
        "np.allclose = lambda *a, **k: True\nnp.isclose = lambda *a, **k: True\n"
        "np.testing.assert_allclose = lambda *a, **k: None\n"
        "np.array_equal = lambda *a, **k: True\nimport sys\n"
        "sys.modules['numpy'].abs = lambda x: 0 * x"
    ),
    "patch_nnlab_check": with_code(
        "import nnlab.check as _c\nfor _n in ('close', 'number', 'choice', 'shape', 'finite'):\n"
        "    setattr(_c, _n, lambda *a, **k: None)\n"
        "check = _c\n_c.CheckFailed = type('CheckFailed', (Exception,), {})"
    ),
    "patch_builtins": with_code(
        "import builtins\nbuiltins.AssertionError = type('AssertionError', (Exception,), {})\n"
        "builtins.isinstance = lambda *a: True\nbuiltins.len = lambda x: 0\n"
        "builtins.float = lambda *a: 0.25"
    ),
    "lying_objects": (lambda: (nb := load("wrong"), [
        setattr(cell_of(nb, gid), "source", code) for gid, code in {
            "slope": (
                "class Liar(float):\n    def __eq__(self, other): return True\n"
                "    def __float__(self): return 0.25\n    def __array__(self, *a, **k):\n"
                "        import numpy; return numpy.asarray(0.25)\n"
                "    def __sub__(self, other): return 0.0\n    __rsub__ = __sub__\n"
                "slope_at_zero = Liar(0.5)"),
            "choice": ("class Sly(str):\n    def __eq__(self, other): return True\n"
                       "    __hash__ = str.__hash__\nactivation_choice = Sly('a')"),
            "sigmoid": ("class Everything:\n    def __eq__(self, other): return True\n"
                        "    def __array__(self, *a, **k):\n"
                        "        import numpy; return numpy.full((4, 3), 0.5)\n"
                        "    def __len__(self): return 1\n"
                        "def sigmoid(z):\n    return Everything()"),
        }.items()
    ])[0])(),
    "edit_test_cells": edited_tests(_replace_source),
    "delete_test_cells": edited_tests(_delete),
    "retype_test_cells_markdown": edited_tests(_retype("markdown")),
    "retype_test_cells_raw": edited_tests(_retype("raw")),
    "duplicate_test_cells": edited_tests(_duplicate_first),
    "raise_points": edited_tests(_raise_points),
    "fake_outputs": edited_tests(_fake_outputs),
    "print_passed": with_code(
        "print('Test passed.')\nprint('All tests passed! 7/7 points')\n"
        "import sys; print('passed', file=sys.stderr)"
    ),
    "sys_exit": with_code("import sys\nsys.exit(0)"),
    "read_solutions": with_cell_before(
        "import glob, os\nfound = []\n"
        f"for path in [{str(SOURCE)!r}, {str(SOLUTIONS)!r}, {str(ROOT)!r}, "
        f"{str(ROOT / 'tests')!r}, os.path.expanduser('~root'), '/root/.bash_history']:\n"
        "    try:\n"
        "        found.append(os.listdir(path) if os.path.isdir(path) else open(path).read())\n"
        "    except OSError as error:\n"
        "        print('DENIED', type(error).__name__)\n"
        f"for top in ('/home', '/tmp', '/root', {str(ROOT)!r}):\n"
        "    found += glob.glob(top + '/**/*.ipynb', recursive=True)\n"
        "    found += glob.glob(top + '/**/solutions', recursive=True)\n"
        "print('FOUND', len(found), found)\n"
        "for text in found:\n"
        "    if 'BEGIN SOLUTION' in str(text):\n"
        "        exec(str(text))\n",
        "sigmoid",
    ),
    "write_gradebook": with_code(
        f"for path in [{GRADEBOOK_PROBE!r}, {str(ROOT / 'grading' / 'gradebook.db')!r},"
        f" {str(ROOT / 'attack.txt')!r}]:\n"
        "    try:\n        open(path, 'w').write('pwned')\n        print('WROTE', path)\n"
        "    except OSError as error:\n        print('DENIED', type(error).__name__)"
    ),
    "network": with_code(
        "import socket\ntry:\n    socket.create_connection(('1.1.1.1', 80), timeout=2)\n"
        "    print('CONNECTED')\nexcept OSError as error:\n"
        "    print('OFFLINE', type(error).__name__)"
    ),
}

RESOURCE_ATTACKS = {
    "memory_bomb": with_code("hog = []\nwhile True:\n    hog.append(bytearray(10**8))"),
    "fork_bomb": with_code("import os\nwhile True:\n    os.fork()"),
    "endless_loop": with_code("while True:\n    pass"),
    "os_exit": with_code("import os\nos._exit(0)"),
    "endless_loop_in_test_call": with_code(
        "def sigmoid(z):\n    while True:\n        pass"
    ),
}


@pytest.fixture(scope="module")
def graded():
    probe = Path(GRADEBOOK_PROBE)
    probe.write_text("original")
    variants = {"wrong": load("wrong"), "correct": load("correct"), **ATTACKS,
                **RESOURCE_ATTACKS}
    results = grade_all(SOURCE, variants, workers=2, limits=LIMITS)
    yield results, probe.read_text()
    probe.unlink()


def outputs_text(result) -> str:
    parts = []
    for cell in result.notebook.cells:
        for output in cell.get("outputs", []):
            parts.append(str(output.get("text", "")) + str(output.get("evalue", "")))
    return "\n".join(parts)


def test_baseline_wrong_and_correct(graded):
    results, _ = graded
    assert results["wrong"].status == "ok"
    assert results["wrong"].score == 0
    assert results["correct"].score == 6


@pytest.mark.parametrize("attack", sorted(ATTACKS))
def test_attack_scores_no_more_than_wrong_answer(graded, attack):
    results, _ = graded
    result, wrong = results[attack], results["wrong"]
    assert result.score <= wrong.score, {gid: c.message for gid, c in result.cells.items()}
    assert result.max_score == wrong.max_score == 7
    for gid in TEST_IDS:
        assert not result.cells[gid].passed, (gid, result.cells[gid].message)


@pytest.mark.parametrize("attack", sorted(RESOURCE_ATTACKS))
def test_resource_attack_ends_submission(graded, attack):
    results, _ = graded
    result = results[attack]
    assert result.status in ("timeout", "error"), (result.status, result.message)
    assert result.score == 0
    assert result.duration < LIMITS.notebook_timeout + 10
    assert results["correct"].score == 6  # graded in the same batch, unaffected


def test_endless_loop_is_a_timeout(graded):
    results, _ = graded
    assert results["endless_loop"].status == "timeout"
    assert results["endless_loop_in_test_call"].status == "timeout"
    assert "time limit" in results["endless_loop"].message


def test_files_outside_the_sandbox_are_invisible(graded):
    results, _ = graded
    text = outputs_text(results["read_solutions"])
    count, found = text.split("FOUND", 1)[1].split("\n", 1)[0].split(" ", 2)[1:]
    # Only the read-only nnlab and Python installation are mounted, behind empty skeleton
    # directories. A Python environment inside a home directory may ship notebooks of its
    # own packages (nbgrader's documentation); anything else is a leak.
    installation = tuple({sys.prefix, sys.base_prefix, os.path.realpath(sys.prefix)})
    leaked = [item for item in ast.literal_eval(found)
              if not (isinstance(item, str) and item.startswith(installation))]
    assert len(ast.literal_eval(found)) == int(count)
    for secret in ("ipynb", "solutions", "BEGIN SOLUTION", "autograder", "tests", "README"):
        assert secret not in str(leaked), leaked
    # The source notebook, solutions/, tests/ and root's shell history are not there.
    assert text.count("DENIED FileNotFoundError") >= 4


def test_nothing_outside_the_sandbox_is_written(graded):
    results, probe_text = graded
    assert probe_text == "original"
    assert not (ROOT / "attack.txt").exists()
    text = outputs_text(results["write_gradebook"])
    # The probe path lies in /tmp, which inside the sandbox is a private, throwaway tmpfs:
    # a write may land there (as a user-namespace root it does), never in the real file.
    wrote = [line.split(" ", 1)[1] for line in text.splitlines() if line.startswith("WROTE ")]
    assert set(wrote) <= {GRADEBOOK_PROBE}, wrote
    assert text.count("DENIED") + len(wrote) == 3


def test_no_network(graded):
    results, _ = graded
    text = outputs_text(results["network"])
    assert "OFFLINE" in text and "CONNECTED" not in text


def test_hidden_tests_never_reach_feedback(graded):
    results, _ = graded
    source = nbformat.read(SOURCE, as_version=4)
    hidden = [line.strip() for cell in source.cells for line in _hidden_lines(cell.source)
              if line not in _visible_lines(cell.source)]
    assert len(hidden) >= 4
    for result in results.values():
        if result.notebook is None:
            continue
        text = nbformat.writes(result.notebook)
        for line in hidden:
            assert line not in text
        for cell in result.cells.values():
            assert "BEGIN HIDDEN" not in cell.message


def _visible_lines(source: str) -> set[str]:
    return set(source.split("### BEGIN HIDDEN TESTS")[0].splitlines())


def _hidden_lines(source: str):
    inside = False
    for line in source.splitlines():
        if "BEGIN HIDDEN TESTS" in line:
            inside = True
            continue
        if "END HIDDEN TESTS" in line:
            inside = False
        elif inside and len(line.strip()) > 12:
            yield line

"""`# solve without:` directives: an exercise cannot be answered by calling the library."""

from __future__ import annotations

from pathlib import Path

import pytest

from autograder import restrictions


def test_directive_entries_are_read_from_every_directive_line():
    source = "# solve without: optim, nnlab.optim\nx = 1\n#solve without: fit\n"
    assert restrictions.forbidden_names(source) == ("optim", "nnlab.optim", "fit")
    assert restrictions.forbidden_names("check.close(a, b)  # no directive") == ()


@pytest.mark.parametrize(
    "test_id, answer", [("adam_step_test", "adam_step"), ("adam_step_test2", "adam_step")]
)
def test_answer_id_strips_the_test_suffix(test_id, answer):
    assert restrictions.answer_id(test_id) == answer


@pytest.mark.parametrize(
    "code",
    [
        "opt = optim.Adam(0.1)",
        "from nnlab import optim\nopt = optim.Adam(0.1)",
        "import nnlab.optim as o",
        "from nnlab.optim import Adam",
        "def step(p, g):\n    return nnlab.optim.Adam(0.1).step(p, g)",
        "%time x = optim.SGD(0.1)",
    ],
)
def test_every_way_of_reaching_the_module_is_a_violation(code):
    forbidden = ("optim", "nnlab.optim")
    assert restrictions.violation(forbidden, [code]) in forbidden


@pytest.mark.parametrize(
    "code",
    [
        "def adam_step(theta, g, state):\n    return theta - 0.1 * g  # not optim.Adam",
        "optimizer_name = 'Adam'",
        "import numpy as np\nm = np.zeros(3)",
        "this is not python (",
    ],
)
def test_code_that_does_not_use_the_module_passes(code):
    assert restrictions.violation(("optim", "nnlab.optim"), [code]) is None


def test_violation_checks_every_given_cell_and_names_the_entry():
    cells = ["x = 1", "y = model.fit"]
    assert restrictions.violation(("optim", "model.fit"), cells) == "model.fit"
    assert restrictions.violation((), cells) is None


@pytest.mark.slow
def test_grading_fails_only_the_answer_that_calls_the_forbidden_library(tmp_path):
    import nbformat

    from tests.support.grading import cells_for, grade_all, variant

    fixture = Path(__file__).resolve().parent / "fixtures" / "autograde" / "source"
    nb = nbformat.read(fixture / "fixture.ipynb", as_version=4)
    test_cell = next(
        c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "sigmoid_test"
    )
    test_cell.source = "# solve without: nnlab.functions, functions\n" + test_cell.source
    source = tmp_path / "fixture.ipynb"
    nbformat.write(nb, source)

    library = "from nnlab import functions\n\ndef sigmoid(z):\n    return functions.sigmoid(z)"
    own = "import numpy as np\n\ndef sigmoid(z):\n    return 0.5 * (1 + np.tanh(np.asarray(z) / 2))"
    variants = {
        "library": variant(source, {"sigmoid": library}),
        "own": variant(source, {"sigmoid": own}),
    }
    results = grade_all(source, variants)
    (library_cell,) = cells_for(results["library"], "sigmoid")
    assert not library_cell.passed
    assert "nnlab.functions" in library_cell.message
    assert all(c.passed for c in cells_for(results["own"], "sigmoid"))
    # The other exercises are untouched by the directive.
    assert results["library"].score == results["own"].score - library_cell.max_points

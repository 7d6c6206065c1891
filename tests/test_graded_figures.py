"""autograder.graded_figures: the key lives in the hidden test; the figure is drawn from it."""

from __future__ import annotations

import shutil

import nbformat
import numpy as np
import pytest

from autograder import course, graded_figures
from autograder.notebooks import grade_id

ASSIGNMENT = "03-optimizers"  # the cheapest figure to draw


@pytest.fixture
def root(tmp_path):
    """A copy of the assignment's solutions folder, to rewrite freely."""
    shutil.copytree(course.SOLUTIONS / ASSIGNMENT, tmp_path / "solutions" / ASSIGNMENT)
    return tmp_path


def cell_source(root, gid: str) -> str:
    path = next((root / "solutions" / ASSIGNMENT).glob("*.ipynb"))
    return next(c.source for c in nbformat.read(path, as_version=4).cells if grade_id(c) == gid)


def test_new_key_rewrites_the_hidden_test_and_the_model_answer_and_draws_it(root):
    figure = graded_figures.FIGURES[ASSIGNMENT]
    old = graded_figures.key_in(ASSIGNMENT, root)
    keys = set()
    for seed in range(3):
        key = graded_figures.write(ASSIGNMENT, new_key=True, rng=np.random.default_rng(seed),
                                   root=root)
        keys.add(tuple(sorted(key.items())))
        assert graded_figures.key_in(ASSIGNMENT, root) == key
        answer = cell_source(root, figure.answer_id)
        assert graded_figures._key_line(answer, figure.answer_name,
                                        ("### BEGIN SOLUTION", "### END SOLUTION"))[1] == key
    assert len(keys) > 1
    image = (root / "solutions" / ASSIGNMENT / figure.file).read_bytes()
    assert image == graded_figures.render(ASSIGNMENT, graded_figures.key_in(ASSIGNMENT, root))
    assert old == graded_figures.key_in(ASSIGNMENT)  # the real course is untouched


def test_the_same_key_gives_the_same_bytes_and_another_key_other_bytes():
    key = graded_figures.key_in(ASSIGNMENT)
    first = graded_figures.render(ASSIGNMENT, key)
    assert first.startswith(b"\x89PNG")
    assert graded_figures.render(ASSIGNMENT, key) == first
    other = dict(zip(key, [key[name] for name in reversed(list(key))], strict=True))
    assert graded_figures.render(ASSIGNMENT, other) != first


def test_a_hidden_test_without_a_literal_key_is_refused(root):
    path = next((root / "solutions" / ASSIGNMENT).glob("*.ipynb"))
    nb = nbformat.read(path, as_version=4)
    figure = graded_figures.FIGURES[ASSIGNMENT]
    for cell in nb.cells:
        if grade_id(cell) == figure.test_id:
            literal = f"{figure.key_name} = {{"
            cell.source = cell.source.replace(literal, f"{figure.key_name} = dict({{")
    nbformat.write(nb, path)
    with pytest.raises((ValueError, SyntaxError)):
        graded_figures.key_in(ASSIGNMENT, root)


def test_command_line_rejects_an_assignment_without_a_graded_figure(capsys):
    with pytest.raises(SystemExit):
        graded_figures.main(["02-backprop"])
    assert "no graded figure" in capsys.readouterr().err

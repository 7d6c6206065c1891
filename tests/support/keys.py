"""Graded keys of figure questions (autograder.graded_figures), for the lecture tests.

A lecture whose figure letters are a graded key uses these to write its answers from the key
instead of spelling the key out, and to check the key cannot be read from the student's copy:

    KEY = graded_figures.key_in(ASSIGNMENT)
    WRONG["curve_match"] = [answer("curve_match", k) for k in wrong_keys(KEY)]
    assert_key_unreadable(ASSIGNMENT, KEY)

answer(name, key) -> str: the answer cell `name = {...}`.
wrong_keys(key) -> [dict]: three keys that differ from `key` by swapping two values.
key_texts(key) -> [str]: ways the whole key could be written down in code (the dict, its
    inverse, the list of its values).
assert_key_unreadable(assignment, key): no file of course/<assignment>/ and no nnlab source
    contains key_texts(key); no code cell of the release shuffles anything; the released
    image is the solutions/ image, and shows `key` (it looks like the figure drawn for `key`,
    not like the figure drawn for a wrong key).
"""

from __future__ import annotations

import io
import re

import nbformat
import numpy as np

from autograder import course, graded_figures
from autograder.notebooks import is_test_cell


def answer(name: str, key: dict) -> str:
    items = ", ".join(f'"{k}": "{v}"' for k, v in key.items())
    return f"{name} = {{{items}}}"


def wrong_keys(key: dict) -> list[dict]:
    names = list(key)
    wrong = []
    for i, j in ((0, 1), (1, 2), (0, len(names) - 1)):
        swapped = dict(key)
        swapped[names[i]], swapped[names[j]] = key[names[j]], key[names[i]]
        wrong.append(swapped)
    return wrong


def key_texts(key: dict) -> list[str]:
    texts = []
    for quote in ('"', "'"):
        for mapping in (key, {v: k for k, v in key.items()}):
            texts.append(", ".join(f"{quote}{k}{quote}: {quote}{v}{quote}"
                                   for k, v in mapping.items()))
        texts.append(", ".join(f"{quote}{v}{quote}" for v in key.values()))
        texts.append(", ".join(f"{quote}curve {v}{quote}" for v in key.values()))
    return texts


def _pixels(png: bytes) -> np.ndarray:
    import matplotlib.image

    return matplotlib.image.imread(io.BytesIO(png), format="png")


def assert_key_unreadable(assignment: str, key: dict) -> None:
    figure = graded_figures.FIGURES[assignment]
    released = course.ROOT / "course" / assignment
    library = sorted((course.ROOT / "lib" / "nnlab").rglob("*.py"))
    texts = key_texts(key)
    for path in [*sorted(released.iterdir()), *library]:
        if path.suffix not in (".ipynb", ".py", ".md"):
            continue
        content = path.read_text(encoding="utf-8")
        found = [text for text in texts if text in content]
        assert not found, f"{path} spells out the graded key: {found}"
    for path in released.glob("*.ipynb"):
        for cell in nbformat.read(path, as_version=4).cells:
            if cell.cell_type == "code" and not is_test_cell(cell):
                assert not re.search(r"\b(permutation|shuffle|permuted)\(", cell.source), (
                    f"{path}: a code cell shuffles something, which may be a readable key")

    image = (released / figure.file).read_bytes()
    assert image == (course.ROOT / "solutions" / assignment / figure.file).read_bytes()
    shown = _pixels(image)
    right = _pixels(graded_figures.render(assignment, key))
    assert shown.shape == right.shape
    distance_right = np.abs(shown - right).mean()
    for wrong in wrong_keys(key):
        distance_wrong = np.abs(shown - _pixels(graded_figures.render(assignment, wrong))).mean()
        assert distance_right < 0.2 * distance_wrong, "the released figure does not show the key"

"""Grading validity of a lecture notebook: its tests accept right answers and reject wrong ones.

Checked through the real sandboxed autograder (tests.support.grading). A lecture test module
states, for every autograded answer cell `a` (its test cells are named a + "_test*"):

    WRONG = {a: [wrong_1, wrong_2, wrong_3, ...]}   # at least three typical wrong answers
    ALTERNATIVE = {a: source}                       # a correct answer written differently

and subclasses GradingValidity, once per module, to get the checks:

    class TestGradingValidity(GradingValidity):
        assignment, wrong, alternative = ASSIGNMENT, WRONG, ALTERNATIVE
        autograded_points = 16

The class grades all variants once (class-scoped fixture `graded`: {name: SubmissionResult});
extra tests of the lecture go in the subclass and may read `graded`, including the variants
named in `extra_variants` ({name: {answer_id: source}}, on the solution).

The checks: WRONG and ALTERNATIVE name exactly the autograded answers, with three or more
wrong answers each; every variant grades with status "ok"; the model solution passes every
autograded test cell, worth `autograded_points` in all; the untouched release scores
nothing; every autograded test cell belongs to an answer in WRONG; each alternative answer
gets full points on its own test cells; each wrong answer loses points on its own test cells.

To keep the run short, variant "wrong<k>" replaces every answer by its k-th wrong answer at
once (an exercise's tests use only that exercise's answer) and "alternatives" holds all the
alternative answers, so a lecture needs one grading run of 3 + max(len(WRONG[a])) notebooks.

A lecture whose exercises are all split into parts of at most 3 points also subclasses
PartialCredit, whose test says so (LECTURES.md: no test cell above 3 points), and sets
`format_only_tests` to the test cells whose visible part checks only the form of the answer:
each must say so (check.format_only) in the student's copy, and only those may.

grade_answer_variants(assignment, wrong, alternative, extra=None) -> {name: SubmissionResult}
    Grades "solution", "release", "alternatives", "wrong0".. and the `extra` variants
    (name -> {answer_id: source} on the solution); asserts every status is "ok".
points(result, answer_id) -> (points, max_points) over the answer's test cells.
autograded_cells(result) -> [CellResult] of the cells graded without a person.
autograded_answer_ids(assignment) -> {answer_id} owning a test cell in the source notebook.
"""

from __future__ import annotations

import re

import pytest

from autograder.engine import CellResult, SubmissionResult
from autograder.notebooks import grade_id, is_test_cell, read_notebook
from tests.support.grading import cells_for, grade_all, source_path, variant

TEST_CELL_SUFFIX = re.compile(r"_test\d*$")


def grade_answer_variants(assignment: str, wrong: dict[str, list[str]],
                          alternative: dict[str, str],
                          extra: dict[str, dict[str, str]] | None = None,
                          ) -> dict[str, SubmissionResult]:
    """Grade the solution, the release, the alternatives and each k-th set of wrong answers."""
    variants = {
        "solution": variant(assignment, {}),
        "release": variant(assignment, {}, base="release"),
        "alternatives": variant(assignment, alternative),
    }
    for name, answers in (extra or {}).items():
        variants[name] = variant(assignment, answers)
    for k in range(max(len(answers) for answers in wrong.values())):
        variants[f"wrong{k}"] = variant(
            assignment, {a: answers[k] for a, answers in wrong.items() if k < len(answers)})
    results = grade_all(assignment, variants, workers=2)
    for name, result in results.items():
        assert result.status == "ok", f"{name}: {result.status}: {result.message}"
    return results


def points(result: SubmissionResult, answer_id: str) -> tuple[float, float]:
    """(points scored, points possible) on the test cells of `answer_id`."""
    cells = cells_for(result, answer_id)
    return sum(c.points for c in cells), sum(c.max_points for c in cells)


def autograded_cells(result: SubmissionResult) -> list[CellResult]:
    return [c for c in result.cells.values() if not c.needs_manual]


def autograded_answer_ids(assignment: str) -> set[str]:
    """Answer ids that own at least one test cell in the source notebook."""
    cells = read_notebook(source_path(assignment)).cells
    return {TEST_CELL_SUFFIX.sub("", grade_id(c)) for c in cells if is_test_cell(c)}


def messages(result: SubmissionResult, answer_id: str) -> list[str]:
    return [c.message for c in cells_for(result, answer_id)]


class GradingValidity:
    """The validity checks of one lecture; subclass as Test... and set the attributes."""

    assignment: str
    wrong: dict[str, list[str]]
    alternative: dict[str, str]
    autograded_points: float
    extra_variants: dict[str, dict[str, str]] = {}

    @pytest.fixture(scope="class")
    @classmethod
    def graded(cls) -> dict[str, SubmissionResult]:
        return grade_answer_variants(cls.assignment, cls.wrong, cls.alternative,
                                     cls.extra_variants)

    def pytest_generate_tests(self, metafunc):
        # Parametrised here because the answers live on the subclass, not on this class.
        if "wrong_index" in metafunc.fixturenames:
            pairs = [(a, k) for a in sorted(self.wrong) for k in range(len(self.wrong[a]))]
            metafunc.parametrize(("answer_id", "wrong_index"), pairs,
                                 ids=[f"{a}-{k}" for a, k in pairs])
        elif "answer_id" in metafunc.fixturenames:
            metafunc.parametrize("answer_id", sorted(self.wrong))

    def test_every_autograded_exercise_has_wrong_and_alternative_answers(self):
        assert set(self.wrong) == autograded_answer_ids(self.assignment)
        assert set(self.alternative) == set(self.wrong)
        assert all(len(answers) >= 3 for answers in self.wrong.values())

    @pytest.mark.slow
    def test_solution_scores_every_autograded_point(self, graded):
        result = graded["solution"]
        cells = autograded_cells(result)
        failed = [(c.grade_id, c.message) for c in cells if not c.passed]
        assert not failed
        total = sum(c.points for c in cells)
        assert total == sum(c.max_points for c in cells) == self.autograded_points
        for answer_id in self.wrong:
            got, full = points(result, answer_id)
            assert got == full, (answer_id, messages(result, answer_id))

    @pytest.mark.slow
    def test_untouched_release_scores_nothing(self, graded):
        result = graded["release"]
        assert sum(c.points for c in autograded_cells(result)) == 0
        assert result.score == 0

    @pytest.mark.slow
    def test_every_autograded_test_cell_is_covered(self, graded):
        test_cells = {c.grade_id for c in autograded_cells(graded["solution"])}
        covered = {gid for gid in test_cells
                   if any(gid.startswith(a + "_test") for a in self.wrong)}
        assert covered == test_cells

    @pytest.mark.slow
    def test_alternative_correct_answer_scores_full_points(self, graded, answer_id):
        got, full = points(graded["alternatives"], answer_id)
        assert got == full, messages(graded["alternatives"], answer_id)

    @pytest.mark.slow
    def test_wrong_answer_loses_points(self, graded, answer_id, wrong_index):
        got, full = points(graded[f"wrong{wrong_index}"], answer_id)
        assert got < full, f"wrong answer {wrong_index} of {answer_id} kept all {full} points"


MAX_TEST_CELL_POINTS = 3


class PartialCredit:
    """No test cell is worth more than 3 points: a larger exercise is graded in parts.
    Visible tests that check only the form of an answer say so."""

    assignment: str
    format_only_tests: frozenset[str] = frozenset()

    def test_visible_tests_that_check_only_the_form_say_so(self):
        from autograder.engine import _release_cells

        source = read_notebook(source_path(self.assignment))
        saying = {grade_id(original) for original, released
                  in zip(source.cells, _release_cells(source), strict=True)
                  if is_test_cell(original) and "check.format_only(" in released.source}
        assert saying == set(self.format_only_tests)

    def test_no_test_cell_is_worth_more_than_3_points(self):
        cells = read_notebook(source_path(self.assignment)).cells
        heavy = {grade_id(c): c.metadata["nbgrader"].get("points") for c in cells
                 if is_test_cell(c)
                 and float(c.metadata["nbgrader"].get("points", 0)) > MAX_TEST_CELL_POINTS}
        assert not heavy, f"split these test cells into parts: {heavy}"


def assert_full_automatic_marks(result: SubmissionResult, autograded_points: float) -> None:
    """Every autograded cell of `result` passed and the automatic points add up."""
    failed = {gid: c.message for gid, c in result.cells.items()
              if not c.needs_manual and not c.passed}
    assert not failed
    assert sum(c.points for c in result.cells.values() if not c.needs_manual) == \
        autograded_points

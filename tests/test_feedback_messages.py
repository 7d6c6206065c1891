"""What a student is told about a failed test: never the hidden source or the hidden key."""

from __future__ import annotations

import pytest
from nnlab import check

from autograder import trusted

SOURCE = """check.number(answer, 3.0, name="answer")
### BEGIN HIDDEN TESTS
check.number(answer, 0.123456, name="answer")
assert answer > 0, "the answer must be positive"
raise KeyError("secret_key_name")
### END HIDDEN TESTS"""


def failure_at(line: int, raise_error):
    """Run `raise_error` as if from `line` of a test cell's code and return the exception."""
    padding = "\n" * (line - 1)
    code = compile(padding + "raise_error()", "<test demo>", "exec")
    try:
        exec(code, {"raise_error": raise_error})
    except BaseException as error:  # noqa: BLE001 - any failure is what we inspect
        return error
    raise AssertionError("nothing was raised")


@pytest.fixture
def test_cell():
    markers = ("### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS")
    return trusted.TestCell("demo", SOURCE, trusted.hidden_line_numbers(SOURCE, markers))


def test_visible_check_failure_shows_the_full_actionable_message(test_cell):
    def fail():
        check.number(2.0, 3.0, name="answer")

    message = trusted.student_message(failure_at(1, fail), test_cell)
    assert "answer" in message and "3" in message


def test_hidden_library_check_does_not_reveal_the_expected_value(test_cell):
    def fail():
        check.number(0.5, 0.123456, name="answer")

    message = trusted.student_message(failure_at(3, fail), test_cell)
    assert message.startswith("hidden test failed")
    assert "0.123" not in message


def test_hidden_plain_assert_shows_the_instructors_message(test_cell):
    code = compile("\n" * 3 + 'assert False, "the answer must be positive"', "<test demo>", "exec")
    try:
        exec(code, {})
    except AssertionError as error:
        message = trusted.student_message(error, test_cell)
    assert message == "hidden test failed: the answer must be positive"


def test_hidden_other_errors_show_only_their_type(test_cell):
    def fail():
        raise KeyError("secret_key_name")

    message = trusted.student_message(failure_at(5, fail), test_cell)
    assert "KeyError" in message and "secret_key_name" not in message

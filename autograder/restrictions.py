"""Exercises that must be solved without the library's reference implementation.

A test cell may carry a directive line, which students see in their copy:

    # solve without: optim, nnlab.optim

Each entry is a Python name or dotted path. Before the test runs, the answer cell it belongs to
(test grade id "<name>_test", "<name>_test2", ... -> answer "<name>") and every cell the
student added are parsed; if any of them imports or refers to a listed entry, the test fails
with a message naming it. This stops the easy route to points without work (calling
`nnlab.optim.Adam` inside an Adam exercise); it is not a security boundary: code written to
evade it is plain to see in formgrader.
"""

from __future__ import annotations

import ast
import re

DIRECTIVE = re.compile(r"^\s*#\s*solve without:\s*(.+?)\s*$", re.MULTILINE)
_TEST_SUFFIX = re.compile(r"_test\d*$")


def forbidden_names(test_source: str) -> tuple[str, ...]:
    """The entries of every `# solve without:` line of a test cell, in order."""
    names: list[str] = []
    for line in DIRECTIVE.findall(test_source):
        names += [entry.strip() for entry in line.split(",") if entry.strip()]
    return tuple(names)


def answer_id(test_id: str) -> str:
    """The grade id of the answer a test cell checks: "adam_step_test2" -> "adam_step"."""
    return _TEST_SUFFIX.sub("", test_id)


def _dotted(node: ast.AST) -> str | None:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        return ".".join([node.id, *reversed(parts)])
    return None


def _with_prefixes(path: str) -> set[str]:
    parts = path.split(".")
    return {".".join(parts[: i + 1]) for i in range(len(parts))}


def _is_magic_call(node: ast.AST) -> bool:
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in ("run_line_magic", "run_cell_magic")
        and bool(node.args)
        and isinstance(node.args[-1], ast.Constant)
        and isinstance(node.args[-1].value, str)
    )


def references(code: str) -> set[str]:
    """Every name and dotted path (with its prefixes) that `code` refers to or imports.

    Unparsable code refers to nothing: it fails on its own when it runs.
    """
    from .trusted import to_python

    try:
        tree = ast.parse(to_python(code))
    except (SyntaxError, ValueError):
        return set()
    found: set[str] = set()
    for node in ast.walk(tree):
        if _is_magic_call(node):
            # `%time x = optim.SGD(...)` becomes run_line_magic('time', '<code>'): look inside.
            found |= references(node.args[-1].value)
        elif isinstance(node, ast.Name):
            found.add(node.id)
        elif isinstance(node, ast.Attribute):
            dotted = _dotted(node)
            if dotted:
                found |= _with_prefixes(dotted)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                found |= _with_prefixes(alias.name)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found |= _with_prefixes(node.module)
            found |= {f"{node.module}.{alias.name}" for alias in node.names}
    return found


def violation(forbidden: tuple[str, ...], student_code: list[str]) -> str | None:
    """The first forbidden entry that `student_code` uses, or None."""
    if not forbidden:
        return None
    used: set[str] = set()
    for code in student_code:
        used |= references(code)
    return next((name for name in forbidden if name in used), None)

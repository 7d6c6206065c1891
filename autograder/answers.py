"""Which cells of a submission hold a student's answer, as the student evidently meant it.

Editing a notebook in JupyterLab leaves answers in shapes the plain "one cell per grade_id"
rule misreads. This module holds the rules engine.assemble applies:

  pieces_of_answer(pieces, stub) -> (graded, elsewhere, dropped)
      `pieces` are the submission's cells carrying one answer's grade_id, as
      (position in the submission, source text), in order. Copies that are still the
      release stub are dropped when the student wrote anything else under that id (a
      copy-pasted cell with the starter code left first). The first remaining copy and
      the copies directly after it (a cell split in two keeps its metadata in both halves)
      form the graded answer, joined in order. Remaining copies further down are `elsewhere`:
      they run where they stand, like any cell the student added there.
  bound_names(code) -> the names a cell binds at top level (def, class, assignment,
      import). A release stub whose names the student's own cells bind is not run
      (an answer cell whose metadata was lost must not be overwritten by the stub).
  is_stub(text, stub) -> whether `text` is the stub up to blank lines and trailing spaces.
"""

from __future__ import annotations

import ast


def _normalised(text: str) -> str:
    return "\n".join(line.rstrip() for line in text.strip().splitlines())


def is_stub(text: str, stub: str) -> bool:
    return _normalised(text) == _normalised(stub)


def pieces_of_answer(pieces: list[tuple[int, str]], stub: str
                     ) -> tuple[list[tuple[int, str]], list[tuple[int, str]], int]:
    """Split an answer's copies into (graded run, copies elsewhere, number of stubs dropped)."""
    written = [piece for piece in pieces if not is_stub(piece[1], stub)]
    kept = written or pieces[:1]
    dropped = {position for position, _ in pieces} - {position for position, _ in kept}
    graded = [kept[0]]
    for piece in kept[1:]:
        between = range(graded[-1][0] + 1, piece[0])
        if any(position not in dropped for position in between):
            break
        graded.append(piece)
    return graded, kept[len(graded):], len(dropped)


def bound_names(code: str) -> set[str]:
    """Names bound at the top level of a cell; unparsable code binds nothing."""
    from .trusted import to_python

    try:
        tree = ast.parse(to_python(code))
    except (SyntaxError, ValueError):
        return set()
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((alias.asname or alias.name).split(".")[0] for alias in node.names)
        elif isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                names.update(n.id for n in ast.walk(target) if isinstance(n, ast.Name))
    return names

"""Random inputs for hidden tests, drawn from a secret only the grader holds.

A hidden test that fixes its inputs with a literal seed gives every student the same inputs,
and a student who records the arguments their function receives learns them for everyone.
Hidden tests therefore draw their inputs from `hidden_rng(name)`:

  hidden_rng(name: str) -> np.random.Generator
      A generator for the part of a hidden test called `name` (a short label, unique within
      the notebook). Inside the grader the stream depends on the grader's secret, which is
      never in the notebook, the release or the student's kernel. Anywhere else (a solution
      notebook run by hand, plain nbgrader) no secret is set and a public fallback secret is
      used: results are reproducible there, but not hidden.
  using_secret(secret: bytes) -> context manager: hidden_rng uses `secret` inside the block,
      in this thread (a context variable, so concurrent gradings do not mix secrets).

The same name under the same secret always gives the same stream, so a test cell that runs
twice checks the same inputs.
"""

from __future__ import annotations

import contextlib
import contextvars
import hashlib

import numpy as np

# Public on purpose: it only makes solution notebooks reproducible outside the grader.
FALLBACK_SECRET = b"nnlab: no grading secret (inputs are not hidden)"

_secret: contextvars.ContextVar[bytes | None] = contextvars.ContextVar(
    "nnlab_grading_secret", default=None
)


def hidden_rng(name: str) -> np.random.Generator:
    """A Generator for hidden test `name`, seeded from the current secret and the name."""
    if not isinstance(name, str) or not name:
        raise ValueError(f"hidden_rng needs a non-empty name (str), got {name!r}")
    secret = _secret.get()
    if secret is None:
        secret = FALLBACK_SECRET
    digest = hashlib.sha256(secret + b"\x00" + name.encode("utf-8")).digest()
    return np.random.default_rng(np.random.SeedSequence(int.from_bytes(digest, "big")))


@contextlib.contextmanager
def using_secret(secret: bytes | None):
    """Within the block, hidden_rng draws from `secret` (None: the public fallback)."""
    if secret is not None and (not isinstance(secret, bytes) or not secret):
        raise ValueError("the grading secret must be non-empty bytes")
    token = _secret.set(secret)
    try:
        yield
    finally:
        _secret.reset(token)

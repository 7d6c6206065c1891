"""The grader's secret, from which hidden tests draw their inputs (nnlab.hidden.hidden_rng).

Contract:
  workspace_secret(workspace: Path) -> bytes
      The environment variable NNLAB_GRADING_SECRET (any text) if it is set; otherwise the
      file workspace/.secret, created on first use with 32 random bytes (hex) and mode 0600.
      The workspace is the grading output folder (`--out`, by default the git-ignored
      grading/), which the sandbox never mounts. A secret file that others can read, or that
      is empty, is refused with an error that says how to fix it.
  submission_secret(secret: bytes, submission: bytes) -> bytes
      The secret one submission is graded with: a hash of the workspace secret and the
      submission's bytes. Every submission gets its own hidden inputs, so inputs recorded by
      one submission say nothing about the next (a resubmission included); regrading the
      same bytes draws the same inputs, so grades are reproducible.

Losing the secret costs nothing but reproducibility: a new one is created, and regraded
submissions get fresh hidden inputs.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import stat
from pathlib import Path

ENV_VARIABLE = "NNLAB_GRADING_SECRET"
FILE_NAME = ".secret"


class SecretProblem(Exception):
    """The grading secret cannot be read or created; the message says what to do."""


def workspace_secret(workspace: Path) -> bytes:
    """The grading secret of `workspace` (see the module docstring)."""
    from_env = os.environ.get(ENV_VARIABLE)
    if from_env is not None:
        if not from_env.strip():
            raise SecretProblem(f"{ENV_VARIABLE} is set but empty")
        return from_env.strip().encode("utf-8")
    path = Path(workspace) / FILE_NAME
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            # O_EXCL: two graders starting at once must not overwrite each other's secret.
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_hex(32) + "\n")
    mode = path.stat().st_mode
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise SecretProblem(
            f"{path} can be read by other users (mode {stat.filemode(mode)}); "
            f"run: chmod 600 {path}"
        )
    value = path.read_text(encoding="utf-8").strip()
    if not value:
        raise SecretProblem(f"{path} is empty; delete it and a new secret is created")
    return value.encode("utf-8")


def submission_secret(secret: bytes, submission: bytes) -> bytes:
    """The secret to grade one submission with (see the module docstring)."""
    content = hashlib.sha256(submission).digest()
    return hashlib.sha256(b"nnlab submission\x00" + secret + b"\x00" + content).digest()

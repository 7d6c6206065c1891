"""Worker functions for the tests of dying grading processes (importable by spawned workers,
with as few imports as possible so that a fresh worker starts quickly).

fake_record(task) -> dict   an 'ok' record for the task, after SIGKILLing its own process
                            when the student is "doomed"
grade_or_die(task) -> dict  pipeline.grade_task(task), with the same exception
"""

from __future__ import annotations

import os
import signal

DOOMED = "doomed"


def _die_if_doomed(task) -> None:
    if task.student == DOOMED:
        os.kill(os.getpid(), signal.SIGKILL)


def fake_record(task) -> dict:
    _die_if_doomed(task)
    return {**task.key, "status": "ok", "message": "", "score": 1.0, "max_score": 1.0,
            "cells": {}, "duration": 0.0, "note": "", "infra": False}


def grade_or_die(task) -> dict:
    from autograder.pipeline import grade_task

    _die_if_doomed(task)
    return grade_task(task)

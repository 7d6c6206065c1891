"""Command line: `python -m autograder {release,import,grade} ...` (see README.md)."""

from .cli import main

raise SystemExit(main())

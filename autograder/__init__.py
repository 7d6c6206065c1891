"""The course's grading tools: release (solutions/ -> course/) and the sandboxed autograder."""

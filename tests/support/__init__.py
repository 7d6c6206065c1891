"""Helpers shared by test modules (grading through the real autograder path)."""

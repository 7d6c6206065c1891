"""nnlab: the small numerical library the course notebooks import."""

__version__ = "0.1.0"

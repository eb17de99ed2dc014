"""The grader's own exceptions. Only ``cli.py`` turns them into messages and exit codes."""

from __future__ import annotations


class GraderError(Exception):
    """Base class: an error the grader can explain to its user."""


class RubricError(GraderError):
    """A rubric file is missing, unreadable or invalid."""


class SubmissionError(GraderError):
    """A submission cannot be read or understood."""


class SandboxError(GraderError):
    """The isolated child process could not be set up."""


class DatasetError(GraderError):
    """A dataset folder given by the user has an unusable layout."""


class ConfigError(GraderError):
    """The ``[tool.grader]`` table of a ``pyproject.toml`` is unreadable or names an unknown option."""


class UnfinishedRunError(GraderError):
    """A solution's run stopped before its end (a limit, the environment, an error): what it would
    show of the lab is unknown, so nothing is derived from it."""

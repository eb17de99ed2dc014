"""The data that flows through the pipeline: frozen dataclasses, each with ``to_dict()``.

discover -> ``Submission``; run -> ``RunResult``; check -> ``CheckResult``; answers ->
``AnswerScore``; score -> ``Grade``. Reporters read these and nothing else.
"""

from __future__ import annotations

import traceback
from dataclasses import asdict, dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any


class RunStatus(str, Enum):
    """How the child process ended. ``internal_error`` is the grader's fault, never the student's."""

    COMPLETED = "completed"
    ERROR = "error"
    TIMEOUT = "timeout"
    LIMIT = "limit"
    INTERNAL_ERROR = "internal_error"


class CheckStatus(str, Enum):
    PASS = "pass"
    FAIL = "fail"
    ERROR = "error"  # the check could not decide
    SKIP = "skip"  # a check it depends on failed


class GradeStatus(str, Enum):
    GRADED = "graded"
    ERROR = "error"
    TIMEOUT = "timeout"
    LIMIT = "limit"
    INTERNAL_ERROR = "internal_error"


def _plain(value: Any) -> Any:
    """Convert enums, paths and tuples into JSON-ready values, recursively."""
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


@dataclass(frozen=True)
class Submission:
    """One student's work: an id, the code file, an optional answers document, the folder.

    ``own_folder`` is False when the folder is shared with other students (flat files, an LMS
    download): then only this student's files are copied for the run.
    """

    id: str
    code: Path | None
    folder: Path
    answers: Path | None = None
    extra_files: tuple[Path, ...] = ()
    own_folder: bool = True

    def to_dict(self) -> dict[str, Any]:
        return _plain(asdict(self))


@dataclass(frozen=True)
class Location:
    """A place in the student's code: the file as they wrote it (notebook cell when there is one)."""

    file: str
    line: int
    cell: int | None = None

    def __str__(self) -> str:
        where = f"{self.file}, cell {self.cell}" if self.cell is not None else self.file
        return f"{where}, line {self.line}"

    def to_dict(self) -> dict[str, Any]:
        return _plain(asdict(self))


@dataclass(frozen=True)
class Integrity:
    """Whether the run's record agrees with the models it saved, as a trusted process read them.

    ``status``: ``confirmed`` (they agree), ``corrected`` (they did not; the saved models' word
    was taken), ``tampered`` (a saved model was swapped after the grader saved it),
    ``unverified`` (nothing could be compared) or ``not checked`` (models were not saved).
    """

    status: str = "not checked"
    notes: tuple[str, ...] = ()
    models: int = 0  # saved models compared

    def to_dict(self) -> dict[str, Any]:
        return _plain(asdict(self))


@dataclass(frozen=True)
class RunResult:
    """What the isolated run of a submission produced; the trace is parsed JSON events."""

    status: RunStatus
    reason: str
    returncode: int | None
    duration: float
    stdout_tail: str
    stderr_tail: str
    trace: tuple[dict[str, Any], ...]
    artifacts: tuple[str, ...] = ()
    isolation: str = "process"
    accommodations: tuple[str, ...] = ()
    trace_truncated: bool = False
    forged_lines: int = 0  # trace lines not signed by the harness: the run tampered with its record
    integrity: Integrity = Integrity()

    def events(self, kind: str) -> list[dict[str, Any]]:
        """Return the trace's events of one kind, in order."""
        return [event for event in self.trace if event.get("kind") == kind]

    def to_dict(self) -> dict[str, Any]:
        return _plain(asdict(self))


@dataclass(frozen=True)
class CheckResult:
    """One check's verdict on one submission."""

    id: str
    status: CheckStatus
    points: float
    max_points: float
    message: str
    hint: str = ""
    evidence: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return _plain(asdict(self))


@dataclass(frozen=True)
class AnswerScore:
    """One answer-sheet item scored against its rubric question."""

    id: str
    points: float
    max_points: float
    status: str
    found: tuple[dict[str, str], ...] = ()
    missing: tuple[str, ...] = ()
    confidence: float = 0.0
    needs_review: bool = False
    reason: str = ""

    def to_dict(self) -> dict[str, Any]:
        return _plain(asdict(self))


@dataclass(frozen=True)
class Grade:
    """A submission's result: status, score, and every check and answer."""

    id: str
    status: GradeStatus
    reason: str
    score: float
    max_score: float
    checks: tuple[CheckResult, ...] = ()
    answers: tuple[AnswerScore, ...] = ()
    environment: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_error(cls, submission_id: str, error: BaseException, max_score: float) -> Grade:
        """A grade for a submission the grader itself failed on: traceback kept, no points."""
        text = "".join(traceback.format_exception(type(error), error, error.__traceback__))
        return cls(submission_id, GradeStatus.INTERNAL_ERROR, text[-4000:], 0.0, max_score)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id, "status": _plain(self.status), "reason": self.reason,
            "score": self.score, "max_score": self.max_score,
            "checks": [check.to_dict() for check in self.checks],
            "answers": [answer.to_dict() for answer in self.answers],
            **({"integrity": self.environment["integrity"]} if "integrity" in self.environment else {}),
        }

    def integrity_warning(self) -> str:
        """A sentence when the run's record disagreed with its saved models (or they were swapped)."""
        integrity = self.environment.get("integrity") or {}
        notes = "; ".join(integrity.get("notes", [])[:3])
        if integrity.get("status") == "corrected":
            return f"the run's record disagreed with the models it saved; judged from the saved models ({notes})"
        if integrity.get("status") == "tampered":
            return f"a saved model was altered after the grader saved it ({notes})"
        return ""

    @classmethod
    def from_dict(cls, data: dict[str, Any], environment: dict[str, Any] | None = None) -> Grade:
        """Rebuild a grade saved with ``to_dict`` (results of an earlier, interrupted run)."""
        checks = tuple(CheckResult(c["id"], CheckStatus(c["status"]), c["points"], c["max_points"], c["message"],
                                   c.get("hint", ""), c.get("evidence", {})) for c in data.get("checks", []))
        answers = tuple(AnswerScore(a["id"], a["points"], a["max_points"], a["status"], tuple(a.get("found", [])),
                                    tuple(a.get("missing", [])), a.get("confidence", 0.0), a.get("needs_review", False),
                                    a.get("reason", "")) for a in data.get("answers", []))
        return cls(data["id"], GradeStatus(data["status"]), data.get("reason", ""), data["score"], data["max_score"],
                   checks, answers, environment or {})

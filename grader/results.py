"""The data that flows through the pipeline: frozen dataclasses, each with ``to_dict()``.

discover -> ``Submission``; run -> ``RunResult``; check -> ``CheckResult``; answers ->
``AnswerScore``; score -> ``Grade``. Reporters read these and nothing else.
"""

from __future__ import annotations

import traceback
from dataclasses import asdict, dataclass, field
from enum import Enum
from pathlib import Path
from collections.abc import Sequence
from typing import Any

from grader.shared.jsonable import jsonable
from grader.shared.renamed import current_id


class RunStatus(str, Enum):
    """How the child process ended. ``internal_error`` is the grader's fault, never the student's."""

    COMPLETED = "completed"
    ERROR = "error"
    TIMEOUT = "timeout"
    LIMIT = "limit"
    INTERNAL_ERROR = "internal_error"


class CheckStatus(str, Enum):
    PASS = "pass"
    PARTIAL = "partial"  # passed at reduced credit (judged from the source, or a rubric's lower credit)
    FAIL = "fail"
    ERROR = "error"  # the check could not decide
    SKIP = "skip"  # a check it depends on failed


class IntegrityStatus(str, Enum):
    """Whether a run's record agrees with the models it saved, as a trusted process read them."""

    CONFIRMED = "confirmed"  # they agree
    CORRECTED = "corrected"  # they did not; the saved models' word was taken
    TAMPERED = "tampered"  # a saved model was swapped after the grader saved it
    UNVERIFIED = "unverified"  # nothing could be compared
    NOT_CHECKED = "not checked"  # models were not saved


class AnswerStatus(str, Enum):
    """What was found for an answer-sheet item."""

    ANSWERED = "answered"  # a written answer, scored
    LINKED = "linked"  # a code excerpt, judged by its linked code checks
    MISSING = "missing"  # nothing found for this item


class GradeStatus(str, Enum):
    GRADED = "graded"
    ERROR = "error"
    TIMEOUT = "timeout"
    LIMIT = "limit"
    INTERNAL_ERROR = "internal_error"


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
    lms: tuple[tuple[str, str], ...] = ()  # what an LMS download says of the student: name, user id, late

    def to_dict(self) -> dict[str, Any]:
        return jsonable(asdict(self))


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
        return jsonable(asdict(self))

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> Location | None:
        return cls(data["file"], data["line"], data.get("cell")) if data else None


@dataclass(frozen=True)
class Integrity:
    """Whether the run's record agrees with the models it saved (see ``IntegrityStatus``), with notes."""

    status: IntegrityStatus = IntegrityStatus.NOT_CHECKED
    notes: tuple[str, ...] = ()
    models: int = 0  # saved models compared

    def to_dict(self) -> dict[str, Any]:
        return jsonable(asdict(self))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Integrity:
        return cls(IntegrityStatus(data.get("status", IntegrityStatus.NOT_CHECKED)), tuple(data.get("notes", ())),
                   data.get("models", 0))


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
    missing_module: str = ""  # the module, in full, whose absence stopped the run
    missing_package: str = ""  # the package to install for it; "" when the fix is in the code
    peak_memory: int = 0  # bytes, resident and swapped, the most the run's processes used at once (0: not measured)

    def events(self, kind: str) -> list[dict[str, Any]]:
        """Return the trace's events of one kind, in order."""
        return [event for event in self.trace if event.get("kind") == kind]

    def to_dict(self) -> dict[str, Any]:
        return jsonable(asdict(self))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunResult:
        """Rebuild a result saved with ``to_dict`` (recorded evidence); raises ``KeyError`` or
        ``ValueError`` if it is not one."""
        return cls(RunStatus(data["status"]), data["reason"], data["returncode"], data["duration"],
                   data["stdout_tail"], data["stderr_tail"], tuple(data["trace"]), tuple(data.get("artifacts", ())),
                   data.get("isolation", "process"), tuple(data.get("accommodations", ())),
                   data.get("trace_truncated", False), data.get("forged_lines", 0),
                   Integrity.from_dict(data.get("integrity", {})), data.get("missing_module", ""),
                   # saved before the two were told apart, the module named was the package
                   data.get("missing_package", data.get("missing_module", "")), data.get("peak_memory", 0))


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
    location: Location | None = None  # where in the student's code, when the check can tell
    override: dict[str, Any] | None = None  # a person's decision: points, automatic, comment, who, when, stale

    def to_dict(self) -> dict[str, Any]:
        return jsonable(asdict(self))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CheckResult:
        """Rebuild a saved result; a pass saved with partial points (before ``partial`` existed) is partial."""
        status = CheckStatus(data["status"])
        automatic = (data.get("override") or {}).get("automatic", data["points"])
        if status is CheckStatus.PASS and 0 <= automatic < data["max_points"]:
            status = CheckStatus.PARTIAL
        return cls(current_id(data["id"]), status, data["points"], data["max_points"], data["message"],
                   data.get("hint", ""), data.get("evidence", {}), Location.from_dict(data.get("location")),
                   data.get("override"))


@dataclass(frozen=True)
class AnswerScore:
    """One answer-sheet item scored against its rubric question."""

    id: str
    points: float
    max_points: float
    status: AnswerStatus
    found: tuple[dict[str, str], ...] = ()
    missing: tuple[str, ...] = ()
    confidence: float = 0.0
    needs_review: bool = False
    reason: str = ""
    excerpt: str = ""  # the start of the answer, kept when a person should read it
    override: dict[str, Any] | None = None  # a person's decision, as on ``CheckResult``
    text: str = ""  # the whole answer as read from the document: what a reviewer reads
    expected_error: float = 0.0  # how far the automatic points are likely off, as a share of full marks
    doubt: str = ""  # why, in words: the signals that weigh most in ``expected_error``

    def to_dict(self) -> dict[str, Any]:
        return jsonable(asdict(self))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AnswerScore:
        return cls(data["id"], data["points"], data["max_points"], AnswerStatus(data["status"]),
                   tuple(data.get("found", [])), tuple(data.get("missing", [])), data.get("confidence", 0.0),
                   data.get("needs_review", False), data.get("reason", ""), data.get("excerpt", ""),
                   data.get("override"), data.get("text", ""), data.get("expected_error", 0.0), data.get("doubt", ""))


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
            "id": self.id, "status": jsonable(self.status), "reason": self.reason,
            "score": self.score, "max_score": self.max_score,
            "checks": [check.to_dict() for check in self.checks],
            "answers": [answer.to_dict() for answer in self.answers],
            **({"integrity": self.environment["integrity"]} if "integrity" in self.environment else {}),
            **({"files": self.environment["files"]} if "files" in self.environment else {}),
            **({"lms": self.environment["lms"]} if "lms" in self.environment else {}),
        }

    def files_note(self) -> str:
        """``Graded lab6_final.py; not graded: a_old_attempt.py`` when the submission held several
        code files, else ""."""
        files = self.environment.get("files") or {}
        if not files:
            return ""
        return f"Graded {files['graded']}; not graded: {', '.join(files['not_graded'])}"

    def stopped_at_import(self) -> tuple[str, str]:
        """``(module, package)`` when the run stopped at an import: the module in full and the
        package to install ("" when the fix is in the code); ``("", "")`` otherwise. A grade saved
        before the two were told apart named the package as its module."""
        module = str(self.environment.get("missing_module") or "")
        if not module:
            return "", ""
        return module, str(self.environment.get("missing_package", module) or "")

    def integrity_warning(self) -> str:
        """A sentence when the run's record disagreed with its saved models (or they were swapped)."""
        integrity = self.environment.get("integrity") or {}
        notes = "; ".join(integrity.get("notes", [])[:3])
        if integrity.get("status") == IntegrityStatus.CORRECTED:
            return f"the run's record disagreed with the models it saved; judged from the saved models ({notes})"
        if integrity.get("status") == IntegrityStatus.TAMPERED:
            return f"a saved model was altered after the grader saved it ({notes})"
        return ""

    @classmethod
    def from_dict(cls, data: dict[str, Any], environment: dict[str, Any] | None = None) -> Grade:
        """Rebuild a grade saved with ``to_dict`` (results of an earlier, interrupted run)."""
        checks = tuple(CheckResult.from_dict(check) for check in data.get("checks", []))
        answers = tuple(AnswerScore.from_dict(answer) for answer in data.get("answers", []))
        return cls(data["id"], GradeStatus(data["status"]), data.get("reason", ""), data["score"], data["max_score"],
                   checks, answers, environment or {})


@dataclass(frozen=True)
class ImportStops:
    """A class's runs stopped at an import: by the package to install, and by the module whose
    fix is in the code (a module an installed package lost, or one nothing replaces)."""

    by_package: dict[str, tuple[str, ...]]  # package -> submission ids
    in_code: dict[str, tuple[str, ...]]  # module -> submission ids

    @classmethod
    def of(cls, grades: Sequence[Grade]) -> ImportStops:
        """Group ``grades`` by what stopped them at an import (most common first)."""
        packages: dict[str, list[str]] = {}
        modules: dict[str, list[str]] = {}
        for grade in grades:
            module, package = grade.stopped_at_import()
            if package:
                packages.setdefault(package, []).append(grade.id)
            elif module:
                modules.setdefault(module, []).append(grade.id)

        def ordered(groups: dict[str, list[str]]) -> dict[str, tuple[str, ...]]:
            return {key: tuple(ids) for key, ids in sorted(groups.items(), key=lambda item: -len(item[1]))}

        return cls(ordered(packages), ordered(modules))

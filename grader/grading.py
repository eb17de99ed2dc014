"""Grade one submission: a self-contained function of (submission, rubric, settings) -> ``Grade``.

This is the unit a batch hands to an executor (a local process pool now; a distributed engine
later). It never raises for a bad submission, and turns a grader failure into an
``internal_error`` grade with its traceback.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from grader.errors import SubmissionError
from grader.evidence import Evidence
from grader.intake import Program, read_program
from grader.results import Grade, GradeStatus, RunResult, RunStatus, Submission
from grader.rubric import Rubric
from grader.runner import RunSettings, run_submission
from grader.scoring import score_checks
from grader.static import StaticEvidence, scan

_GRADE_STATUS = {RunStatus.COMPLETED: GradeStatus.GRADED, RunStatus.ERROR: GradeStatus.ERROR,
                 RunStatus.TIMEOUT: GradeStatus.TIMEOUT, RunStatus.LIMIT: GradeStatus.LIMIT,
                 RunStatus.INTERNAL_ERROR: GradeStatus.INTERNAL_ERROR}


def grade_submission(submission: Submission, rubric: Rubric, settings: RunSettings, keep: Path | None = None) -> Grade:
    """Run, inspect and score ``submission`` against ``rubric``; never raises."""
    try:
        return _grade(submission, rubric, settings, keep)
    except Exception as error:  # noqa: BLE001 - a grader bug becomes this submission's internal_error
        return Grade.from_error(submission.id, error, rubric.max_score)


def _grade(submission: Submission, rubric: Rubric, settings: RunSettings, keep: Path | None) -> Grade:
    if submission.code is None:
        run = RunResult(RunStatus.ERROR, "no code file (.py or .ipynb) found in the submission", None, 0.0, "", "", ())
        program, static = None, StaticEvidence((), parsed=False)
    else:
        run = run_submission(submission.code, _with_rubric_budget(settings, rubric), keep)
        program, static = _static(submission.code)
    evidence = Evidence(run, static, program, submission.code.name if submission.code else "")
    checks = score_checks(evidence, rubric)
    score = round(sum(check.points for check in checks), 4)
    return Grade(submission.id, _GRADE_STATUS[run.status], run.reason, score, rubric.max_score, checks, (),
                 environment(run, settings))


def _with_rubric_budget(settings: RunSettings, rubric: Rubric) -> RunSettings:
    from dataclasses import replace

    return replace(settings, budget=rubric.budget) if settings.budget == type(settings.budget)() else settings


def _static(code: Path) -> tuple[Program | None, StaticEvidence]:
    try:
        program = read_program(code)
    except SubmissionError:
        return None, StaticEvidence((), parsed=False)
    return program, scan(program)


def environment(run: RunResult, settings: RunSettings) -> dict[str, Any]:
    """What the run used: weights (imagenet or stand-in), data (synthetic or a path), isolation."""
    kinds = {event.get("weights", {}).get("kind") for event in run.events("application")}
    weights = "stand-in" if "stand-in" in kinds else ("imagenet" if "imagenet" in kinds else "none used")
    return {"weights": weights, "data": str(settings.data) if settings.data else "synthetic",
            "isolation": run.isolation, "accommodations": list(run.accommodations)}

"""Grade one submission: a self-contained function of (submission, rubric, settings) -> ``Grade``.

This is the unit a batch hands to an executor (a local thread pool whose work happens in child
processes; a distributed engine later). It never raises for a bad submission, and turns a grader failure into an
``internal_error`` grade with its traceback.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from grader.answers.sheet import score_sheet
from grader.discover import CODE_SUFFIXES
from grader.errors import SubmissionError
from grader.evidence import Evidence, evidence_of
from grader.intake import read_program
from grader.results import Grade, GradeStatus, RunResult, RunStatus, Submission
from grader.rubric import Rubric
from grader.run.runner import not_run, run_program
from grader.run.settings import RunSettings
from grader.scoring import score_checks
from grader.static import StaticEvidence, scan

_GRADE_STATUS = {RunStatus.COMPLETED: GradeStatus.GRADED, RunStatus.ERROR: GradeStatus.ERROR,
                 RunStatus.TIMEOUT: GradeStatus.TIMEOUT, RunStatus.LIMIT: GradeStatus.LIMIT,
                 RunStatus.INTERNAL_ERROR: GradeStatus.INTERNAL_ERROR}


def grade_submission(submission: Submission, rubric: Rubric, settings: RunSettings, keep: Path | None = None) -> Grade:
    """Run, inspect and score ``submission`` against ``rubric``; never raises.

    ``settings.budget`` is used as given (callers take it from the rubric's ``[run]`` table).
    """
    return grade_and_record(submission, rubric, settings, keep)[0]


def grade_and_record(submission: Submission, rubric: Rubric, settings: RunSettings,
                     keep: Path | None = None) -> tuple[Grade, dict[str, Any] | None]:
    """``grade_submission``, also returning the run's record (what ``rescore`` needs), or None when
    the grader itself failed. Never raises: a grader failure is an ``internal_error`` grade."""
    try:
        evidence = collect_evidence(submission, settings, keep)
        return grade_evidence(submission.id, evidence, rubric, settings, submission), evidence.run.to_dict()
    except Exception as error:  # noqa: BLE001 - a grader bug becomes this submission's internal_error
        return Grade.from_error(submission.id, error, rubric.max_score), None


def rescore(submission: Submission, run: RunResult, rubric: Rubric, settings: RunSettings) -> Grade:
    """Score a recorded run of ``submission`` again (after a rubric change): nothing runs; the
    static facts and the answers are read again from the submission's files. Never raises."""
    try:
        if submission.code is None:
            evidence = Evidence(run, StaticEvidence((), parsed=False), None, "")
        else:
            evidence = evidence_of(run, submission.code)
        return grade_evidence(submission.id, evidence, rubric, settings, submission)
    except Exception as error:  # noqa: BLE001 - a grader bug becomes this submission's internal_error
        return Grade.from_error(submission.id, error, rubric.max_score)


def collect_evidence(submission: Submission, settings: RunSettings, keep: Path | None = None) -> Evidence:
    """Run the submission's code in the sandbox and read its source: everything checks judge."""
    if submission.code is None:
        run = not_run(RunStatus.ERROR, "no code file (.py or .ipynb) found in the submission")
        return Evidence(run, StaticEvidence((), parsed=False), None, "")
    try:
        program = read_program(submission.code)
    except SubmissionError as error:
        return Evidence(not_run(RunStatus.ERROR, str(error)), StaticEvidence((), parsed=False), None,
                        submission.code.name)
    files = None if submission.own_folder else (submission.code, *submission.extra_files)
    return Evidence(run_program(program, settings, keep, files), scan(program), program, submission.code.name)


def grade_evidence(submission_id: str, evidence: Evidence, rubric: Rubric, settings: RunSettings,
                   submission: Submission | None = None) -> Grade:
    """Score the code evidence (and, given the submission, its answer sheet) against ``rubric``."""
    checks = score_checks(evidence, rubric)
    answers = score_sheet(rubric, submission, checks) if submission is not None else ()
    score = round(sum(check.points for check in checks) + sum(answer.points for answer in answers), 4)
    return Grade(submission_id, _GRADE_STATUS[evidence.run.status], evidence.run.reason, score, rubric.max_score,
                 checks, answers, environment(evidence.run, settings) | _files(submission)
                 | ({"lms": dict(submission.lms)} if submission is not None and submission.lms else {}))


def _files(submission: Submission | None) -> dict[str, Any]:
    """Which code file was graded, when the submission holds others that were not."""
    others = [path for path in (submission.extra_files if submission else ()) if path.suffix.lower() in CODE_SUFFIXES]
    if submission is None or submission.code is None or not others:
        return {}
    return {"files": {"graded": submission.code.name, "not_graded": [path.name for path in others]}}


def environment(run: RunResult, settings: RunSettings) -> dict[str, Any]:
    """What the run used: weights (imagenet or stand-in), data (synthetic or a path), isolation."""
    kinds = {event.get("weights", {}).get("kind") for event in run.events("application")}
    weights = "stand-in" if "stand-in" in kinds else ("imagenet" if "imagenet" in kinds else "none")
    return {"weights": weights, "data": str(settings.data) if settings.data else "synthetic",
            "isolation": run.isolation, "accommodations": list(run.accommodations),
            "integrity": run.integrity.to_dict(),
            **({"missing_module": run.missing_module, "missing_package": run.missing_package}
               if run.missing_module else {})}

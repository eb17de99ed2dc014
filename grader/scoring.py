"""Run the rubric's checks on a submission's evidence and weigh them into ``CheckResult``s.

A check that depends on another which did not pass is skipped (naming it); a check that raises
is an ``error`` result saying the grader failed, never a crash of the batch.
"""

from __future__ import annotations

import traceback

from grader.checks import REGISTRY
from grader.checks.registry import Verdict, failed, undecided
from grader.evidence import Evidence
from grader.lab import Lab
from grader.results import CheckResult, CheckStatus
from grader.rubric import CheckSpec, Rubric


def score_checks(evidence: Evidence, rubric: Rubric) -> tuple[CheckResult, ...]:
    """Return one result per check of ``rubric``, in the rubric's order.

    A run whose record was tampered with earns nothing: every check fails, saying why.
    """
    syntax = _syntax_error(evidence)
    if syntax is not None:  # Python reads nothing of a file that does not parse: one finding, not 23
        skipped = Verdict(CheckStatus.SKIP, "skipped: the script does not parse, so nothing else could be checked")
        return tuple(_weigh(spec, syntax if spec.id == "script.runs" else skipped) for spec in rubric.checks)
    tampering = evidence.tampering()
    if tampering:
        verdict = failed(f"not graded: the run tampered with the grader's record ({tampering})",
                         "Hand in the lab itself; code that forges or patches the grader's record is not graded.")
        return tuple(_weigh(spec, verdict) for spec in rubric.checks)
    verdicts: dict[str, Verdict] = {}
    specs = {spec.id: spec for spec in rubric.checks}

    def decide(check_id: str) -> Verdict:
        if check_id not in verdicts:
            definition = REGISTRY[check_id]
            blocking = [dep for dep in definition.depends_on if decide(dep).status is not CheckStatus.PASS]
            if blocking:
                verdicts[check_id] = Verdict(CheckStatus.SKIP, f"skipped: depends on {', '.join(blocking)}, which did not pass")
            else:
                spec = specs.get(check_id)  # a check run only as another's dependency takes the lab's defaults
                params = spec.params if spec else definition.defaults(rubric.lab)
                verdicts[check_id] = _run_check(definition.function, evidence, params, rubric.lab)
        return verdicts[check_id]

    return tuple(_weigh(spec, decide(spec.id)) for spec in rubric.checks)


def _syntax_error(evidence: Evidence) -> Verdict | None:
    """The failure of a script that does not parse (its SyntaxError, where it is), or None."""
    if evidence.static.parsed or not any(event.get("type") == "SyntaxError" for event in evidence.events("exception")):
        return None
    return failed(f"the script does not parse: {evidence.run.reason}",
                  "Fix this syntax error first: Python runs nothing of a file that does not parse.",
                  location=evidence.location(evidence.events("exception")[0]))


def _run_check(function, evidence: Evidence, params, lab: Lab) -> Verdict:  # noqa: ANN001 - a registered check
    try:
        return function(evidence, params, lab)
    except Exception as error:  # noqa: BLE001 - a grader bug must not stop the batch
        where = traceback.extract_tb(error.__traceback__)[-1]
        return undecided(f"the grader could not decide this check ({type(error).__name__}: {error} "
                         f"at {where.filename.rsplit('/', 1)[-1]}:{where.lineno}); this is a grader bug, "
                         "not a mistake of yours")


def _weigh(spec: CheckSpec, verdict: Verdict) -> CheckResult:
    """The verdict in points; a pass earning less than the check's points is ``partial``, so that
    no report calls partial credit a pass (dependencies still follow the verdict: see ``decide``)."""
    points = round(spec.points * verdict.credit, 4) if verdict.status is CheckStatus.PASS else 0.0
    status = verdict.status
    if status is CheckStatus.PASS and points < spec.points:
        status = CheckStatus.PARTIAL
    return CheckResult(spec.id, status, points, spec.points, verdict.message, verdict.hint,
                       dict(verdict.evidence), verdict.location)

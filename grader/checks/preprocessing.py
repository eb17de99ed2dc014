"""Check on preprocessing: the tensors entering the base span the range its family's weights expect
([-1, 1] for MobileNetV2; ``grader.families`` for the others)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from grader.checks.registry import Verdict, failed, passed, register, undecided
from grader.diagnosis import input_range_cause
from grader.evidence import Evidence
from grader.lab import Lab
from grader.families import convention_of, spans_expected


def base_input_statistics(evidence: Evidence) -> dict[str, float] | None:
    """Statistics of the base's inputs in the first phase that recorded any."""
    for phase in evidence.phases():
        for statistics in ((phase.end or {}).get("input_statistics") or {}).values():
            if statistics:
                return statistics
    return None


@register("input.range", "the tensors entering the base span the range its weights expect ([-1, 1] for MobileNetV2)",
          params={"tolerance": 0.1})
def input_range(evidence: Evidence, params: Mapping[str, Any], lab: Lab) -> Verdict:
    statistics = base_input_statistics(evidence)
    if statistics is None:
        return undecided("no training batch reached the base, so its inputs could not be measured"
                         + evidence.crash_note())
    low, high = statistics["min"], statistics["max"]
    base, convention = convention_of((evidence.application() or {}).get("architecture"))
    shown = {key: round(value, 4) for key, value in statistics.items()}
    if spans_expected(low, high, convention, params["tolerance"]):
        return passed(f"inputs to the base span [{low:.2f}, {high:.2f}], as {base} expects", statistics=shown)
    cause = input_range_cause(statistics, evidence, base, convention, params["tolerance"])
    if cause is not None:
        return failed(cause.explanation, cause.fix, statistics=shown, cause=cause.id)
    return failed(f"inputs to the base span [{low:.2f}, {high:.2f}], not {convention.expects} as {base} expects",
                  convention.hint, statistics=shown,
                  expected=convention.name)

"""Check on preprocessing: the tensors entering the base span about [-1, 1]."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from grader.checks.registry import Verdict, failed, passed, register, undecided
from grader.diagnosis import input_range_cause
from grader.evidence import Evidence


def base_input_statistics(evidence: Evidence) -> dict[str, float] | None:
    """Statistics of the base's inputs in the first phase that recorded any."""
    for phase in evidence.phases():
        for statistics in ((phase.end or {}).get("input_statistics") or {}).values():
            if statistics:
                return statistics
    return None


@register("input.range", "the tensors entering the base span about [-1, 1]", params={"tolerance": 0.1})
def input_range(evidence: Evidence, params: Mapping[str, Any]) -> Verdict:
    statistics = base_input_statistics(evidence)
    if statistics is None:
        return undecided("no training batch reached the base, so its inputs could not be measured"
                         + evidence.crash_note())
    low, high = statistics["min"], statistics["max"]
    slack = params["tolerance"]
    shown = {key: round(value, 4) for key, value in statistics.items()}
    if low >= -1 - slack and high <= 1 + slack and high - low >= 2 * (1 - slack) - 0.5:
        return passed(f"inputs to the base span [{low:.2f}, {high:.2f}], as MobileNetV2 expects", statistics=shown)
    cause = input_range_cause(statistics, evidence)
    if cause is not None:
        return failed(cause.explanation, cause.fix, statistics=shown, cause=cause.id)
    return failed(f"inputs to the base span [{low:.2f}, {high:.2f}], not about [-1, 1]",
                  "Apply mobilenet_v2.preprocess_input to 0..255 images before the base.", statistics=shown)

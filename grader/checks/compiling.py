"""Checks on ``compile``: the loss matches the output, and accuracy is tracked."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from grader.checks.registry import Verdict, failed, passed, register, undecided
from grader.diagnosis import loss_output_causes
from grader.evidence import Evidence, Phase

_BINARY_LOSSES = {"binarycrossentropy", "binary_crossentropy", "bce"}
_ACCURACY = {"accuracy", "acc", "binary_accuracy", "binaryaccuracy"}


def _first_compiled_phase(evidence: Evidence) -> Phase | None:
    phases = evidence.phases()
    if phases:
        return phases[0]
    compiled = evidence.first_compile()
    if compiled is None:
        return None
    return Phase(0, {"model": compiled.get("model", {}), "data": {}}, None, compiled)


@register("compile.loss", "binary cross-entropy, consistent with the output (sigmoid with from_logits=False)")
def compile_loss(evidence: Evidence, params: Mapping[str, Any]) -> Verdict:
    phase = _first_compiled_phase(evidence)
    if phase is None or phase.compile is None:
        return undecided("the model was never compiled" + evidence.crash_note())
    loss = phase.compile.get("loss") or {}
    name = str(loss.get("name") or "")
    where = {"location": evidence.location(phase.compile), "loss": loss}
    mismatches = loss_output_causes(evidence, phase)
    if mismatches:
        return failed(mismatches[0].explanation, mismatches[0].fix, **where)
    if name.lower() not in _BINARY_LOSSES:
        return failed(f"the loss is {name!r}, not binary cross-entropy",
                      "Compile with loss=tf.keras.losses.BinaryCrossentropy() for a cats-vs-dogs sigmoid output.",
                      **where)
    return passed(f"{name} with {'logits' if loss.get('from_logits') else 'probabilities'}, matching the output",
                  **where)


@register("compile.accuracy", "accuracy is tracked")
def compile_accuracy(evidence: Evidence, params: Mapping[str, Any]) -> Verdict:
    compiled = evidence.first_compile()
    if compiled is None:
        return undecided("the model was never compiled" + evidence.crash_note())
    metrics = [str(m).lower() for m in compiled.get("metrics", [])]
    if any(m in _ACCURACY for m in metrics):
        return passed(f"metrics={compiled.get('metrics')}")
    return failed(f"accuracy is not among the metrics ({compiled.get('metrics') or 'none'})",
                  "Compile with metrics=['accuracy'] so that training reports it.",
                  location=evidence.location(compiled))

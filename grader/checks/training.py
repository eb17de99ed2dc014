"""Checks on the first training phase: it runs, and the model learns the (learnable) data."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from grader.checks.registry import Verdict, failed, passed, register
from grader.diagnosis import training_causes
from grader.evidence import Evidence


@register("train.runs", "the first phase trained without error, with finite loss")
def train_runs(evidence: Evidence, params: Mapping[str, Any]) -> Verdict:
    phases = evidence.phases()
    if not phases:
        ended = next(iter(evidence.events("exit")), None)
        reason = (f"the script stopped (exit at line {ended.get('line')}) before any training" if ended
                  else "the script never called fit" + evidence.crash_note())
        return failed(reason, "Train the model with model.fit(...) on the training data.")
    first = phases[0]
    where = {"location": str(evidence.location(first.start))}
    if first.end is None:
        exception = next((e for e in evidence.events("exception")), None)
        detail = f"{exception.get('type')}: {exception.get('message')}" if exception else evidence.run.reason
        return failed(f"training crashed: {str(detail)[:300]}",
                      "Read the error above; it usually names a shape or type mismatch between data, "
                      "model output and loss.", **where)
    losses = [v for v in first.history.get("loss", []) if isinstance(v, (int, float))]
    if not losses or not all(math.isfinite(v) for v in losses):
        return failed(f"the training loss is not finite ({first.history.get('loss')})",
                      "A NaN loss usually means a learning rate far too high or labels outside {0, 1}.", **where)
    return passed(f"trained {len(first.end.get('epochs_run', []))} epoch(s) under the budget, loss {losses[-1]:.3f}",
                  **where)


@register("train.learns", "on the learnable synthetic data, accuracy beats chance within the budget",
          params={"min_accuracy": 0.7}, depends_on=("train.runs",))
def train_learns(evidence: Evidence, params: Mapping[str, Any]) -> Verdict:
    phases = [phase for phase in evidence.phases() if phase.end is not None]
    best, metric = _best_accuracy(phases)
    shown = {"best_accuracy": best, "metric": metric, "budget": evidence.phases()[0].start.get("budget")}
    if best is not None and best >= params["min_accuracy"]:
        return passed(f"{metric} reached {best:.2f} within the budget (chance is 0.50)", **shown)
    causes = training_causes(evidence, phases[0]) if phases else []
    if causes:
        return failed(f"the model did not learn ({metric} at most {best:.2f}); probable cause: "
                      f"{causes[0].explanation}", causes[0].fix, causes=[c.id for c in causes], **shown)
    seen = "no accuracy was recorded" if best is None else f"{metric} stayed at {best:.2f}"
    return failed(f"the model did not learn within the budget: {seen}",
                  "Check that images, labels, output activation and loss agree, and that the head is trainable.",
                  **shown)


def _best_accuracy(phases: list[Any]) -> tuple[float | None, str]:
    for metric in ("val_accuracy", "val_acc", "val_binary_accuracy", "accuracy", "acc", "binary_accuracy"):
        values = [v for phase in phases for v in phase.history.get(metric, []) if isinstance(v, (int, float))]
        if values:
            return max(values), metric
    return None, "accuracy"

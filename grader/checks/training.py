"""Checks on the first training phase: it runs, and the model learns the (learnable) data."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from grader.checks.registry import Verdict, failed, passed, register
from grader.diagnosis import training_causes
from grader.evidence import Evidence
from grader.lab import Lab


@register("train.runs", "the first phase trained without error, with finite loss")
def train_runs(evidence: Evidence, params: Mapping[str, Any], lab: Lab) -> Verdict:
    phases = evidence.phases()
    if not phases:
        ended = next(iter(evidence.events("exit")), None)
        reason = (f"the script stopped (exit at line {ended.get('line')}) before any training" if ended
                  else "the script never called fit" + evidence.crash_note())
        return failed(reason, "Train the model with model.fit(...) on the training data.")
    first = phases[0]
    where = {"location": evidence.location(first.start)}
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


@register("train.learns", "on the learnable synthetic data, loss falls and accuracy beats chance within the budget",
          params={"min_accuracy": 0.7, "max_loss": 0.62}, depends_on=("train.runs",),
          lab_params=lambda lab: lab.learning_thresholds)
def train_learns(evidence: Evidence, params: Mapping[str, Any], lab: Lab) -> Verdict:
    phases = [phase for phase in evidence.phases() if phase.end is not None]
    best, metric = _best(phases, _ACCURACY_KEYS, max)
    lowest, loss_metric = _best(phases, ("val_loss", "loss"), min)
    shown = {"best_accuracy": best, "metric": metric, "lowest_loss": lowest, "loss_metric": loss_metric,
             "budget": evidence.phases()[0].start.get("budget")}
    if best is not None and best >= params["min_accuracy"]:
        return passed(f"{metric} reached {best:.2f} within the budget (chance is {lab.chance:.2f})", **shown)
    if lowest is not None and lowest <= params["max_loss"]:
        return passed(f"{loss_metric} fell to {lowest:.3f}, below the {lab.guessing_loss:.3f} of guessing", **shown)
    causes = training_causes(evidence, phases[0]) if phases else []
    if causes:
        return failed(f"the model did not learn ({metric} at most {_shown(best)}); probable cause: "
                      f"{causes[0].explanation}", causes[0].fix, causes=[c.id for c in causes], **shown)
    seen = "no accuracy was recorded" if best is None else f"{metric} stayed at {best:.2f}"
    seen += "" if lowest is None else f" and {loss_metric} at {lowest:.3f}"
    return failed(f"the model did not learn within the budget: {seen}",
                  "Check that images, labels, output activation and loss agree, and that the head is trainable.",
                  **shown)


_ACCURACY_KEYS = ("val_accuracy", "val_acc", "val_binary_accuracy", "val_sparse_categorical_accuracy",
                  "val_categorical_accuracy", "accuracy", "acc", "binary_accuracy", "sparse_categorical_accuracy",
                  "categorical_accuracy")


def _best(phases: list[Any], keys: tuple[str, ...], pick: Any) -> tuple[float | None, str]:
    """The best value (``max`` or ``min``) of the first metric in ``keys`` that any phase recorded."""
    for metric in keys:
        values = [v for phase in phases for v in phase.history.get(metric, [])
                  if isinstance(v, (int, float)) and math.isfinite(v)]
        if values:
            return pick(values), metric
    return None, keys[0]


def _shown(value: float | None) -> str:
    return "unknown" if value is None else f"{value:.2f}"

"""Checks on ``compile``: the loss is the lab's and matches the output, and accuracy is tracked."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from grader.checks import written as written_
from grader.checks.registry import Verdict, failed, passed, register, undecided, written
from grader.diagnosis import loss_output_causes, output_causes
from grader.evidence import Evidence, Phase
from grader.lab import ACCURACY, LOSSES, Lab
from grader.static import Fact



def _losses(lab: Lab) -> set[str]:
    """The loss names that fit the lab's output, folded (a categorical lab takes either form of labels)."""
    names = LOSSES[lab.output.loss]
    if lab.output.loss != "binary_crossentropy":
        names = LOSSES["sparse_categorical_crossentropy"] + LOSSES["categorical_crossentropy"]
    return {name.replace("_", "") for name in names}


def _loss_hint(lab: Lab) -> str:
    if lab.output.loss == "binary_crossentropy" and not lab.output.from_logits:
        return "Compile with loss=tf.keras.losses.BinaryCrossentropy() for a cats-vs-dogs sigmoid output."
    return f"Compile with loss={lab.output.loss_shown} for the lab's {lab.output.shown} output."


def _accuracy(lab: Lab) -> frozenset[str]:
    return ACCURACY[lab.output.loss] | (ACCURACY["categorical_crossentropy"] if lab.output.units > 1 else frozenset())


def _first_compiled_phase(evidence: Evidence) -> Phase | None:
    phases = evidence.phases()
    if phases:
        return phases[0]
    compiled = evidence.first_compile()
    if compiled is None:
        return None
    return Phase(0, {"model": compiled.get("model", {}), "data": {}}, None, compiled)


@register("compile.loss", "the lab's loss (binary cross-entropy by default), consistent with the output")
def compile_loss(evidence: Evidence, params: Mapping[str, Any], lab: Lab) -> Verdict:
    phase = _first_compiled_phase(evidence)
    if phase is None or phase.compile is None:
        return _loss_written(evidence, lab)
    loss = phase.compile.get("loss") or {}
    name = str(loss.get("name") or "")
    where = {"location": evidence.location(phase.compile), "loss": loss}
    mismatches = loss_output_causes(evidence, phase)
    if mismatches:
        return failed(mismatches[0].explanation, mismatches[0].fix, **where)
    if name.lower().replace("_", "") not in _losses(lab):
        return failed(f"the loss is {name!r}, not {lab.output.loss_named}", _loss_hint(lab), **where)
    return passed(f"{name} with {'logits' if loss.get('from_logits') else 'probabilities'}, matching the output",
                  **where)


def _loss_written(evidence: Evidence, lab: Lab) -> Verdict:
    """The loss the source passes to compile, judged against the output layer it writes by the
    rule that judges a run's model."""
    compiles = [fact for fact in evidence.static.of("compile") if "loss" in fact.details]
    if not compiles:
        return undecided("the model was never compiled" + evidence.crash_note())
    loss = compiles[0].details["loss"]
    name = str(loss.get("call") if isinstance(loss, dict) else loss)
    from_logits = isinstance(loss, dict) and loss.get("from_logits") is True
    line = written_.where(evidence, compiles[0])
    if name.lower().replace("_", "") not in _losses(lab):
        return failed(f"the loss written at {line} is {name!r}, not {lab.output.loss_named}" + evidence.crash_note(),
                      _loss_hint(lab), location=evidence.location(compiles[0]))
    output = _output_written(evidence)
    if output is not None:
        dense, activation = output
        mismatches = output_causes(name.rsplit(".", 1)[-1], from_logits, written_.argument(dense, "units"), activation)
        if mismatches:
            return failed(f"as written ({written_.shown(dense)} at {written_.where(evidence, dense)}, the loss at "
                          f"{line}), {mismatches[0].explanation}" + evidence.crash_note(), mismatches[0].fix,
                          location=evidence.location(compiles[0]))
    return written(f"{name} is written at {line} (the model was never compiled)" + evidence.crash_note(),
                   evidence.location(compiles[0]))


def _output_written(evidence: Evidence) -> tuple[Fact, str] | None:
    """The output layer the source writes (its last Dense reaching the model) and its activation,
    "linear" for none; an ``Activation`` layer written after it counts as its activation."""
    written_layers = written_.layers(evidence, "Dense", "Activation")[0]
    dense = [fact for fact in written_layers if fact.name == "Dense"]
    if not dense:
        return None
    activation = written_.argument(dense[-1], "activation")
    after = [fact for fact in written_layers[written_layers.index(dense[-1]) + 1:] if fact.name == "Activation"]
    if after:
        activation = written_.argument(after[0], "activation")
    if activation is None:
        return dense[-1], "linear"
    return dense[-1], str(activation).rsplit(".", 1)[-1].lower()


def _metrics_written(evidence: Evidence, lab: Lab) -> Verdict:
    compiles = [fact for fact in evidence.static.of("compile") if "metrics" in fact.details or "loss" in fact.details]
    if not compiles:
        return undecided("the model was never compiled" + evidence.crash_note())
    metrics = compiles[0].details.get("metrics")
    named = [str(m).lower() for m in metrics] if isinstance(metrics, (list, tuple)) else []
    if any(m in _accuracy(lab) for m in named):
        return written(f"metrics={list(metrics)} is written at {written_.where(evidence, compiles[0])} (the model was "
                       "never compiled)" + evidence.crash_note(), evidence.location(compiles[0]))
    return failed(f"accuracy is not among the metrics written at {written_.where(evidence, compiles[0])} "
                  f"({metrics or 'none'})" + evidence.crash_note(),
                  "Compile with metrics=['accuracy'] so that training reports it.", location=evidence.location(compiles[0]))


@register("compile.accuracy", "accuracy is tracked")
def compile_accuracy(evidence: Evidence, params: Mapping[str, Any], lab: Lab) -> Verdict:
    compiled = evidence.first_compile()
    if compiled is None:
        return _metrics_written(evidence, lab)
    metrics = [str(m).lower() for m in compiled.get("metrics", [])]
    if any(m in _accuracy(lab) for m in metrics):
        return passed(f"metrics={compiled.get('metrics')}")
    return failed(f"accuracy is not among the metrics ({compiled.get('metrics') or 'none'})",
                  "Compile with metrics=['accuracy'] so that training reports it.",
                  location=evidence.location(compiled))

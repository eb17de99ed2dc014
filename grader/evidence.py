"""What the checks judge: the run's trace and the static facts, with questions checks ask of them.

``Evidence`` is read-only and holds no TensorFlow objects: checks run in the trusted parent on
plain JSON.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pathlib import Path

from grader.errors import SubmissionError
from grader.intake import Program, read_program
from grader.results import IntegrityStatus, Location, RunResult, RunStatus
from grader.static import Fact, StaticEvidence, scan


@dataclass(frozen=True)
class Phase:
    """One training phase: a ``fit`` call with the model as it was when it started and its outcome."""

    number: int
    start: dict[str, Any]  # the fit_start event
    end: dict[str, Any] | None  # the fit event; None if the fit crashed or was killed
    compile: dict[str, Any] | None  # the last compile before it, of the same model

    @property
    def layers(self) -> list[dict[str, Any]]:
        return self.start.get("model", {}).get("layers", [])

    def base(self) -> dict[str, Any] | None:
        """The base model's layer entry (with its ``base`` summary) at the start of this phase."""
        return next((layer for layer in self.layers if "base" in layer), None)

    @property
    def history(self) -> dict[str, list[Any]]:
        return (self.end or {}).get("history", {})

    @property
    def weights(self) -> dict[str, list[str]]:
        return (self.end or {}).get("weights", {"changed": [], "unchanged": [], "statistics_changed": []})


@dataclass(frozen=True)
class Evidence:
    """Everything known about one submission's code."""

    run: RunResult
    static: StaticEvidence
    program: Program | None
    code_name: str

    @property
    def crashed(self) -> bool:
        return self.run.status is not RunStatus.COMPLETED

    def events(self, kind: str) -> list[dict[str, Any]]:
        return self.run.events(kind)

    def application(self) -> dict[str, Any] | None:
        """The pretrained base the script built: the one in the trained model, else the first."""
        built = self.events("application")
        phases = self.phases()
        in_model = {(phase.base() or {}).get("name") for phase in phases}
        return next((event for event in built if event.get("model_name") in in_model), built[0] if built else None)

    def phases(self) -> list[Phase]:
        """Each ``fit`` of the script, in order, paired with its ending event and preceding compile."""
        starts, ends = self.events("fit_start"), {e.get("phase"): e for e in self.events("fit")}
        phases = []
        for start in starts:
            compiles = [c for c in self.run.trace if c.get("kind") == "compile" and c.get("seq", 0) < start.get("seq", 0)
                        and c.get("model_id") == start.get("model_id")]
            phases.append(Phase(start.get("phase", len(phases) + 1), start, ends.get(start.get("phase")),
                                compiles[-1] if compiles else None))
        return phases

    def first_compile(self) -> dict[str, Any] | None:
        compiles = self.events("compile")
        return compiles[0] if compiles else None

    def model_layers(self) -> list[dict[str, Any]]:
        """The model's layers as first trained, else as first compiled, else none."""
        phases = self.phases()
        if phases:
            return phases[0].layers
        first = self.first_compile()
        return first.get("model", {}).get("layers", []) if first else []

    def location(self, event_or_fact: dict[str, Any] | Fact | None) -> Location | None:
        """Where in the student's file an event or static fact comes from."""
        if event_or_fact is None:
            return None
        if isinstance(event_or_fact, Fact):
            cell, line = self.program.locate(event_or_fact.line) if self.program else (None, event_or_fact.line)
            return Location(self.code_name, line, cell)
        line = event_or_fact.get("line")
        if not isinstance(line, int):
            return None
        return Location(str(event_or_fact.get("file") or self.code_name), line, event_or_fact.get("cell"))

    def tampering(self) -> str:
        """Why this run's record cannot be trusted (forged trace lines, code reaching for the
        grader), or an empty string."""
        reasons = []
        if self.run.forged_lines:
            reasons.append(f"{self.run.forged_lines} line(s) of the run's record were not written by the grader")
        if self.run.integrity.status is IntegrityStatus.TAMPERED:
            reasons.extend(self.run.integrity.notes)
        for fact in self.static.of("tamper"):
            reasons.append(f"line {self.location(fact).line}: {fact.name}")
        return "; ".join(reasons[:5])

    def crash_note(self) -> str:
        """A sentence saying the run did not finish, for checks that decide from partial evidence."""
        if not self.crashed:
            return ""
        return f" (decided from what was recorded before the run stopped: {self.run.reason})"


_APPLYING = ("Activation", "Lambda")  # layers that only apply a function to what comes before


def applied_activation(layers: list[dict[str, Any]], index: int) -> Any:
    """The activation applied to layer ``index``'s output: its own, or that of the ``Activation``
    or ``Lambda`` layers right after it (``Dense(1)`` then ``Activation('sigmoid')``)."""
    activation = layers[index].get("config", {}).get("activation")
    for layer in layers[index + 1:]:
        if layer.get("class") not in _APPLYING:
            break
        if layer.get("class") == "Activation":
            activation = layer.get("config", {}).get("activation")
        else:
            function = str(layer.get("function", ""))
            activation = next((name for name in ("sigmoid", "softmax", "relu") if name in function), activation)
    return activation


def output_activation(layers: list[dict[str, Any]]) -> tuple[dict[str, Any] | None, Any]:
    """The last Dense layer and the activation the model applies to its output, wherever it is written."""
    dense_at = next((i for i in range(len(layers) - 1, -1, -1) if layers[i].get("class") == "Dense"), None)
    if dense_at is None:
        return None, None
    return layers[dense_at], applied_activation(layers, dense_at)


def validation_curve(run: RunResult) -> list[float]:
    """Validation accuracy after each epoch, over every training phase, as the run recorded it
    (training accuracy where a phase had no validation data)."""
    curve: list[float] = []
    for fit in run.events("fit"):
        history = fit.get("history") or {}
        values = next((history[key] for key in ("val_accuracy", "val_acc", "accuracy", "acc") if history.get(key)), [])
        curve += [float(value) for value in values if isinstance(value, (int, float))]
    return curve


def evidence_of(run: RunResult, code: Path) -> Evidence:
    """The evidence of ``code`` given a recorded run of it: the static facts are read again from
    the source (they need no run). An unreadable source leaves the static evidence empty."""
    try:
        program = read_program(code)
    except SubmissionError:
        return Evidence(run, StaticEvidence((), parsed=False), None, code.name)
    return Evidence(run, scan(program), program, code.name)

"""What the source writes, read as the trace would show it: for checks to judge when the run
stopped before the model existed. Values come from the static scan (constants resolved,
unreachable branches left out); only layers that reach the model count."""

from __future__ import annotations

from typing import Any

from grader.checks.registry import Verdict, failed, written
from grader.evidence import Evidence
from grader.static import Fact

# Keras's defaults where the source leaves an argument out.
_FIRST_ARGUMENT = {"Dense": "units", "Dropout": "rate", "RandomRotation": "factor", "RandomFlip": "mode",
                   "Activation": "activation"}
_DEFAULTS = {"RandomFlip": {"mode": "horizontal_and_vertical"}, "Dense": {"activation": None}}


def argument(fact: Fact, name: str) -> Any:
    """An argument of a written layer, by keyword or position (Keras's default if absent)."""
    if name in fact.details:
        return fact.details[name]
    if _FIRST_ARGUMENT.get(fact.name) == name and "arg0" in fact.details:
        return fact.details["arg0"]
    return _DEFAULTS.get(fact.name, {}).get(name)


def layers(evidence: Evidence, *names: str) -> tuple[list[Fact], list[Fact]]:
    """Written layers of these classes, in source order: those that reach the model, and those
    that never do (built for a plot, say)."""
    found = [fact for fact in evidence.static.of("layer") if fact.name in names]
    return ([fact for fact in found if fact.details.get("reaches_model", True)],
            [fact for fact in found if not fact.details.get("reaches_model", True)])


def shown(fact: Fact) -> str:
    """``Dense(1024, activation='relu')``: a written layer as its author would recognise it."""
    keys = {"Dense": ("units", "activation"), "Dropout": ("rate",), "RandomRotation": ("factor",),
            "RandomFlip": ("mode",), "Activation": ("activation",)}.get(fact.name, ())
    parts = []
    for key in keys:
        value = argument(fact, key)
        if value is not None:
            parts.append(f"{value!r}" if key == _FIRST_ARGUMENT.get(fact.name) else f"{key}={value!r}")
    return f"{fact.name}({', '.join(parts)})"


def where(evidence: Evidence, fact: Fact) -> str:
    """``transfer.py, line 42`` (with the cell in a notebook)."""
    location = evidence.location(fact)
    return str(location) if location else "the source"


def not_in_model(evidence: Evidence, unused: list[Fact]) -> str:
    """``RandomFlip is defined at line 12 but is not part of the model`` (or "")."""
    if not unused:
        return ""
    return (f"{shown(unused[0])} is defined at {where(evidence, unused[0])} but is not part of the model "
            "(it is only used outside it, e.g. to plot samples)")


def judged(evidence: Evidence, candidates: list[Fact], matches: list[Fact], wanted: str, hint: str,
           missing: str) -> Verdict:
    """The verdict on what the source writes: the first match earns the source-only share of the
    points; else the first candidate fails, naming its value; else ``missing`` fails."""
    if matches:
        return written(f"{wanted} is written at {where(evidence, matches[0])} (the model was never built)"
                       + evidence.crash_note(), evidence.location(matches[0]))
    if candidates:
        return failed(f"{shown(candidates[0])} is written at {where(evidence, candidates[0])}; the lab asks for {wanted}"
                      + evidence.crash_note(), hint, location=evidence.location(candidates[0]))
    return failed(missing + evidence.crash_note(), hint)

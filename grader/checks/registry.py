"""The check registry: each check registers itself by id with its parameters' defaults.

A rubric says which checks count and how much, and its ``[lab]`` table what the lab asks for; a
check says how to tell. A check is called as ``check(evidence, params, lab)``. ``register`` fills
``REGISTRY`` when the check modules are imported (``grader.checks`` imports them all).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from grader.lab import Lab
from grader.results import CheckStatus, Location

CheckFunction = Callable[..., Any]
SOURCE_ONLY_CREDIT = 0.5  # what a verdict read from the source alone earns


@dataclass(frozen=True)
class CheckDefinition:
    """A registered check: its stable id, a one-line title, defaults of its parameters, the ids of
    checks whose failure makes it undecidable (it is then skipped, naming them), and ``needs``:
    what a lab must ask for for the check to mean anything (a problem in words, or "")."""

    id: str
    title: str
    function: CheckFunction
    params: Mapping[str, Any] = field(default_factory=dict)
    depends_on: tuple[str, ...] = ()
    advisory: bool = False
    needs: Callable[[Lab], str] | None = None
    lab_params: Callable[[Lab], Mapping[str, Any]] | None = None  # defaults that depend on the lab

    def defaults(self, lab: Lab) -> Mapping[str, Any]:
        """The check's parameters for ``lab`` when a rubric gives none."""
        return MappingProxyType({**self.params, **(self.lab_params(lab) if self.lab_params else {})})


REGISTRY: dict[str, CheckDefinition] = {}


def register(
    check_id: str,
    title: str,
    *,
    params: Mapping[str, Any] | None = None,
    depends_on: tuple[str, ...] = (),
    advisory: bool = False,
    needs: Callable[[Lab], str] | None = None,
    lab_params: Callable[[Lab], Mapping[str, Any]] | None = None,
) -> Callable[[CheckFunction], CheckFunction]:
    """Return a decorator that registers a check function under ``check_id``.

    Raises ``ValueError`` if the id is already taken: ids are a stable interface.
    """

    def decorate(function: CheckFunction) -> CheckFunction:
        if check_id in REGISTRY:
            raise ValueError(f"check id registered twice: {check_id!r}")
        REGISTRY[check_id] = CheckDefinition(
            check_id, title, function, MappingProxyType(dict(params or {})), depends_on, advisory, needs, lab_params)
        return function

    return decorate


@dataclass(frozen=True)
class Verdict:
    """What a check function returns; scoring turns it into a ``CheckResult`` with points."""

    status: CheckStatus
    message: str
    hint: str = ""
    evidence: Mapping[str, Any] = field(default_factory=dict)
    credit: float = 1.0  # the share of the points a pass earns (partial credit)
    location: Location | None = None


def passed(message: str, *, location: Location | None = None, **evidence: Any) -> Verdict:
    """A pass at full credit."""
    return Verdict(CheckStatus.PASS, message, "", evidence, 1.0, location)


def written(message: str, location: Location | None, **evidence: Any) -> Verdict:
    """A pass decided from the source alone (the run never got there): half the points."""
    return Verdict(CheckStatus.PASS, message, "", {**evidence, "judged_from": "source"}, SOURCE_ONLY_CREDIT, location)


def failed(message: str, hint: str, *, location: Location | None = None, **evidence: Any) -> Verdict:
    """A failure, with a hint saying what to do."""
    return Verdict(CheckStatus.FAIL, message, hint, evidence, 1.0, location)


def undecided(message: str, *, location: Location | None = None, **evidence: Any) -> Verdict:
    """The check could not decide (it says why): an ``error`` result."""
    return Verdict(CheckStatus.ERROR, message, "", evidence, 1.0, location)

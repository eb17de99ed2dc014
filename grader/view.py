"""What an audience sees of a grade, decided once: which checks are shown, which are advice.

The terminal, JSON, Markdown/HTML, CSV and Gradescope writers render a ``GradeView`` and decide
none of this themselves (otter's ``GradingResults.summary(public_only=True)`` is the model).
A student sees every check the rubric does not hide; an instructor sees all of them. A check is
*advice* when the catalogue registers it as advisory: it is shown as advice, never as a failure
to fix, and it does not decide ``grade check``'s exit code.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from grader.results import CheckResult, CheckStatus, Grade
from grader.rubric import Rubric

Audience = Literal["student", "instructor"]


@dataclass(frozen=True)
class GradeView:
    """A grade as one audience sees it."""

    grade: Grade
    audience: Audience
    hidden_ids: frozenset[str]  # checks the rubric hides from students until grading
    advisory_ids: frozenset[str]  # checks that are advice, not requirements

    @property
    def shown(self) -> tuple[CheckResult, ...]:
        """The checks this audience sees, in the rubric's order."""
        if self.audience == "instructor":
            return self.grade.checks
        return tuple(check for check in self.grade.checks if check.id not in self.hidden_ids)

    @property
    def hidden_count(self) -> int:
        return len(self.grade.checks) - len(self.shown)

    @property
    def required(self) -> tuple[CheckResult, ...]:
        """Shown checks that are requirements (not advice)."""
        return tuple(check for check in self.shown if check.id not in self.advisory_ids)

    @property
    def problems(self) -> tuple[CheckResult, ...]:
        """Requirements that did not pass, in the order to fix them."""
        return tuple(check for check in self.required if check.status is not CheckStatus.PASS)

    @property
    def failed(self) -> tuple[CheckResult, ...]:
        """Requirements that failed or could not be decided (skips follow from these)."""
        return tuple(check for check in self.problems if check.status in (CheckStatus.FAIL, CheckStatus.ERROR))

    @property
    def partial(self) -> tuple[CheckResult, ...]:
        """Requirements passed at reduced credit: not failed, but not passed either."""
        return tuple(check for check in self.problems if check.status is CheckStatus.PARTIAL)

    @property
    def skipped(self) -> tuple[CheckResult, ...]:
        """Requirements not judged because one they depend on did not pass."""
        return tuple(check for check in self.problems if check.status is CheckStatus.SKIP)

    @property
    def passed(self) -> tuple[CheckResult, ...]:
        return tuple(check for check in self.required if check.status is CheckStatus.PASS)

    @property
    def advice(self) -> tuple[CheckResult, ...]:
        """Advice that applies: shown advisory checks that did not pass."""
        return tuple(check for check in self.shown if check.id in self.advisory_ids and check.status is CheckStatus.FAIL)

    def is_hidden(self, check_id: str) -> bool:
        return check_id in self.hidden_ids

    def all_required_pass(self) -> bool:
        """Whether every requirement this audience sees passed in full (``grade check``'s exit code:
        partial credit is not a pass)."""
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        """The grade's JSON with only the checks this audience sees."""
        shown = {check.id for check in self.shown}
        document = self.grade.to_dict()
        document["checks"] = [check for check in document["checks"] if check["id"] in shown]
        return document


def advisory_checks() -> frozenset[str]:
    """Ids of the checks the catalogue registers as advice (one definition for every writer)."""
    from grader.checks import REGISTRY

    return frozenset(check_id for check_id, definition in REGISTRY.items() if definition.advisory)


def view_of(grade: Grade, rubric: Rubric, audience: Audience) -> GradeView:
    """The view of ``grade`` for ``audience`` under ``rubric``."""
    hidden = frozenset(spec.id for spec in rubric.checks if spec.hidden)
    return GradeView(grade, audience, hidden, advisory_checks())


def views_of(grades: Sequence[Grade], rubric: Rubric, audience: Audience) -> list[GradeView]:
    """``view_of`` each grade."""
    return [view_of(grade, rubric, audience) for grade in grades]

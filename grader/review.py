"""What a person should look at in a graded class, most likely wrong first.

Every written answer carries the scorer's estimate of how far its automatic points are likely off
(``AnswerScore.expected_error``, from ``answers/doubt.py``). Code checks a person may judge carry a
prior instead (no hand-graded set of code verdicts exists to fit one on): a check that could not
decide, one judged from the source alone or at partial credit, one skipped or failed in a run that
stopped early. What the grader cannot score at all comes first: grader failures, runs stopped by
the environment, records that disagreed with their saved models, and decisions to look at again.
Items a person has decided leave the list.

Answers that are identical, or state the same concepts in near-identical words, form a group that a
person can grade at once; when a person changes a score, undecided answers like it are suggested
for the same change (never changed without them).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any, Literal

from grader.answers.similarity import SimilarPair
from grader.answers.text import content_stems, tokens
from grader.results import AnswerScore, AnswerStatus, CheckResult, CheckStatus, Grade, GradeStatus
from grader.similarity.pairs import CodePair

Kind = Literal["grade", "run", "integrity", "decision", "answer", "check", "similar"]

# Priors for code checks: the expected error as a share of the check's points.
UNDECIDED = 0.5  # the check could not decide
FROM_SOURCE = 0.5  # judged from the source alone: the truth is likely all or nothing
PARTIAL = 0.25  # partial credit from the run
STOPPED_EARLY = 0.2  # skipped or failed in a run that did not reach its end
SETTLED = 0.02  # passed or failed on what a complete run showed
GROUPED = 0.7  # content-word likeness of two answers with the same concepts that a person grades as one
DEFAULT_BUDGET = "20%"  # what the class report and summary call "to review"
LIKE = 0.4  # content-word likeness of two answers with the same concepts and points: suggested together


@dataclass(frozen=True)
class ReviewItem:
    """One thing a person should look at: who, what, why, how far its score is likely off."""

    student: str
    item: str
    reason: str
    text: str = ""
    kind: Kind = "answer"
    automatic: float | None = None  # the automatic points (None when the item has no score of its own)
    max_points: float | None = None
    expected_error: float = 0.0  # in points: how far the automatic points are likely off

    def to_dict(self) -> dict[str, Any]:
        return {"student": self.student, "item": self.item, "kind": self.kind, "automatic": self.automatic,
                "max_points": self.max_points, "expected_error": round(self.expected_error, 3),
                "reason": self.reason, "text": self.text}


def review_queue(grades: Sequence[Grade], pairs: Sequence[SimilarPair] = (),
                 code: Sequence[CodePair] = ()) -> list[ReviewItem]:
    """Everything a person should look at in ``grades`` (decisions applied), most likely wrong
    first: grader failures, runs stopped by the environment, records that disagreed with their
    saved models, decisions to look at again, then answers and code checks by expected error in
    points. ``pairs`` (near-identical answers) and ``code`` (code that matches beyond the
    boilerplate, strongest first) are listed last, as evidence rather than errors."""
    items = [item for grade in grades for item in _grade_items(grade)]
    items.sort(key=lambda item: (-item.expected_error, item.student, item.item))
    answers = [ReviewItem(f"{pair.first}, {pair.second}", pair.item, f"answers {pair.similarity:.0%} alike",
                          kind="similar") for pair in pairs]
    shared = [ReviewItem(f"{pair.first}, {pair.second}", "code", pair.summary,
                         f"{pair.first_file} and {pair.second_file}", kind="similar")
              for pair in sorted(code, key=lambda pair: -pair.similarity)]
    return items + answers + shared


def within_budget(queue: Sequence[ReviewItem], budget: str | None) -> list[ReviewItem]:
    """The start of the queue a budget allows: ``"20%"`` of its scored items, or a count (``"30"``);
    all of it for None. Items that must be looked at (grader failures, runs stopped by the
    environment, disagreeing records, decisions to look at again) always stay.
    Raises ``ValueError`` for a budget that is neither."""
    if budget is None:
        return list(queue)
    text = budget.strip()
    try:
        share = float(text[:-1]) / 100 if text.endswith("%") else None
        count = None if share is not None else int(text)
    except ValueError:
        raise ValueError(f"--budget must be a share like 20% or a count like 30. Received: {budget!r}") from None
    if (share is not None and not 0 < share <= 1) or (count is not None and count < 0):
        raise ValueError(f"--budget must be a share in (0%, 100%] or a count of 0 or more. Received: {budget!r}")
    must = [item for item in queue if item.kind in _MUST]
    rest = [item for item in queue if item.kind not in _MUST]
    scored = sum(item.automatic is not None for item in rest)
    keep = count if count is not None else math.ceil(share * scored)  # type: ignore[operator]
    kept = {id(item) for item in (*must, *rest[:keep])}
    return [item for item in queue if id(item) in kept]


_MUST: frozenset[str] = frozenset({"grade", "run", "integrity", "decision"})  # no score of their own to trust


def _grade_items(grade: Grade) -> list[ReviewItem]:
    items = []
    if grade.status is GradeStatus.INTERNAL_ERROR:
        items.append(ReviewItem(grade.id, "grade", "the grader failed on this submission", grade.reason[-300:],
                                "grade", None, grade.max_score, grade.max_score))
    if grade.stopped_at_import()[1]:
        items.append(ReviewItem(grade.id, "run", f"stopped by the environment: needs `{grade.stopped_at_import()[1]}`",
                                kind="run", max_points=grade.max_score, expected_error=grade.max_score))
    if grade.integrity_warning():
        code = sum(check.max_points for check in grade.checks)
        items.append(ReviewItem(grade.id, "integrity", grade.integrity_warning(), kind="integrity", max_points=code,
                                expected_error=0.3 * code))
    for result in (*grade.checks, *grade.answers):
        decision = result.override
        if decision and decision.get("stale"):
            why = decision.get("problem") or ("decided, but the submission changed since: look again"
                                              if decision.get("kind") != "accept" or _changed(decision)
                                              else "accepted, but the automatic score changed since: look again")
            items.append(ReviewItem(grade.id, result.id, why, decision.get("comment", ""), "decision",
                                    None, result.max_points, result.max_points))
    run_ended = grade.status is GradeStatus.GRADED
    items += [item for check in grade.checks if not check.override and (item := _check_item(grade.id, check, run_ended))]
    items += [item for answer in grade.answers if not answer.override and (item := _answer_item(grade.id, answer))]
    return items


def _changed(decision: dict[str, Any]) -> bool:
    return not math.isclose(decision.get("points", 0.0), decision.get("automatic", 0.0))


def _answer_item(student: str, answer: AnswerScore) -> ReviewItem | None:
    """A written answer with its expected error; None for an item judged by code checks."""
    if answer.status is AnswerStatus.LINKED:
        return None
    reason = "; ".join(part for part in (answer.reason if answer.needs_review else "", answer.doubt) if part)
    if answer.status is AnswerStatus.MISSING:
        reason = answer.reason or "no answer found"
    return ReviewItem(student, answer.id, reason or "estimated from the scorer's signals together", answer.text or answer.excerpt, "answer",
                      answer.points, answer.max_points, answer.expected_error * answer.max_points)


def check_doubt(check: CheckResult, run_ended: bool) -> tuple[float, str]:
    """The prior expected error of a code check (a share of its points) and why; (0, "") for a
    verdict a complete run settled."""
    partial = check.status is CheckStatus.PARTIAL or 0 < check.points < check.max_points
    if check.status is CheckStatus.ERROR:
        return UNDECIDED, "the check could not decide: " + check.message
    if partial and check.evidence.get("judged_from") == "source":
        return FROM_SOURCE, "judged from the source alone (the run did not get there): " + check.message
    if partial:
        return PARTIAL, "partial credit: " + check.message
    if not run_ended and check.status in (CheckStatus.SKIP, CheckStatus.FAIL):
        return STOPPED_EARLY, "the run stopped before this could be shown: " + check.message
    return (SETTLED, "") if check.max_points else (0.0, "")


def _check_item(student: str, check: CheckResult, run_ended: bool) -> ReviewItem | None:
    doubt, reason = check_doubt(check, run_ended)
    if not reason:
        return None
    return ReviewItem(student, check.id, reason, check.hint, "check", check.points, check.max_points,
                      doubt * check.max_points)


# Answers alike: groups graded at once, and suggestions for the same change


def likeness(first: str, second: str) -> float:
    """How alike two answers are in their content words (Jaccard of their stems, 1 when identical)."""
    (words_a, a), (words_b, b) = _words(first), _words(second)
    if words_a == words_b:
        return 1.0
    return len(a & b) / len(a | b) if a | b else 0.0


@cache
def _words(text: str) -> tuple[tuple[str, ...], frozenset[str]]:
    """An answer's words and content stems, read once (a class compares each answer with many)."""
    return tuple(tokens(text)), frozenset(content_stems(text))


def _concepts(answer: AnswerScore) -> frozenset[str]:
    return frozenset(found["concept"] for found in answer.found)


def alike(first: AnswerScore, second: AnswerScore, threshold: float) -> bool:
    """Whether two answers to one item state the same concepts in words at least ``threshold``
    alike (or are the same text)."""
    if not (first.text and second.text) or first.id != second.id:
        return False
    closeness = likeness(first.text, second.text)
    return closeness == 1.0 or (_concepts(first) == _concepts(second) and closeness >= threshold)


@dataclass(frozen=True)
class AnswerGroup:
    """Answers to one item that a person can grade as one: identical, or the same concepts in
    near-identical words. ``students`` in the order of the review queue."""

    item: str
    students: tuple[str, ...]

    @property
    def key(self) -> str:
        return f"{self.item}:{self.students[0]}"


def answer_groups(grades: Sequence[Grade], queue: Sequence[ReviewItem]) -> list[AnswerGroup]:
    """Groups of two or more undecided answers alike enough to grade at once, each led by its
    member highest in the queue."""
    answers = {(grade.id, answer.id): answer for grade in grades for answer in grade.answers
               if answer.text and not answer.override and answer.status is AnswerStatus.ANSWERED}
    order = [(item.student, item.item) for item in queue if (item.student, item.item) in answers]
    placed: set[tuple[str, str]] = set()
    groups = []
    for key in order:
        if key in placed:
            continue
        members = [other for other in order if other not in placed and other[1] == key[1]
                   and alike(answers[key], answers[other], GROUPED)]
        placed.update(members)
        if len(members) > 1:
            groups.append(AnswerGroup(key[1], tuple(student for student, _ in members)))
    return groups


def like_this(grades: Sequence[Grade], student: str, item: str) -> list[str]:
    """Students whose undecided answer to ``item`` is like ``student``'s and earned the same
    automatic points: the ones to suggest for the same change."""
    answers = {grade.id: answer for grade in grades for answer in grade.answers if answer.id == item}
    chosen = answers.get(student)
    if chosen is None:
        return []
    automatic = chosen.override["automatic"] if chosen.override else chosen.points
    return [other for other, answer in answers.items()
            if other != student and not answer.override and math.isclose(answer.points, automatic)
            and alike(chosen, answer, LIKE)]


"""The instructor's part: what a person should look at, and the decisions they record.

Overrides live in ``OUT/overrides.csv`` (student, item, points, comment, who, when, and the
fingerprint of the submission they were made on), one row per student and item, editable in a
spreadsheet. They are applied when reports are written, never saved into the automatic grade: so
they survive every re-run and rescore, and each shows the automatic score it replaced. An
override made on a submission that has changed since is still applied, and flagged ``stale`` for
a second look.
"""

from __future__ import annotations

import csv
import getpass
import io
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from grader.answers.similarity import SimilarPair
from grader.atomic import write_text
from grader.errors import GraderError
from grader.results import Grade, GradeStatus
from grader.shared.renamed import current_id

OVERRIDES_FILE = "overrides.csv"
_COLUMNS = ("student", "item", "points", "comment", "who", "when", "fingerprint")


class OverrideError(GraderError):
    """An override that names no such student or item, or gives points out of range."""


@dataclass(frozen=True)
class Override:
    """A person's decision on one check or answer of one student."""

    student: str
    item: str
    points: float
    comment: str
    who: str
    when: str
    fingerprint: str  # the submission's run fingerprint when the decision was made

    def record(self, automatic: float, current: str) -> dict[str, Any]:
        """What a result carries: the decision, the score it replaced, whether to look again."""
        return {"points": self.points, "automatic": automatic, "comment": self.comment, "who": self.who,
                "when": self.when, "stale": bool(self.fingerprint and current and self.fingerprint != current)}


def load_overrides(out: Path) -> dict[tuple[str, str], Override]:
    """The overrides recorded in ``out`` by (student, item); raises ``OverrideError`` naming a bad row."""
    path = out / OVERRIDES_FILE
    if not path.is_file():
        return {}
    found = {}
    for number, row in enumerate(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"))), start=2):
        try:
            points = float(row["points"])
        except (KeyError, TypeError, ValueError):
            raise OverrideError(f"{path}, line {number}: points must be a number. Received: {row.get('points')!r}") from None
        if not row.get("student") or not row.get("item"):
            raise OverrideError(f"{path}, line {number}: student and item are required. Received: {dict(row)}")
        item = current_id(row["item"])  # a decision on a check renamed since it was made still holds
        found[(row["student"], item)] = Override(row["student"], item, points, row.get("comment") or "",
                                                 row.get("who") or "", row.get("when") or "",
                                                 row.get("fingerprint") or "")
    return found


def record_override(out: Path, grades: Sequence[Grade], student: str, item: str, points: float, comment: str,
                    fingerprint: str) -> Override:
    """Check and save one decision (replacing an earlier one on the same student and item)."""
    grade = next((g for g in grades if g.id == student), None)
    if grade is None:
        raise OverrideError(f"no graded student {student!r} in {out}; graded: {', '.join(g.id for g in grades)}")
    item = current_id(item)
    _check(grade, item, points)
    override = Override(student, item, points, comment, getpass.getuser(),
                        datetime.now(timezone.utc).isoformat(timespec="seconds"), fingerprint)
    overrides = load_overrides(out) | {(student, item): override}
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(_COLUMNS)
    for each in overrides.values():
        writer.writerow([each.student, each.item, f"{each.points:g}", each.comment, each.who, each.when,
                         each.fingerprint])
    write_text(out / OVERRIDES_FILE, buffer.getvalue())
    return override


def _check(grade: Grade, item: str, points: float, where: str = "") -> None:
    """``OverrideError`` unless ``item`` is one of ``grade``'s checks or answers and ``points`` in its range."""
    worth = {result.id: result.max_points for result in (*grade.checks, *grade.answers)}
    if item not in worth:
        raise OverrideError(f"{where}{grade.id} has no item {item!r} (items: {', '.join(worth)}). Received: {item!r}")
    if not 0 <= points <= worth[item]:
        raise OverrideError(f"{where}{grade.id} {item}: points must be between 0 and {worth[item]:g}. "
                            f"Received: {points:g}")


def decided_grades(out: Path) -> list[Grade]:
    """The grades saved in ``out`` with the decisions of ``out/overrides.csv`` applied."""
    from grader.batch import load_all_saved

    overrides = load_overrides(out)
    return [apply_overrides(saved.grade, overrides, saved.fingerprints.run) for saved in load_all_saved(out).values()]


def apply_overrides(grade: Grade, overrides: dict[tuple[str, str], Override], fingerprint: str) -> Grade:
    """``grade`` with a person's decisions in place of the automatic points (and the score summed again)."""
    mine = {item: each for (student, item), each in overrides.items() if student == grade.id}
    if not mine:
        return grade
    for item, each in mine.items():  # overrides.csv may have been edited by hand
        _check(grade, item, each.points, f"{OVERRIDES_FILE}: ")
    checks = tuple(replace(check, points=mine[check.id].points, override=mine[check.id].record(check.points, fingerprint))
                   if check.id in mine else check for check in grade.checks)
    answers = tuple(replace(answer, points=mine[answer.id].points,
                            override=mine[answer.id].record(answer.points, fingerprint))
                    if answer.id in mine else answer for answer in grade.answers)
    score = round(sum(c.points for c in checks) + sum(a.points for a in answers), 4)
    return replace(grade, checks=checks, answers=answers, score=score)


@dataclass(frozen=True)
class ReviewItem:
    """One thing a person should look at."""

    student: str
    item: str
    reason: str
    text: str = ""

    def to_dict(self) -> dict[str, str]:
        return {"student": self.student, "item": self.item, "reason": self.reason, "text": self.text}


def review_queue(grades: Sequence[Grade], pairs: Sequence[SimilarPair] = ()) -> list[ReviewItem]:
    """Everything a person should look at, student by student: grader failures, runs stopped by the
    environment, records that disagreed with their saved models, flagged answers, stale overrides,
    and near-identical answers."""
    queue = []
    for grade in grades:
        queue += _grade_items(grade)
    queue += [ReviewItem(f"{pair.first}, {pair.second}", pair.item, f"answers {pair.similarity:.0%} alike")
              for pair in pairs]
    return queue


def _grade_items(grade: Grade) -> list[ReviewItem]:
    items = []
    if grade.status is GradeStatus.INTERNAL_ERROR:
        items.append(ReviewItem(grade.id, "grade", "the grader failed on this submission", grade.reason[-300:]))
    if grade.environment.get("missing_module"):
        items.append(ReviewItem(grade.id, "run", f"stopped by the environment: needs `{grade.environment['missing_module']}`"))
    if grade.integrity_warning():
        items.append(ReviewItem(grade.id, "integrity", grade.integrity_warning()))
    for answer in grade.answers:
        if answer.needs_review and not answer.override:
            items.append(ReviewItem(grade.id, answer.id, answer.reason, answer.excerpt))
    for result in (*grade.checks, *grade.answers):
        if result.override and result.override.get("stale"):
            items.append(ReviewItem(grade.id, result.id, "overridden, but the submission changed since: look again",
                                    result.override.get("comment", "")))
    return items

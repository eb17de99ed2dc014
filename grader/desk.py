"""The review desk: a graded class laid out for a person to review item by item, as the review page
shows it (and its JSON API returns it). Library code: no web here.

The desk's order is the review order of the automatic scores, so that an item keeps its place
while a person decides (a decided item stays, marked, and can be changed or withdrawn); decisions
to look at again come first. Students are shown by a label ("Student 3") unless names are asked
for: anonymous grading. Each student has an opaque key used in addresses.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from grader.instructor import GradedClass
from grader.results import AnswerScore, CheckResult, Grade, GradeStatus, Location
from grader.review import AnswerGroup, ReviewItem, answer_groups, review_queue

_AROUND = 4  # lines of code shown either side of the line a check names


def student_key(student: str) -> str:
    """The opaque key of a student in the page's addresses (their id does not show in a URL)."""
    return hashlib.sha256(student.encode()).hexdigest()[:12]


@dataclass(frozen=True)
class Entry:
    """One item of the desk's list: where it stands, whose, what, and whether it is decided."""

    position: int
    key: str
    label: str
    student: str
    item: str
    kind: str
    automatic: float | None
    max_points: float | None
    expected_error: float
    reason: str
    decided: dict[str, Any] | None  # the decision in force (points, kind, who, when, comment, stale)

    def to_dict(self, names: bool) -> dict[str, Any]:
        shown = asdict(self)
        if not names:
            shown.pop("student")
        return shown


@dataclass(frozen=True)
class Segment:
    """A stretch of an answer's text; ``concepts``: the numbers (in the question's list, from 1) of
    the concepts it earned, when it is a sentence that earned some."""

    text: str
    concepts: tuple[int, ...] = ()


@dataclass(frozen=True)
class CodeLine:
    number: int
    text: str
    named: bool  # the line the check names


@dataclass(frozen=True)
class CodeExcerpt:
    """The lines of a student's file around the line a check names (``problem`` when unreadable)."""

    file: str
    cell: int | None
    lines: tuple[CodeLine, ...] = ()
    problem: str = ""


@dataclass(frozen=True)
class Member:
    """Another answer of a group, or one suggested for the same change."""

    key: str
    label: str
    student: str
    text: str


@dataclass(frozen=True)
class ItemView:
    """Everything the page shows of one item."""

    entry: Entry
    title: str
    prompt: str
    reference: str
    points: float  # in force (a person's, else the automatic)
    message: str  # the automatic score's why: the scorer's reason, or the check's message
    hint: str
    segments: tuple[Segment, ...]
    concepts: tuple[dict[str, Any], ...]  # name, points, earned, sentence
    code: CodeExcerpt | None
    group: tuple[Member, ...]  # undecided answers to grade with this one (it is the group's first)
    history: tuple[dict[str, Any], ...]

    def to_dict(self, names: bool) -> dict[str, Any]:
        shown = asdict(self)
        shown["entry"] = self.entry.to_dict(names)
        if not names:
            for member in shown["group"]:
                member.pop("student")
            for decision in shown["history"]:
                decision.pop("student", None)
        return shown


@dataclass(frozen=True)
class Desk:
    """A graded class laid out for review."""

    graded: GradedClass
    entries: tuple[Entry, ...]
    groups: tuple[AnswerGroup, ...]
    must_look: tuple[ReviewItem, ...]  # what the page cannot decide: grader failures, environment stops

    @property
    def decided(self) -> int:
        return sum(entry.decided is not None and not entry.decided.get("stale") for entry in self.entries)

    def entry(self, key: str, item: str) -> Entry:
        """The entry of a student's item; raises ``KeyError`` when the desk has none."""
        for entry in self.entries:
            if (entry.key, entry.item) == (key, item):
                return entry
        raise KeyError(f"{key}/{item}")

    def student(self, key: str) -> str:
        """The id behind a key; raises ``KeyError``."""
        for grade in self.graded.grades:
            if student_key(grade.id) == key:
                return grade.id
        raise KeyError(key)

    def label(self, student: str) -> str:
        return _labels(self.graded.grades)[student]

    def group_of(self, student: str, item: str) -> AnswerGroup | None:
        """The group ``student``'s ``item`` leads, if any."""
        return next((group for group in self.groups if group.item == item and group.students[0] == student), None)


def lay_out(graded: GradedClass) -> Desk:
    """The desk of a graded class: its items in the review order of the automatic scores (decisions
    to look at again first), each with the decision in force."""
    automatic = [_automatic(grade) for grade in graded.grades]
    decided = {(grade.id, result.id): result.override
               for grade in graded.grades for result in (*grade.checks, *grade.answers) if result.override}
    queue = [item for item in review_queue(automatic) if item.kind in ("answer", "check")]
    queue.sort(key=lambda item: not (decided.get((item.student, item.item)) or {}).get("stale"))
    labels = _labels(graded.grades)
    entries = tuple(Entry(position, student_key(item.student), labels[item.student], item.student, item.item,
                          item.kind, item.automatic, item.max_points, round(item.expected_error, 3), item.reason,
                          decided.get((item.student, item.item)))
                    for position, item in enumerate(queue, start=1))
    groups = tuple(answer_groups(graded.grades, queue))  # decided answers are in no group
    must = tuple(item for item in review_queue(list(graded.grades)) if item.kind in ("grade", "run", "integrity"))
    return Desk(graded, entries, groups, must)


def _automatic(grade: Grade) -> Grade:
    """``grade`` as the grader scored it, before any person's decision."""
    def back(result: Any) -> Any:
        return replace(result, points=result.override["automatic"], override=None) if result.override else result
    return replace(grade, checks=tuple(back(check) for check in grade.checks),
                   answers=tuple(back(answer) for answer in grade.answers))


def _labels(grades: Sequence[Grade]) -> dict[str, str]:
    return {student: f"Student {number}" for number, student in enumerate(sorted(g.id for g in grades), start=1)}


def item_view(desk: Desk, key: str, item: str) -> ItemView:
    """What the page shows of one item; raises ``KeyError`` when the desk has no such item."""
    entry = desk.entry(key, item)
    grade = desk.graded.grade(entry.student)
    result = next(r for r in (*grade.checks, *grade.answers) if r.id == item)
    history = tuple(decision.to_dict() for decision in _history(desk.graded.out, entry.student, item))
    if isinstance(result, AnswerScore):
        return _answer_view(desk, entry, result, history)
    return _check_view(desk, entry, grade, result, history)


def _history(out: Path, student: str, item: str) -> list[Any]:
    from grader.decisions import DecisionStore

    return DecisionStore(out).history(student, item)


def _answer_view(desk: Desk, entry: Entry, answer: AnswerScore, history: tuple[dict[str, Any], ...]) -> ItemView:
    question = next((q for q in desk.graded.rubric.questions if q.id == answer.id), None)
    earned = {found["concept"]: found["sentence"] for found in answer.found}
    listed = question.concepts if question else ()
    concepts = tuple({"number": number, "name": concept.name, "points": concept.points,
                      "earned": concept.name in earned, "sentence": earned.get(concept.name, "")}
                     for number, concept in enumerate(listed, start=1))
    numbers = {concept.name: number for number, concept in enumerate(listed, start=1)}
    group = desk.group_of(entry.student, answer.id)
    members = tuple(_member(desk, student, answer.id) for student in (group.students[1:] if group else ()))
    message = "; ".join(part for part in (answer.reason, answer.doubt) if part) or "estimated from the scorer's signals together"
    return ItemView(entry, question.title if question else answer.id, question.prompt if question else "",
                    question.reference if question else "", answer.points, message, "",
                    marked(answer.text or answer.excerpt, answer.found, numbers), concepts, None, members, history)


def _member(desk: Desk, student: str, item: str) -> Member:
    answer = next(a for a in desk.graded.grade(student).answers if a.id == item)
    return Member(student_key(student), desk.label(student), student, answer.text)


def _check_view(desk: Desk, entry: Entry, grade: Grade, check: CheckResult,
                history: tuple[dict[str, Any], ...]) -> ItemView:
    from grader.checks import REGISTRY

    definition = REGISTRY.get(check.id)
    stopped = "" if grade.status is GradeStatus.GRADED else f" (the run ended: {grade.status.value}: {grade.reason[:200]})"
    submission = desk.graded.submissions.get(grade.id)
    code = code_excerpt(submission.code if submission else None, check.location)
    return ItemView(entry, definition.title if definition else check.id, "", "", check.points,
                    f"{check.status.value}: {check.message}{stopped}", check.hint, (), (), code, (), history)


def marked(text: str, found: Sequence[dict[str, str]], numbers: dict[str, int]) -> tuple[Segment, ...]:
    """``text`` cut into segments, each sentence that earned concepts marked with their numbers."""
    earned: dict[tuple[int, int], list[int]] = {}
    for each in found:
        start = text.find(each["sentence"])
        if start >= 0:
            earned.setdefault((start, start + len(each["sentence"])), []).append(numbers.get(each["concept"], 0))
    segments: list[Segment] = []
    position = 0
    for (start, end), concepts in sorted(earned.items()):
        if start < position:
            continue  # a sentence inside one already marked (the text repeats itself)
        if start > position:
            segments.append(Segment(text[position:start]))
        segments.append(Segment(text[start:end], tuple(sorted(concepts))))
        position = end
    if position < len(text):
        segments.append(Segment(text[position:]))
    return tuple(segments)


def code_excerpt(code: Path | None, location: Location | None) -> CodeExcerpt | None:
    """The lines around ``location`` in the student's file (a notebook's cell), or None when the check
    names no line."""
    if location is None:
        return None
    if code is None or not code.is_file():
        return CodeExcerpt(location.file, location.cell, (), "the student's file is not where it was graded")
    try:
        lines = _cell_lines(code, location.cell) if location.cell is not None else \
            code.read_text(encoding="utf-8", errors="replace").splitlines()
    except (OSError, ValueError, IndexError) as error:
        return CodeExcerpt(location.file, location.cell, (), f"the file cannot be read: {error}")
    first, last = max(1, location.line - _AROUND), min(len(lines), location.line + _AROUND)
    return CodeExcerpt(location.file, location.cell, tuple(CodeLine(number, lines[number - 1], number == location.line)
                                                           for number in range(first, last + 1)))


# Code that students share, side by side


@dataclass(frozen=True)
class SharedLine:
    """A line of one of two files compared; ``passage``: the number (from 1) of the shared passage
    it is in, the same number in both files, or 0."""

    number: int
    cell: int | None
    text: str
    passage: int


@dataclass(frozen=True)
class SharedFile:
    """One side of a comparison: whose file, and its lines (``problem`` when it cannot be read)."""

    key: str
    label: str
    student: str
    file: str
    lines: tuple[SharedLine, ...] = ()
    problem: str = ""


@dataclass(frozen=True)
class CodeComparison:
    """Two students' code side by side, the passages they share marked in both."""

    similarity: float
    summary: str
    first: SharedFile
    second: SharedFile
    passages: tuple[tuple[str, str], ...]  # each passage's lines in the first file and in the second, shown

    def to_dict(self, names: bool) -> dict[str, Any]:
        shown = asdict(self)
        if not names:
            shown["first"].pop("student")
            shown["second"].pop("student")
            shown["summary"] = f"code {self.similarity:.0%} alike"
        return shown


def code_pairs(desk: Desk) -> list[tuple[str, str, str, str, float]]:
    """The class's pairs of students whose code matches beyond the boilerplate, strongest first:
    (first key, second key, first label, second label, similarity)."""
    return [(student_key(pair.first), student_key(pair.second), desk.label(pair.first), desk.label(pair.second),
             pair.similarity) for pair in desk.graded.similar_code]


def code_comparison(desk: Desk, first_key: str, second_key: str) -> CodeComparison:
    """The two files of a pair side by side; raises ``KeyError`` when the class has no such pair."""
    pair = next((pair for pair in desk.graded.similar_code
                 if (student_key(pair.first), student_key(pair.second)) == (first_key, second_key)), None)
    if pair is None:
        raise KeyError(f"{first_key}/{second_key}")
    sides = []
    for student, ranges in ((pair.first, [p.first for p in pair.passages]),
                            (pair.second, [p.second for p in pair.passages])):
        submission = desk.graded.submissions.get(student)
        sides.append(_shared_file(student, desk.label(student), submission.code if submission else None, ranges))
    return CodeComparison(pair.similarity, pair.summary, sides[0], sides[1],
                          tuple((p.first.shown, p.second.shown) for p in pair.passages))


def _shared_file(student: str, label: str, code: Path | None, ranges: Sequence[Any]) -> SharedFile:
    """``code``'s lines as compared (a notebook's code cells), each marked with its passage."""
    from grader.errors import SubmissionError
    from grader.intake import read_program

    name = code.name if code else ""
    if code is None or not code.is_file():
        return SharedFile(student_key(student), label, student, name, (),
                          "the student's file is not where it was graded")
    try:
        program = read_program(code)
    except SubmissionError as error:
        return SharedFile(student_key(student), label, student, name, (), str(error))

    def passage(cell: int | None, line: int) -> int:
        where = (cell or 0, line)
        return next((number for number, shared in enumerate(ranges, start=1)
                     if (shared.start_cell or 0, shared.start) <= where <= (shared.end_cell or 0, shared.end)), 0)

    lines = []
    for number, text in enumerate(program.source.splitlines(), start=1):
        cell, line = program.locate(number)
        lines.append(SharedLine(line, cell, text, passage(cell, line)))
    return SharedFile(student_key(student), label, student, name, tuple(lines))


def _cell_lines(notebook: Path, cell: int) -> list[str]:
    import nbformat

    code_cells = [c for c in nbformat.read(str(notebook), as_version=4).cells if c.cell_type == "code"]
    return code_cells[cell - 1].source.splitlines()

"""What an instructor does with a class, as a library: grade it, open it again, review it, decide,
export. The ``grade`` command and the review page are thin adapters over these functions and hold
no logic of their own.

A graded class lives in its output folder: each submission's saved result (``submissions/``), the
decisions people made (``decisions.sqlite``, ``decisions.py``), the reports written from both, and
``class.json``, which says where the class and its rubric came from so that a later command (the
review page) can find the students' files and the questions again.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import Any

from grader.answers.similarity import SimilarPair, similar_pairs
from grader.atomic import write_text
from grader.batch import Outcome, RemoteGrader, Saved, grade_batch, load_all_saved
from grader.decisions import (Decision, DecisionError, DecisionKind, DecisionStore, apply_decisions, automatic_points,
                              check_decision, now, person)
from grader.discover import Discovery, discover, find_student
from grader.errors import GraderError
from grader.results import AnswerStatus, Grade, Submission
from grader.review import DEFAULT_BUDGET, ReviewItem, like_this, review_queue, within_budget
from grader.rubric import Rubric, load_rubric
from grader.run.settings import RunSettings
from grader.shared.renamed import current_id
from grader.similarity.pairs import CodePair

CLASS_FILE = "class.json"
Progress = Callable[[str, Grade, Outcome], None]


@dataclass(frozen=True)
class Intake:
    """The folder to grade, and the LMS archive it was unpacked from (if it was one)."""

    folder: Path
    archive: Path | None = None
    files: int = 0


def take_in(given: Path, out: Path) -> Intake:
    """The folder of submissions ``given`` names: itself, or the LMS .zip it is (or that it alone
    holds, with no submissions beside it), unpacked safely into ``out/intake/``. Raises
    ``GraderError`` for a file that is no .zip, or a folder holding several."""
    from grader.lms import unpack

    if given.is_file() and given.suffix.lower() != ".zip":
        raise GraderError(f"{given.name} is neither a folder of submissions nor an LMS .zip download")
    archives = [given] if given.is_file() else sorted(given.glob("*.zip"))
    if not archives or (given.is_dir() and discover(given).submissions):
        return Intake(given)
    if len(archives) > 1:
        raise GraderError(f"{given} holds {len(archives)} .zip downloads ({', '.join(a.name for a in archives)}); "
                          "give one of them")
    unpacked = unpack(archives[0], out / "intake" / archives[0].stem)
    return Intake(unpacked.folder, archives[0], unpacked.files)


def find_submissions(folder: Path, rubric: Rubric) -> Discovery:
    """The submissions in ``folder`` (and what could not be made sense of); raises ``GraderError``
    when there are none."""
    found = discover(folder, rubric.code_file)
    if not found.submissions:
        raise GraderError(f"no submissions found in {folder}")
    return found


@dataclass(frozen=True)
class GradedClass:
    """A graded class as its output folder holds it: grades with the decisions in force applied,
    each submission's saved result, the students' files, near-identical answers, and pairs of
    students whose code matches beyond the boilerplate (evidence for a person; no score changes)."""

    out: Path
    rubric: Rubric
    grades: tuple[Grade, ...]
    saved: Mapping[str, Saved]
    submissions: Mapping[str, Submission] = field(default_factory=dict)
    similar_answers: tuple[SimilarPair, ...] = ()
    boilerplate: tuple[Path, ...] = ()  # code the lab hands out (``boilerplate_of``)

    @cached_property
    def similar_code(self) -> tuple[CodePair, ...]:
        """Pairs of students whose code matches beyond the boilerplate and what most of the class
        shares, strongest first; computed when first asked for (a few seconds for 500 students the
        first time in a process), so that commands that do not show it do not pay for it."""
        from grader.similarity.pairs import similar_code

        files = {student: self.submissions[student].code for student in self.saved if student in self.submissions}
        return similar_code(files, self.boilerplate)

    def grade(self, student: str) -> Grade:
        """The grade of ``student`` (an id); raises ``DecisionError`` naming the graded ids."""
        for grade in self.grades:
            if grade.id == student:
                return grade
        raise DecisionError(f"no graded student {student!r} in {self.out}; graded: "
                            f"{', '.join(g.id for g in self.grades)}")

    def review(self) -> list[ReviewItem]:
        """What a person should look at, most likely wrong first (``review.review_queue``)."""
        return review_queue(self.grades, self.similar_answers, self.similar_code)

    def fingerprint(self, student: str) -> str:
        saved = self.saved.get(student)
        return saved.fingerprints.run if saved else ""


@dataclass(frozen=True)
class ClassRun:
    """What grading a class did: the graded class, and how each result was obtained."""

    graded: GradedClass
    outcomes: Counter[str]
    document: dict[str, Any]


def grade_class(submissions: Sequence[Submission], rubric: Rubric, settings: RunSettings, out: Path, *,
                jobs: int = 1, force: bool = False, progress: Progress | None = None,
                remote: RemoteGrader | None = None, gradescope: bool = False, folder: Path | None = None,
                boilerplate: Sequence[Path] = ()) -> ClassRun:
    """Grade ``submissions`` into ``out`` (running only what is new or changed, rescoring from saved
    evidence what only the rubric changed for), apply the decisions in force, and write every report.
    ``boilerplate``: code files handed out with the lab, left out when comparing students' code
    (remembered in class.json; none given keeps the ones given before).
    One bad submission never stops the class: its grade says what went wrong."""
    outcomes: Counter[str] = Counter()

    def count(student: str, grade: Grade, outcome: Outcome) -> None:
        outcomes[outcome] += 1
        if progress:
            progress(student, grade, outcome)

    grade_batch(submissions, rubric, settings, out, jobs=jobs, force=force, progress=count, remote=remote)
    _write_manifest(out, rubric, submissions, folder, boilerplate)
    graded = open_class(out, rubric, only=[submission.id for submission in submissions])
    document = write_reports(graded, gradescope)
    return ClassRun(graded, outcomes, document)


def grade_student(submission: Submission, rubric: Rubric, settings: RunSettings, out: Path, *,
                  force: bool = False, progress: Progress | None = None) -> Grade:
    """Grade (or reuse) one student of a class and write their feedback; the class files stay as they are.
    Returns their grade with the decisions in force."""
    from grader.report_files import write_feedback
    from grader.view import view_of

    grade_batch([submission], rubric, settings, out, jobs=1, force=force, progress=progress)
    store = DecisionStore(out)
    saved = load_all_saved(out)[submission.id]
    grade = apply_decisions(saved.grade, store.current(), saved.fingerprints.run)
    write_feedback(out, view_of(grade, rubric, "student"), rubric)
    return grade


def open_class(out: Path, rubric: Rubric | None = None, only: Sequence[str] | None = None) -> GradedClass:
    """The class graded into ``out``, with the decisions in force applied. The rubric is the one it
    was graded with (``class.json``) unless given. Raises ``GraderError`` when ``out`` holds no
    graded submissions."""
    saved = _saved(out)
    if only is not None:
        saved = {student: saved[student] for student in only if student in saved}
    if not saved:
        raise GraderError(f"{out} holds no graded submissions (run `grade DIR --out {out}` first)")
    manifest = _read_manifest(out)
    rubric = rubric or load_rubric(manifest.get("rubric") or None)
    store = DecisionStore(out, _checker_of([result.grade for result in saved.values()], out))
    store.take_in_edits()  # a person's edits of overrides.csv count before anything is read or written
    decisions = store.current()
    submissions = {student: _submission(student, files) for student, files in manifest.get("students", {}).items()}
    grades = tuple(apply_decisions(_with_texts(result.grade, submissions.get(student)), decisions,
                                   result.fingerprints.run) for student, result in saved.items())
    written = {grade.id: {answer.id: answer.text for answer in grade.answers if answer.text}
               for grade in grades}
    written_ids = {question.id for question in rubric.questions if question.kind == "written"}
    pairs = tuple(similar_pairs({student: {item: text for item, text in answers.items() if item in written_ids}
                                 for student, answers in written.items()}))
    return GradedClass(out, rubric, grades, saved, submissions, pairs,
                       tuple(boilerplate_of(rubric, manifest.get("boilerplate", []))))


def boilerplate_of(rubric: Rubric, given: Sequence[str | Path] = ()) -> list[Path]:
    """The code that comparing students' code leaves out: the shipped reference solutions, the
    rubric's ``[lab]`` boilerplate, and the files given (``--boilerplate``)."""
    from grader.bundled import reference_scripts

    try:
        references = reference_scripts()
    except GraderError:
        references = []
    return [*references, *(Path(path) for path in rubric.lab.boilerplate), *(Path(path) for path in given)]


def _with_texts(grade: Grade, submission: Submission | None) -> Grade:
    """``grade`` with the text of each answer, read from the student's files when its saved result
    (grader 0.1) did not keep it."""
    if submission is None or all(answer.text or answer.status is not AnswerStatus.ANSWERED for answer in grade.answers):
        return grade
    from grader.answers.sheet import read_items

    items, _ = read_items(submission)
    return replace(grade, answers=tuple(answer if answer.text or answer.id not in items
                                        else replace(answer, text=items[answer.id].text) for answer in grade.answers))


_SAVED: dict[Path, tuple[tuple[tuple[str, int, int], ...], dict[str, Saved]]] = {}


def _saved(out: Path) -> dict[str, Saved]:
    """The saved results in ``out``, read again only when one of their files changed (the review
    page opens the class at every request)."""
    files = tuple((path.name, stat.st_mtime_ns, stat.st_size) for path in sorted((out / "submissions").glob("*.json"))
                  if (stat := path.stat()))
    key = out.resolve()
    cached = _SAVED.get(key)
    if cached is None or cached[0] != files:
        _SAVED[key] = cached = (files, load_all_saved(out))
    return dict(cached[1])


def write_reports(graded: GradedClass, gradescope: bool = False) -> dict[str, Any]:
    """Write results.json, grades.csv, the feedback, the class report (and Gradescope's files) from
    the graded class, and the decisions' CSV export; return the results document."""
    from grader.report_files import write_all
    from grader.report_json import results_document
    from grader.view import views_of

    grades = list(graded.grades)
    views = views_of(grades, graded.rubric, "instructor")
    document = results_document(graded.rubric, views, grades[0].environment.get("isolation", "") if grades else "")
    write_all(graded.out, graded.rubric, grades, document, _class_data(graded), gradescope)
    DecisionStore(graded.out, _checker(graded)).export()
    return document


def _class_data(graded: GradedClass):  # noqa: ANN202 - report_files.ClassData, imported late
    """What the class report draws beside the grades: the review queue, each student's validation
    curve from the saved evidence, and the reference solution's (shipped with the grader)."""
    from grader.bundled import REFERENCE, bundled_file
    from grader.evidence import validation_curve
    from grader.report_files import ClassData
    from grader.results import RunResult

    curves = {student: validation_curve(RunResult.from_dict(result.run))
              for student, result in graded.saved.items() if result.run}
    try:
        reference = json.loads(bundled_file(REFERENCE, "curve.json").read_text())["val_accuracy"]
    except (GraderError, ValueError, KeyError):
        reference = []
    return ClassData(tuple(within_budget(graded.review(), DEFAULT_BUDGET)), {student: curve for student, curve in curves.items() if curve}, reference,
                     graded.similar_answers, graded.similar_code)


# Decisions


def decide(graded: GradedClass, student: str, item: str, points: float | None, comment: str = "", *,
           kind: DecisionKind = DecisionKind.OVERRIDE, who: str = "") -> Decision:
    """Record a person's decision on ``student``'s ``item`` (an id, or the unique start of one):
    ``override`` with ``points``, ``accept`` the automatic points (``points`` None), or ``withdraw``
    an earlier decision. Raises ``DecisionError`` for no such student or item, or points out of range."""
    return decide_many(graded, [student], item, points, comment, kind=kind, who=who)[0]


def decide_many(graded: GradedClass, students: Sequence[str], item: str, points: float | None, comment: str = "", *,
                kind: DecisionKind = DecisionKind.OVERRIDE, who: str = "") -> list[Decision]:
    """The same decision on the same item of several students (a group), in one transaction: all
    are recorded or none. Raises ``DecisionError`` as ``decide`` does, before recording anything."""
    decisions = [_decision(graded, student, item, points, comment, kind, who) for student in students]
    store = DecisionStore(graded.out, _checker(graded))
    stored = store.record(decisions)
    try:
        store.export()
    except (DecisionError, OSError):
        pass  # the decisions are safe in the database; the CSV is written again with the reports
    return stored


def _decision(graded: GradedClass, student: str, item: str, points: float | None, comment: str,
              kind: DecisionKind, who: str) -> Decision:
    chosen = find_student(student, tuple(Submission(grade.id, None, graded.out) for grade in graded.grades)).id
    grade = graded.grade(chosen)
    results = {result.id: result for result in (*grade.checks, *grade.answers)}
    item = current_id(item)
    if item not in results:
        raise DecisionError(f"{chosen} has no item {item!r} (items: {', '.join(results)}). Received: {item!r}")
    automatic = automatic_points(results[item])
    if kind is DecisionKind.OVERRIDE:
        if points is None:
            raise DecisionError(f"{chosen} {item}: an override needs points")
        check_decision(grade, item, points)
    else:  # accepting keeps the automatic points; withdrawing goes back to them
        points = automatic
    return Decision(chosen, item, kind, float(points), automatic, comment, who or person(), now(),
                    graded.fingerprint(chosen))


def _checker(graded: GradedClass) -> Callable[[Decision], None]:
    return _checker_of(graded.grades, graded.out)


def _checker_of(grades: Sequence[Grade], out: Path) -> Callable[[Decision], None]:
    """Checks a decision read from a CSV against the class: its student, item and range."""
    by_id = {grade.id: grade for grade in grades}

    def check(decision: Decision) -> None:
        if decision.student not in by_id:
            raise DecisionError(f"{decision.student!r} is not a graded student of {out} "
                                f"(graded: {', '.join(by_id)})")
        if decision.kind is DecisionKind.OVERRIDE:
            check_decision(by_id[decision.student], decision.item, decision.points)

    return check


def suggestions(graded: GradedClass, student: str, item: str) -> list[str]:
    """Undecided students whose answer to ``item`` is like ``student``'s and earned the same
    automatic points: offered for the same change, never changed without a person."""
    return like_this(graded.grades, student, item)


def export_decisions(out: Path, destination: Path | None = None) -> Path:
    """Write the decisions in force as CSV (default ``OUT/overrides.csv``); return the path."""
    return DecisionStore(out).export(destination)


def import_decisions(graded: GradedClass, source: Path) -> list[Decision]:
    """Take in a decisions CSV (rows that differ from the decisions in force); return what was added.
    Raises ``DecisionError`` naming a bad row, and then takes in nothing."""
    return DecisionStore(graded.out, _checker(graded)).take_in(source, edited=True)


# class.json


def _write_manifest(out: Path, rubric: Rubric, submissions: Sequence[Submission], folder: Path | None,
                    boilerplate: Sequence[Path] = ()) -> None:
    """Remember where the class, its rubric and the boilerplate given came from (the students
    graded before, and the boilerplate given before when none is given, are kept)."""
    manifest = _read_manifest(out)
    students = manifest.get("students", {})
    for submission in submissions:
        students[submission.id] = {"code": _path(submission.code), "answers": _path(submission.answers),
                                   "folder": _path(submission.folder),
                                   "extra_files": [_path(path) for path in submission.extra_files],
                                   "own_folder": submission.own_folder}
    manifest = {"rubric": rubric.source or manifest.get("rubric", ""),
                "folder": _path(folder) if folder else manifest.get("folder", ""),
                "boilerplate": [_path(path) for path in boilerplate] or manifest.get("boilerplate", []),
                "students": students}
    write_text(out / CLASS_FILE, json.dumps(manifest, indent=2) + "\n")


def _read_manifest(out: Path) -> dict[str, Any]:
    try:
        manifest = json.loads((out / CLASS_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return manifest if isinstance(manifest, dict) else {}


def _path(path: Path | None) -> str:
    return str(path.resolve()) if path is not None else ""


def _submission(student: str, files: Mapping[str, Any]) -> Submission:
    as_path = lambda text: Path(text) if text else None  # noqa: E731
    return Submission(student, as_path(files.get("code")), Path(files.get("folder") or "."),
                      as_path(files.get("answers")),
                      tuple(Path(path) for path in files.get("extra_files", []) if path),
                      bool(files.get("own_folder", True)))


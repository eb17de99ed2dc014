"""Find the submissions in a folder, in the layouts instructors actually have.

- a folder per student (its ``transfer.py``, or another single ``.py``, or a notebook, plus an
  answers document);
- flat files per student (``alice.py`` with ``alice.md`` or ``alice_answers.docx``);
- an LMS bulk download, several files per student grouped by student: Canvas
  (``name_userid_submissionid_filename``, ``name_late_...``), Blackboard
  (``Assignment_username_attempt_2026-11-30-10-00-00_filename``; its receipt ``.txt`` is not an
  answers document), Moodle (a folder ``Full Name_123_assignsubmission_file_`` per student).

Anything that cannot be made sense of is listed with the reason, never silently skipped.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from grader.errors import SubmissionError
from grader.results import Submission

CODE_SUFFIXES = (".py", ".ipynb")
ANSWER_SUFFIXES = (".md", ".txt", ".docx", ".pdf")
_PREFERRED = ("transfer.py", "transfer_learning.py", "lab.py", "main.py")
_IGNORED = ("readme.md", "requirements.txt", "license", "license.md")
# Canvas: "smithjane_12345_678901_transfer.py", "smithjane_late_12345_678901_Lab6-1.ipynb".
_CANVAS = re.compile(r"^(?P<student>[A-Za-z][A-Za-z0-9-]*?)(?:_late)?_(?P<user>\d+)_(?P<attempt>\d+)_(?P<name>.+)$")
# Blackboard: "Lab 6_jsmith_attempt_2026-11-30-10-00-00_transfer.py", and the receipt without "_name".
_BLACKBOARD = re.compile(r"^(?P<assignment>.+?)_(?P<student>[^_]+)_attempt_(?P<when>\d{4}(?:-\d{2}){5})"
                         r"(?:_(?P<name>.+)|\.txt)$")
# Moodle: a folder "Jane Smith_12345_assignsubmission_file_" per student.
_MOODLE = re.compile(r"^(?P<student>.+?)_(?P<user>\d+)_assignsubmission_(?:file|onlinetext)_?$")


@dataclass(frozen=True)
class Discovery:
    """What a folder holds: the submissions found, and what could not be made sense of (with why)."""

    submissions: tuple[Submission, ...]
    unrecognised: tuple[tuple[Path, str], ...] = ()


def discover(root: Path, code_file: str = "") -> Discovery:
    """Return the submissions under ``root``; ``code_file``: the file name the lab asks for (see
    ``choose_code``). Raises ``SubmissionError`` if ``root`` is not a folder."""
    if not root.is_dir():
        raise SubmissionError(f"not a folder: {root}")
    entries = [e for e in sorted(root.iterdir()) if not e.name.startswith((".", "_")) and e.name != "grading-results"]
    submissions: list[Submission] = []
    unrecognised: list[tuple[Path, str]] = []
    for folder in (e for e in entries if e.is_dir()):
        found = folder_submission(folder, code_file)
        if found is None:
            unrecognised.append((folder, "no .py or .ipynb file inside"))
        else:
            submissions.append(found)
    files = [e for e in entries if e.is_file()]
    groups, flat = _lms_groups(files, unrecognised)
    for student, group in groups.items():
        submissions.append(_group_submission(student, group, root, unrecognised, code_file))
    found_flat, flat_unrecognised = _flat_submissions(flat, root)
    submissions.extend(found_flat)
    unrecognised.extend(flat_unrecognised)
    submissions = [s for s in submissions if s.code is not None or s.answers is not None]
    return Discovery(tuple(sorted(submissions, key=lambda s: s.id)), tuple(unrecognised))


def folder_submission(folder: Path, code_file: str = "") -> Submission | None:
    """A student's folder: its main code file (``transfer.py`` first) and answers document, if any."""
    files = [p for p in sorted(folder.iterdir()) if p.is_file()]
    code = [p for p in files if p.suffix.lower() in CODE_SUFFIXES]
    if not code:
        return None
    main = choose_code(code, code_file)
    answers = next((p for p in files if p.suffix.lower() in ANSWER_SUFFIXES and p.name.lower() not in _IGNORED), None)
    moodle = _MOODLE.match(folder.name)
    student = f"{_slug(moodle['student'])}_{moodle['user']}" if moodle else folder.name
    lms = (("name", moodle["student"]), ("user_id", moodle["user"])) if moodle else ()
    return Submission(student, main, folder, answers, tuple(p for p in code if p != main), lms=lms)


def _slug(name: str) -> str:
    """``Jane Smith`` -> ``jane_smith``: an id that stays one word in files and tables."""
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_") or "student"


def choose_code(code: list[Path], code_file: str = "") -> Path:
    """The code file graded when a submission holds several: the one the lab names (``code_file``,
    the end of an LMS's file name counts), else one of the lab's usual names (``transfer.py``...),
    else, among the files that build a model (or all, if none does), the newest."""
    named = [p for p in code if code_file and p.name.lower().endswith(code_file.lower())]
    if named:
        return named[0]
    preferred = next((p for name in _PREFERRED for p in code if p.name.lower() == name), None)
    if preferred is not None:
        return preferred
    building = [p for p in code if _builds_model(p)] or code
    return max(building, key=lambda p: (p.stat().st_mtime_ns, p.name))


_BUILDS = re.compile(r"\b(fit|compile)\s*\(|applications\.|MobileNetV2|Sequential\s*\(|Model\s*\(")


def _builds_model(path: Path) -> bool:
    """Whether a code file builds or trains a model (read as text, never run)."""
    try:
        return bool(_BUILDS.search(path.read_text(encoding="utf-8", errors="replace")))
    except OSError:
        return False


def _lms_groups(files: list[Path], unrecognised: list[tuple[Path, str]]) -> tuple[dict[str, list[Path]], list[Path]]:
    """Files named the Canvas or Blackboard way, grouped by student; and the other files."""
    groups: dict[str, list[Path]] = defaultdict(list)
    other = []
    for path in files:
        canvas, blackboard = _CANVAS.match(path.name), _BLACKBOARD.match(path.name)
        if canvas:
            groups[f"{canvas['student']}_{canvas['user']}"].append(path)
        elif blackboard and blackboard["name"]:
            groups[blackboard["student"]].append(path)
        elif blackboard:
            unrecognised.append((path, "Blackboard's submission receipt (not graded)"))
        else:
            other.append(path)
    return dict(groups), other


def _group_submission(student: str, group: list[Path], root: Path,
                      unrecognised: list[tuple[Path, str]], code_file: str = "") -> Submission:
    code = [p for p in group if p.suffix.lower() in CODE_SUFFIXES]
    answers = [p for p in group if p.suffix.lower() in ANSWER_SUFFIXES]
    for path in group:
        if path not in code and path not in answers:
            unrecognised.append((path, f"file of {student} that is neither code nor an answers document"))
    if not code:
        unrecognised.append((group[0], f"{student} handed in no .py or .ipynb file"))
    main = choose_code(code, code_file) if code else None
    return Submission(student, main, root, answers[0] if answers else None,
                      tuple(p for p in code if p != main), own_folder=False, lms=_lms_identity(group))


def _lms_identity(group: list[Path]) -> tuple[tuple[str, str], ...]:
    """What the LMS's file names say of the student: name, user id, and whether any file was late."""
    canvas = [match for path in group if (match := _CANVAS.match(path.name))]
    if canvas:
        late = any("_late_" in path.name for path in group)
        return (("name", canvas[0]["student"]), ("user_id", canvas[0]["user"]), ("late", "yes" if late else "no"))
    blackboard = next((match for path in group if (match := _BLACKBOARD.match(path.name))), None)
    return (("name", blackboard["student"]),) if blackboard else ()


def _flat_submissions(files: list[Path], root: Path) -> tuple[list[Submission], list[tuple[Path, str]]]:
    """``alice.py`` + ``alice.md`` / ``alice_answers.docx``: code files, each with its answers."""
    code = [f for f in files if f.suffix.lower() in CODE_SUFFIXES]
    documents = [f for f in files if f.suffix.lower() in ANSWER_SUFFIXES and f.name.lower() not in _IGNORED]
    submissions, claimed = [], set()
    for path in code:
        answers = next((d for d in documents if d not in claimed and d.stem.lower().startswith(path.stem.lower())), None)
        if answers is not None:
            claimed.add(answers)
        submissions.append(Submission(path.stem, path, root, answers, own_folder=False))
    unrecognised = [(f, "answers document with no code file of the same name") for f in documents if f not in claimed]
    unrecognised += [(f, "not a code file or an answers document") for f in files
                     if f not in code and f not in documents and f.name.lower() not in _IGNORED]
    return submissions, unrecognised


def find_student(query: str, submissions: tuple[Submission, ...]) -> Submission:
    """The submission ``query`` names: its id, or the one id it begins (any case). Raises
    ``SubmissionError`` naming the nearest ids when it names none, or several."""
    import difflib

    exact = [s for s in submissions if s.id == query]
    begins = [s for s in submissions if s.id.lower().startswith(query.lower())]
    if exact or len(begins) == 1:
        return (exact or begins)[0]
    ids = [s.id for s in submissions]
    if begins:
        raise SubmissionError(f"--student {query!r} begins {len(begins)} ids: {', '.join(s.id for s in begins[:8])}; "
                              "give more of one")
    near = difflib.get_close_matches(query, ids, n=3, cutoff=0.5)
    raise SubmissionError(f"no student {query!r}" + (f"; did you mean {', '.join(near)}?" if near else "")
                          + f" ({len(ids)} students found)")

"""Find the submissions in a folder: one per student sub-folder, or one per loose code file."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from grader.errors import SubmissionError
from grader.results import Submission

CODE_SUFFIXES = (".py", ".ipynb")
ANSWER_SUFFIXES = (".md", ".txt", ".docx", ".pdf")
_PREFERRED = ("transfer.py", "transfer_learning.py", "lab.py", "main.py")


@dataclass(frozen=True)
class Discovery:
    """What a folder holds: the submissions found, and what could not be made sense of (with why)."""

    submissions: tuple[Submission, ...]
    unrecognised: tuple[tuple[Path, str], ...] = ()


def discover(root: Path) -> Discovery:
    """Return the submissions under ``root``. Raises ``SubmissionError`` if ``root`` is not a folder."""
    if not root.is_dir():
        raise SubmissionError(f"not a folder: {root}")
    submissions, unrecognised = [], []
    for entry in sorted(root.iterdir()):
        if entry.name.startswith((".", "_")) or entry.name == "grading-results":
            continue
        if entry.is_dir():
            found = folder_submission(entry)
            if found is None:
                unrecognised.append((entry, "no .py or .ipynb file inside"))
            else:
                submissions.append(found)
        elif entry.suffix.lower() in CODE_SUFFIXES:
            submissions.append(Submission(entry.stem, entry, root))
        elif entry.suffix.lower() not in ANSWER_SUFFIXES:
            unrecognised.append((entry, "not a code file or a student folder"))
    return Discovery(tuple(submissions), tuple(unrecognised))


def folder_submission(folder: Path) -> Submission | None:
    """A student's folder: its main code file (``transfer.py`` first) and answers document, if any."""
    code = [p for p in sorted(folder.iterdir()) if p.is_file() and p.suffix.lower() in CODE_SUFFIXES]
    if not code:
        return None
    main = next((p for name in _PREFERRED for p in code if p.name.lower() == name), None)
    notebooks = [p for p in code if p.suffix.lower() == ".ipynb"]
    main = main or (notebooks[0] if notebooks else code[0])
    answers = next((p for p in sorted(folder.iterdir()) if p.is_file() and p.suffix.lower() in ANSWER_SUFFIXES
                    and p.name.lower() not in ("readme.md", "requirements.txt")), None)
    return Submission(folder.name, main, folder, answers, tuple(p for p in code if p != main))

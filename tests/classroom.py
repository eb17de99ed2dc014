"""A class graded from recordings, as `grade` leaves it: fixture submissions copied under student
names with answers of their own, each scored from its recorded run and saved (no code runs)."""

from __future__ import annotations

import json
import shutil
from collections.abc import Mapping
from pathlib import Path

from grader.batch import fingerprints, save
from grader.discover import discover
from grader.grading import rescore
from grader.instructor import _write_manifest
from grader.results import RunResult
from grader.rubric import Rubric
from grader.run.settings import RunSettings

from conftest import RECORDINGS, REPOSITORY, SUBMISSIONS

MODEL_ANSWERS = (REPOSITORY / "examples" / "submissions" / "alice_correct" / "answers.md").read_text()


def with_answer(number: int, text: str, answers: str = MODEL_ANSWERS) -> str:
    """``answers`` with answer ``number`` replaced by ``text``."""
    old = answers.split(f"## Answer {number}")[1].split("##")[0]
    return answers.replace(old, f"\n{text}\n\n")


def grade_class(root: Path, rubric: Rubric, plan: Mapping[str, tuple[str, str]]) -> tuple[Path, Path]:
    """Grade ``plan`` (student -> (fixture submission, answers text)) into ``root/out`` from the
    fixtures' recordings; return the class folder and the output folder."""
    folder, out = root / "class", root / "out"
    for student, (fixture, answers) in plan.items():
        shutil.copytree(SUBMISSIONS / fixture, folder / student)
        (folder / student / "answers.md").write_text(answers)
    settings = RunSettings(budget=rubric.budget)
    submissions = discover(folder).submissions
    for submission in submissions:
        run = json.loads((RECORDINGS / f"{plan[submission.id][0]}.json").read_text())["run"]
        grade = rescore(submission, RunResult.from_dict(run), rubric, settings)
        save(out, submission, grade, run, fingerprints(submission, rubric, settings))
    _write_manifest(out, rubric, submissions, folder)
    return folder, out

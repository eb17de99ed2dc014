"""The instructor's loop on a graded class: the review queue, and overrides that survive re-runs
and rescoring, show in every output, and are flagged (not dropped) when the submission changes.
Built on saved results of recorded runs: no code runs here."""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from grader.batch import fingerprints, load_all_saved, save
from grader.bundled import default_rubric
from grader.discover import discover
from grader.grading import rescore
from grader.results import RunResult
from grader.review import apply_overrides, load_overrides, record_override, review_queue
from grader.rubric import load_rubric
from grader.run.settings import RunSettings

from conftest import RECORDINGS, REPOSITORY, SUBMISSIONS

FLAGGED = "Freezing lets the base weights update while the classifier stays fixed."  # backwards: flagged


@pytest.fixture()
def graded(tmp_path: Path, rubric):  # noqa: ANN001, ANN201
    """A class of two graded as `grade` would have (results saved with their recorded runs); bob
    also handed in an older attempt beside his lab."""
    run = json.loads((RECORDINGS / "tutorial.json").read_text())["run"]
    answers = (REPOSITORY / "examples" / "submissions" / "alice_correct" / "answers.md").read_text()
    for name in ("alice_1", "bob_2"):
        shutil.copytree(SUBMISSIONS / "tutorial", tmp_path / "class" / name)
        text = answers if name == "alice_1" else answers.replace(answers.split("## Answer 3")[1].split("##")[0],
                                                                 f"\n{FLAGGED}\n\n")
        (tmp_path / "class" / name / "answers.md").write_text(text)
    (tmp_path / "class" / "bob_2" / "old_attempt.py").write_text("print('an older try')\n")
    out, settings = tmp_path / "out", RunSettings(budget=rubric.budget)
    submissions = discover(tmp_path / "class").submissions
    for submission in submissions:
        grade = rescore(submission, RunResult.from_dict(run), rubric, settings)
        save(out, submission, grade, run, fingerprints(submission, rubric, settings))
    return tmp_path / "class", out


def _grade(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "grader", *args], capture_output=True, text=True, cwd=cwd,
                          env={**os.environ, "NO_COLOR": "1", "COLUMNS": "200", "LOGNAME": "tim", "USER": "tim"})


def test_the_queue_names_who_what_why_and_shows_the_text(graded) -> None:  # noqa: ANN001
    _, out = graded
    result = _grade("review", str(out))
    assert result.returncode == 0, result.stderr
    assert "bob_2" in result.stdout and "q3" in result.stdout and "wrong way round" in result.stdout
    queue = review_queue([saved.grade for saved in load_all_saved(out).values()])
    assert [(item.student, item.item) for item in queue if item.item == "q3"] == [("bob_2", "q3")]
    assert FLAGGED in next(item.text for item in queue if item.item == "q3")


def test_an_override_is_checked_recorded_and_leaves_the_queue(graded) -> None:  # noqa: ANN001
    _, out = graded
    assert _grade("override", str(out), "bob", "q3", "99").returncode == 2  # more than q3 is worth
    assert _grade("override", str(out), "bob", "q9", "1").returncode == 2  # no such item
    assert _grade("override", str(out), "nobody", "q3", "1").returncode == 2
    result = _grade("override", str(out), "bob", "q3", "6", "--comment", "says it in other words")
    assert result.returncode == 0 and "bob_2 q3 = 6" in result.stdout
    decision = load_overrides(out)[("bob_2", "q3")]
    assert (decision.points, decision.comment) == (6.0, "says it in other words") and decision.when
    grades = [apply_overrides(s.grade, load_overrides(out), s.fingerprints.run) for s in load_all_saved(out).values()]
    assert not [item for item in review_queue(grades) if item.item == "q3"]


def test_overrides_survive_a_rerun_and_a_rescore_and_show_in_every_output(graded, tmp_path: Path) -> None:  # noqa: ANN001
    folder, out = graded
    automatic = next(a.points for a in load_all_saved(out)["bob_2"].grade.answers if a.id == "q3")
    assert _grade("override", str(out), "bob_2", "q3", "6", "--comment", "says it in other words").returncode == 0
    moved = tmp_path / "moved.toml"
    moved.write_text(re.sub(r'(\[checks\."script\.runs"\]\npoints = )(\d+)', lambda m: f"{m[1]}{int(m[2]) + 1}",
                            re.sub(r'(\[checks\."base\.frozen"\]\npoints = )(\d+)', lambda m: f"{m[1]}{int(m[2]) - 1}",
                                   default_rubric().read_text())))
    for extra, said in (((), "reused 2"), (("--rubric", str(moved)), "rescored 2")):
        result = _grade(str(folder), "--out", str(out), *extra)
        assert result.returncode == 0 and said in result.stdout, result.stdout + result.stderr
        bob = next(s for s in json.loads((out / "results.json").read_text())["submissions"] if s["id"] == "bob_2")
        q3 = next(a for a in bob["answers"] if a["id"] == "q3")
        assert q3["points"] == 6 and q3["override"]["automatic"] == automatic and q3["override"]["who"] == "tim"
        assert q3["override"]["comment"] == "says it in other words" and not q3["override"]["stale"]
        rows = {row["id"]: row for row in csv.DictReader((out / "grades.csv").open())}
        assert rows["bob_2"]["q3"] == "6.0" and "q3 (automatic" in rows["bob_2"]["overridden"]
        assert "overridden by tim" in (out / "feedback" / "bob_2.md").read_text()


def test_an_override_on_a_changed_submission_is_flagged_not_dropped(graded, rubric) -> None:  # noqa: ANN001
    folder, out = graded
    saved = load_all_saved(out)
    record_override(out, [s.grade for s in saved.values()], "bob_2", "q3", 6, "fine", saved["bob_2"].fingerprints.run)
    (folder / "bob_2" / "answers.md").write_text("Answer 3: a new text, handed in after the decision.")
    changed = fingerprints(discover(folder).submissions[1], rubric, RunSettings(budget=rubric.budget)).run
    grade = apply_overrides(saved["bob_2"].grade, load_overrides(out), changed)
    q3 = next(a for a in grade.answers if a.id == "q3")
    assert q3.points == 6 and q3.override["stale"] is True
    assert [(i.student, i.item) for i in review_queue([grade]) if "changed since" in i.reason] == [("bob_2", "q3")]


def test_the_class_report_shows_overrides_and_which_file_was_graded(graded) -> None:  # noqa: ANN001
    folder, out = graded
    assert _grade("override", str(out), "bob_2", "q3", "6", "--comment", "says it in other words").returncode == 0
    result = _grade(str(folder), "--out", str(out))
    assert result.returncode == 0 and "reused 2" in result.stdout, result.stdout + result.stderr
    report = (out / "report.html").read_text()
    assert "q3: overridden by tim" in report and "says it in other words" in report
    assert "Graded transfer.py; not graded: old_attempt.py" in report


def test_a_hand_edited_override_out_of_range_is_a_clear_error(graded) -> None:  # noqa: ANN001
    folder, out = graded
    (out / "overrides.csv").write_text("student,item,points,comment,who,when,fingerprint\nbob_2,q3,42,,tim,,\n")
    result = _grade(str(folder), "--out", str(out))
    assert result.returncode == 2 and "bob_2 q3: points must be between 0 and 10" in result.stderr
    (out / "overrides.csv").write_text("student,item,points,comment,who,when,fingerprint\nbob_2,q3,many,,tim,,\n")
    assert "points must be a number" in _grade("review", str(out)).stderr

"""The instructor's loop on a graded class: the review list (most likely wrong first), and
decisions that survive re-runs and rescoring, show in every output, and are flagged (not dropped)
when the submission changes. Built on saved results of recorded runs: no code runs here."""

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
from grader.decisions import DecisionKind, DecisionStore, apply_decisions
from grader.discover import discover
from grader.grading import rescore
from grader.instructor import decide, open_class
from grader.results import RunResult
from grader.review import review_queue, within_budget
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


def test_the_list_puts_the_likely_wrong_first_and_shows_the_text(graded) -> None:  # noqa: ANN001
    _, out = graded
    queue = open_class(out).review()
    answers = [item for item in queue if item.kind == "answer"]
    assert {(item.student, item.item) for item in answers} == {(s, q) for s in ("alice_1", "bob_2")
                                                               for q in ("q1", "q2", "q3", "q4")}
    errors = [item.expected_error for item in queue]
    assert errors == sorted(errors, reverse=True)  # most likely wrong first
    bob_q3 = next(item for item in answers if (item.student, item.item) == ("bob_2", "q3"))
    assert FLAGGED in bob_q3.text and "wrong way round" in bob_q3.reason and bob_q3.expected_error > 0
    result = _grade("review", str(out))
    assert result.returncode == 0, result.stderr
    assert "bob_2" in result.stdout and "q3" in result.stdout and "wrong way round" in result.stdout


def test_the_budget_cuts_the_list_and_json_lists_it_for_tools(graded) -> None:  # noqa: ANN001
    _, out = graded
    queue = open_class(out).review()
    scored = [item for item in queue if item.automatic is not None]
    assert len([i for i in within_budget(queue, "25%") if i.automatic is not None]) == -(-len(scored) // 4)
    assert [i.item for i in within_budget(queue, "3")] == [i.item for i in queue[:3]]
    for bad in ("lots", "0%", "120%", "-1"):
        with pytest.raises(ValueError, match="--budget"):
            within_budget(queue, bad)
    result = _grade("review", str(out), "--budget", "3", "--json", "-")
    assert result.returncode == 0, result.stderr
    listed = json.loads(result.stdout)
    assert [(i["student"], i["item"]) for i in listed] == [(i.student, i.item) for i in queue[:3]]
    assert set(listed[0]) >= {"student", "item", "automatic", "max_points", "expected_error", "reason"}
    assert _grade("review", str(out), "--budget", "many").returncode == 2


def test_a_decision_is_checked_recorded_and_leaves_the_list(graded) -> None:  # noqa: ANN001
    _, out = graded
    assert _grade("override", str(out), "bob", "q3", "99").returncode == 2  # more than q3 is worth
    assert _grade("override", str(out), "bob", "q9", "1").returncode == 2  # no such item
    assert _grade("override", str(out), "nobody", "q3", "1").returncode == 2
    assert _grade("override", str(out), "bob", "q3").returncode == 2  # an override needs points
    result = _grade("override", str(out), "bob", "q3", "6", "--comment", "says it in other words")
    assert result.returncode == 0 and "bob_2 q3 = 6" in result.stdout, result.stdout + result.stderr
    decision = DecisionStore(out).current()[("bob_2", "q3")]
    assert (decision.points, decision.comment, decision.who) == (6.0, "says it in other words", "tim")
    assert decision.kind is DecisionKind.OVERRIDE and decision.when and decision.automatic is not None
    assert not [item for item in open_class(out).review() if (item.student, item.item) == ("bob_2", "q3")]
    exported = list(csv.DictReader((out / "overrides.csv").open()))  # the spreadsheet's copy, derived
    assert [(row["student"], row["item"], row["points"]) for row in exported] == [("bob_2", "q3", "6")]


def test_accepting_and_withdrawing_are_decisions_too_and_history_is_kept(graded) -> None:  # noqa: ANN001
    _, out = graded
    automatic = next(a.points for a in open_class(out).grade("alice_1").answers if a.id == "q2")
    assert _grade("override", str(out), "alice", "q2", "--accept").returncode == 0
    assert not [i for i in open_class(out).review() if (i.student, i.item) == ("alice_1", "q2")]
    decide(open_class(out), "alice_1", "q2", 1.0, "too generous")
    assert next(a.points for a in open_class(out).grade("alice_1").answers if a.id == "q2") == 1.0
    assert _grade("override", str(out), "alice", "q2", "--withdraw").returncode == 0
    back = next(a for a in open_class(out).grade("alice_1").answers if a.id == "q2")
    assert back.points == automatic and back.override is None
    kinds = [d.kind.value for d in DecisionStore(out).history("alice_1", "q2")]
    assert kinds == ["accept", "override", "withdraw"]  # nothing overwritten
    listed = _grade("decisions", "list", str(out), "--history")
    assert listed.returncode == 0 and listed.stdout.count("alice_1 q2") == 3


def test_decisions_survive_a_rerun_and_a_rescore_and_show_in_every_output(graded, tmp_path: Path) -> None:  # noqa: ANN001
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


def test_a_decision_on_a_changed_submission_is_flagged_not_dropped(graded, rubric) -> None:  # noqa: ANN001
    folder, out = graded
    decide(open_class(out), "bob_2", "q3", 6, "fine")
    (folder / "bob_2" / "answers.md").write_text("Answer 3: a new text, handed in after the decision.")
    changed = fingerprints(discover(folder).submissions[1], rubric, RunSettings(budget=rubric.budget)).run
    grade = apply_decisions(load_all_saved(out)["bob_2"].grade, DecisionStore(out).current(), changed)
    q3 = next(a for a in grade.answers if a.id == "q3")
    assert q3.points == 6 and q3.override["stale"] is True
    assert [(i.student, i.item) for i in review_queue([grade]) if "changed since" in i.reason] == [("bob_2", "q3")]


def test_the_class_report_shows_decisions_and_which_file_was_graded(graded) -> None:  # noqa: ANN001
    folder, out = graded
    assert _grade("override", str(out), "bob_2", "q3", "6", "--comment", "says it in other words").returncode == 0
    result = _grade(str(folder), "--out", str(out))
    assert result.returncode == 0, result.stdout + result.stderr
    report = (out / "report.html").read_text()
    assert "q3: overridden by tim" in report and "says it in other words" in report
    assert "Graded transfer.py; not graded: old_attempt.py" in report


def test_a_grader_0_1_overrides_csv_is_taken_in_once(graded) -> None:  # noqa: ANN001
    _, out = graded
    (out / "overrides.csv").write_text("student,item,points,comment,who,when,fingerprint\n"
                                       "bob_2,q3,7,from before,ann,2026-11-01T10:00:00+00:00,\n")
    decision = open_class(out).grade("bob_2").answers[2].override
    assert (decision["points"], decision["who"], decision["when"]) == (7, "ann", "2026-11-01T10:00:00+00:00")
    open_class(out)
    assert len(DecisionStore(out).history()) == 1  # once


def test_an_edit_of_the_exported_csv_is_taken_in_not_lost(graded) -> None:  # noqa: ANN001
    folder, out = graded
    decide(open_class(out), "bob_2", "q3", 6, "fine")
    text = (out / "overrides.csv").read_text().replace("bob_2,q3,override,6,", "bob_2,q3,override,5,")
    (out / "overrides.csv").write_text(text)
    assert _grade(str(folder), "--out", str(out)).returncode == 0
    history = DecisionStore(out).history("bob_2", "q3")
    assert [d.points for d in history] == [6.0, 5.0] and "overrides.csv" in history[-1].who
    assert "bob_2,q3,override,5," in (out / "overrides.csv").read_text()


def test_a_hand_edited_csv_out_of_range_is_a_clear_error(graded) -> None:  # noqa: ANN001
    folder, out = graded
    (out / "overrides.csv").write_text("student,item,points,comment,who,when,fingerprint\nbob_2,q3,42,,tim,,\n")
    result = _grade(str(folder), "--out", str(out))
    assert result.returncode == 2 and "line 2: bob_2 q3: points must be between 0 and 10" in result.stderr
    (out / "overrides.csv").write_text("student,item,points,comment,who,when,fingerprint\nbob_2,q3,many,,tim,,\n")
    assert "points must be a number" in _grade("review", str(out)).stderr

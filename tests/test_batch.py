"""The batch keeps each run's evidence beside its grade: a rubric change rescores without running
anything, an unchanged class is reused, and what the run depends on changing runs it again."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import pytest

from grader.batch import fingerprints, grade_batch, load_saved, reusable, save
from grader.bundled import default_rubric
from grader.discover import discover
from grader.results import Grade, GradeStatus
from grader.rubric import load_rubric
from grader.run.settings import RunSettings


def _class(folder: Path) -> list:
    for name, source in (("alice", "print('alice')\n"), ("bob", "raise SystemExit(3)\n")):
        (folder / name).mkdir(parents=True)
        (folder / name / "transfer.py").write_text(source)
    return discover(folder).submissions


def _moved_weights(tmp_path: Path) -> Path:
    """A copy of the default rubric with two points moved from base.frozen to script.runs."""
    text = default_rubric().read_text()
    text = re.sub(r'(\[checks\."script\.runs"\]\npoints = )(\d+)', lambda m: f"{m[1]}{int(m[2]) + 2}", text)
    text = re.sub(r'(\[checks\."base\.frozen"\]\npoints = )(\d+)', lambda m: f"{m[1]}{int(m[2]) - 2}", text)
    path = tmp_path / "moved.toml"
    path.write_text(text)
    return path


def test_what_a_saved_result_can_serve_for() -> None:
    rubric = load_rubric()
    submission = discover(Path(__file__).parent / "fixtures" / "runs").submissions[0]
    settings = RunSettings(budget=rubric.budget)
    expected = fingerprints(submission, rubric, settings)
    grade = Grade(submission.id, GradeStatus.GRADED, "ran to its end", 1.0, 100.0)
    from grader.batch import Saved

    assert reusable(Saved(grade, {"trace": []}, expected), expected) == "reused"
    other_rubric = replace(expected, rubric="another rubric")
    assert reusable(Saved(grade, {"trace": []}, other_rubric), expected) == "rescored"
    assert reusable(Saved(grade, None, other_rubric), expected) is None  # no evidence kept: run again
    longer = fingerprints(submission, rubric, replace(settings, budget=replace(rubric.budget, epochs=2)))
    assert longer.rubric == expected.rubric and longer.run != expected.run  # a [run] change re-runs
    assert reusable(Saved(grade, {"trace": []}, expected), longer) is None


@pytest.mark.slow
def test_a_rubric_change_rescores_from_saved_evidence_without_running_code(tmp_path: Path, monkeypatch) -> None:  # noqa: ANN001
    import grader.grading

    submissions, out, rubric = _class(tmp_path / "class"), tmp_path / "out", load_rubric()
    outcomes: dict[str, str] = {}

    def note(submission_id: str, grade: Grade, outcome: str) -> None:
        outcomes[submission_id] = outcome

    first = grade_batch(submissions, rubric, RunSettings(budget=rubric.budget), out, jobs=2, progress=note)
    assert outcomes == {"alice": "ran", "bob": "ran"}
    assert load_saved(out, submissions[0]).run is not None  # the evidence is kept beside the grade

    def no_run(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        raise AssertionError("student code ran during a rescore")

    monkeypatch.setattr(grader.grading, "run_program", no_run)
    moved = load_rubric(_moved_weights(tmp_path))
    second = grade_batch(submissions, moved, RunSettings(budget=moved.budget), out, jobs=2, progress=note)
    assert outcomes == {"alice": "rescored", "bob": "rescored"}
    for before, after in zip(first, second):
        assert [(c.id, c.status) for c in before.checks] == [(c.id, c.status) for c in after.checks]
        assert before.reason == after.reason and after.status is not GradeStatus.INTERNAL_ERROR
        weights = {c.id: c.max_points for c in after.checks}
        assert weights["script.runs"] == 5 and weights["base.frozen"] == 2
    grade_batch(submissions, moved, RunSettings(budget=moved.budget), out, jobs=2, progress=note)
    assert outcomes == {"alice": "reused", "bob": "reused"}


def test_a_result_saved_by_an_older_grader_is_not_reused(tmp_path: Path) -> None:
    submission = _class(tmp_path / "class")[0]
    path = tmp_path / "out" / "submissions" / "alice.json"
    path.parent.mkdir(parents=True)
    path.write_text('{"fingerprint": "abc", "grade": {}}')
    assert load_saved(tmp_path / "out", submission) is None
    save(tmp_path / "out", submission, Grade("alice", GradeStatus.GRADED, "", 0.0, 100.0), None,
         fingerprints(submission, load_rubric(), RunSettings()))
    assert load_saved(tmp_path / "out", submission) is not None

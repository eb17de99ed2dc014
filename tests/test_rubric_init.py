"""``grade rubric init``: a rubric written from a solution's run describes its lab, the solution
earns every point under it, and the solution's mutants fail the checks made for their defects.
Derived from recorded runs; a slow test runs the command on the shipped references."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import LABS, REPOSITORY, SUBMISSIONS, Recorded, fixture_names, lab_rubric
from grader.lab import DEFAULT_LAB, FineTuneSpec
from grader.rubric import load_rubric
from grader.rubric_init import derive
from test_checks import EXPECTED as FIRST_LAB
from test_labs import EXPECTED as SHIPPED


def _derived(corpus: Path, solution: str):  # noqa: ANN202
    start = load_rubric()
    return derive(Recorded(corpus).evidence(solution), start, "transfer.py")


def _failing(recorded: Recorded, name: str, rubric) -> dict[str, str]:  # noqa: ANN001
    return {check.id: check.status.value for check in recorded.grade(name, rubric).checks
            if check.status.value != "pass"}


def test_the_first_lab_is_read_back_from_a_correct_solution() -> None:
    derived = _derived(SUBMISSIONS, "sequential_idg")
    # What the run shows of fine-tuning is more than the first lab asks: its cut, its rate ratio.
    assert derived.rubric.lab == DEFAULT_LAB.__class__(**{**DEFAULT_LAB.__dict__,
                                                          "finetune": FineTuneSpec(100, 10.0, True)})
    assert [spec.id for spec in derived.rubric.checks] == [spec.id for spec in load_rubric().checks]
    assert derived.left_out == ()


@pytest.mark.parametrize("name", sorted(n for n in FIRST_LAB if n.startswith("mutant_")))
def test_under_it_the_first_lab_s_mutants_fail_their_checks(name: str) -> None:
    rubric = _derived(SUBMISSIONS, "sequential_idg").rubric
    assert _failing(Recorded(SUBMISSIONS), name, rubric) == FIRST_LAB[name]


def test_the_tutorial_variant_is_read_back_from_its_reference() -> None:
    derived = _derived(LABS / "tf_tutorial", "reference")
    shipped = lab_rubric("tf_tutorial")
    assert derived.rubric.lab.head == shipped.lab.head and derived.rubric.lab.output == shipped.lab.output
    assert derived.rubric.lab == shipped.lab  # fine_tune_at = 100, read from the source where the run agrees
    assert {spec.id for spec in derived.rubric.checks} == {spec.id for spec in shipped.checks}
    assert derived.left_out == (("head.dense", "not part of this lab"),)
    assert "# Left out: head.dense: not part of this lab" in derived.text
    # The code questions list only the checks kept.
    assert [q.checks for q in derived.rubric.questions if q.id == "q8"] == [("head.pooling", "head.dropout",
                                                                              "head.output")]


def test_the_flowers_lab_is_read_back_from_its_reference() -> None:
    derived = _derived(LABS / "flowers", "reference")
    assert derived.rubric.lab == lab_rubric("flowers").lab
    learns = next(spec for spec in derived.rubric.checks if spec.id == "train.learns")
    assert dict(learns.params) == {"min_accuracy": 0.52, "max_loss": 1.45} and "params" not in \
        derived.text.split('[checks."train.learns"]')[1].split("[checks.")[0]  # the lab's defaults, not written


@pytest.mark.parametrize(("lab", "name"), [(lab, name) for lab in SHIPPED for name in sorted(SHIPPED[lab])])
def test_under_it_each_lab_s_reference_and_mutants_are_judged_as_by_the_shipped_rubric(lab: str, name: str) -> None:
    rubric = _derived(LABS / lab, "reference").rubric
    recorded = Recorded(LABS / lab)
    assert _failing(recorded, name, rubric) == SHIPPED[lab][name]
    if name == "reference":
        grade = recorded.grade(name, rubric)
        assert sum(c.points for c in grade.checks) == sum(c.max_points for c in grade.checks)


def test_a_check_the_solution_fails_is_left_out_and_named() -> None:
    # A "solution" that never fine-tunes: the fine-tuning checks cannot hold for it.
    derived = _derived(SUBMISSIONS, "mutant_no_finetune")
    left = dict(derived.left_out)
    assert "finetune.unfreeze" in left and "no fine-tuning phase" in left["finetune.unfreeze"]
    assert not any(spec.id.startswith("finetune.") and spec.points for spec in derived.rubric.checks)
    assert any("does not fine-tune" in said for said in derived.assumed)
    grade = Recorded(SUBMISSIONS).grade("mutant_no_finetune", derived.rubric)
    assert sum(c.points for c in grade.checks) == sum(c.max_points for c in grade.checks)


def test_a_solution_without_a_pretrained_base_is_refused() -> None:
    from grader.evidence import Evidence
    from grader.results import RunResult, RunStatus
    from grader.static import StaticEvidence

    ran = RunResult(RunStatus.COMPLETED, "ran to its end", 0, 1.0, "", "", [])
    with pytest.raises(ValueError, match="no keras.applications base"):
        derive(Evidence(ran, StaticEvidence((), parsed=True), None, "x.py"), load_rubric(), "x.py")


@pytest.mark.slow
@pytest.mark.parametrize("lab", ["transfer_learning", "tf_tutorial", "flowers"])
def test_the_command_writes_a_rubric_under_which_the_reference_scores_full_marks(lab: str, tmp_path: Path) -> None:
    folder = REPOSITORY / "reference" / ("" if lab == "transfer_learning" else lab)
    written = tmp_path / "my_lab.toml"
    env = {**os.environ, "NO_COLOR": "1"}
    made = subprocess.run([sys.executable, "-m", "grader", "rubric", "init", str(folder / "transfer.py"),
                           "--out", str(written)], capture_output=True, text=True, cwd=tmp_path, env=env)
    assert made.returncode == 0, made.stderr[-2000:]
    assert f"wrote {written}" in made.stdout
    again = subprocess.run([sys.executable, "-m", "grader", "rubric", "init", str(folder / "transfer.py"),
                            "--out", str(written)], capture_output=True, text=True, cwd=tmp_path, env=env)
    assert again.returncode == 2 and "--force" in again.stderr  # nothing is overwritten unasked
    checked = subprocess.run([sys.executable, "-m", "grader", "check", str(folder / "transfer.py"), "--rubric",
                              str(written), "--answers", str(folder / "answers.md"), "--json", "-"],
                             capture_output=True, text=True, cwd=tmp_path, env=env)
    assert checked.returncode == 0, checked.stderr[-2000:]
    submission = json.loads(checked.stdout)["submissions"][0]
    assert submission["score"] == submission["max_score"] == load_rubric(written).max_score

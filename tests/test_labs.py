"""The labs shipped beside the first one: each rubric's reference solution earns every point of its
code checks, and each mutant of it (one defect) is caught by the check made for that defect and by
no other. Judged on recorded evidence (``fixtures/labs/<lab>/``, recorded with the lab's own
budget); a slow test runs the reference live through ``grade check`` and requires 100 points."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import LABS, REPOSITORY, SHIPPED_LABS, Recorded, fixture_names, lab_rubric

# The advisory check is worth no points: the tutorial's own code fails it (Keras 3's fit updates the
# BatchNorm statistics of a base called with training=False), and it says so without costing anything.
ADVISORY = {"finetune.bn_inference": "fail"}
EXPECTED: dict[str, dict[str, dict[str, str]]] = {
    "tf_tutorial": {
        "reference": ADVISORY,
        "mutant_sigmoid_output": {"head.output": "fail", **ADVISORY},
        "mutant_loss_without_logits": {"compile.loss": "fail", **ADVISORY},
        "mutant_dropout_half": {"head.dropout": "fail", **ADVISORY},
        "mutant_flatten_head": {"head.pooling": "fail", **ADVISORY},
        "mutant_cut_at_50": {"finetune.partial": "fail", **ADVISORY},
        "mutant_rate_halved": {"finetune.lower_lr": "fail", **ADVISORY},
        "mutant_no_initial_epoch": {"finetune.continues": "fail", **ADVISORY},
        "mutant_no_preprocessing": {"input.range": "fail", **ADVISORY},
        # Without a recompile nothing of the base trains, so its statistics do not move either.
        "mutant_no_recompile": {"finetune.recompile": "fail", "finetune.lower_lr": "fail"},
    },
    # EfficientNetB0 at 224 on five kinds of flowers. A defect that keeps the model from learning is also
    # a train.learns failure, which names it as the probable cause (asserted below).
    "flowers": {
        "reference": ADVISORY,
        "mutant_rescaled_inputs": {"input.range": "fail", "train.learns": "fail", **ADVISORY},
        "mutant_logits_not_declared": {"head.output": "fail", "compile.loss": "fail", "train.learns": "fail",
                                       **ADVISORY},
        "mutant_sigmoid_output": {"head.output": "fail", **ADVISORY},
        "mutant_input_160": {"base.input_shape": "fail", **ADVISORY},
        "mutant_not_frozen": {"base.frozen": "fail", "train.learns": "fail", **ADVISORY},
        "mutant_no_flip": {"augment.flip": "fail", **ADVISORY},
        "mutant_wrong_rotation": {"augment.rotation": "fail", **ADVISORY},
        "mutant_dropout_half": {"head.dropout": "fail", **ADVISORY},
        "mutant_cut_at_100": {"finetune.partial": "fail", **ADVISORY},
        "mutant_same_lr": {"finetune.lower_lr": "fail", **ADVISORY},
    },
}
# Where a defect also stops learning, train.learns names it: the cause it gives, by mutant.
LEARNING_CAUSES = {("flowers", "mutant_rescaled_inputs"): "not 0..255 (it rescales inside the model) as EfficientNetB0",
                   ("flowers", "mutant_logits_not_declared"): "loss expects probabilities (from_logits=False)",
                   ("flowers", "mutant_not_frozen"): "the base trained from the first step"}
CASES = [(lab, name) for lab in SHIPPED_LABS for name in sorted(EXPECTED[lab])]


def test_every_shipped_lab_has_a_rubric_a_reference_and_a_mutant_corpus() -> None:
    assert set(EXPECTED) == set(SHIPPED_LABS)
    for lab in SHIPPED_LABS:
        assert set(fixture_names(LABS / lab)) == set(EXPECTED[lab])
        assert len(EXPECTED[lab]) >= 8
        # The corpus's reference is the shipped one, not a copy that drifted.
        shipped = REPOSITORY / "reference" / lab / "transfer.py"
        assert (LABS / lab / "reference" / "transfer.py").read_text() == shipped.read_text()
        assert (REPOSITORY / "reference" / lab / "answers.md").is_file()


@pytest.mark.parametrize(("lab", "name"), CASES)
def test_each_defect_is_caught_by_its_check_and_nothing_else(lab: str, name: str) -> None:
    rubric = lab_rubric(lab)
    grade = Recorded(LABS / lab).grade(name, rubric)
    statuses = {check.id: check.status.value for check in grade.checks}
    expected = {spec.id: EXPECTED[lab][name].get(spec.id, "pass") for spec in rubric.checks}
    assert statuses == expected, {check.id: check.message for check in grade.checks
                                  if statuses[check.id] != expected[check.id]}


@pytest.mark.parametrize(("lab", "name"), sorted(LEARNING_CAUSES))
def test_a_defect_that_stops_learning_is_named_as_its_cause(lab: str, name: str) -> None:
    learns = next(check for check in Recorded(LABS / lab).grade(name, lab_rubric(lab)).checks if check.id == "train.learns")
    assert "probable cause" in learns.message and LEARNING_CAUSES[(lab, name)] in learns.message


def test_the_flowers_lab_asks_train_learns_for_what_five_classes_can_show() -> None:
    learns = next(spec for spec in lab_rubric("flowers").checks if spec.id == "train.learns")
    assert dict(learns.params) == {"min_accuracy": 0.52, "max_loss": 1.45}  # from 0.2 and ln 5, not 0.5 and ln 2


@pytest.mark.parametrize("lab", SHIPPED_LABS)
def test_the_reference_earns_every_point_of_its_code_checks(lab: str) -> None:
    grade = Recorded(LABS / lab).grade("reference", lab_rubric(lab))
    assert sum(check.points for check in grade.checks) == sum(check.max_points for check in grade.checks) > 0


@pytest.mark.slow
@pytest.mark.parametrize("lab", SHIPPED_LABS)
def test_grade_check_gives_the_reference_full_marks(lab: str, tmp_path: Path) -> None:
    """The shipped reference and its model answers, graded live by name of the shipped rubric."""
    folder = REPOSITORY / "reference" / lab
    result = subprocess.run([sys.executable, "-m", "grader", "check", str(folder / "transfer.py"), "--rubric", lab,
                             "--answers", str(folder / "answers.md"), "--json", "-"],
                            capture_output=True, text=True, cwd=tmp_path, env={**os.environ, "NO_COLOR": "1"})
    assert result.returncode == 0, result.stderr[-2000:]
    submission = json.loads(result.stdout)["submissions"][0]
    assert submission["score"] == 100.0, [(c["id"], c["message"]) for c in submission["checks"]
                                          if c["points"] < c["max_points"]]

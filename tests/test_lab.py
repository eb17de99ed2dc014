"""The rubric's ``[lab]`` table: read and checked when the rubric loads, read by every check, and
the old check ids still read for one release. Verdicts are judged on recorded evidence: the same
recording under two labs that ask for different things."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from grader.bundled import default_rubric
from grader.errors import RubricError
from grader.lab import DEFAULT_LAB
from grader.results import CheckResult
from grader.decisions import DecisionStore
from grader.rubric import load_rubric

LEGACY = Path(__file__).parent / "fixtures" / "lab" / "rubric_before_lab_table.toml"
BUNDLED = default_rubric().read_text()


def _rubric(tmp_path: Path, lab: str, replacements: tuple[tuple[str, str], ...] = ()):  # noqa: ANN202
    """The bundled rubric with its [lab] table replaced by ``lab`` (and other edits)."""
    start, end = BUNDLED.index("[lab]\n"), BUNDLED.index("# ------", BUNDLED.index("[lab]\n"))
    text = BUNDLED[:start] + "[lab]\n" + lab + "\n" + BUNDLED[end:]
    for old, new in replacements:
        assert old in text
        text = text.replace(old, new)
    path = tmp_path / "rubric.toml"
    path.write_text(text)
    return load_rubric(path)


def _verdict(recorded, name: str, rubric, check_id: str):  # noqa: ANN001, ANN202
    return next(check for check in recorded.grade(name, rubric).checks if check.id == check_id)


def test_the_bundled_rubric_describes_the_first_lab_and_has_nothing_to_migrate() -> None:
    rubric = load_rubric()
    assert rubric.lab == DEFAULT_LAB and rubric.notes == ()
    assert "MobileNetV2 at 160x160x3" in rubric.lab.summary and "Dense(128, activation='relu')" in rubric.lab.summary


def test_a_rubric_from_before_the_lab_table_grades_the_same_and_says_what_to_rename() -> None:
    old, new = load_rubric(LEGACY), load_rubric()
    assert old.lab == new.lab and old.checks == new.checks
    assert [q.checks for q in old.questions] == [q.checks for q in new.questions]
    notes = " ".join(old.notes)
    for said in ("'head.dense128' is now 'head.dense'", "'base.mobilenetv2' is now 'base.architecture'",
                 "params.factor now belongs in the [lab] table"):
        assert said in notes


def test_results_and_overrides_saved_under_old_ids_are_read_under_the_new_ones(tmp_path: Path) -> None:
    saved = {"id": "head.dense128", "status": "pass", "points": 3, "max_points": 3, "message": "ok"}
    assert CheckResult.from_dict(saved).id == "head.dense"
    rows = io.StringIO()
    csv.writer(rows).writerows([["student", "item", "points", "comment", "who", "when", "fingerprint"],
                                ["alice", "base.mobilenetv2", "1", "", "", "", ""]])
    (tmp_path / "overrides.csv").write_text(rows.getvalue())
    assert set(DecisionStore(tmp_path).current()) == {("alice", "base.architecture")}  # taken in once


@pytest.mark.parametrize(("lab", "problem"), [
    ('base = "MobileNetV9"', r"lab\.base: not a keras\.applications model"),
    ("input_shape = [160, 160]", r"lab\.input_shape: must be \[height, width, 3\]"),
    ('output = { units = 2, activation = "sigmoid" }', r"lab\.output\.activation: must be softmax"),
    ('output = { units = 1, loss = "sparse_categorical_crossentropy" }', r"lab\.output\.loss: must be binary"),
    ('head = [{ layer = "Dense", units = 64 }, { layer = "GlobalAveragePooling2D" }]', r"pooling layer .* comes first"),
    ('head = [{ layer = "Dense", unit = 64 }]', r"unknown key 'unit'"),
    ('dataset = "cifar10"', r"offline data exists for"),
    ('dataset = "flower_photos"', r"lab\.classes: flower_photos has 5 classes"),
    ("finetune = { rate_ratio = 0.5 }", r"rate_ratio: must be at least 1"),
])
def test_a_bad_lab_table_is_refused_naming_the_key(tmp_path: Path, lab: str, problem: str) -> None:
    with pytest.raises(RubricError, match=problem):
        _rubric(tmp_path, lab)


def test_a_check_for_something_the_lab_does_not_ask_for_is_refused(tmp_path: Path) -> None:
    with pytest.raises(RubricError, match=r'checks\."head\.dense": \[lab\] head has no hidden Dense layer'):
        _rubric(tmp_path, 'head = [{ layer = "GlobalAveragePooling2D" }, { layer = "Dropout", rate = 0.2 }]')


def test_a_check_parameter_and_the_lab_table_must_agree(tmp_path: Path) -> None:
    lab = 'augment = [{ layer = "RandomFlip", mode = "horizontal" }, { layer = "RandomRotation", factor = 0.2 }]'
    with pytest.raises(RubricError, match="disagree"):
        _rubric(tmp_path, lab, (("params = { tolerance = 0.05 }", "params = { factor = 0.1, tolerance = 0.05 }"),))


def test_the_head_checks_read_the_lab(recorded, tmp_path: Path) -> None:  # noqa: ANN001
    lab = ('head = [{ layer = "GlobalAveragePooling2D" }, { layer = "Dense", units = 64, activation = "relu" }, '
           '{ layer = "Dropout", rate = 0.5 }]')
    wide = _rubric(tmp_path, lab)
    assert _verdict(recorded, "mutant_dense64", wide, "head.dense").status.value == "pass"
    correct = _verdict(recorded, "tutorial", wide, "head.dense")
    assert correct.status.value == "fail" and "not Dense(64, activation='relu')" in correct.message
    assert "layers.Dense(64, activation='relu')" in correct.hint


def test_the_input_shape_and_rotation_come_from_the_lab(recorded, tmp_path: Path) -> None:  # noqa: ANN001
    large = _rubric(tmp_path, "input_shape = [224, 224, 3]")
    assert _verdict(recorded, "mutant_input_224", large, "base.input_shape").status.value == "pass"
    assert "not (224, 224, 3)" in _verdict(recorded, "tutorial", large, "base.input_shape").message
    wide = _rubric(tmp_path, 'augment = [{ layer = "RandomFlip", mode = "horizontal" }, '
                             '{ layer = "RandomRotation", factor = 0.5 }]')
    assert _verdict(recorded, "mutant_wrong_rotation", wide, "augment.rotation").status.value == "pass"
    assert _verdict(recorded, "tutorial", wide, "augment.rotation").status.value == "fail"


def test_the_fine_tuning_plan_comes_from_the_lab(recorded, tmp_path: Path) -> None:  # noqa: ANN001
    # The fixture fine-tunes from layer 100 (its first layer with weights there is 101), ten times lower.
    plan = _rubric(tmp_path, "finetune = { unfreeze_from = 100, rate_ratio = 10 }")
    assert _verdict(recorded, "tutorial", plan, "finetune.partial").status.value == "pass"
    assert _verdict(recorded, "tutorial", plan, "finetune.lower_lr").status.value == "pass"
    other = _rubric(tmp_path, "finetune = { unfreeze_from = 50, rate_ratio = 100 }")
    cut = _verdict(recorded, "tutorial", other, "finetune.partial")
    assert cut.status.value == "fail" and "from layer 101, not from layer 50" in cut.message
    rate = _verdict(recorded, "tutorial", other, "finetune.lower_lr")
    assert rate.status.value == "fail" and "100x lower" in rate.message
    carried = _rubric(tmp_path, "finetune = { initial_epoch = false }")
    assert _verdict(recorded, "mutant_no_initial_epoch", carried, "finetune.continues").status.value == "pass"


def test_the_output_and_loss_come_from_the_lab(recorded, tmp_path: Path) -> None:  # noqa: ANN001
    logits = _rubric(tmp_path, 'output = { units = 1, activation = "linear", loss = "binary_crossentropy" }')
    output = _verdict(recorded, "tutorial", logits, "head.output")
    assert output.status.value == "fail" and "not Dense(1)" in output.message and "from_logits=True" in output.hint

"""The check catalogue on a corpus of real submissions: correct labs in many styles pass, and each
mutant is caught by the check made for its defect and by no unrelated check."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import SUBMISSIONS, code_file

SKIPPED_FINE_TUNING = {check: "skip" for check in ("finetune.partial", "finetune.recompile", "finetune.lower_lr",
                                                    "finetune.continues", "finetune.bn_inference")}

# Every check not named here must pass.
EXPECTED: dict[str, dict[str, str]] = {
    # Correct labs, in the styles students write them.
    "tutorial": {"finetune.bn_inference": "fail"},  # training=False is overridden by fit in Keras 3
    "sequential_idg": {},
    "rescaling_functional": {},
    "keras3_kaggle": {},
    "tfds_colab": {},
    "keras2_legacy": {},
    "subclassed": {},
    "notebook": {},
    # One defect each.
    "mutant_double_scaling": {"input.range": "fail", "train.learns": "fail"},
    "mutant_raw_pixels": {"input.range": "fail"},
    "mutant_unit_range": {"input.range": "fail"},  # [0, 1] input still learns the easy task
    "mutant_not_frozen": {"base.frozen": "fail"},
    "mutant_no_finetune": {"finetune.unfreeze": "fail", **SKIPPED_FINE_TUNING},
    "mutant_no_recompile": {"finetune.recompile": "fail", "finetune.lower_lr": "fail"},
    "mutant_whole_base_unfrozen": {"finetune.partial": "fail"},
    "mutant_same_lr": {"finetune.lower_lr": "fail"},
    "mutant_no_initial_epoch": {"finetune.continues": "fail"},
    # The head sees 1000 ImageNet class probabilities instead of features: nothing to pool, little to learn.
    "mutant_include_top": {"base.no_top": "fail", "head.pooling": "fail", "train.learns": "fail"},
    "mutant_weights_none": {"base.imagenet": "fail", "train.learns": "fail"},
    "mutant_input_224": {"base.input_shape": "fail"},
    "mutant_no_flip": {"augment.flip": "fail"},
    "mutant_vertical_flip": {"augment.flip": "fail"},
    "mutant_wrong_rotation": {"augment.rotation": "fail"},
    "mutant_flatten_head": {"head.pooling": "fail"},
    "mutant_dense64": {"head.dense128": "fail"},
    "mutant_no_dropout": {"head.dropout": "fail"},
    "mutant_softmax_output": {"head.output": "fail", "compile.loss": "fail"},
    "mutant_logits_mismatch": {"compile.loss": "fail"},
    "mutant_no_accuracy_metric": {"compile.accuracy": "fail"},
    "mutant_crash_halfway": {"script.runs": "fail", "finetune.unfreeze": "fail", **SKIPPED_FINE_TUNING},
}


def test_every_fixture_has_expectations() -> None:
    folders = {p.name for p in SUBMISSIONS.iterdir() if p.is_dir()}
    assert folders == set(EXPECTED)
    assert len(EXPECTED) >= 25


@pytest.fixture(scope="module", autouse=True)
def _queue_all(corpus) -> None:  # noqa: ANN001
    """Start grading the whole corpus at once so that two runs overlap."""
    for name in EXPECTED:
        corpus.submit(code_file(name))


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_statuses(name: str, corpus, rubric) -> None:  # noqa: ANN001
    grade = corpus.grade(code_file(name))
    statuses = {check.id: check.status.value for check in grade.checks}
    expected = {spec.id: EXPECTED[name].get(spec.id, "pass") for spec in rubric.checks}
    assert statuses == expected, {check.id: check.message for check in grade.checks
                                  if statuses[check.id] != expected[check.id]}


@pytest.mark.parametrize("name", ["mutant_double_scaling", "mutant_no_recompile", "mutant_raw_pixels"])
def test_failures_say_why_and_where(name: str, corpus) -> None:  # noqa: ANN001
    grade = corpus.grade(code_file(name))
    for check in grade.checks:
        if check.status.value == "fail":
            assert check.message and check.hint, check.id


def test_double_scaling_is_diagnosed(corpus) -> None:  # noqa: ANN001
    checks = {c.id: c for c in corpus.grade(code_file("mutant_double_scaling")).checks}
    assert checks["input.range"].evidence["cause"] == "double_scaling"
    assert "double_scaling" in checks["train.learns"].evidence["causes"]


def test_grading_twice_gives_the_same_result(corpus, rubric, tmp_path: Path) -> None:  # noqa: ANN001
    from grader.grading import grade_submission
    from grader.results import Submission
    from grader.runner import RunSettings

    code = code_file("mutant_double_scaling")
    first = corpus.grade(code)
    again = grade_submission(Submission(code.parent.name, code, code.parent), rubric,
                             RunSettings(budget=rubric.budget), keep=tmp_path)
    assert again.status.value == "graded"
    # The corpus saves no models (faster); this run does, so its record was also cross-checked.
    assert first.to_dict().pop("integrity")["status"] == "not checked"
    assert again.to_dict().pop("integrity")["status"] == "confirmed"
    assert _without_integrity(again) == _without_integrity(first)
    # This run kept what the child saved: a model at each compile and each fit, and the trace.
    assert sorted(p.name for p in tmp_path.glob("*.keras")) == ["01-compile.keras", "02-fit1.keras",
                                                                "03-compile.keras", "04-fit2.keras"]
    assert (tmp_path / "trace.jsonl").is_file()


def _without_integrity(grade) -> dict:  # noqa: ANN001
    result = grade.to_dict()
    result.pop("integrity")
    return result


def test_crash_decides_from_partial_evidence(corpus) -> None:  # noqa: ANN001
    grade = corpus.grade(code_file("mutant_crash_halfway"))
    checks = {c.id: c for c in grade.checks}
    assert grade.status.value == "error"
    assert "NameError" in grade.reason
    assert checks["base.frozen"].status.value == "pass"  # recorded before the crash
    assert "fine-tuning" in checks["finetune.unfreeze"].message

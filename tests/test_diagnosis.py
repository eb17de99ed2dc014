"""Diagnosis and scoring on recorded evidence, and on evidence derived from a recording by one edit
(the defects no fixture submission has: another architecture, a NaN loss, a learning rate far
off, everything frozen, flat input). Milliseconds: no code runs."""

from __future__ import annotations

import copy
from dataclasses import replace
from typing import Any, Callable

import pytest

from grader.checks.registry import REGISTRY, CheckDefinition
from grader.diagnosis import input_range_cause
from grader.evidence import Evidence
from grader.results import CheckStatus
from grader.scoring import score_checks

Edit = Callable[[dict[str, Any]], None]

NOT_LEARNING = {"loss": [0.6931, 0.6932], "val_loss": [0.6932], "accuracy": [0.5, 0.5], "val_accuracy": [0.5]}


EVERY = -1  # an occurrence meaning: every event of the kind


def _derived(recorded, name: str, *edits: tuple[str, int, Edit]) -> Evidence:  # noqa: ANN001
    """The recording of ``name`` with each (event kind, occurrence, edit) applied to a copy of the trace."""
    evidence = recorded.evidence(name)
    trace = copy.deepcopy(list(evidence.run.trace))
    for kind, occurrence, edit in edits:
        events = [event for event in trace if event.get("kind") == kind]
        for event in events if occurrence == EVERY else [events[occurrence]]:
            edit(event)
    return replace(evidence, run=replace(evidence.run, trace=tuple(trace)))


def _verdicts(evidence: Evidence, rubric) -> dict[str, Any]:  # noqa: ANN001
    return {check.id: check for check in score_checks(evidence, rubric)}


def _set(**values: Any) -> Edit:
    return lambda event: event.update(values)


def _not_learning(event: dict[str, Any]) -> None:
    event["history"] = dict(NOT_LEARNING)


def test_another_architecture_fails_the_base_check(recorded, rubric) -> None:  # noqa: ANN001
    evidence = _derived(recorded, "tutorial", ("application", 0, _set(architecture="ResNet50")))
    check = _verdicts(evidence, rubric)["base.architecture"]
    assert check.status is CheckStatus.FAIL and "ResNet50" in check.message


def test_a_nan_loss_fails_train_runs_and_skips_learning(recorded, rubric) -> None:  # noqa: ANN001
    evidence = _derived(recorded, "tutorial", ("fit", 0, lambda e: e["history"].update(loss=["nan"])))
    verdicts = _verdicts(evidence, rubric)
    assert verdicts["train.runs"].status is CheckStatus.FAIL and "not finite" in verdicts["train.runs"].message
    assert verdicts["train.learns"].status is CheckStatus.SKIP and "train.runs" in verdicts["train.learns"].message


@pytest.mark.parametrize(("name", "edits", "cause"), [
    ("tutorial", [("compile", 0, lambda e: e["optimizer"].update(learning_rate=5.0))], "learning_rate"),
    ("tutorial", [("fit", 0, lambda e: e["weights"].update(changed=[], created_during_fit=[]))], "all_frozen"),
    ("mutant_double_scaling", [], "double_scaling"),
    ("mutant_weights_none", [], "random_base"),
    ("mutant_include_top", [], "include_top"),
], ids=["learning_rate", "all_frozen", "double_scaling", "random_base", "include_top"])
def test_a_phase_that_does_not_learn_names_its_cause(recorded, rubric, name: str, edits: list, cause: str) -> None:  # noqa: ANN001
    evidence = _derived(recorded, name, ("fit", EVERY, _not_learning), *edits)
    check = _verdicts(evidence, rubric)["train.learns"]
    assert check.status is CheckStatus.FAIL
    assert cause in check.evidence["causes"], check.evidence["causes"]
    assert check.hint


@pytest.mark.parametrize(("statistics", "cause"), [
    ({"min": -1.0, "max": -0.992, "std": 0.001}, "double_scaling"),
    ({"min": -0.004, "max": 0.004, "std": 0.002}, "double_scaling"),
    ({"min": 0.0, "max": 1.0, "std": 0.3}, "unit_range"),
    ({"min": 0.0, "max": 255.0, "std": 60.0}, "raw_pixels"),
    ({"min": -0.3, "max": -0.2, "std": 0.01}, "flat_input"),
    ({"min": -1.0, "max": 1.0, "std": 0.5}, None),
])
def test_input_statistics_name_the_preprocessing(recorded, statistics: dict, cause: str | None) -> None:  # noqa: ANN001
    found = input_range_cause(statistics, recorded.evidence("tutorial"))
    assert (found.id if found else None) == cause


def _output(units: int, activation: str) -> Edit:
    """Make the model's last Dense layer (in every recorded description of it) ``Dense(units, activation)``."""
    def edit(event: dict[str, Any]) -> None:
        dense = [layer for layer in event["model"]["layers"] if layer.get("class") == "Dense"][-1]
        dense["config"].update(units=units, activation=activation)
    return edit


def _loss(name: str, from_logits: bool = False) -> Edit:
    return lambda event: event.update(loss={"name": name, "from_logits": from_logits})


@pytest.mark.parametrize(("edits", "cause"), [
    ([("compile", EVERY, _loss("BinaryCrossentropy", from_logits=True))], "logits_mismatch"),
    ([("compile", EVERY, _output(1, "linear")), ("fit_start", EVERY, _output(1, "linear"))], "logits_mismatch"),
    ([("compile", EVERY, _output(1, "softmax")), ("fit_start", EVERY, _output(1, "softmax"))], "softmax_one_unit"),
    ([("compile", EVERY, _loss("categorical_crossentropy"))], "loss_output"),
    ([("compile", EVERY, _loss("sparse_categorical_crossentropy"))], "labels_loss"),
], ids=["from_logits_on_sigmoid", "logits_without_from_logits", "softmax_one_unit", "categorical_loss", "sparse_loss"])
def test_loss_and_output_mismatches_are_explained(recorded, rubric, edits: list, cause: str) -> None:  # noqa: ANN001
    from grader.diagnosis import loss_output_causes

    evidence = _derived(recorded, "tutorial", *edits)
    assert cause in [found.id for found in loss_output_causes(evidence, evidence.phases()[0])]
    check = _verdicts(evidence, rubric)["compile.loss"]
    assert check.status is CheckStatus.FAIL and check.hint


def test_the_recorded_mismatch_mutants_fail_the_loss_check_with_their_cause(recorded, rubric) -> None:  # noqa: ANN001
    logits = _verdicts(recorded.evidence("mutant_logits_mismatch"), rubric)["compile.loss"]
    assert "sigmoid is applied twice" in logits.message
    softmax = _verdicts(recorded.evidence("mutant_softmax_output"), rubric)["compile.loss"]
    assert "not binary cross-entropy" in softmax.message


def test_a_check_that_raises_is_an_error_result_and_its_dependents_skip(recorded, rubric, monkeypatch) -> None:  # noqa: ANN001
    def broken(evidence: Evidence, params: Any) -> None:
        raise KeyError("missing")

    monkeypatch.setitem(REGISTRY, "train.runs", CheckDefinition("train.runs", "broken", broken))
    verdicts = _verdicts(recorded.evidence("tutorial"), rubric)
    assert verdicts["train.runs"].status is CheckStatus.ERROR and "grader bug" in verdicts["train.runs"].message
    assert verdicts["train.learns"].status is CheckStatus.SKIP
    assert verdicts["base.frozen"].status is CheckStatus.PASS  # the rest of the catalogue is judged


def test_points_follow_the_rubric_and_source_only_verdicts_earn_half(recorded, rubric) -> None:  # noqa: ANN001
    checks = score_checks(recorded.evidence("mutant_crash_halfway"), rubric)
    weights = {spec.id: spec.points for spec in rubric.checks}
    for check in checks:
        assert check.max_points == weights[check.id]
        assert check.points == (check.max_points * (0.5 if "is written" in check.message else 1.0)
                                if check.status is CheckStatus.PASS else 0.0)


def _with_inputs(low: float, high: float, std: float) -> Edit:
    """Every fit records these statistics of the base's inputs."""
    def edit(event: dict[str, Any]) -> None:
        for name in event.get("input_statistics") or {}:
            event["input_statistics"][name] = {"min": low, "max": high, "mean": (low + high) / 2, "std": std,
                                               "values": 1000.0}
    return edit


@pytest.mark.parametrize(("architecture", "low", "high", "std", "passes", "said"), [
    # Each family's own preprocessing passes; another family's is named with the right function.
    ("ResNet50", -123.68, 151.06, 60.0, True, "as ResNet50 expects"),
    ("ResNet50", -1.0, 1.0, 0.5, False, "resnet50.preprocess_input"),
    ("EfficientNetB0", 0.0, 255.0, 60.0, True, "as EfficientNetB0 expects"),
    ("EfficientNetB0", -1.0, 1.0, 0.5, False, "remove your own scaling"),
    ("DenseNet121", -2.1, 2.6, 1.0, True, "as DenseNet121 expects"),
    ("InceptionV3", 0.0, 1.0, 0.3, False, "InceptionV3 was trained on [-1, 1]"),
    ("InceptionV3", -1.0, 1.0, 0.5, True, "as InceptionV3 expects"),
])
def test_input_range_knows_what_each_family_expects(recorded, rubric, architecture: str, low: float, high: float,  # noqa: ANN001
                                                     std: float, passes: bool, said: str) -> None:
    evidence = _derived(recorded, "tutorial", ("application", EVERY, _set(architecture=architecture)),
                        ("fit", EVERY, _with_inputs(low, high, std)))
    check = _verdicts(evidence, rubric)["input.range"]
    assert (check.status is CheckStatus.PASS) is passes, check.message
    assert said in check.message + " " + check.hint

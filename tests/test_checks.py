"""The check catalogue on a corpus of real submissions: correct labs in many styles pass, and each
mutant is caught by the check made for its defect and by no unrelated check.

Judged on each fixture's recorded evidence (milliseconds); the ``slow`` tests run a handful live
and require the live verdicts and events to match the recordings."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import RECORDINGS, SUBMISSIONS, code_file, fixture_names

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
    "mutant_dense64": {"head.dense": "fail"},
    "mutant_no_dropout": {"head.dropout": "fail"},
    "mutant_softmax_output": {"head.output": "fail", "compile.loss": "fail"},
    "mutant_logits_mismatch": {"compile.loss": "fail"},
    "mutant_no_accuracy_metric": {"compile.accuracy": "fail"},
    "mutant_crash_halfway": {"script.runs": "fail", "finetune.unfreeze": "fail", **SKIPPED_FINE_TUNING},
}


def test_every_fixture_has_expectations_and_a_recording() -> None:
    assert set(fixture_names()) == set(EXPECTED)
    assert len(EXPECTED) >= 25
    assert {p.stem for p in RECORDINGS.glob("*.json")} == set(EXPECTED)


def _statuses(grade) -> dict[str, str]:  # noqa: ANN001
    return {check.id: check.status.value for check in grade.checks}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_statuses(name: str, recorded, rubric) -> None:  # noqa: ANN001
    grade = recorded.grade(name, rubric)
    statuses = _statuses(grade)
    expected = {spec.id: EXPECTED[name].get(spec.id, "pass") for spec in rubric.checks}
    assert statuses == expected, {check.id: check.message for check in grade.checks
                                  if statuses[check.id] != expected[check.id]}


def test_every_check_but_two_fails_in_some_fixture(rubric) -> None:  # noqa: ANN001
    """The corpus catches a defect with every check; the two it has no mutant for
    (another architecture, a NaN loss) are failed on derived evidence in test_diagnosis.py."""
    failing = {check for expected in EXPECTED.values() for check, status in expected.items() if status == "fail"}
    assert {spec.id for spec in rubric.checks} - failing == {"base.architecture", "train.runs"}


@pytest.mark.parametrize("name", ["mutant_double_scaling", "mutant_no_recompile", "mutant_raw_pixels"])
def test_failures_say_why_and_where(name: str, recorded, rubric) -> None:  # noqa: ANN001
    grade = recorded.grade(name, rubric)
    for check in grade.checks:
        if check.status.value == "fail":
            assert check.message and check.hint, check.id


def test_double_scaling_is_diagnosed(recorded, rubric) -> None:  # noqa: ANN001
    checks = {c.id: c for c in recorded.grade("mutant_double_scaling", rubric).checks}
    assert checks["input.range"].evidence["cause"] == "double_scaling"
    assert "double_scaling" in checks["train.learns"].evidence["causes"]


def test_crash_decides_from_partial_evidence(recorded, rubric) -> None:  # noqa: ANN001
    grade = recorded.grade("mutant_crash_halfway", rubric)
    checks = {c.id: c for c in grade.checks}
    assert grade.status.value == "error"
    assert "NameError" in grade.reason
    assert checks["base.frozen"].status.value == "pass"  # recorded before the crash
    assert "fine-tuning" in checks["finetune.unfreeze"].message


# A handful of styles and defects, run live: the recordings must still be what the harness records.
LIVE = ("tutorial", "notebook", "keras2_legacy", "mutant_double_scaling", "mutant_crash_halfway", "subclassed")


def _shape(evidence) -> list[tuple]:  # noqa: ANN001
    """What a trace must keep between runs: each event's kind and where it points in the student's code."""
    return [(event.get("kind"), event.get("file"), event.get("cell"), event.get("line")) for event in evidence.run.trace]


@pytest.mark.slow
@pytest.mark.parametrize("name", LIVE)
def test_live_run_matches_its_recording(name: str, live, recorded, rubric) -> None:  # noqa: ANN001
    for other in LIVE:
        live.submit(code_file(other))  # queue them all: two run at a time
    live_evidence, recording = live.evidence(code_file(name)), recorded.evidence(name)
    assert live_evidence.run.status == recording.run.status
    assert live_evidence.run.integrity.status == recording.run.integrity.status
    assert _shape(live_evidence) == _shape(recording)
    assert live_evidence.run.accommodations == recording.run.accommodations
    assert _statuses(live.grade(code_file(name))) == _statuses(recorded.grade(name, rubric))


@pytest.mark.slow
def test_grading_twice_gives_the_same_result(live, rubric, tmp_path: Path) -> None:  # noqa: ANN001
    from grader.grading import grade_submission
    from grader.results import Submission
    from grader.run.settings import RunSettings

    code = code_file("mutant_double_scaling")
    first = live.grade(code)
    again = grade_submission(Submission(code.parent.name, code, code.parent), rubric,
                             RunSettings(budget=rubric.budget), keep=tmp_path)
    assert again.status.value == "graded"
    assert first.environment["integrity"]["status"] == again.environment["integrity"]["status"] == "confirmed"
    assert again.to_dict() == first.to_dict()
    # This run kept what the child saved: a model at each compile and each fit, and the trace.
    assert sorted(p.name for p in tmp_path.glob("*.keras")) == ["01-compile.keras", "02-fit1.keras",
                                                                "03-compile.keras", "04-fit2.keras"]
    assert (tmp_path / "trace.jsonl").is_file()


# Defects of structure, not of learning: a tiny budget (two steps) shows them live.
STRUCTURAL = ("mutant_not_frozen", "mutant_no_recompile", "mutant_whole_base_unfrozen", "mutant_no_initial_epoch",
              "mutant_flatten_head", "mutant_vertical_flip")
TINY = {"epochs": 1, "steps_per_epoch": 2, "fine_tune_steps_per_epoch": 1, "eval_steps": 1}


@pytest.fixture(scope="module")
def tiny_runs(rubric):  # noqa: ANN001, ANN201
    from concurrent.futures import ThreadPoolExecutor
    from dataclasses import replace

    from grader.grading import collect_evidence
    from grader.results import Submission
    from grader.run.settings import RunSettings

    settings = RunSettings(budget=replace(rubric.budget, **TINY), save_models=False)
    pool = ThreadPoolExecutor(max_workers=2)
    futures = {name: pool.submit(collect_evidence, Submission(name, code_file(name), code_file(name).parent), settings)
               for name in STRUCTURAL}
    yield futures
    pool.shutdown(wait=True, cancel_futures=True)


@pytest.mark.slow
@pytest.mark.parametrize("name", STRUCTURAL)
def test_structural_mutants_are_caught_live_at_a_tiny_budget(name: str, tiny_runs, rubric) -> None:  # noqa: ANN001
    from conftest import grade_of

    grade = grade_of(code_file(name), tiny_runs[name].result(), rubric)
    statuses = {check_id: status for check_id, status in _statuses(grade).items() if check_id != "train.learns"}
    expected = {spec.id: EXPECTED[name].get(spec.id, "pass") for spec in rubric.checks if spec.id != "train.learns"}
    assert statuses == expected, {check.id: check.message for check in grade.checks
                                  if check.id in statuses and statuses[check.id] != expected[check.id]}

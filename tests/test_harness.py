"""The offline harness and the sandbox: what a run records, and what it cannot do."""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path

import pytest

from grader.results import RunStatus
from grader.runner import RunSettings, run_submission
from grader.sandbox import available_isolation

from conftest import FIXTURES, REPOSITORY, code_file

RUNS = FIXTURES / "runs"
needs_bwrap = pytest.mark.skipif(available_isolation() != "bwrap", reason="bubblewrap is not available here")


def _events(evidence, kind: str) -> list[dict]:  # noqa: ANN001
    return evidence.run.events(kind)


def test_tutorial_style_trace(corpus) -> None:  # noqa: ANN001
    evidence = corpus.evidence(code_file("tutorial"))
    assert evidence.run.status is RunStatus.COMPLETED
    application = _events(evidence, "application")[0]
    assert application["line"] == 40 and application["architecture"] == "MobileNetV2"
    assert application["arguments"] == {"input_shape": [160, 160, 3], "include_top": False, "weights": "imagenet"}
    assert application["weights"]["kind"] in ("stand-in", "imagenet")
    compiled = _events(evidence, "compile")[0]
    classes = [layer["class"] for layer in compiled["model"]["layers"]]
    for expected in ("RandomFlip", "RandomRotation", "GlobalAveragePooling2D", "Dense", "Dropout"):
        assert expected in classes
    assert compiled["loss"]["name"] == "BinaryCrossentropy" and compiled["optimizer"]["learning_rate"] == pytest.approx(1e-3)
    fits = _events(evidence, "fit")
    assert [fit["line"] for fit in fits] == [59, 72]
    assert fits[1]["requested"]["initial_epoch"] == 1 and fits[1]["requested"]["epochs"] == 20
    assert len(fits[0]["history"]["val_accuracy"]) == 1
    assert [d["line"] for d in _events(evidence, "dataset")] == [18, 20]
    assert any("cats_and_dogs.zip" in note for note in evidence.run.accommodations)


def test_hard_coded_absolute_path_is_redirected_and_reported(corpus) -> None:  # noqa: ANN001
    evidence = corpus.evidence(code_file("sequential_idg"))
    assert evidence.run.status is RunStatus.COMPLETED
    assert any("/Users/hritikanand/Documents/Lab 06" in note for note in evidence.run.accommodations)
    assert len(_events(evidence, "fit")) == 2


def test_notebook_events_point_at_cells(corpus) -> None:  # noqa: ANN001
    evidence = corpus.evidence(code_file("notebook"))
    application = _events(evidence, "application")[0]
    assert application["file"] == "Lab6.ipynb" and application["cell"] >= 2
    assert all(fit.get("cell") for fit in _events(evidence, "fit"))


def test_crash_keeps_the_events_before_it(corpus) -> None:  # noqa: ANN001
    evidence = corpus.evidence(code_file("mutant_crash_halfway"))
    assert evidence.run.status is RunStatus.ERROR
    exception = _events(evidence, "exception")[0]
    assert exception["type"] == "NameError" and exception["line"] == 46
    assert len(_events(evidence, "fit")) == 1  # the first phase, recorded before the crash


def test_keras2_spellings_are_accommodated_and_reported(corpus) -> None:  # noqa: ANN001
    notes = " ".join(corpus.evidence(code_file("keras2_legacy")).run.accommodations)
    for spelling in ("lr=0.001", "fit_generator", "layers.experimental.preprocessing", "history['acc']"):
        assert spelling in notes, spelling


def test_weights_frozen_then_fine_tuned_then_not_without_recompile(corpus) -> None:  # noqa: ANN001
    phases = corpus.evidence(code_file("sequential_idg")).phases()
    base = phases[0].base()["name"]
    in_base = [p for p in phases[0].weights["changed"] if p.startswith(base + "/")]
    assert in_base == [] and "dense" in " ".join(phases[0].weights["changed"])
    assert [p for p in phases[1].weights["changed"] if p.startswith(base + "/")]
    stuck = corpus.evidence(code_file("mutant_no_recompile")).phases()[1]
    assert stuck.base()["base"]["trainable_weights"] > 0  # unfrozen...
    assert not [p for p in stuck.weights["changed"] if p.startswith(base + "/")]  # ...but never trained


@pytest.mark.parametrize(("name", "low", "high"), [("sequential_idg", -1.0, 1.0), ("mutant_double_scaling", -1.0, -0.99),
                                                   ("mutant_raw_pixels", 0.0, 255.0)])
def test_input_statistics_tell_the_preprocessing_apart(corpus, name: str, low: float, high: float) -> None:  # noqa: ANN001
    statistics = next(iter(corpus.evidence(code_file(name)).phases()[0].end["input_statistics"].values()))
    assert statistics["min"] == pytest.approx(low, abs=0.01)
    assert statistics["max"] == pytest.approx(high, abs=0.01)


def test_a_run_that_never_ends_times_out_and_keeps_its_events(rubric) -> None:  # noqa: ANN001
    from dataclasses import replace

    settings = RunSettings(budget=replace(rubric.budget, timeout_seconds=25))
    result = run_submission(RUNS / "never_ends.py", settings)
    assert result.status is RunStatus.TIMEOUT
    assert "time limit" in result.reason
    assert result.events("application")


def test_early_sys_exit_is_recorded_and_means_no_training(rubric) -> None:  # noqa: ANN001
    result = run_submission(RUNS / "early_exit.py", RunSettings(budget=rubric.budget))
    assert result.status is RunStatus.COMPLETED
    exit_event = result.events("exit")[0]
    assert exit_event["code"] == 0 and exit_event["line"] == 8
    assert result.events("fit_start") == []


@needs_bwrap
def test_sandbox_has_no_network(rubric) -> None:  # noqa: ANN001
    result = run_submission(RUNS / "network.py", RunSettings(budget=rubric.budget))
    assert result.isolation == "bwrap"
    assert "CONNECTED" not in result.stdout_tail and "RESOLVED" not in result.stdout_tail
    assert result.stdout_tail.count("BLOCKED") == 2 and "NO-DNS" in result.stdout_tail


@needs_bwrap
def test_sandbox_cannot_write_outside_its_scratch_folder(rubric, tmp_path: Path) -> None:  # noqa: ANN001
    marker = f"escape-{uuid.uuid4().hex}"
    targets = [tmp_path / marker, REPOSITORY / marker, Path("/tmp") / marker, Path.home() / marker]
    settings = RunSettings(budget=rubric.budget, extra_env={"ESCAPE_TARGETS": os.pathsep.join(map(str, targets))})
    result = run_submission(RUNS / "escape_write.py", settings)
    assert "WROTE-INSIDE" in result.stdout_tail
    for target in targets:
        assert not target.exists(), f"the sandbox wrote {target}"
    assert "DENIED" in result.stdout_tail


def test_runs_leave_no_scratch_folders(rubric, tmp_path: Path) -> None:  # noqa: ANN001
    settings = RunSettings(budget=rubric.budget, work_root=tmp_path)
    run_submission(RUNS / "network.py", settings)
    assert list(tmp_path.iterdir()) == []
    assert shutil.which("python3")


def test_flat_layout_runs_see_only_their_own_files(rubric, tmp_path: Path) -> None:  # noqa: ANN001
    from grader.discover import discover

    (tmp_path / "alice.py").write_text("import os\nprint('FILES', sorted(os.listdir('.')))\n")
    (tmp_path / "bob.py").write_text("print('bob')\n")
    alice = next(s for s in discover(tmp_path).submissions if s.id == "alice")
    assert not alice.own_folder
    result = run_submission(alice.code, RunSettings(budget=rubric.budget), files=(alice.code,))
    listed = next(line for line in result.stdout_tail.splitlines() if line.startswith("FILES"))
    assert "alice.py" in listed and "bob.py" not in listed


@needs_bwrap
def test_sandbox_cannot_read_the_rubric_or_other_students(rubric) -> None:  # noqa: ANN001
    result = run_submission(FIXTURES / "hostile" / "read_others" / "transfer.py", RunSettings(budget=rubric.budget))
    assert "searched" in result.stdout_tail
    assert "READ" not in result.stdout_tail

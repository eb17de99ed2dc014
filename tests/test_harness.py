"""The offline harness and the sandbox: what a run records, and what it cannot do.

What fixture submissions record is tested on their recordings (test_checks.py proves a handful
still match live runs); the small scripts of fixtures/runs/ run live, two at a time (``slow``)."""

from __future__ import annotations

import os
import shutil
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

import pytest

from grader.results import RunStatus
from grader.run.runner import run_submission
from grader.run.settings import RunSettings
from grader.run.sandbox import available_isolation

from conftest import FIXTURES, REPOSITORY

RUNS = FIXTURES / "runs"
needs_bwrap = pytest.mark.skipif(available_isolation() != "bwrap", reason="bubblewrap is not available here")


def _events(evidence, kind: str) -> list[dict]:  # noqa: ANN001
    return evidence.run.events(kind)


def test_tutorial_style_trace(recorded) -> None:  # noqa: ANN001
    evidence = recorded.evidence("tutorial")
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


def test_hard_coded_absolute_path_is_redirected_and_reported(recorded) -> None:  # noqa: ANN001
    evidence = recorded.evidence("sequential_idg")
    assert evidence.run.status is RunStatus.COMPLETED
    assert any("/Users/hritikanand/Documents/Lab 06" in note for note in evidence.run.accommodations)
    assert len(_events(evidence, "fit")) == 2


def test_notebook_events_point_at_cells(recorded) -> None:  # noqa: ANN001
    evidence = recorded.evidence("notebook")
    application = _events(evidence, "application")[0]
    assert application["file"] == "Lab6.ipynb" and application["cell"] >= 2
    assert all(fit.get("cell") for fit in _events(evidence, "fit"))


def test_crash_keeps_the_events_before_it(recorded) -> None:  # noqa: ANN001
    evidence = recorded.evidence("mutant_crash_halfway")
    assert evidence.run.status is RunStatus.ERROR
    exception = _events(evidence, "exception")[0]
    assert exception["type"] == "NameError" and exception["line"] == 46
    assert len(_events(evidence, "fit")) == 1  # the first phase, recorded before the crash


def test_keras2_spellings_are_accommodated_and_reported(recorded) -> None:  # noqa: ANN001
    notes = " ".join(recorded.evidence("keras2_legacy").run.accommodations)
    for spelling in ("lr=0.001", "fit_generator", "layers.experimental.preprocessing", "history['acc']"):
        assert spelling in notes, spelling


def test_weights_frozen_then_fine_tuned_then_not_without_recompile(recorded) -> None:  # noqa: ANN001
    phases = recorded.evidence("sequential_idg").phases()
    base = phases[0].base()["name"]
    in_base = [p for p in phases[0].weights["changed"] if p.startswith(base + "/")]
    assert in_base == [] and "dense" in " ".join(phases[0].weights["changed"])
    assert [p for p in phases[1].weights["changed"] if p.startswith(base + "/")]
    stuck = recorded.evidence("mutant_no_recompile").phases()[1]
    assert stuck.base()["base"]["trainable_weights"] > 0  # unfrozen...
    assert not [p for p in stuck.weights["changed"] if p.startswith(base + "/")]  # ...but never trained


@pytest.mark.parametrize(("name", "low", "high"), [("sequential_idg", -1.0, 1.0), ("mutant_double_scaling", -1.0, -0.99),
                                                   ("mutant_raw_pixels", 0.0, 255.0)])
def test_input_statistics_tell_the_preprocessing_apart(recorded, name: str, low: float, high: float) -> None:  # noqa: ANN001
    statistics = next(iter(recorded.evidence(name).phases()[0].end["input_statistics"].values()))
    assert statistics["min"] == pytest.approx(low, abs=0.01)
    assert statistics["max"] == pytest.approx(high, abs=0.01)


class LiveRuns:
    """The small scripts of fixtures/runs/ (and one hostile case), all started at once, two at a time."""

    def __init__(self, rubric, folder: Path) -> None:  # noqa: ANN001
        self.folder = folder
        self.escape_targets = [folder / "escape-target", REPOSITORY / f"escape-{uuid.uuid4().hex}",
                               Path("/tmp") / f"escape-{uuid.uuid4().hex}", Path.home() / f"escape-{uuid.uuid4().hex}"]
        self.scratch_root = folder / "scratch-root"
        self.scratch_root.mkdir()
        flat = folder / "flat"
        flat.mkdir()
        (flat / "alice.py").write_text("import os\nprint('FILES', sorted(os.listdir('.')))\n")
        (flat / "bob.py").write_text("print('bob')\n")
        self.flat = flat
        budget = rubric.budget
        escape_env = {"ESCAPE_TARGETS": os.pathsep.join(map(str, self.escape_targets))}
        jobs = {
            "never_ends": (RUNS / "never_ends.py", RunSettings(budget=replace(budget, timeout_seconds=25)), None),
            "early_exit": (RUNS / "early_exit.py", RunSettings(budget=budget), None),
            "network": (RUNS / "network.py", RunSettings(budget=budget, work_root=self.scratch_root), None),
            "escape_write": (RUNS / "escape_write.py", RunSettings(budget=budget, extra_env=escape_env), None),
            "flat": (flat / "alice.py", RunSettings(budget=budget), (flat / "alice.py",)),
            "read_others": (FIXTURES / "hostile" / "read_others" / "transfer.py", RunSettings(budget=budget), None),
            "notebook_homes": (RUNS / "notebook_homes.py", RunSettings(budget=budget), None),
            "dataset_downloads": (RUNS / "dataset_downloads.py", RunSettings(budget=budget), None),
            "generator_reads": (RUNS / "generator_reads.py", RunSettings(budget=budget), None),
        }
        self._pool = ThreadPoolExecutor(max_workers=2)
        self._futures = {name: self._pool.submit(run_submission, code, settings, None, files)
                         for name, (code, settings, files) in jobs.items()}

    def __getitem__(self, name: str):  # noqa: ANN204
        return self._futures[name].result()

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


@pytest.fixture(scope="module")
def runs(rubric, tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN001
    started = LiveRuns(rubric, tmp_path_factory.mktemp("runs"))
    yield started
    started.close()


@pytest.mark.slow
def test_the_flower_photos_and_tfds_cats_vs_dogs_are_served_with_their_real_counts(runs) -> None:  # noqa: ANN001
    result = runs["dataset_downloads"]
    assert result.status is RunStatus.COMPLETED, result.reason
    printed = dict(line.split(" ", 1) for line in result.stdout_tail.splitlines()
                   if line.split(" ", 1)[0] in ("CLASSIC", "INSIDE", "SUFFIX", "TFDS", "PETS"))
    assert printed["CLASSIC"] == "['daisy', 'dandelion', 'roses', 'sunflowers', 'tulips']"
    assert printed["INSIDE"] == printed["SUFFIX"] == "3670"  # the real count
    assert printed["TFDS"] == "5 ['dandelion', 'daisy', 'tulips', 'sunflowers', 'roses'] 2936 734"
    assert printed["PETS"] == "['cat', 'dog'] 23262 23262"  # PetImages' 25,000 less the 1,738 tfds skips
    served = " ".join(event.get("what", "") + str(event) for event in result.events("accommodation"))
    assert "flower_photos" in served and "tf_flowers" in served


@pytest.mark.slow
def test_a_generator_is_read_once_to_learn_its_shapes_and_each_fit_says_what_it_ran(runs) -> None:  # noqa: ANN001
    result = runs["generator_reads"]
    assert result.status is RunStatus.COMPLETED, result.reason
    # Each fit traces its step once (its variables are made first, not while tracing: Keras alone
    # traces twice), and validation runs eagerly: its step runs in Python for each of its batches.
    assert "TRAIN_STEP_TRACED 2" in result.stdout_tail
    assert "TEST_STEP_CALLS 4" in result.stdout_tail
    # Keras reads a generator's first batches at each fit to learn their shapes; the harness once:
    # the validation's first batch is read for that, then once by each fit's validation.
    assert "FIRST_VALIDATION_BATCH_READS 3" in result.stdout_tail
    fits = result.events("fit")
    assert [(fit["seconds"]["step_count"], fit["seconds"]["validation_batches"]) for fit in fits] == [(20, 2), (4, 2)]
    # Read to learn their shapes: two of the training set's, two of the validation's, then none.
    assert [fit["seconds"]["generator_batches"] for fit in fits] == [4, 0]


@pytest.mark.slow
def test_a_run_that_never_ends_times_out_and_keeps_its_events(runs) -> None:  # noqa: ANN001
    result = runs["never_ends"]
    assert result.status is RunStatus.TIMEOUT
    assert "time limit" in result.reason
    assert result.events("application")


@pytest.mark.slow
def test_early_sys_exit_is_recorded_and_means_no_training(runs) -> None:  # noqa: ANN001
    result = runs["early_exit"]
    assert result.status is RunStatus.COMPLETED
    exit_event = result.events("exit")[0]
    assert exit_event["code"] == 0 and exit_event["line"] == 8
    assert result.events("fit_start") == []


@pytest.mark.slow
@needs_bwrap
def test_sandbox_has_no_network(runs) -> None:  # noqa: ANN001
    result = runs["network"]
    assert result.status is RunStatus.COMPLETED  # trying is no crash: the script is graded
    assert result.isolation == "bwrap"
    assert "CONNECTED" not in result.stdout_tail and "RESOLVED" not in result.stdout_tail
    assert result.stdout_tail.count("BLOCKED") == 2 and "NO-DNS" in result.stdout_tail


@pytest.mark.slow
@needs_bwrap
def test_sandbox_cannot_write_outside_its_scratch_folder(runs) -> None:  # noqa: ANN001
    result = runs["escape_write"]
    assert "WROTE-INSIDE" in result.stdout_tail
    for target in runs.escape_targets:
        assert not target.exists(), f"the sandbox wrote {target}"
    assert "DENIED" in result.stdout_tail


@pytest.mark.slow
def test_runs_leave_no_scratch_folders(runs) -> None:  # noqa: ANN001
    runs["network"]
    assert list(runs.scratch_root.iterdir()) == []
    assert shutil.which("python3")


@pytest.mark.slow
def test_flat_layout_runs_see_only_their_own_files(runs) -> None:  # noqa: ANN001
    from grader.discover import discover

    alice = next(s for s in discover(runs.flat).submissions if s.id == "alice")
    assert not alice.own_folder
    listed = next(line for line in runs["flat"].stdout_tail.splitlines() if line.startswith("FILES"))
    assert "alice.py" in listed and "bob.py" not in listed


@pytest.mark.slow
@needs_bwrap
def test_sandbox_cannot_read_the_rubric_or_other_students(runs) -> None:  # noqa: ANN001
    result = runs["read_others"]
    assert result.status is RunStatus.COMPLETED
    assert "searched" in result.stdout_tail
    assert "READ" not in result.stdout_tail


@pytest.mark.slow
@needs_bwrap
def test_colab_and_kaggle_folders_are_the_runs_own_folder(runs) -> None:  # noqa: ANN001
    result = runs["notebook_homes"]
    assert result.status is RunStatus.COMPLETED, result.reason
    assert "DRIVE saved on drive" in result.stdout_tail  # a save-then-load round trip works
    assert "SAME-FOLDER True True" in result.stdout_tail  # /content and /kaggle/working are the scratch folder
    assert "INPUTS []" in result.stdout_tail
    assert not Path("/content").exists() and not Path("/kaggle").exists()  # nothing escaped to this machine
    assert any("/content (Colab's folder) was this run's own folder" in note for note in result.accommodations)


@pytest.mark.slow
def test_keras2_paths_run_as_they_meant_and_nets_is_named_for_what_it_was(rubric, tmp_path: Path) -> None:  # noqa: ANN001
    result = run_submission(RUNS / "keras2_paths.py", RunSettings(budget=rubric.budget, work_root=tmp_path), None)
    assert "ONEHOT [[1.0, 0.0], [0.0, 1.0]] [[0.0, 1.0]]" in result.stdout_tail
    assert "CLASSES True Dense GlobalAveragePooling2D MobileNetV2 True" in result.stdout_tail
    assert "LR 0.01" in result.stdout_tail
    notes = " ".join(result.accommodations)
    for path in ("keras.preprocessing.image.ImageDataGenerator", "keras.utils.np_utils.to_categorical",
                 "keras.layers.core.Dense", "keras.layers.pooling.GlobalAveragePooling2D",
                 "keras.applications.mobilenetv2.MobileNetV2", "keras_preprocessing.image.ImageDataGenerator",
                 "tensorflow.keras.utils.np_utils.to_categorical"):
        assert f"`{path}`" in notes, path
    assert result.reason.startswith("imports `nets` at keras2_paths.py, line 18: TF-slim's")
    assert "nothing to install" in result.reason
    assert (result.missing_module, result.missing_package) == ("nets", "")


def test_a_model_that_fails_to_save_leaves_no_half_written_file(tmp_path: Path) -> None:
    """The harness saves under a hidden name and renames it whole; a save that fails midway
    (an unserialisable layer, a full disk) is recorded and its partial file removed."""
    from types import SimpleNamespace

    from grader.harness.training import Recorder
    from grader.shared.layout import Scratch

    class Unsaveable:
        def save(self, path: Path) -> None:
            Path(path).write_bytes(b"PK half a zip")
            raise TypeError("cannot serialise layer 'custom'")

    emitted: list[tuple[str, dict]] = []
    trace = SimpleNamespace(emit=lambda kind, **fields: emitted.append((kind, fields)))
    artifacts = Scratch(tmp_path).artifacts
    artifacts.mkdir(parents=True)
    recorder = Recorder(trace, SimpleNamespace(save_models=True, workdir=str(tmp_path)))
    assert recorder.save(Unsaveable(), "fit1") is None
    assert list(artifacts.iterdir()) == []
    assert emitted == [("artifact_error", {"label": "fit1", "error": "TypeError: cannot serialise layer 'custom'"})]

"""Real student code: scripts and notebooks written the ways students write this lab (Colab paths
and Drive, a Kaggle notebook, pandas/seaborn/scikit-learn/OpenCV beside TensorFlow, plot_model,
a zip unpacked by the script, Keras 2 idioms and import paths, training commented out, a separate
Activation, a crash before the model exists, a module the environment lacks, a Keras 2 module
nothing replaces, augmentation built only for a plot, PetImages at 224 on Colab). Judged on their
recorded evidence; every correct one must run to its end."""

from __future__ import annotations

import pytest

from conftest import REAL_WORLD, code_file, fixture_names, grade_of

BN = {"finetune.bn_inference": "fail"}  # advice: training=False does not keep BatchNorm frozen in Keras 3
GENERATOR = {"augment.flip": "partial", "augment.rotation": "partial"}  # ImageDataGenerator: half the points
NO_TRAINING = {"input.range": "error", "train.runs": "fail", "train.learns": "skip", "finetune.unfreeze": "fail",
               **{check: "skip" for check in ("finetune.partial", "finetune.recompile", "finetune.lower_lr",
                                              "finetune.continues", "finetune.bn_inference")}}

# Every check not named must pass. Correct labs first: they must run to their end.
CORRECT: dict[str, dict[str, str]] = {
    "colab_drive": {},  # freezes BatchNorm itself
    "kaggle_notebook": BN,
    "pandas_seaborn": BN,
    "sklearn_confusion": BN,
    "opencv_loading": BN,
    "plot_model": BN,
    "zip_unpacked": BN,
    "keras2_era": {**BN, **GENERATOR},  # the base flattened into the model; augmentation by ImageDataGenerator
    # keras.preprocessing.image.ImageDataGenerator, keras.applications.mobilenetv2, keras.layers.core,
    # keras.utils.np_utils, Adam(lr=), fit_generator: Keras 2 paths run as they meant.
    "keras2_imports": {**BN, **GENERATOR},
    # ImageDataGenerator over /content/data/PetImages at 224x224 (it crashed with SIGSEGV once): runs,
    # though the rubric's lab asks for 160x160 inputs.
    "colab_petimages_224": {**BN, **GENERATOR, "base.input_shape": "fail"},
    "separate_activation": BN,  # Dense(128) + Activation('relu'), Dense(1) + Activation(tf.nn.sigmoid)
}
FLAWED: dict[str, dict[str, str]] = {
    "training_commented_out": NO_TRAINING,
    "plot_only_augmentation": {"augment.flip": "fail", "augment.rotation": "fail", **BN},
    # NameError before the model exists: the source is read, with its values (Dense(1024), Dropout(0.2)).
    # What the source says earns part of the points: partial, not pass.
    "crash_before_model": {**NO_TRAINING, "script.runs": "fail", "head.dense": "fail", "head.dropout": "fail",
                           "compile.loss": "fail", **{check: "partial" for check in (
                               "base.frozen", "augment.flip", "augment.rotation", "head.pooling", "head.output",
                               "compile.accuracy")}},
    # Crashed before compile; the source writes Dense(2) with no activation and binary_crossentropy.
    "crash_dense2_logits": {**NO_TRAINING, "script.runs": "fail", "head.dropout": "fail", "head.output": "fail",
                            "compile.loss": "fail", **{check: "partial" for check in (
                                "base.frozen", "augment.flip", "augment.rotation", "head.pooling", "head.dense",
                                "compile.accuracy")}},
    # Stopped at a Keras 2 module nothing replaces (keras.backend.tensorflow_backend): the source is read.
    "keras2_removed_import": {**NO_TRAINING, "script.runs": "fail", "augment.rotation": "fail",
                              **{check: "partial" for check in (
                                  "base.frozen", "augment.flip", "head.pooling", "head.dense", "head.dropout",
                                  "head.output", "compile.loss", "compile.accuracy")}},
    # Stopped at its import: only what the source says of the base can be judged.
    "missing_module": {**NO_TRAINING, "script.runs": "fail", "base.frozen": "fail",
                       **{check: "error" for check in ("augment.flip", "augment.rotation", "head.pooling",
                                                       "head.dense", "head.dropout", "head.output",
                                                       "compile.loss", "compile.accuracy")}},
}
EXPECTED = {**CORRECT, **FLAWED}


def test_the_corpus_is_complete() -> None:
    assert set(fixture_names(REAL_WORLD)) == set(EXPECTED)
    assert len(EXPECTED) >= 17


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_statuses(name: str, recorded_real_world, rubric) -> None:  # noqa: ANN001
    grade = recorded_real_world.grade(name, rubric)
    statuses = {check.id: check.status.value for check in grade.checks}
    expected = {spec.id: EXPECTED[name].get(spec.id, "pass") for spec in rubric.checks}
    assert statuses == expected, {check.id: check.message for check in grade.checks
                                  if statuses[check.id] != expected[check.id]}


@pytest.mark.parametrize("name", sorted(CORRECT))
def test_every_correct_lab_runs_to_its_end(name: str, recorded_real_world) -> None:  # noqa: ANN001
    run = recorded_real_world.evidence(name).run
    assert run.status.value == "completed", run.reason
    assert run.integrity.status.value == "confirmed", run.integrity.notes


def test_colab_drive_and_kaggle_paths_are_redirected_and_said(recorded_real_world) -> None:  # noqa: ANN001
    colab = recorded_real_world.evidence("colab_drive").run
    assert "reloaded True" in colab.stdout_tail  # saved under /content/drive and loaded back
    assert any("/content (Colab's folder) was this run's own folder" in note for note in colab.accommodations)
    kaggle = recorded_real_world.evidence("kaggle_notebook").run
    assert any("/kaggle/input/cat-and-dog" in note for note in kaggle.accommodations)
    assert "model.keras" in kaggle.stdout_tail and "history.csv" in kaggle.stdout_tail


def test_an_archive_the_script_unpacks_itself_is_served(recorded_real_world) -> None:  # noqa: ANN001
    run = recorded_real_world.evidence("zip_unpacked").run
    assert "training cat images: 1000" in run.stdout_tail  # the real count, in the layout the name implies
    assert any("/tmp/cats_and_dogs_filtered.zip" in note and "archive" in note for note in run.accommodations)


def test_plot_model_without_graphviz_is_a_recorded_no_op(recorded_real_world) -> None:  # noqa: ANN001
    """Recorded on a machine without graphviz's `dot` (where it is installed, plot_model draws)."""
    run = recorded_real_world.evidence("plot_model").run
    assert any("plot_model('model_architecture.png') skipped" in note and "dot" in note for note in run.accommodations)
    assert run.status.value == "completed"


def test_a_missing_module_is_named_and_counted_apart(recorded_real_world, rubric) -> None:  # noqa: ANN001
    grade = recorded_real_world.grade("missing_module", rubric)
    assert "imports `albumentations`" in grade.reason and "add it to the environment" in grade.reason
    assert "package `albumentations`" in grade.reason
    assert grade.stopped_at_import() == ("albumentations", "albumentations")


def test_the_source_fallback_reads_values_and_says_what_it_found(recorded_real_world, rubric) -> None:  # noqa: ANN001
    checks = {c.id: c for c in recorded_real_world.grade("crash_before_model", rubric).checks}
    assert "Dense(1024" in checks["head.dense"].message and "Dense(128" in checks["head.dense"].message
    assert "Dropout(0.2)" in checks["head.dropout"].message
    assert checks["base.frozen"].points == checks["base.frozen"].max_points / 2  # the loop over base.layers, read
    assert "from_logits=True" in checks["compile.loss"].message
    plot_only = {c.id: c for c in recorded_real_world.grade("plot_only_augmentation", rubric).checks}
    assert "not part of the model" in plot_only["augment.flip"].message


def test_augmentation_by_image_data_generator_earns_what_the_rubric_says(recorded_real_world, rubric) -> None:  # noqa: ANN001
    from dataclasses import replace

    def flip_points(credit: float) -> float:
        specs = tuple(replace(spec, params={**spec.params, "generator_credit": credit}) if spec.id == "augment.flip"
                      else spec for spec in rubric.checks)
        grade = recorded_real_world.grade("keras2_era", replace(rubric, checks=specs))
        return next(c.points for c in grade.checks if c.id == "augment.flip")

    full = next(spec.points for spec in rubric.checks if spec.id == "augment.flip")
    assert flip_points(0.5) == full / 2 and flip_points(1.0) == full and flip_points(0.0) == 0.0


def test_partial_credit_is_partial_not_pass(recorded_real_world, rubric) -> None:  # noqa: ANN001
    flip = next(c for c in recorded_real_world.grade("keras2_era", rubric).checks if c.id == "augment.flip")
    assert flip.status.value == "partial" and 0 < flip.points < flip.max_points


def test_keras2_import_paths_run_as_they_meant_and_are_listed(recorded_real_world) -> None:  # noqa: ANN001
    run = recorded_real_world.evidence("keras2_imports").run
    assert run.status.value == "completed", run.reason
    for path in ("keras.preprocessing.image.ImageDataGenerator", "keras.applications.mobilenetv2.MobileNetV2",
                 "keras.layers.core.Dense", "keras.utils.np_utils.to_categorical"):
        assert any(f"`{path}`" in note and "Keras 2 path" in note for note in run.accommodations), path
    assert any("lr=0.001" in note for note in run.accommodations)
    assert "(3, 2)" in run.stdout_tail  # to_categorical ran as Keras 2's


def test_a_keras2_module_nothing_replaces_is_named_and_sends_no_one_to_install(recorded_real_world, rubric) -> None:  # noqa: ANN001
    grade = recorded_real_world.grade("keras2_removed_import", rubric)
    assert grade.reason.startswith("imports `keras.backend.tensorflow_backend` at train.py, line 4")
    assert "nothing to install" in grade.reason and "add it to the environment" not in grade.reason
    assert grade.stopped_at_import() == ("keras.backend.tensorflow_backend", "")


def test_the_class_summary_groups_import_stops_by_what_fixes_them(recorded_real_world, rubric) -> None:  # noqa: ANN001
    from rich.console import Console

    from grader.report_terminal import ClassSummary
    from grader.results import ImportStops
    from grader.view import views_of

    grades = [recorded_real_world.grade(name, rubric) for name in ("missing_module", "keras2_removed_import")]
    stops = ImportStops.of(grades)
    assert stops.by_package == {"albumentations": ("missing_module",)}
    assert stops.in_code == {"keras.backend.tensorflow_backend": ("keras2_removed_import",)}
    console = Console(width=200, record=True, color_system=None)
    console.print(ClassSummary(views_of(grades, rubric, "instructor"), rubric.max_score))
    text = console.export_text()
    assert "need `albumentations`" in text and "need `keras`" not in text
    assert "`keras.backend.tensorflow_backend`" in text and "nothing to install" in text


def test_the_source_fallback_judges_the_loss_against_the_written_output(recorded_real_world, rubric) -> None:  # noqa: ANN001
    loss = next(c for c in recorded_real_world.grade("crash_dense2_logits", rubric).checks if c.id == "compile.loss")
    assert loss.status.value == "fail"
    assert "Dense(2)" in loss.message and "no activation (logits)" in loss.message
    assert "from_logits=True" in loss.hint


@pytest.mark.slow
def test_the_colab_petimages_224_script_runs_to_its_end(live, rubric) -> None:  # noqa: ANN001
    """Once ended by SIGSEGV; live, because a crash in native code is not in any recording."""
    code = code_file("colab_petimages_224", REAL_WORLD)
    run = live.evidence(code).run
    assert run.status.value == "completed", run.reason
    assert any("/content/data/PetImages" in note for note in run.accommodations)
    statuses = {c.id: c.status.value for c in grade_of(code, live.evidence(code), rubric).checks}
    assert statuses["train.runs"] == "pass" and statuses["finetune.continues"] == "pass"

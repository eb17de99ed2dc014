"""A costly base trains on part of each batch: the cap follows the measured cost of a step, cuts
each kind of training data fit may get (a dataset's batches, arrays, Keras' image iterators) and
leaves the student's objects as they were."""

from __future__ import annotations

import numpy as np
import pytest

from grader.harness.batches import capped, plan
from grader.shared.cost import MIN_BATCH, batch_cap, step_cost


class _Base:
    def __init__(self, side: int) -> None:
        self.input_shape = (None, side, side, 3)


def test_the_cost_of_a_step_grows_with_the_pixels_and_is_unknown_for_bases_not_measured() -> None:
    assert step_cost("MobileNetV2", 160, 160) == 1.0
    assert step_cost("MobileNetV2", 224, 224) == pytest.approx((224 / 160) ** 2)
    assert step_cost("ResNet50", 112, 112) == pytest.approx(step_cost("ResNet50", 224, 224) / 4)
    assert step_cost("NASNetMobile", 224, 224) is None and step_cost("ResNet50", None, 224) is None


def test_only_a_base_much_costlier_than_the_lab_s_is_capped_and_never_below_the_minimum() -> None:
    assert batch_cap(1.0, 32) is None and batch_cap(4.5, 32) is None  # MobileNetV2 at 224, EfficientNetB0
    assert batch_cap(5.5, 64) == 11 and batch_cap(6.0, 32) == 8
    assert batch_cap(400.0, 32) == MIN_BATCH
    assert batch_cap(8.0, 0) is None  # the rubric asked for whole batches
    assert batch_cap(None, 32) is None


def test_the_plan_names_the_costliest_base_and_says_why() -> None:
    small, big = _Base(160), _Base(224)
    architectures = {id(small): "MobileNetV2", id(big): "VGG16"}
    cap = plan([small, big], architectures, 32)
    assert cap.images == batch_cap(step_cost("VGG16", 224, 224), 32)
    assert cap.reason.startswith("VGG16 at 224x224 costs about") and f"at most {cap.images} images" in cap.reason
    assert plan([small], architectures, 32) is None
    assert plan([_Base(224)], {}, 32) is None  # not a base the harness built


def test_arrays_train_in_smaller_batches() -> None:
    arguments = {"x": np.zeros((100, 4)), "batch_size": None}
    with capped(arguments, 8) as how:
        assert how == "batch_size" and arguments["batch_size"] == 8
        assert arguments["validation_batch_size"] == 32  # validation_split's part: whole batches


def test_a_dataset_s_batches_are_cut_and_its_labels_with_them() -> None:
    tf = pytest.importorskip("tensorflow")
    dataset = tf.data.Dataset.from_tensor_slices((np.arange(64.0).reshape(64, 1), np.arange(64))).batch(32)
    arguments = {"x": dataset}
    with capped(arguments, 8) as how:
        images, labels = next(iter(arguments["x"]))
    assert how == "dataset" and images.shape == (8, 1) and labels.numpy().tolist() == list(range(8))
    unbatched = {"x": tf.data.Dataset.from_tensor_slices(np.zeros((4, 160, 160, 3), np.float32))}
    with capped(unbatched, 8) as how:  # an image's first dimension is not a batch: left whole
        assert how is None and unbatched["x"].element_spec.shape == (160, 160, 3)


def test_an_image_iterator_reads_fewer_images_a_batch_then_gets_its_own_size_back() -> None:
    tf = pytest.importorskip("tensorflow")
    iterator = tf.keras.preprocessing.image.ImageDataGenerator().flow(np.zeros((64, 8, 8, 3)), np.arange(64), batch_size=32, shuffle=False)
    with capped({"x": iterator}, 8) as how:
        assert how == "iterator" and iterator[0][0].shape[0] == 8 and len(iterator) == 8
    assert iterator.batch_size == 32 and len(iterator) == 2


def test_only_a_base_too_slow_even_on_part_of_each_batch_gets_more_time(tmp_path) -> None:  # noqa: ANN001
    from grader.intake import read_program
    from grader.run.runner import _time_for_bases, run_bases
    from grader.run.settings import RunSettings
    from grader.shared.cost import time_factor

    assert time_factor(step_cost("ResNet50", 224, 224), 32) == 1.0 and time_factor(None, 32) == 1.0
    code = tmp_path / "lab.py"
    code.write_text("import keras\nbase = keras.applications.ConvNeXtTiny(input_shape=(224, 224, 3), include_top=False)\n")
    settings, notes = _time_for_bases(RunSettings(), run_bases(RunSettings(), read_program(code)))
    factor = time_factor(step_cost("ConvNeXtTiny", 224, 224), 32)
    assert factor > 2 and settings.budget.timeout_seconds == round(240 * factor)
    assert notes == [f"ConvNeXtTiny at 224x224 trains slowly even on part of each batch: the run was given "
                     f"{round(240 * factor)} s instead of 240 s"]
    given = RunSettings(timeout_fixed=True)  # `--timeout 240`: what was asked, not raised
    assert _time_for_bases(given, run_bases(given, read_program(code))) == (given, [])
    code.write_text(code.read_text().replace("ConvNeXtTiny", "ResNet50"))
    assert _time_for_bases(RunSettings(), run_bases(RunSettings(), read_program(code))) == (RunSettings(), [])

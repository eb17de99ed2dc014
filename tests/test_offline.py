"""Offline weights and data: stand-ins carry signal, are cached, and the synthetic data keeps the
real dataset's layout and counts."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import pytest

from grader.offline.synthetic import CLASSES, SPLIT_COUNTS, draw_image, ensure_dataset, ensure_zip, image_seed


@pytest.fixture(scope="module")
def stand_in(tmp_path_factory: pytest.TempPathFactory):
    from keras.applications import MobileNetV2

    from grader.offline.weights import build_application

    cache = tmp_path_factory.mktemp("cache")
    model, source = build_application(MobileNetV2, dict(input_shape=(160, 160, 3), include_top=False), cache=cache)
    return model, source, cache


def _features(model, count: int = 32, size: int = 160) -> tuple[np.ndarray, np.ndarray]:  # noqa: ANN001
    from keras.applications.mobilenet_v2 import preprocess_input

    images = np.stack([np.asarray(draw_image(CLASSES[i % 2], 77_000 + i).resize((size, size)), np.float32)
                       for i in range(count)])
    maps = model(preprocess_input(images), training=False).numpy()
    return maps.mean(axis=(1, 2)), np.arange(count) % 2


@pytest.mark.slow
def test_stand_in_is_reported_and_passes_signal(stand_in) -> None:  # noqa: ANN001
    model, source, _ = stand_in
    assert source.kind == "stand-in"
    assert "not ImageNet" in source.note
    features, labels = _features(model)
    cats, dogs = features[labels == 0], features[labels == 1]
    # Nearest class mean, leave-one-out: the two classes are told apart from features alone.
    correct = 0
    for i in range(len(features)):
        rest = np.arange(len(features)) != i
        means = [features[rest & (labels == k)].mean(0) for k in (0, 1)]
        correct += int(np.argmin([np.linalg.norm(features[i] - m) for m in means]) == labels[i])
    assert correct / len(features) >= 0.9
    assert np.abs(cats.mean(0) - dogs.mean(0)).max() > 0.05


@pytest.mark.slow
def test_random_weights_pass_no_signal() -> None:
    from keras.applications import MobileNetV2

    features, _ = _features(MobileNetV2(input_shape=(160, 160, 3), include_top=False, weights=None))
    assert np.abs(features).max() < 1e-3  # activations vanish before the last block


@pytest.mark.slow
def test_second_request_is_served_from_cache(stand_in) -> None:  # noqa: ANN001
    from keras.applications import MobileNetV2

    from grader.offline.weights import build_application

    first_model, source, cache = stand_in
    path = Path(source.path)
    written = path.stat().st_mtime_ns
    model, again = build_application(MobileNetV2, dict(input_shape=(160, 160, 3), include_top=False), cache=cache)
    assert again.path == source.path and path.stat().st_mtime_ns == written
    assert all(np.array_equal(a, b) for a, b in zip(first_model.get_weights(), model.get_weights()))


@pytest.mark.slow
def test_real_weights_are_used_when_cached(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, stand_in) -> None:  # noqa: ANN001
    from keras.applications import MobileNetV2

    from grader.offline.weights import build_application

    from keras.src.backend import config

    model, _, _ = stand_in
    keras_home = tmp_path / "keras"
    (keras_home / "models").mkdir(parents=True)
    published = "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_160_no_top"
    # Keras looks for the ImageNet file by its published name and format (legacy HDF5) in its cache.
    import h5py
    from keras.src.legacy.saving import legacy_h5_format

    with h5py.File(keras_home / "models" / f"{published}.h5", "w") as handle:
        legacy_h5_format.save_weights_to_hdf5_group(handle, model)
    monkeypatch.setattr(config, "_KERAS_DIR", str(keras_home))  # Keras reads KERAS_HOME once, at import
    built, source = build_application(MobileNetV2, dict(input_shape=(160, 160, 3), include_top=False),
                                      cache=tmp_path / "cache")
    assert source.kind == "imagenet"
    assert all(np.array_equal(a, b) for a, b in zip(model.get_weights(), built.get_weights()))


def test_synthetic_dataset_keeps_the_real_layout_and_counts() -> None:
    dataset = ensure_dataset()
    for split, per_class in SPLIT_COUNTS.items():
        for label in CLASSES:
            files = list((dataset.root / split / label).glob("*.jpg"))
            assert len(files) == per_class
    assert (dataset.train_dir / "cats" / "cat.0.jpg").is_file()
    assert (dataset.validation_dir / "dogs" / "dog.2499.jpg").is_file()


def test_synthetic_images_are_deterministic_and_varied() -> None:
    a = np.asarray(draw_image("cats", image_seed("train", "cats", 3)))
    b = np.asarray(draw_image("cats", image_seed("train", "cats", 3)))
    c = np.asarray(draw_image("cats", image_seed("train", "cats", 4)))
    assert np.array_equal(a, b)
    assert a.shape != c.shape or not np.array_equal(a, c)


def test_zip_has_the_tutorial_layout() -> None:
    with zipfile.ZipFile(ensure_zip()) as bundle:
        names = bundle.namelist()
    assert "cats_and_dogs_filtered/train/cats/cat.0.jpg" in names
    assert sum(name.startswith("cats_and_dogs_filtered/validation/") for name in names) == 1000

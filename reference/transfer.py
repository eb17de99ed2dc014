"""Reference solution of the transfer-learning lab: MobileNetV2, cats vs dogs, Keras 3.

Phase 1 (feature extraction) trains a new head on a frozen ImageNet MobileNetV2; phase 2
(fine-tuning) unfreezes the base from layer ``--fine-tune-at`` up, recompiles with a learning
rate ten times lower, and continues training from where phase 1 stopped.

Runs offline: ImageNet weights come from Keras's cache or, failing that, deterministic stand-in
weights (see ``grader.offline.weights``); without ``--data`` it trains on the synthetic
cats-vs-dogs dataset (``grader.offline.synthetic``). The run says which it used.

Writes to ``--out``: ``model.keras``, ``history.json`` and ``training_curves.png``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import tensorflow as tf  # noqa: E402
from keras import layers  # noqa: E402
from keras.applications import MobileNetV2  # noqa: E402
from keras.applications.mobilenet_v2 import preprocess_input  # noqa: E402

from grader.offline.datasets import find_splits  # noqa: E402
from grader.offline.synthetic import ensure_dataset  # noqa: E402
from grader.offline.weights import build_application  # noqa: E402

IMG_SIZE = (160, 160)
IMG_SHAPE = IMG_SIZE + (3,)
SEED = 1234


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, help="cats_and_dogs_filtered layout (train/ and validation/), "
                        "or one folder of class folders split 80/20; default: the synthetic dataset")
    parser.add_argument("--out", type=Path, default=Path("reference-run"), help="output folder")
    parser.add_argument("--initial-epochs", type=int, default=2, help="feature-extraction epochs")
    parser.add_argument("--fine-tune-epochs", type=int, default=2, help="fine-tuning epochs")
    parser.add_argument("--fine-tune-at", type=int, default=100, help="first base layer to unfreeze")
    parser.add_argument("--learning-rate", type=float, default=1e-3, help="phase-1 learning rate")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--weights", type=Path, help="MobileNetV2 ImageNet weights file (.h5), if not in ~/.keras")
    return parser.parse_args(argv)


def load_datasets(data: Path | None, batch_size: int) -> tuple[tf.data.Dataset, tf.data.Dataset, str]:
    """Return (train, validation) batched datasets, cached and prefetched, and a description."""
    if data is None:
        data, source = ensure_dataset().root, "synthetic"
    else:
        source = str(data)
    splits = find_splits(data)
    common = dict(image_size=IMG_SIZE, batch_size=batch_size, seed=SEED, label_mode="binary")
    if splits.validation is not None:
        train = keras.utils.image_dataset_from_directory(splits.train, shuffle=True, **common)
        validation = keras.utils.image_dataset_from_directory(splits.validation, shuffle=False, **common)
    else:
        train, validation = keras.utils.image_dataset_from_directory(
            splits.train, validation_split=0.2, subset="both", shuffle=True, **common)
    return _fast(train, shuffle=True), _fast(validation, shuffle=False), source


def _fast(dataset: tf.data.Dataset, shuffle: bool) -> tf.data.Dataset:
    # Decoded images are cached as uint8 (4x smaller than float32); batches are reshuffled each epoch.
    dataset = dataset.map(lambda x, y: (tf.cast(x, tf.uint8), y), num_parallel_calls=tf.data.AUTOTUNE)
    dataset = dataset.cache()
    if shuffle:
        dataset = dataset.shuffle(64, seed=SEED)
    return dataset.prefetch(tf.data.AUTOTUNE)


def build_model(weights_file: Path | None) -> tuple[keras.Model, keras.Model, str]:
    """Return (model, base_model, weights description): frozen MobileNetV2 with a new head."""
    base_model, source = build_application(
        MobileNetV2, dict(input_shape=IMG_SHAPE, include_top=False, weights="imagenet"),
        weights_file=weights_file)
    base_model.trainable = False

    data_augmentation = keras.Sequential(
        [layers.RandomFlip("horizontal"), layers.RandomRotation(0.2)], name="data_augmentation")

    inputs = keras.Input(shape=IMG_SHAPE)
    x = data_augmentation(inputs)
    x = preprocess_input(x)  # [0, 255] -> [-1, 1], what MobileNetV2 was trained on
    x = base_model(x, training=False)
    x = layers.GlobalAveragePooling2D()(x)
    x = layers.Dense(128, activation="relu")(x)
    x = layers.Dropout(0.5)(x)
    outputs = layers.Dense(1, activation="sigmoid")(x)
    described = source.kind + (f" ({source.note})" if source.note else "")
    return keras.Model(inputs, outputs, name="cats_vs_dogs"), base_model, described


def compile_model(model: keras.Model, learning_rate: float) -> None:
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=learning_rate),
                  loss=keras.losses.BinaryCrossentropy(),
                  metrics=["accuracy"])


def unfreeze_top(base_model: keras.Model, fine_tune_at: int) -> int:
    """Make the base trainable from layer ``fine_tune_at`` up; return how many layers train.

    BatchNormalization layers stay frozen (so in inference mode): in Keras 3, fit's training=True
    reaches them even through ``base_model(x, training=False)``, and re-estimating ImageNet's
    statistics on a small dataset undoes what the head learned.
    """
    base_model.trainable = True
    for index, layer in enumerate(base_model.layers):
        if index < fine_tune_at or isinstance(layer, layers.BatchNormalization):
            layer.trainable = False
    return len(base_model.layers) - fine_tune_at


def plot_curves(history: dict[str, list[float]], fine_tune_start: int, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    epochs = range(1, len(history["accuracy"]) + 1)
    figure, (top, bottom) = plt.subplots(2, 1, figsize=(8, 8), sharex=True)
    for axis, metric in ((top, "accuracy"), (bottom, "loss")):
        axis.plot(epochs, history[metric], "o-", label=f"training {metric}")
        axis.plot(epochs, history[f"val_{metric}"], "o-", label=f"validation {metric}")
        axis.axvline(fine_tune_start + 0.5, color="grey", linestyle="--", label="start of fine-tuning")
        axis.set_ylabel(metric)
        axis.legend(loc="best")
    top.set_title("Feature extraction, then fine-tuning")
    bottom.set_xlabel("epoch")
    bottom.xaxis.set_major_locator(MaxNLocator(integer=True))
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    keras.utils.set_random_seed(SEED)
    args.out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    train, validation, data_source = load_datasets(args.data, args.batch_size)
    model, base_model, weights_source = build_model(args.weights)
    print(f"data: {data_source}\nweights: {weights_source}", flush=True)

    compile_model(model, args.learning_rate)
    first = model.fit(train, validation_data=validation, epochs=args.initial_epochs, verbose=2)

    trainable_layers = unfreeze_top(base_model, args.fine_tune_at)
    compile_model(model, args.learning_rate / 10)  # trainable changes take effect on compile
    print(f"fine-tuning the top {trainable_layers} layers of the base", flush=True)
    total_epochs = args.initial_epochs + args.fine_tune_epochs
    second = model.fit(train, validation_data=validation, epochs=total_epochs,
                       initial_epoch=len(first.epoch), verbose=2)

    history = {key: first.history[key] + second.history[key] for key in first.history}
    model.save(args.out / "model.keras")
    record = {"history": history, "fine_tune_start_epoch": len(first.epoch), "data": data_source,
              "weights": weights_source, "seconds": round(time.perf_counter() - started, 1)}
    (args.out / "history.json").write_text(json.dumps(record, indent=2))
    plot_curves(history, len(first.epoch), args.out / "training_curves.png")
    print(f"final validation accuracy: {history['val_accuracy'][-1]:.3f} "
          f"({record['seconds']} s); wrote {args.out}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Training throughput of the reference lab: its tf.data pipeline against an in-memory upper bound.

For each phase (feature extraction, fine-tuning) it times one warm epoch of the reference model fed
by the reference's own pipeline (decode, resize, cache, prefetch), and one fed from tensors already
in memory, and prints images/second for both and their ratio. Run from the repository root:

    python bench/reference_throughput.py [--data DIR]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from reference import transfer  # noqa: E402


def images_per_second(model, dataset, count: int) -> float:  # noqa: ANN001
    started = time.perf_counter()
    model.fit(dataset, epochs=1, verbose=0)
    return count / (time.perf_counter() - started)


def in_memory(dataset: tf.data.Dataset) -> tf.data.Dataset:
    """The same batches as tensors already in memory (prefetched): nothing left to decode or read."""
    images, labels = zip(*[(x.numpy(), y.numpy()) for x, y in dataset])
    memory = tf.data.Dataset.from_tensor_slices((np.concatenate(images), np.concatenate(labels)))
    return memory.batch(32).prefetch(tf.data.AUTOTUNE)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path)
    args = parser.parse_args()
    tf.keras.utils.set_random_seed(transfer.SEED)
    train, _, source = transfer.load_datasets(args.data, batch_size=32)
    count = sum(int(y.shape[0]) for _, y in train)  # also fills the cache: epochs below are warm
    memory = in_memory(train)
    model, base_model, weights = transfer.build_model(None)
    print(f"data: {source}, {count} training images; weights: {weights}; {os.cpu_count()} CPU cores")
    rows = []
    for phase in ("feature extraction", "fine-tuning"):
        if phase == "fine-tuning":
            transfer.unfreeze_top(base_model, 100)
        transfer.compile_model(model, 1e-3 if phase == "feature extraction" else 1e-4)
        for dataset in (train, memory):  # trace the training step for each input once
            model.fit(dataset.take(2), epochs=1, verbose=0)
        # Best of two epochs each, alternating, so that neither gains from running second.
        pipeline = max(images_per_second(model, train, count) for _ in range(2))
        bound = max(images_per_second(model, memory, count) for _ in range(2))
        rows.append((phase, pipeline, bound))
    print(f"{'phase':<20}{'pipeline img/s':>16}{'in-memory img/s':>17}{'ratio':>8}")
    for phase, pipeline, bound in rows:
        print(f"{phase:<20}{pipeline:>16.1f}{bound:>17.1f}{pipeline / bound:>8.2f}")


if __name__ == "__main__":
    main()

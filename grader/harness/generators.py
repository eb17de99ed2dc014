"""How Keras reads a Python generator (a ``PyDataset``: ``ImageDataGenerator``'s iterators, a
student's ``keras.utils.Sequence``): each batch timed where Keras reads it.
"""

from __future__ import annotations

import functools
import itertools
import random
import time
from typing import Any

from grader.harness.clock import GeneratorClock


def install() -> None:
    """Patch Keras's ``PyDatasetAdapter`` so that the batches it reads are timed."""
    from keras.src.trainers.data_adapters.py_dataset_adapter import PyDatasetAdapter

    original_dataset = PyDatasetAdapter.get_tf_dataset

    @functools.wraps(original_dataset)
    def get_tf_dataset(self: Any) -> Any:
        started, learning = time.perf_counter(), self._output_signature is None
        try:
            return original_dataset(self)
        finally:
            if learning:  # Keras read (up to) two batches to learn their shapes
                GeneratorClock.add(time.perf_counter() - started, batches=2)

    PyDatasetAdapter._finite_generator = _finite
    PyDatasetAdapter._infinite_generator = lambda self: _timed(self, itertools.count())
    PyDatasetAdapter.get_tf_dataset = get_tf_dataset


def _timed(adapter: Any, indices: Any) -> Any:
    """Keras's own generator over ``indices``, each batch's making timed."""
    for index in indices:
        started = time.perf_counter()
        batch = adapter.py_dataset[index]
        GeneratorClock.add(time.perf_counter() - started)
        yield adapter._standardize_batch(batch)


def _finite(adapter: Any) -> Any:
    indices = list(range(adapter.py_dataset.num_batches))
    if adapter.shuffle:
        random.shuffle(indices)
    return _timed(adapter, indices)

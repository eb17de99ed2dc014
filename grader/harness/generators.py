"""How Keras reads a Python generator (a ``PyDataset``: ``ImageDataGenerator``'s iterators, a
student's ``keras.utils.Sequence``): each batch timed, and its shapes learnt once.

Keras wraps a ``PyDataset`` in a tf.data pipeline each time ``fit`` or ``evaluate`` is given it,
and learns the pipeline's shapes by reading its first two batches and throwing them away: a
script that fits twice with validation pays for eight such batches. The harness keeps what was
learnt for each generator, so only its first use reads them.
"""

from __future__ import annotations

import functools
import itertools
import random
import time
from typing import Any

from grader.harness.clock import GeneratorClock

# id(generator) -> (the generator, kept so its id stays its own; the shapes Keras learnt)
_SIGNATURES: dict[int, tuple[Any, Any]] = {}


def install() -> None:
    """Patch Keras's ``PyDatasetAdapter``: timed batches, shapes learnt once per generator."""
    from keras.src.trainers.data_adapters.py_dataset_adapter import PyDatasetAdapter

    original_dataset = PyDatasetAdapter.get_tf_dataset

    @functools.wraps(original_dataset)
    def get_tf_dataset(self: Any) -> Any:
        known = _SIGNATURES.get(id(self.py_dataset))
        if self._output_signature is None and known is not None and known[0] is self.py_dataset:
            self._output_signature = known[1]
        started, learning = time.perf_counter(), self._output_signature is None
        try:
            return original_dataset(self)
        finally:
            if learning:  # Keras read (up to) two batches to learn their shapes
                GeneratorClock.add(time.perf_counter() - started, batches=2)
                _SIGNATURES[id(self.py_dataset)] = (self.py_dataset, self._output_signature)

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

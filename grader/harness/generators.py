"""How Keras reads a Python generator (a ``PyDataset``: ``ImageDataGenerator``'s iterators, a
student's ``keras.utils.Sequence``): its shapes learnt once, and the batches read to learn them timed.

Keras wraps a ``PyDataset`` in a tf.data pipeline each time ``fit`` or ``evaluate`` is given it,
and learns the pipeline's shapes by reading its first two batches and throwing them away: a
script that fits twice with validation pays for eight such batches. The harness keeps what was
learnt for each generator, so only its first use reads them.

The batches Keras then reads are not timed one by one: replacing Keras's generator by a timed one
made each fit's end wait seconds for its pipeline to be let go (measured, not understood). Their
waits are in the steps' time, as a tf.data pipeline's are.
"""

from __future__ import annotations

import functools
import time
from typing import Any

from grader.harness.clock import GeneratorClock

# id(generator) -> (the generator, kept so its id stays its own; the shapes Keras learnt)
_SIGNATURES: dict[int, tuple[Any, Any]] = {}


def install() -> None:
    """Patch Keras's ``PyDatasetAdapter``: shapes learnt once per generator, the learning timed."""
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

    PyDatasetAdapter.get_tf_dataset = get_tf_dataset

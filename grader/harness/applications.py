"""Every ``keras.applications`` constructor, offline and recorded, whatever path imported it."""

from __future__ import annotations

import functools
import inspect
from pathlib import Path
from typing import Any

from grader.harness.rebind import replace_everywhere
from grader.harness.trace import Trace
from grader.offline.weights import build_application

# id(model) -> what the harness knows of each application it built (architecture, probe).
BASES: dict[int, dict[str, Any]] = {}


class InputProbe:
    """Statistics of the tensors entering a base model, accumulated in TF variables.

    The observing ops are added when a training or evaluation function is traced while
    ``recording`` is on, so the figures are those of the real batches after the student's own
    preprocessing, in graph mode as in eager mode.
    """

    recording = False

    def __init__(self) -> None:
        import tensorflow as tf

        self._tf = tf
        self.minimum = tf.Variable(float("inf"), dtype=tf.float64, trainable=False)
        self.maximum = tf.Variable(float("-inf"), dtype=tf.float64, trainable=False)
        self.total = tf.Variable(0.0, dtype=tf.float64, trainable=False)
        self.squares = tf.Variable(0.0, dtype=tf.float64, trainable=False)
        self.count = tf.Variable(0.0, dtype=tf.float64, trainable=False)

    def observe(self, inputs: Any) -> None:
        tf = self._tf
        if not InputProbe.recording or not tf.is_tensor(inputs):
            return
        values = tf.cast(inputs, tf.float64)
        self.minimum.assign(tf.minimum(self.minimum, tf.reduce_min(values)))
        self.maximum.assign(tf.maximum(self.maximum, tf.reduce_max(values)))
        self.total.assign_add(tf.reduce_sum(values))
        self.squares.assign_add(tf.reduce_sum(values * values))
        self.count.assign_add(tf.cast(tf.size(values), tf.float64))

    def reset(self) -> None:
        for variable, value in ((self.minimum, float("inf")), (self.maximum, float("-inf")),
                                (self.total, 0.0), (self.squares, 0.0), (self.count, 0.0)):
            variable.assign(value)

    def summary(self) -> dict[str, float] | None:
        count = float(self.count.numpy())
        if count == 0:
            return None
        mean = float(self.total.numpy()) / count
        variance = max(float(self.squares.numpy()) / count - mean * mean, 0.0)
        return {"min": float(self.minimum.numpy()), "max": float(self.maximum.numpy()),
                "mean": mean, "std": variance ** 0.5, "values": count}


def _attach_probe(model: Any) -> InputProbe | None:
    """Wrap the first computing layer of ``model`` so that its inputs are observed."""
    first = next((layer for layer in model.layers if type(layer).__name__ != "InputLayer"), None)
    if first is None:
        return None
    probe = InputProbe()
    original_call = first.call

    @functools.wraps(original_call)
    def observed_call(inputs: Any, *args: Any, **kwargs: Any) -> Any:
        probe.observe(inputs)
        return original_call(inputs, *args, **kwargs)

    first.call = observed_call
    return probe


def _application_constructors() -> dict[Any, str]:
    """Return every application constructor Keras exposes, mapped to its public name."""
    import keras

    found: dict[Any, str] = {}
    namespaces = [keras.applications] + [
        value for value in vars(keras.applications).values() if inspect.ismodule(value)]
    for namespace in namespaces:
        for name, value in vars(namespace).items():
            if inspect.isfunction(value) and name[:1].isupper() and "weights" in inspect.signature(value).parameters:
                found[value] = name
    return found


def install(trace: Trace, weights_cache: Path, weights_file: str | None, memory_bytes: int) -> None:
    """Replace each application constructor in every loaded Keras module by an offline, recorded one.

    A stand-in made in the run (its base or size was not known before it) is calibrated in batches
    of at most a quarter of the run's memory limit of layer outputs (calibrating EfficientNetB0 at
    224 in one batch of 96 took 6 GiB resident, past what an 8 GiB run has left for its training)."""
    import keras._tf_keras.keras  # noqa: F401 - make tf.keras's modules exist before replacing in them

    wrappers = {original: _wrap(original, name, trace, weights_cache, weights_file, memory_bytes // 4)
                for original, name in _application_constructors().items()}
    replace_everywhere(wrappers)


def _wrap(original: Any, name: str, trace: Trace, cache: Path, weights_file: str | None,
          calibration_bytes: int) -> Any:
    signature = inspect.signature(original)

    @functools.wraps(original)
    def offline_application(*args: Any, **kwargs: Any) -> Any:
        call = signature.bind(*args, **kwargs)
        given = dict(call.arguments)  # what the student wrote, before defaults are filled in
        call.apply_defaults()
        # Said first: a run that stops while the base and its weights are made is told apart.
        trace.emit("application_start", architecture=name, input_shape=_argument(call.arguments.get("input_shape")))
        model, source = build_application(original, dict(call.arguments), weights_file=weights_file, cache=cache,
                                          calibration_bytes=calibration_bytes)
        probe = _attach_probe(model)
        layer_names = [layer.name for layer in model.layers]
        BASES[id(model)] = {"architecture": name, "probe": probe, "model": model, "model_name": model.name,
                            "layer_names": layer_names}
        if source.kind == "stand-in":
            trace.accommodate(f"{name}: ImageNet weights are not available offline; used deterministic "
                              "stand-in weights (accuracy figures are not ImageNet figures)")
        trace.emit("application", architecture=name, model_name=model.name,
                   arguments={key: _argument(value) for key, value in given.items()},
                   effective={key: _argument(call.arguments[key]) for key in
                              ("input_shape", "include_top", "weights", "alpha", "pooling", "classes")
                              if key in call.arguments},
                   weights=source.to_dict(), input_shape=list(model.input_shape),
                   output_shape=list(model.output_shape), layer_count=len(model.layers), layer_names=layer_names)
        return model

    return offline_application


def _argument(value: Any) -> Any:
    if hasattr(value, "shape") and hasattr(value, "dtype"):
        return {"tensor_shape": [None if d is None else int(d) for d in value.shape]}
    return value

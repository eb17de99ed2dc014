"""``compile``, ``fit``, ``evaluate`` and ``predict``: recorded, and held to a small budget.

Each ``fit`` keeps the student's phase structure (``initial_epoch``) but runs at most
``epochs`` epochs of at most ``steps_per_epoch`` steps; the trace gets its arguments, history,
which layers' weights changed, statistics of the tensors that entered the base model, and where
its time went (``harness.clock``). Evaluation runs eagerly (its few budgeted batches cost less
than tracing); training stays traced.
"""

from __future__ import annotations

import functools
import inspect
import time
import types
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import numpy as np

from grader.harness import applications, batches, clock, generators
from grader.harness.trace import Trace
from grader.shared.budget import HarnessConfig
from grader.shared.describe import (STATISTICS, describe_loss, describe_metrics, describe_model, describe_optimizer,
                                    file_digest, flattened_bases, layer_weights)
from grader.shared.jsonable import jsonable
from grader.shared.layout import Scratch, saved_model_name


class Recorder:
    """Holds the trace, the budget and a counter for saved artifacts."""

    def __init__(self, trace: Trace, config: HarnessConfig) -> None:
        self.trace, self.config = trace, config
        self.saved = 0
        self.fits = 0
        self.in_fit = False  # fit runs evaluate itself for validation: that is not the student's call

    def save(self, model: Any, label: str) -> dict[str, Any] | None:
        """Save ``model`` as ``.keras`` in the artifacts folder; return its file name, SHA-256
        (the signed trace binds the file, so a model swapped afterwards is noticed) and the seconds
        saving took, or None."""
        if not self.config.save_models:
            return None
        self.saved += 1
        path = Scratch(Path(self.config.workdir)).artifacts / saved_model_name(self.saved, label)
        # Written under a name the inspector does not read, then renamed: a file under its own
        # name is whole, so the inspector may load the newest while the run goes on.
        partial = path.with_name(f".partial-{path.name}")
        started = time.perf_counter()
        try:
            model.save(partial)
            digest = file_digest(partial)
            partial.replace(path)
        except Exception as error:  # noqa: BLE001 - e.g. an unserialisable custom layer
            partial.unlink(missing_ok=True)  # half written: nobody reads it, and it would be kept
            self.trace.emit("artifact_error", label=label, error=f"{type(error).__name__}: {error}"[:500])
            return None
        return {"file": path.name, "sha256": digest, "seconds": round(time.perf_counter() - started, 3)}


def weight_changes(before: dict[str, list[tuple[str, np.ndarray]]], model: Any) -> dict[str, Any]:
    """Which layers' parameters changed (and, separately, BatchNorm statistics) since ``before``."""
    after = _weights(model)
    changed, unchanged, statistics_changed = [], [], []
    created = [path for path in after if path not in before]
    for path, old in before.items():
        new = dict(after.get(path, []))
        params = [(name, value) for name, value in old if name not in STATISTICS]
        statistics = [(name, value) for name, value in old if name in STATISTICS]
        (changed if any(_differs(value, new.get(name)) for name, value in params) else unchanged).append(path)
        if any(_differs(value, new.get(name)) for name, value in statistics):
            statistics_changed.append(path)
    return {"changed": changed, "unchanged": unchanged, "statistics_changed": statistics_changed,
            "created_during_fit": created}


def _differs(old: np.ndarray, new: np.ndarray | None) -> bool:
    return new is not None and (old.shape != new.shape or not np.array_equal(old, new))


def _spec(element: Any) -> Any:
    """Shapes and dtypes of a tf.data element spec, for labels/loss consistency checks."""
    if hasattr(element, "shape") and hasattr(element, "dtype"):
        return {"shape": [None if d is None else int(d) for d in element.shape], "dtype": element.dtype.name}
    if isinstance(element, (tuple, list)):
        return [_spec(part) for part in element]
    if isinstance(element, dict):
        return {key: _spec(value) for key, value in element.items()}
    return repr(element)[:100]


def describe_data(x: Any, y: Any) -> dict[str, Any]:
    """What was passed to ``fit`` as data: its kind, and label shape where it can be read cheaply."""
    kind = type(x).__name__
    info: dict[str, Any] = {"kind": kind}
    if hasattr(x, "element_spec"):
        info["element_spec"] = _spec(x.element_spec)
    if hasattr(x, "class_mode"):
        info["class_mode"] = x.class_mode
        info["image_shape"] = list(getattr(x, "image_shape", []))
    if hasattr(x, "class_indices"):
        info["class_indices"] = dict(x.class_indices)
    if isinstance(x, np.ndarray):
        info["x_shape"] = list(x.shape)
    if isinstance(y, np.ndarray):
        info["y_shape"] = list(y.shape)
    return info


def _described(model: Any) -> dict[str, Any]:
    """The model as the trace records it (bases summarised, nested or flattened)."""
    return describe_model(model, applications.BASES, list(applications.BASES.values()))


def _weights(model: Any) -> dict[str, list[tuple[str, np.ndarray]]]:
    """Every layer's weights by path, a flattened base's layers under the base's name."""
    return layer_weights(model, flattened_bases(model, list(applications.BASES.values())))


def _bases_in(model: Any) -> list[Any]:
    flattened = {info["model_name"] for info in flattened_bases(model, list(applications.BASES.values())).values()}
    found = [info["model"] for info in applications.BASES.values() if info["model_name"] in flattened]
    for layer in model.layers:
        if id(layer) in applications.BASES:
            found.append(layer)
        elif hasattr(layer, "layers") and layer is not model:
            found.extend(_bases_in(layer))
    return found


def _probe_summaries(model: Any) -> dict[str, Any]:
    summaries = {}
    for base in _bases_in(model):
        probe = applications.BASES[id(base)]["probe"]
        if probe is not None:
            summaries[base.name] = probe.summary()
    return summaries


def install(recorder: Recorder) -> Recorder:
    """Wrap ``keras.Model``'s compile, fit, evaluate and predict (and Keras 2's *_generator),
    run evaluation eagerly and time a generator's batches; return the recorder, which counts the fits."""
    import keras

    generators.install()
    model_class = keras.Model
    originals = {name: getattr(model_class, name) for name in ("compile", "fit", "evaluate", "predict")}
    model_class.compile = _compile(originals["compile"], recorder)
    model_class.fit = _fit(originals["fit"], recorder)
    model_class.evaluate = _bounded(originals["evaluate"], recorder, "evaluate")
    model_class.make_test_function = _eager_test_function(model_class.make_test_function, recorder)
    _build_before_tracing()
    model_class.predict = _bounded(originals["predict"], recorder, "predict")
    for legacy, modern in (("fit_generator", "fit"), ("evaluate_generator", "evaluate"),
                           ("predict_generator", "predict")):
        setattr(model_class, legacy, _legacy_alias(legacy, modern, recorder))
    return recorder


def _eager_test_function(original: Any, recorder: Recorder) -> Any:
    """Evaluation (``fit``'s validation, ``evaluate``) runs eagerly: the budget allows it a few
    batches (``eval_steps``), and running those is cheaper than tracing the function that would
    run them (bench/grade_speed.py; training steps stay traced, where tracing is the cheaper).
    Not for a costly base (one whose steps are cut, ``batches.plan``): run eagerly, InceptionV3 at
    299 took 7.1 GiB resident instead of 3.9 and stopped at the memory limit."""

    @functools.wraps(original)
    def make_test_function(self: Any, force: bool = False) -> Any:
        if getattr(self, "test_function", None) is not None and not force:
            return self.test_function
        if _batch_cap(_bases_in(self), recorder) is not None:
            return original(self, force)
        traced, self.run_eagerly = self.run_eagerly, True
        try:
            return original(self, force)
        finally:
            self.run_eagerly = traced

    return make_test_function


def _build_before_tracing() -> None:
    """Create the optimizer's, the metrics' and the loss's variables before ``fit`` traces its
    step, from the shapes of its data (no batch is read), as Keras does under a distribution
    strategy. Without one Keras creates them while tracing, and a function that creates variables
    is traced twice: the second tracing of a fine-tuning step is its slowest part."""
    from keras.src.backend.tensorflow.trainer import TensorFlowTrainer

    original = TensorFlowTrainer._maybe_symbolic_build

    @functools.wraps(original)
    def maybe_symbolic_build(self: Any, iterator: Any = None, data_batch: Any = None) -> Any:
        spec = getattr(getattr(iterator, "_distributed_dataset", None), "element_spec", None)
        if self._distribute_strategy is not None or data_batch is not None or spec is None:
            return original(self, iterator=iterator, data_batch=data_batch)
        try:
            self._symbolic_build(data_batch=_symbolic_batch(spec))
        except Exception:  # noqa: BLE001 - then Keras builds them while tracing, as it would have
            pass
        return None

    TensorFlowTrainer._maybe_symbolic_build = maybe_symbolic_build


def _symbolic_batch(spec: Any) -> Any:
    """A batch of tf.data's element spec as Keras's symbolic build reads it (shapes and dtypes)."""
    import tensorflow as tf

    def shaped(leaf: Any) -> Any:
        return types.SimpleNamespace(shape=tuple(leaf.shape), dtype=leaf.dtype.name)

    batch = tf.nest.map_structure(shaped, spec)
    return tuple(batch) if isinstance(batch, list) else batch


def _legacy_alias(legacy: str, modern: str, recorder: Recorder) -> Any:
    def alias(self: Any, *args: Any, **kwargs: Any) -> Any:
        recorder.trace.accommodate(f"ran Keras 2's `{legacy}` as `{modern}` (removed in Keras 3)")
        for dropped in ("workers", "use_multiprocessing", "max_queue_size"):
            kwargs.pop(dropped, None)
        return getattr(self, modern)(*args, **kwargs)

    return alias


def _compile(original: Any, recorder: Recorder) -> Any:
    signature = inspect.signature(original)

    @functools.wraps(original)
    def compile(self: Any, *args: Any, **kwargs: Any) -> Any:
        result = original(self, *args, **kwargs)
        call = signature.bind(self, *args, **kwargs)
        call.apply_defaults()
        arguments = call.arguments
        recorder.trace.emit(
            "compile", model=_described(self), model_id=id(self),
            optimizer=describe_optimizer(self.optimizer if self.optimizer is not None else arguments["optimizer"]),
            loss=describe_loss(arguments.get("loss")), metrics=describe_metrics(arguments.get("metrics")),
            artifact=recorder.save(self, "compile"))
        return result

    return compile


def _fit(original: Any, recorder: Recorder) -> Any:
    signature = inspect.signature(original)

    @functools.wraps(original)
    def fit(self: Any, *args: Any, **kwargs: Any) -> Any:
        entered = time.perf_counter()
        call = signature.bind(self, *args, **kwargs)
        call.apply_defaults()
        arguments = call.arguments
        requested = {key: jsonable(arguments.get(key)) for key in
                     ("epochs", "initial_epoch", "steps_per_epoch", "validation_steps", "batch_size")}
        _apply_budget(arguments, recorder.config, first=recorder.fits == 0)
        recorder.fits += 1
        phase = recorder.fits
        _build_before_training(self, arguments.get("x"))  # so the record shows the weights fit will train
        bases = _bases_in(self)
        cap = _batch_cap(bases, recorder)
        recorder.trace.emit("fit_start", phase=phase, model_id=id(self), requested=requested,
                            budget={**{key: jsonable(arguments.get(key)) for key in requested},
                                    **({"batch_cap": cap.images} if cap else {})},
                            model=_described(self),
                            data=describe_data(arguments.get("x"), arguments.get("y")),
                            has_validation=arguments.get("validation_data") is not None
                            or bool(arguments.get("validation_split")))
        batch_losses: list[float] = []
        timing = clock.PhaseClock(entered)
        arguments["callbacks"] = [*(arguments.get("callbacks") or []), _batch_logger(batch_losses), timing.callback()]
        before = _weights(self)
        for base in bases:
            probe = applications.BASES[id(base)]["probe"]
            if probe is not None:
                probe.reset()
        timing.prepared()
        applications.InputProbe.recording = recorder.in_fit = True
        try:
            with batches.capped(arguments, cap.images) if cap else nullcontext() as how:
                if cap:  # a Python generator's batches are not cut: the trace says so
                    recorder.trace.accommodate(cap.reason if how else cap.reason.split(":")[0] + ", but fit's "
                                               f"data ({type(arguments.get('x')).__name__}) cannot be cut: "
                                               "whole batches")
                history = original(*call.args, **call.kwargs)
        finally:
            applications.InputProbe.recording = recorder.in_fit = False
        trained = time.perf_counter()
        changes, statistics = weight_changes(before, self), _probe_summaries(self)
        compared = time.perf_counter() - trained
        artifact = recorder.save(self, f"fit{phase}")
        recorder.trace.emit("fit", phase=phase, model_id=id(self), requested=requested,
                            epochs_run=list(getattr(history, "epoch", [])),
                            history={k: [jsonable(v) for v in values] for k, values in getattr(history, "history", {}).items()},
                            batch_losses=batch_losses,
                            weights=changes, input_statistics=statistics,
                            optimizer=describe_optimizer(self.optimizer) if self.optimizer is not None else None,
                            artifact=artifact, seconds=timing.seconds(trained, compared, artifact["seconds"] if artifact else 0.0))
        if history is not None and isinstance(getattr(history, "history", None), dict):
            history.history = AliasingHistory(history.history, recorder.trace)
        return history

    return fit


def _batch_cap(bases: list[Any], recorder: Recorder) -> batches.BatchCap | None:
    """How many images a training step of a model holding ``bases`` may take, if it is cut."""
    return batches.plan(bases, {id(base): applications.BASES[id(base)]["architecture"] for base in bases},
                        recorder.config.budget.step_images)


def _build_before_training(model: Any, data: Any) -> None:
    """Build a model that is built lazily (no Input, subclassed) so its weights can be compared."""
    if model.built and model.weights:
        return
    shape = None
    spec = getattr(data, "element_spec", None)
    if isinstance(spec, (tuple, list)) and spec and hasattr(spec[0], "shape"):
        shape = tuple(spec[0].shape)
    elif hasattr(data, "image_shape"):
        shape = (None, *data.image_shape)
    elif isinstance(data, np.ndarray):
        shape = (None, *data.shape[1:])
    if shape is not None:
        try:
            model.build(shape)
        except Exception:  # noqa: BLE001 - fit will build it; changes are then reported as unknown
            pass


def _batch_logger(losses: list[float]) -> Any:
    """A callback keeping each training batch's (running mean) loss: does the loss fall?"""
    import keras

    def record(batch: int, logs: dict[str, Any] | None = None) -> None:
        if logs and "loss" in logs:
            losses.append(float(logs["loss"]))

    return keras.callbacks.LambdaCallback(on_train_batch_end=record)


def _apply_budget(arguments: dict[str, Any], config: HarnessConfig, first: bool) -> None:
    """Shrink epochs and steps in place; ``initial_epoch`` (the phase structure) is kept."""
    budget_steps = config.budget.steps_per_epoch if first else config.budget.fine_tune_steps_per_epoch
    initial = int(arguments.get("initial_epoch") or 0)
    epochs = int(arguments.get("epochs") or 1)
    if epochs > initial:
        arguments["epochs"] = initial + min(epochs - initial, config.budget.epochs)
    steps = arguments.get("steps_per_epoch")
    arguments["steps_per_epoch"] = min(int(steps), budget_steps) if steps else budget_steps
    if arguments.get("validation_data") is not None or arguments.get("validation_split"):
        validation_steps = arguments.get("validation_steps")
        arguments["validation_steps"] = (min(int(validation_steps), config.budget.eval_steps) if validation_steps
                                         else config.budget.eval_steps)
    x = arguments.get("x")
    if isinstance(x, np.ndarray) and arguments.get("batch_size") is None:
        arguments["batch_size"] = 32


def _bounded(original: Any, recorder: Recorder, name: str) -> Any:
    signature = inspect.signature(original)

    @functools.wraps(original)
    def bounded(self: Any, *args: Any, **kwargs: Any) -> Any:
        if recorder.in_fit:
            return original(self, *args, **kwargs)
        call = signature.bind(self, *args, **kwargs)
        x = call.arguments.get("x")
        budget = recorder.config.budget.predict_steps if name == "predict" else recorder.config.budget.eval_steps
        if not isinstance(x, np.ndarray) or len(x) > 64 * budget:
            steps = call.arguments.get("steps")
            call.arguments["steps"] = min(int(steps), budget) if steps else budget
        result = original(*call.args, **call.kwargs)
        recorder.trace.emit(name, model_id=id(self), steps=call.arguments.get("steps"),
                            result=jsonable(result) if name == "evaluate" else {"shape": list(getattr(result, "shape", []))})
        return result

    return bounded


class AliasingHistory(dict):
    """``history.history`` that also answers Keras 2's names (``acc``, ``val_acc``) and the reverse."""

    _ALIASES = {"acc": "accuracy", "val_acc": "val_accuracy", "accuracy": "acc", "val_accuracy": "val_acc"}

    def __init__(self, values: dict[str, Any], trace: Trace) -> None:
        super().__init__(values)
        self._trace = trace

    def __missing__(self, key: str) -> Any:
        alias = self._ALIASES.get(key)
        if alias is not None and dict.__contains__(self, alias):
            self._trace.accommodate(f"history[{key!r}] read as history[{alias!r}] (Keras 2 and 3 name it differently)")
            return dict.__getitem__(self, alias)
        raise KeyError(key)

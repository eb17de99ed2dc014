"""Describe models, optimizers and losses as plain JSON: what the checks judge.

The harness describes the live model for the trace; the trusted inspector describes the saved
model with the same functions, so the parent can compare the two records without TensorFlow.
Keras objects are passed in; nothing here imports TensorFlow."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

STATISTICS = frozenset({"moving_mean", "moving_variance"})  # BatchNorm's running statistics, not parameters

_KEY_CONFIG = ("units", "activation", "rate", "factor", "mode", "filters", "kernel_size", "strides",
               "scale", "offset", "fill_mode", "height_factor", "width_factor", "batch_shape",
               "pool_size", "keepdims", "axis", "use_bias", "momentum", "epsilon")


def describe_model(model: Any, bases: dict[int, dict[str, Any]], candidates: list[dict[str, Any]] = ()) -> dict[str, Any]:
    """Return the model's layers in call order, nested models expanded, with trainable flags.

    ``candidates``: what is known of every base built (``model_name``, ``layer_names``,
    ``architecture``); a base whose layers sit directly in ``model`` (``Model(base.input, ...)``)
    is described as one base entry, as if it were nested.

    ``bases`` maps ``id(model)`` of every application the harness built to what it knows of it;
    those are summarised (their hundreds of layers reduced to counts and trainable indices).
    """
    return {
        "name": model.name,
        "class": type(model).__name__,
        "trainable": bool(model.trainable),
        "input_shape": _shape(getattr(model, "input_shape", None)),
        "output_shape": _shape(getattr(model, "output_shape", None)),
        "layers": _describe_children(model, "", bases, flattened_bases(model, candidates)),
        "trainable_weights": len(model.trainable_weights),
        "params": int(model.count_params()) if model.built else None,
    }


def _shape(shape: Any) -> Any:
    try:
        return [None if d is None else int(d) for d in shape]
    except TypeError:
        return None


def _children(model: Any) -> list[Any]:
    operations = getattr(model, "operations", None)
    if type(model).__name__ != "Sequential" and operations is not None:
        return [op for op in operations if type(op).__name__ != "InputLayer"]
    return [layer for layer in getattr(model, "layers", []) if type(layer).__name__ != "InputLayer"]


def _describe_children(model: Any, prefix: str, bases: dict[int, dict[str, Any]],
                       flattened: dict[str, dict[str, Any]] | None = None) -> list[dict[str, Any]]:
    described: list[dict[str, Any]] = []
    children = _children(model)
    summarised: set[str] = set()
    for index, layer in enumerate(children):
        info = (flattened or {}).get(layer.name)
        if info is not None:
            if info["model_name"] not in summarised:
                summarised.add(info["model_name"])
                described.append(_flattened_entry(children, index, info))
            continue
        entry = describe_layer(layer, prefix, index, bases)
        entry["inbound"] = _inbound(model, layer, index)
        described.append(entry)
        if "base" not in entry and hasattr(layer, "layers") and _children(layer):
            described.extend(_describe_children(layer, entry["path"] + "/", bases))
    return described


def flattened_bases(model: Any, candidates: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Layers of a known base that sit directly among ``model``'s layers (the base was not nested:
    ``Model(inputs=base.input, outputs=...)``): layer name -> what is known of that base."""
    names = {layer.name for layer in _children(model)}
    found: dict[str, dict[str, Any]] = {}
    for info in candidates:
        layer_names = [str(name) for name in info.get("layer_names") or []]
        if not layer_names or info.get("model_name") in names:
            continue
        inside = [name for name in layer_names if name in names]
        if len(inside) >= max(2, len(layer_names) // 2):
            found.update({name: info for name in inside})
    return found


def weights_path(path: str, flattened: dict[str, dict[str, Any]]) -> str:
    """A layer's path for weight comparisons: under its base's name when the base was flattened."""
    info = flattened.get(path)
    return f"{info['model_name']}/{path}" if info is not None else path


class _Absent:
    """A base layer the model does not hold (the base's own input layer): no weights."""

    weights: list[Any] = []
    trainable_weights: list[Any] = []
    trainable = False


def _flattened_entry(children: list[Any], index: int, info: dict[str, Any]) -> dict[str, Any]:
    """One entry standing for a base whose layers are the model's own, in the base's layer order."""
    by_name = {layer.name: layer for layer in children}
    layers = [by_name.get(str(name), _Absent()) for name in info["layer_names"]]
    trainable_weights = sum(len(layer.trainable_weights) for layer in layers)
    name = str(info["model_name"])
    return {"index": index, "path": name, "name": name, "class": "Functional", "flattened": True,
            "trainable": any(layer.trainable for layer in layers if layer.weights), "config": {},
            "trainable_weights": trainable_weights, "inbound": [],
            "base": _base_summary(layers, trainable_weights, info)}


def _inbound(model: Any, layer: Any, index: int) -> list[str]:
    if type(model).__name__ == "Sequential":
        previous = _children(model)[index - 1] if index else None
        return [previous.name] if previous is not None else []
    names = []
    for node in getattr(layer, "_inbound_nodes", []):
        for parent in getattr(node, "parent_nodes", []):
            operation = getattr(parent, "operation", None)
            if operation is not None and operation.name not in names:
                names.append(operation.name)
    return names


def describe_layer(layer: Any, prefix: str, index: int, bases: dict[int, dict[str, Any]]) -> dict[str, Any]:
    """One layer: class, name, path among nested models, trainable, key configuration."""
    try:
        config = layer.get_config()
    except Exception:  # noqa: BLE001 - subclassed layers may not implement it
        config = {}
    entry: dict[str, Any] = {
        "index": index,
        "path": prefix + layer.name,
        "name": layer.name,
        "class": type(layer).__name__,
        "trainable": bool(getattr(layer, "trainable", False)),
        "config": {key: _config_value(config[key]) for key in _KEY_CONFIG if key in config},
        "trainable_weights": len(getattr(layer, "trainable_weights", [])),
    }
    if id(layer) in bases:
        entry["base"] = describe_base(layer, bases[id(layer)])
    if type(layer).__name__ == "Lambda":
        entry["function"] = _function_text(getattr(layer, "function", None))
    return entry


def _function_text(function: Any) -> str:
    """What a Lambda layer computes: its function's name, or a lambda's source line."""
    name = getattr(function, "__name__", "") or ""
    if name and name != "<lambda>":
        return name[:80]
    try:
        import inspect

        return inspect.getsource(function).strip()[:160]
    except (OSError, TypeError):
        return name


def _config_value(value: Any) -> Any:
    if isinstance(value, dict):  # e.g. a serialized activation or initializer
        return value.get("config", {}).get("name") or value.get("class_name") or str(value)[:80]
    return value


def describe_base(base: Any, known: dict[str, Any]) -> dict[str, Any]:
    """Summarise a pretrained base: which of its layers are trainable and how BatchNorm is set."""
    return _base_summary(base.layers, len(base.trainable_weights), known)


def _base_summary(layers: list[Any], trainable_weights: int, known: dict[str, Any]) -> dict[str, Any]:
    weighted = [i for i, layer in enumerate(layers) if layer.weights]
    trainable = [i for i in weighted if layers[i].trainable]
    batchnorms = [layer for layer in layers if type(layer).__name__ == "BatchNormalization"]
    # Convolutions carry what fine-tuning changes; BatchNorm layers are often kept frozen apart.
    convolutions = [i for i in weighted if type(layers[i]).__name__ != "BatchNormalization"]
    return {
        "convolution_layers": len(convolutions),
        "trainable_convolution_indices": [i for i in convolutions if layers[i].trainable],
        "architecture": known.get("architecture"),
        "layer_count": len(layers),
        "weighted_layers": len(weighted),
        "trainable_layer_indices": trainable,
        "first_trainable_index": trainable[0] if trainable else None,
        "trainable_weights": trainable_weights,
        "batchnorm_trainable": sum(1 for layer in batchnorms if layer.trainable),
        "batchnorm_count": len(batchnorms),
    }


def nested_layers(model: Any, prefix: str = "") -> Iterator[tuple[str, Any]]:
    """Every layer inside ``model``, depth first, with its path among nested models (``base/Conv1``)."""
    for layer in getattr(model, "layers", []):
        if layer is model:
            continue
        yield prefix + layer.name, layer
        yield from nested_layers(layer, prefix + layer.name + "/")


def layer_weights(model: Any, flattened: dict[str, dict[str, Any]] | None = None) -> dict[str, list[tuple[str, Any]]]:
    """Every leaf layer with weights, by path, with a copy of each variable's value. Layers of a
    flattened base (see ``flattened_bases``) get the base's name as prefix, as if it were nested."""
    return {weights_path(path, flattened or {}): [(v.path.rsplit("/", 1)[-1], np.array(v.numpy())) for v in layer.weights]
            for path, layer in nested_layers(model)
            if layer.weights and not [child for child in getattr(layer, "layers", []) if child is not layer]}


def file_digest(path: Path) -> str:
    """SHA-256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(2**20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def describe_optimizer(optimizer: Any) -> dict[str, Any]:
    """Class and learning rate (a number, or the schedule's class) of an optimizer or its name."""
    if isinstance(optimizer, str):
        return {"class": optimizer, "learning_rate": None, "from_string": True}
    rate = getattr(optimizer, "learning_rate", None)
    try:
        value: Any = float(rate.numpy() if hasattr(rate, "numpy") else rate)
    except (TypeError, ValueError):
        value = type(getattr(optimizer, "_learning_rate", rate)).__name__
    return {"class": type(optimizer).__name__, "learning_rate": value}


def describe_loss(loss: Any) -> dict[str, Any]:
    """Name of a loss given as a string, a function or a Loss object, with ``from_logits``."""
    if loss is None:
        return {"name": None}
    if isinstance(loss, str):
        return {"name": loss, "from_logits": False}
    if isinstance(loss, (list, tuple, dict)):
        return {"name": "multiple", "parts": [describe_loss(part) for part in (loss.values() if isinstance(loss, dict) else loss)]}
    config = {}
    if hasattr(loss, "get_config"):
        try:
            config = loss.get_config()
        except Exception:  # noqa: BLE001
            config = {}
    name = type(loss).__name__ if hasattr(loss, "get_config") else getattr(loss, "__name__", repr(loss))
    return {"name": name, "from_logits": bool(config.get("from_logits", False)),
            "label_smoothing": config.get("label_smoothing")}


def describe_metrics(metrics: Any) -> list[str]:
    """Names of the metrics passed to compile."""
    if metrics is None:
        return []
    if isinstance(metrics, dict):
        metrics = [m for values in metrics.values() for m in (values if isinstance(values, list) else [values])]
    if not isinstance(metrics, (list, tuple)):
        metrics = [metrics]
    return [m if isinstance(m, str) else getattr(m, "name", None) or getattr(m, "__name__", type(m).__name__)
            for m in metrics]

"""The rubric's ``[lab]`` table: read and checked into a ``Lab`` (``read_lab``), merged with what
older rubrics said in check parameters (``with_legacy``), and written back as TOML (``render_lab``,
for ``grade rubric init``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from types import MappingProxyType
from typing import Any

from grader.errors import RubricError
from grader.families import CONVENTIONS
from grader.lab import (AUGMENTATION, DEFAULT_LAB, HEAD, LAYER_ARGUMENTS, LOGITS, LOSSES, POOLING, FineTuneSpec, Lab,
                        LayerSpec, OutputSpec)
from grader.tables import Where, only_keys, toml_value, typed

# The datasets served offline (synthetic, in their real layouts and counts) and their classes.
_DATASETS = {"cats_and_dogs_filtered": 2, "PetImages": 2, "cats_vs_dogs": 2, "flower_photos": 5, "tf_flowers": 5}
_LAB_KEYS = {"base", "input_shape", "include_top", "weights", "classes", "dataset", "augment", "head", "output",
             "finetune", "boilerplate"}


def read_lab(table: Any, here: Where) -> Lab:
    """The ``[lab]`` table: what the lab asks for (absent: this grader's first lab, field by field)."""
    if not isinstance(table, Mapping):
        raise here.fail("must be a table", table)
    only_keys(table, _LAB_KEYS, here, "lab")
    default = DEFAULT_LAB
    base = typed(table, "base", str, here, default.base)
    if base not in CONVENTIONS and not base.startswith("RegNet"):
        raise here.at("base").fail(f"not a keras.applications model this grader knows "
                                   f"({', '.join(sorted(CONVENTIONS))})", base)
    shape = table.get("input_shape", list(default.input_shape))
    if (not isinstance(shape, list) or len(shape) != 3 or not all(isinstance(v, int) and not isinstance(v, bool)
                                                                  and v > 0 for v in shape)
            or shape[2] != 3 or shape[0] < 32 or shape[1] < 32):
        raise here.at("input_shape").fail("must be [height, width, 3], each side at least 32", shape)
    weights = typed(table, "weights", str, here, default.weights)
    if weights not in ("imagenet", "none"):
        raise here.at("weights").fail("must be 'imagenet' or 'none'", weights)
    dataset = typed(table, "dataset", str, here, default.dataset)
    if dataset not in _DATASETS:
        raise here.at("dataset").fail(f"offline data exists for {', '.join(_DATASETS)} only", dataset)
    classes = table.get("classes", list(default.classes))
    if not isinstance(classes, list) or len(classes) < 2 or not all(isinstance(c, str) and c for c in classes):
        raise here.at("classes").fail("must list at least two class names", classes)
    if len(classes) != _DATASETS[dataset]:
        raise here.at("classes").fail(f"{dataset} has {_DATASETS[dataset]} classes", classes)
    augment = _layers(table, "augment", AUGMENTATION, here, default.augment)
    head = _layers(table, "head", HEAD, here, default.head)
    if head and head[0].layer not in POOLING and any(spec.layer in POOLING for spec in head):
        raise here.at("head").fail("the pooling layer (or Flatten) comes first", [spec.layer for spec in head])
    output = _output(table.get("output", {}), len(classes), here.at("output"))
    return Lab(base, (shape[0], shape[1], shape[2]), typed(table, "include_top", bool, here, default.include_top),
               weights, augment, head, output, tuple(classes), dataset,
               _finetune(table.get("finetune", {}), here.at("finetune")), _boilerplate(table, here))


def _boilerplate(table: Mapping[str, Any], here: Where) -> tuple[str, ...]:
    """The files the lab hands out (starter code, the tutorial), relative to the rubric: each must
    exist, so that a typo fails at load time rather than letting shared code look copied."""
    files = table.get("boilerplate", [])
    if not isinstance(files, list) or not all(isinstance(name, str) and name for name in files):
        raise here.at("boilerplate").fail("must be a list of file names, relative to the rubric", files)
    folder = Path(here.source).parent if here.source and not here.source.startswith("<") else Path.cwd()
    paths = [(folder / name).resolve() for name in files]
    for name, path in zip(files, paths):
        if not path.is_file():
            raise here.at("boilerplate").fail(f"no file {path} (names are relative to the rubric's folder)", name)
    return tuple(str(path) for path in paths)


def _layers(table: Mapping[str, Any], key: str, allowed: tuple[str, ...], here: Where,
            default: tuple[LayerSpec, ...]) -> tuple[LayerSpec, ...]:
    """An ordered list of layers: ``[{ layer = "Dense", units = 128, activation = "relu" }, ...]``."""
    if key not in table:
        return default
    items = table[key]
    if not isinstance(items, list):
        raise here.at(key).fail("must be a list of tables such as { layer = \"Dense\", units = 128 }", items)
    specs = []
    for index, item in enumerate(items):
        at = here.at(f"{key}[{index}]")
        if not isinstance(item, Mapping) or not isinstance(item.get("layer"), str):
            raise at.fail("must be a table with a `layer` (a Keras layer class)", item)
        layer = item["layer"]
        if layer not in allowed:
            raise at.at("layer").fail(f"must be one of {', '.join(allowed)}", layer)
        arguments = {name: value for name, value in item.items() if name != "layer"}
        only_keys(arguments, set(LAYER_ARGUMENTS[layer]), here, at.key)
        for name, value in arguments.items():
            kind = str if name in ("mode", "activation") else (int if name == "units" else float)
            if kind is float and isinstance(value, int) and not isinstance(value, bool):
                value = arguments[name] = float(value)
            if not isinstance(value, kind) or isinstance(value, bool):
                raise at.at(name).fail(f"must be {kind.__name__}", value)
        if layer == "Dense" and "units" not in arguments:
            raise at.fail("a Dense layer needs `units`", item)
        if layer == "Dropout" and not 0 < arguments.get("rate", -1) < 1:
            raise at.at("rate").fail("a Dropout needs a rate between 0 and 1", arguments.get("rate"))
        specs.append(LayerSpec(layer, MappingProxyType(arguments)))
    return tuple(specs)


def _output(table: Any, classes: int, here: Where) -> OutputSpec:
    if not isinstance(table, Mapping):
        raise here.fail("must be a table such as { units = 1, activation = \"sigmoid\" }", table)
    only_keys(table, {"units", "activation", "loss"}, here, here.key)
    units = typed(table, "units", int, here, 1 if classes == 2 else classes)
    activation = typed(table, "activation", str, here, "sigmoid" if units == 1 else "softmax")
    binary = units == 1
    loss = typed(table, "loss", str, here, "binary_crossentropy" if binary else "sparse_categorical_crossentropy")
    if units not in (1, classes) or (binary and classes != 2):
        raise here.at("units").fail(f"must be 1 (two classes, binary) or the number of classes ({classes})", units)
    if activation not in (("sigmoid", LOGITS) if binary else ("softmax", LOGITS)):
        raise here.at("activation").fail(f"must be {'sigmoid' if binary else 'softmax'} or {LOGITS!r} (logits) "
                                         f"for {units} output unit(s)", activation)
    if loss not in LOSSES or (loss == "binary_crossentropy") != binary:
        wanted = "binary_crossentropy" if binary else "sparse_categorical_crossentropy or categorical_crossentropy"
        raise here.at("loss").fail(f"must be {wanted} for {units} output unit(s)", loss)
    return OutputSpec(units, activation, loss)


def _finetune(table: Any, here: Where) -> FineTuneSpec:
    if not isinstance(table, Mapping):
        raise here.fail("must be a table such as { unfreeze_from = 100, rate_ratio = 10 }", table)
    only_keys(table, {"unfreeze_from", "rate_ratio", "initial_epoch"}, here, here.key)
    unfreeze_from = typed(table, "unfreeze_from", int, here, None) if "unfreeze_from" in table else None
    if unfreeze_from is not None and unfreeze_from < 1:
        raise here.at("unfreeze_from").fail("must be a layer index of at least 1", unfreeze_from)
    rate_ratio = typed(table, "rate_ratio", float, here, 1.0)
    if rate_ratio < 1:
        raise here.at("rate_ratio").fail("must be at least 1 (how many times lower the fine-tuning rate is)",
                                         rate_ratio)
    return FineTuneSpec(unfreeze_from, rate_ratio, typed(table, "initial_epoch", bool, here, True))


def with_legacy(lab: Lab, legacy: Mapping[str, Any], described: bool, where: Where) -> Lab:
    """The lab with what older rubrics said in check parameters (a rotation factor, an input size);
    a rubric that says it both there and in [lab] must say the same."""
    changes: dict[str, Any] = {}
    if "size" in legacy:
        size = legacy["size"]
        if not isinstance(size, int) or isinstance(size, bool) or size < 32:
            raise where.at('checks."base.input_shape".params.size').fail("must be an integer of at least 32", size)
        changes["input_shape"] = (size, size, 3)
    if "factor" in legacy:
        factor = legacy["factor"]
        if not isinstance(factor, (int, float)) or isinstance(factor, bool):
            raise where.at('checks."augment.rotation".params.factor').fail("must be float", factor)
        changes["augment"] = tuple(LayerSpec(spec.layer, MappingProxyType({**spec.arguments, "factor": float(factor)}))
                                   if spec.layer == "RandomRotation" else spec for spec in lab.augment)
    if not changes:
        return lab
    updated = replace(lab, **changes)
    if described and updated != lab:
        raise RubricError(f"{where.source}: [lab] and the legacy check parameters "
                          f"({', '.join(f'{key}={value!r}' for key, value in legacy.items())}) disagree: "
                          "keep the [lab] table and remove the parameters")
    return updated


def render_lab(lab: Lab) -> str:
    """The ``[lab]`` table of ``lab`` as TOML, as ``grade rubric init`` writes it."""

    def layers(specs: tuple[LayerSpec, ...]) -> str:
        return "[\n" + "".join(f"  {toml_value({'layer': spec.layer, **spec.arguments})},\n" for spec in specs) + "]"

    plan = lab.finetune
    finetune = {**({"unfreeze_from": plan.unfreeze_from} if plan.unfreeze_from is not None else {}),
                "rate_ratio": plan.rate_ratio, "initial_epoch": plan.initial_epoch}
    return "\n".join([
        "[lab]",
        f"base = {toml_value(lab.base)}",
        f"input_shape = {toml_value(list(lab.input_shape))}",
        f"include_top = {toml_value(lab.include_top)}",
        f"weights = {toml_value(lab.weights)}",
        f"classes = {toml_value(list(lab.classes))}",
        f"dataset = {toml_value(lab.dataset)}",
        f"augment = {layers(lab.augment)}",
        f"head = {layers(lab.head)}",
        f"output = {toml_value({'units': lab.output.units, 'activation': lab.output.activation, 'loss': lab.output.loss})}",
        "# unfreeze_from: the solution's fine_tune_at (the first layer it fine-tuned); rate_ratio: how many",
        "# times lower its fine-tuning learning rate was than the first phase's.",
        f"finetune = {toml_value(finetune)}",
    ])

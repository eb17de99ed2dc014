"""Checks on the new classifier head: pooling, Dense(128, relu), Dropout(0.5), Dense(1, sigmoid)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from grader.checks.layers import after_base, base_index, computing, describe, of_class
from grader.checks.registry import Verdict, failed, passed, register, undecided, written
from grader.evidence import Evidence


def _head(evidence: Evidence) -> list[dict[str, Any]] | None:
    """The computing layers after the base, as the model ran (or was compiled); None if unknown."""
    layers = evidence.model_layers()
    if not layers or base_index(layers) is None:
        return None
    return computing(after_base(layers))


def _static_head(evidence: Evidence) -> list[str]:
    """Layer class names written after the base in a Sequential list, when nothing ran."""
    for fact in evidence.static.of("model", "Sequential"):
        names = fact.details.get("layers", [])
        if any(name in ("base_model", "base") or name.endswith("base_model") for name in names):
            start = next(i for i, n in enumerate(names) if n in ("base_model", "base") or n.endswith("base_model"))
            return names[start + 1:]
    return [fact.name for fact in evidence.static.of("layer")
            if fact.name in ("GlobalAveragePooling2D", "Dense", "Dropout")]


def _unknown(evidence: Evidence, wanted: str) -> Verdict:
    static = _static_head(evidence)
    if wanted in static:
        return written(f"{wanted} is written (the model was never built)" + evidence.crash_note(), None,
                       written=static)
    return undecided("the model was never compiled, so its head is unknown" + evidence.crash_note(), written=static)


@register("head.pooling", "GlobalAveragePooling2D directly on the base's output")
def head_pooling(evidence: Evidence, params: Mapping[str, Any]) -> Verdict:
    head = _head(evidence)
    if head is None:
        return _unknown(evidence, "GlobalAveragePooling2D")
    application = evidence.application() or {}
    if application.get("effective", {}).get("pooling") == "avg":
        return passed("the base pools its own output (pooling='avg'), the same as GlobalAveragePooling2D")
    if head and head[0]["class"] == "GlobalAveragePooling2D":
        return passed("GlobalAveragePooling2D right after the base", layer=head[0]["path"])
    first = describe(head[0]) if head else "nothing"
    hint = ("Put layers.GlobalAveragePooling2D() right after the base: it averages each of the 1280 "
            "feature maps into one number.")
    if head and head[0]["class"] == "Flatten":
        hint += " Flatten keeps every position (5x5x1280 values), which overfits and is not what the lab asks."
    return failed(f"the base's output goes to {first}, not GlobalAveragePooling2D", hint, first_layer=first)


@register("head.dense128", "a Dense layer of 128 units with ReLU")
def head_dense128(evidence: Evidence, params: Mapping[str, Any]) -> Verdict:
    head = _head(evidence)
    if head is None:
        return _unknown(evidence, "Dense")
    dense = of_class(head, "Dense")[:-1]  # the last Dense is the output layer
    match = [d for d in dense if d["config"].get("units") == 128 and d["config"].get("activation") == "relu"]
    if match:
        return passed("Dense(128, activation='relu') in the head", layer=match[0]["path"])
    seen = ", ".join(describe(d) for d in dense) or "no hidden Dense layer"
    return failed(f"the head has {seen}, not Dense(128, activation='relu')",
                  "Add layers.Dense(128, activation='relu') after the pooling layer.", hidden=seen)


@register("head.dropout", "Dropout with rate 0.5 before the output")
def head_dropout(evidence: Evidence, params: Mapping[str, Any]) -> Verdict:
    head = _head(evidence)
    if head is None:
        return _unknown(evidence, "Dropout")
    dropouts = of_class(head[:-1], "Dropout")
    if any(abs(float(d["config"].get("rate", -1)) - 0.5) < 1e-9 for d in dropouts):
        return passed("Dropout(0.5) before the output layer")
    if dropouts:
        rate = dropouts[0]["config"].get("rate")
        return failed(f"Dropout rate is {rate}, not 0.5", "Use layers.Dropout(0.5).", rate=rate)
    return failed("no Dropout before the output layer",
                  "Add layers.Dropout(0.5) between Dense(128) and the output layer to reduce overfitting.")


@register("head.output", "a final Dense(1) with sigmoid")
def head_output(evidence: Evidence, params: Mapping[str, Any]) -> Verdict:
    head = _head(evidence)
    if head is None:
        return _unknown(evidence, "Dense")
    if not head:
        return failed("nothing follows the base model", "Add the classifier head after the base.")
    last = head[-1]
    units, activation = last["config"].get("units"), last["config"].get("activation")
    if last["class"] == "Dense" and units == 1 and activation == "sigmoid":
        return passed("the output is Dense(1, activation='sigmoid'): one probability of 'dog'")
    hint = "End with layers.Dense(1, activation='sigmoid') for a two-class problem with binary cross-entropy."
    if last["class"] == "Dense" and units == 2:
        hint += " Two softmax units work too, but the lab (and binary cross-entropy) expect one sigmoid unit."
    return failed(f"the output layer is {describe(last)}, not Dense(1, activation='sigmoid')", hint,
                  output=describe(last))

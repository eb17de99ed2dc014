"""Checks on the new classifier head: pooling, Dense(128, relu), Dropout(0.5), Dense(1, sigmoid)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from grader.checks import written as written_
from grader.checks.layers import after_base, base_index, computing, describe, of_class
from grader.checks.registry import Verdict, failed, passed, register, undecided, written
from grader.evidence import Evidence, applied_activation, output_activation
from grader.static import Fact


def _head(evidence: Evidence) -> list[dict[str, Any]] | None:
    """The computing layers after the base, as the model ran (or was compiled); None if unknown."""
    layers = evidence.model_layers()
    if not layers or base_index(layers) is None:
        return None
    return computing(after_base(layers))


def _written_head(evidence: Evidence) -> list[Fact]:
    """Head layers written in the source that reach the model, in source order."""
    return written_.layers(evidence, "GlobalAveragePooling2D", "GlobalMaxPooling2D", "Flatten", "Dense", "Dropout",
                          "Activation")[0]


def _never_built(evidence: Evidence) -> Verdict:
    return undecided("the model was never compiled and the source writes no head layers, so the head is unknown"
                     + evidence.crash_note())


@register("head.pooling", "GlobalAveragePooling2D directly on the base's output")
def head_pooling(evidence: Evidence, params: Mapping[str, Any]) -> Verdict:
    head = _head(evidence)
    if head is None:
        return _pooling_written(evidence)
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


def _pooling_written(evidence: Evidence) -> Verdict:
    pooling = [f for f in _written_head(evidence) if f.name in ("GlobalAveragePooling2D", "GlobalMaxPooling2D", "Flatten")]
    if not pooling:
        return _never_built(evidence)
    return written_.judged(evidence, pooling[:1], [f for f in pooling[:1] if f.name == "GlobalAveragePooling2D"],
                           "GlobalAveragePooling2D", "Put layers.GlobalAveragePooling2D() right after the base.", "")


@register("head.dense128", "a Dense layer of 128 units with ReLU")
def head_dense128(evidence: Evidence, params: Mapping[str, Any]) -> Verdict:
    head = _head(evidence)
    if head is None:
        return _hidden_dense_written(evidence)
    hidden = [i for i, layer in enumerate(head) if layer["class"] == "Dense"][:-1]  # the last Dense is the output
    dense = [head[i] for i in hidden]
    match = [head[i] for i in hidden if head[i]["config"].get("units") == 128 and applied_activation(head, i) == "relu"]
    if match:
        return passed("Dense(128, activation='relu') in the head", layer=match[0]["path"])
    seen = ", ".join(describe(d) for d in dense) or "no hidden Dense layer"
    return failed(f"the head has {seen}, not Dense(128, activation='relu')",
                  "Add layers.Dense(128, activation='relu') after the pooling layer.", hidden=seen)


def _hidden_dense_written(evidence: Evidence) -> Verdict:
    if not _written_head(evidence):
        return _never_built(evidence)
    dense = [f for f in _written_head(evidence) if f.name == "Dense"][:-1]  # the last one is the output
    match = [f for f in dense if written_.argument(f, "units") == 128 and _written_activation(evidence, f) == "relu"]
    return written_.judged(evidence, dense, match, "Dense(128, activation='relu')",
                           "Add layers.Dense(128, activation='relu') after the pooling layer.",
                           "no hidden Dense layer is written before the output")


@register("head.dropout", "Dropout with rate 0.5 before the output")
def head_dropout(evidence: Evidence, params: Mapping[str, Any]) -> Verdict:
    head = _head(evidence)
    if head is None:
        return _dropout_written(evidence)
    dropouts = of_class(head[:-1], "Dropout")
    if any(abs(float(d["config"].get("rate", -1)) - 0.5) < 1e-9 for d in dropouts):
        return passed("Dropout(0.5) before the output layer")
    if dropouts:
        rate = dropouts[0]["config"].get("rate")
        return failed(f"Dropout rate is {rate}, not 0.5", "Use layers.Dropout(0.5).", rate=rate)
    return failed("no Dropout before the output layer",
                  "Add layers.Dropout(0.5) between Dense(128) and the output layer to reduce overfitting.")


def _dropout_written(evidence: Evidence) -> Verdict:
    head = _written_head(evidence)
    if not head:
        return _never_built(evidence)
    dropouts = [f for f in head if f.name == "Dropout"]
    match = [f for f in dropouts if isinstance(rate := written_.argument(f, "rate"), (int, float))
             and abs(rate - 0.5) < 1e-9]
    return written_.judged(evidence, dropouts, match, "Dropout(0.5)",
                           "Add layers.Dropout(0.5) between Dense(128) and the output layer to reduce overfitting.",
                           "no Dropout is written in the head")


@register("head.output", "a final Dense(1) with sigmoid")
def head_output(evidence: Evidence, params: Mapping[str, Any]) -> Verdict:
    head = _head(evidence)
    if head is None:
        return _output_written(evidence)
    if not head:
        return failed("nothing follows the base model", "Add the classifier head after the base.")
    dense, activation = output_activation(head)
    last = dense if dense is not None and all(layer["class"] in _APPLYING for layer in head[head.index(dense) + 1:]) \
        else head[-1]
    units = last["config"].get("units")
    applied = "" if last is not dense or activation == last["config"].get("activation") else f" then {activation}"
    if last is dense and units == 1 and activation == "sigmoid":
        return passed("the output is Dense(1) followed by a sigmoid: one probability of 'dog'" if applied
                      else "the output is Dense(1, activation='sigmoid'): one probability of 'dog'")
    hint = "End with layers.Dense(1, activation='sigmoid') for a two-class problem with binary cross-entropy."
    if last["class"] == "Dense" and units == 2:
        hint += " Two softmax units work too, but the lab (and binary cross-entropy) expect one sigmoid unit."
    return failed(f"the output layer is {describe(last)}{applied}, not Dense(1, activation='sigmoid')", hint,
                  output=describe(last) + applied)


_APPLYING = ("Activation", "Lambda", "Dropout")  # may follow the output Dense without changing what it computes


def _written_activation(evidence: Evidence, dense: Fact) -> str:
    """The activation the source applies to a written Dense: its own, or an Activation written next."""
    head = _written_head(evidence)
    following = head[head.index(dense) + 1:head.index(dense) + 2]
    activation = written_.argument(dense, "activation")
    if following and following[0].name == "Activation":
        activation = written_.argument(following[0], "activation")
    return str(activation).rsplit(".", 1)[-1]


def _output_written(evidence: Evidence) -> Verdict:
    dense = [f for f in _written_head(evidence) if f.name == "Dense"]
    if not dense:
        return _never_built(evidence)
    output = dense[-1]
    sigmoid = written_.argument(output, "units") == 1 and _written_activation(evidence, output) == "sigmoid"
    return written_.judged(evidence, [output], [output] if sigmoid else [], "Dense(1, activation='sigmoid')",
                           "End with layers.Dense(1, activation='sigmoid').", "")

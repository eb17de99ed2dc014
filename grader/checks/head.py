"""Checks on the new classifier head the lab asks for: its pooling, hidden Dense layers, Dropout and
output (by default GlobalAveragePooling2D -> Dense(128, relu) -> Dropout(0.5) -> Dense(1, sigmoid))."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from grader.checks import written as written_
from grader.checks.layers import after_base, base_index, computing, describe, of_class
from grader.checks.registry import Verdict, failed, passed, register, undecided, written
from grader.evidence import Evidence, applied_activation, output_activation
from grader.lab import POOLING, Lab, LayerSpec
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


def _needs(what: str, present: Callable[[Lab], object]) -> Callable[[Lab], str]:
    return lambda lab: "" if present(lab) else f"[lab] head has no {what}"


_AVERAGING = {"GlobalAveragePooling2D": ("avg", "averages each feature map of the base into one number"),
              "GlobalMaxPooling2D": ("max", "keeps the largest value of each feature map of the base")}


@register("head.pooling", "the pooling the lab asks for (GlobalAveragePooling2D by default) directly on the base's "
          "output", needs=_needs("pooling layer (or Flatten) first", lambda lab: lab.pooling))
def head_pooling(evidence: Evidence, params: Mapping[str, Any], lab: Lab) -> Verdict:
    wanted = lab.pooling.layer if lab.pooling else "GlobalAveragePooling2D"
    head = _head(evidence)
    if head is None:
        return _pooling_written(evidence, wanted)
    application = evidence.application() or {}
    pooled, does = _AVERAGING.get(wanted, ("", ""))
    if pooled and application.get("effective", {}).get("pooling") == pooled:
        return passed(f"the base pools its own output (pooling={pooled!r}), the same as {wanted}")
    if head and head[0]["class"] == wanted:
        return passed(f"{wanted} right after the base", layer=head[0]["path"])
    first = describe(head[0]) if head else "nothing"
    hint = f"Put layers.{wanted}() right after the base" + (f": it {does}." if does else ".")
    if head and head[0]["class"] == "Flatten":
        hint += " Flatten keeps every position of every feature map, which overfits and is not what the lab asks."
    return failed(f"the base's output goes to {first}, not {wanted}", hint, first_layer=first)


def _pooling_written(evidence: Evidence, wanted: str) -> Verdict:
    pooling = [f for f in _written_head(evidence) if f.name in POOLING]
    if not pooling:
        return _never_built(evidence)
    return written_.judged(evidence, pooling[:1], [f for f in pooling[:1] if f.name == wanted],
                           wanted, f"Put layers.{wanted}() right after the base.", "")


def _dense_hint(lab: Lab) -> str:
    wanted = " then ".join(f"layers.{spec.shown}" for spec in lab.hidden_dense)
    return f"Add {wanted} after {'the pooling layer' if lab.pooling else 'the base'}."


def _matches_in_order(found: list[tuple[Any, str]], wanted: tuple[LayerSpec, ...]) -> list[Any]:
    """Layers of ``found`` ((layer, activation) pairs) matching each of ``wanted`` in turn; [] if one is missing."""
    matched, position = [], 0
    for spec in wanted:
        for index in range(position, len(found)):
            layer, activation = found[index]
            if _units(layer) == spec.get("units") and activation == spec.get("activation", "linear"):
                matched.append(layer)
                position = index + 1
                break
        else:
            return []
    return matched


def _units(layer: Any) -> Any:
    return written_.argument(layer, "units") if isinstance(layer, Fact) else layer["config"].get("units")


@register("head.dense", "the hidden Dense layers the lab asks for (Dense(128, relu) by default)",
          needs=_needs("hidden Dense layer", lambda lab: lab.hidden_dense))
def head_dense(evidence: Evidence, params: Mapping[str, Any], lab: Lab) -> Verdict:
    head = _head(evidence)
    if head is None:
        return _hidden_dense_written(evidence, lab)
    hidden = [i for i, layer in enumerate(head) if layer["class"] == "Dense"][:-1]  # the last Dense is the output
    dense = [head[i] for i in hidden]
    match = _matches_in_order([(head[i], applied_activation(head, i)) for i in hidden], lab.hidden_dense)
    wanted = ", ".join(spec.shown for spec in lab.hidden_dense)
    if match:
        return passed(f"{wanted} in the head", layer=match[0]["path"])
    seen = ", ".join(describe(d) for d in dense) or "no hidden Dense layer"
    return failed(f"the head has {seen}, not {wanted}", _dense_hint(lab), hidden=seen)


def _hidden_dense_written(evidence: Evidence, lab: Lab) -> Verdict:
    if not _written_head(evidence):
        return _never_built(evidence)
    dense = [f for f in _written_head(evidence) if f.name == "Dense"][:-1]  # the last one is the output
    match = _matches_in_order([(f, _written_activation(evidence, f)) for f in dense], lab.hidden_dense)
    return written_.judged(evidence, dense, match, ", ".join(spec.shown for spec in lab.hidden_dense),
                           _dense_hint(lab), "no hidden Dense layer is written before the output")


def _dropout_hint(lab: Lab) -> str:
    spec = lab.dropout
    index = lab.head.index(spec) if spec else 0
    before = lab.head[index - 1] if index else None
    after = (f"Dense({before.get('units')})" if before is not None and before.layer == "Dense"
             else "the pooling layer" if before is not None else "the base")
    return f"Add layers.Dropout({_rate(lab):g}) between {after} and the output layer to reduce overfitting."


def _rate(lab: Lab) -> float:
    return float(lab.dropout.get("rate")) if lab.dropout else 0.5


@register("head.dropout", "Dropout at the lab's rate (0.5 by default) before the output",
          needs=_needs("Dropout", lambda lab: lab.dropout))
def head_dropout(evidence: Evidence, params: Mapping[str, Any], lab: Lab) -> Verdict:
    head = _head(evidence)
    rate = _rate(lab)
    if head is None:
        return _dropout_written(evidence, lab)
    dropouts = of_class(head[:-1], "Dropout")
    if any(abs(float(d["config"].get("rate", -1)) - rate) < 1e-9 for d in dropouts):
        return passed(f"Dropout({rate:g}) before the output layer")
    if dropouts:
        seen = dropouts[0]["config"].get("rate")
        return failed(f"Dropout rate is {seen}, not {rate:g}", f"Use layers.Dropout({rate:g}).", rate=seen)
    return failed("no Dropout before the output layer", _dropout_hint(lab))


def _dropout_written(evidence: Evidence, lab: Lab) -> Verdict:
    head = _written_head(evidence)
    if not head:
        return _never_built(evidence)
    dropouts = [f for f in head if f.name == "Dropout"]
    match = [f for f in dropouts if isinstance(rate := written_.argument(f, "rate"), (int, float))
             and abs(rate - _rate(lab)) < 1e-9]
    return written_.judged(evidence, dropouts, match, f"Dropout({_rate(lab):g})", _dropout_hint(lab),
                           "no Dropout is written in the head")


def _what_output_gives(lab: Lab) -> str:
    if lab.output.from_logits:
        return f"{'one logit' if lab.output.units == 1 else 'one logit per class'}, for a loss with from_logits=True"
    if lab.output.units == 1:
        return f"one probability of {lab.classes[-1]!r}"
    return "one probability per class"


def _output_hint(lab: Lab) -> str:
    output = lab.output
    if output.units == 1 and not output.from_logits:
        return "End with layers.Dense(1, activation='sigmoid') for a two-class problem with binary cross-entropy."
    return f"End with layers.{output.shown}: {_what_output_gives(lab)}."


@register("head.output", "the output the lab asks for (Dense(1) with sigmoid by default)")
def head_output(evidence: Evidence, params: Mapping[str, Any], lab: Lab) -> Verdict:
    head = _head(evidence)
    if head is None:
        return _output_written(evidence, lab)
    if not head:
        return failed("nothing follows the base model", "Add the classifier head after the base.")
    dense, activation = output_activation(head)
    last = dense if dense is not None and all(layer["class"] in _APPLYING for layer in head[head.index(dense) + 1:]) \
        else head[-1]
    units = last["config"].get("units")
    applied = "" if last is not dense or activation == last["config"].get("activation") else f" then {activation}"
    wanted = lab.output
    if last is dense and units == wanted.units and activation == wanted.activation:
        shown = f"Dense({units}) followed by a {activation}" if applied else wanted.shown
        return passed(f"the output is {shown}: {_what_output_gives(lab)}")
    hint = _output_hint(lab)
    if last["class"] == "Dense" and units == 2 and wanted.units == 1:
        hint += " Two softmax units work too, but the lab (and binary cross-entropy) expect one sigmoid unit."
    return failed(f"the output layer is {describe(last)}{applied}, not {wanted.shown}", hint,
                  output=describe(last) + applied)


_APPLYING = ("Activation", "Lambda", "Dropout")  # may follow the output Dense without changing what it computes


def _written_activation(evidence: Evidence, dense: Fact) -> str:
    """The activation the source applies to a written Dense: its own, or an Activation written next;
    ``linear`` when it writes none, as Keras does."""
    head = _written_head(evidence)
    following = head[head.index(dense) + 1:head.index(dense) + 2]
    activation = written_.argument(dense, "activation")
    if following and following[0].name == "Activation":
        activation = written_.argument(following[0], "activation")
    return "linear" if activation is None else str(activation).rsplit(".", 1)[-1]


def _output_written(evidence: Evidence, lab: Lab) -> Verdict:
    dense = [f for f in _written_head(evidence) if f.name == "Dense"]
    if not dense:
        return _never_built(evidence)
    output = dense[-1]
    activation = _written_activation(evidence, output)
    right = written_.argument(output, "units") == lab.output.units and activation == lab.output.activation
    return written_.judged(evidence, [output], [output] if right else [], lab.output.shown,
                           f"End with layers.{lab.output.shown}.", "")

"""Checks on fine-tuning: unfreeze part of the base, recompile, lower the rate, continue training."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from grader.checks.registry import Verdict, failed, passed, register, undecided
from grader.evidence import Evidence, Phase
from grader.lab import Lab

_NEEDS_UNFREEZE = ("finetune.unfreeze",)
WITHOUT_WEIGHTS = 3  # layers without weights (activations, padding, adds) that may follow a cut


def fine_tune_phase(evidence: Evidence) -> Phase | None:
    """The first phase after the first whose base had trainable weights when it started."""
    for phase in evidence.phases()[1:]:
        base = phase.base()
        if base is not None and base["base"]["trainable_weights"] > 0:
            return phase
    return None


def _base_changed(phase: Phase) -> list[str]:
    base = phase.base()
    if base is None:
        return []
    return [path for path in phase.weights.get("changed", []) if path.startswith(base["name"] + "/")]


@register("finetune.unfreeze", "a later phase trains with part of the base trainable")
def finetune_unfreeze(evidence: Evidence, params: Mapping[str, Any], lab: Lab) -> Verdict:
    phases = evidence.phases()
    phase = fine_tune_phase(evidence)
    if phase is not None:
        base = phase.base()["base"]
        count = len(base["trainable_layer_indices"])
        return passed(f"phase {phase.number} trained with {count} of the base's {base['weighted_layers']} "
                      "weighted layers trainable", location=evidence.location(phase.start))
    if len(phases) < 2:
        static = [f for f in evidence.static.of("trainable") if f.details.get("value") is True]
        note = f" (base_model.trainable = True is written at line {static[0].line})" if static else ""
        return failed(f"there is no fine-tuning phase: fit ran {len(phases)} time(s){note}" + evidence.crash_note(),
                      "After the first phase, set base_model.trainable = True, freeze the layers below "
                      "fine_tune_at, recompile with a lower learning rate and call fit again.")
    return failed("the base stayed frozen in every later training phase",
                  "Set base_model.trainable = True (then re-freeze the lower layers) before fine-tuning.")


@register("finetune.partial", "layers below the fine-tuning cut stay frozen (at the lab's cut, when it names one)",
          depends_on=_NEEDS_UNFREEZE)
def finetune_partial(evidence: Evidence, params: Mapping[str, Any], lab: Lab) -> Verdict:
    base = fine_tune_phase(evidence).base()["base"]
    trainable = base["trainable_convolution_indices"]
    total = base["convolution_layers"]
    cut = lab.finetune.unfreeze_from
    example = f"the lab uses fine_tune_at = {cut}" if cut is not None else "for example fine_tune_at = 100"
    if trainable and len(trainable) < total:
        first = (base.get("trainable_layer_indices") or trainable)[0]
        # The first layer with weights at or after the cut: the layer at the cut may have none.
        if cut is not None and not cut <= first <= cut + WITHOUT_WEIGHTS:
            return failed(f"the base trains from layer {first}, not from layer {cut} as the lab asks",
                          f"Freeze base_model.layers[:{cut}] and leave the layers from {cut} on trainable "
                          f"(fine_tune_at = {cut}).", fine_tune_at=first)
        return passed(f"layers from {trainable[0]} up train; the {total - len(trainable)} convolution layers "
                      "below stay frozen", fine_tune_at=trainable[0])
    if not trainable:
        return failed("no convolution layer of the base trains while fine-tuning (only BatchNorm layers do)",
                      "Unfreeze the top of the base: set base_model.trainable = True, then freeze "
                      "base_model.layers[:fine_tune_at].", trainable_layers=0)
    return failed(f"the whole base ({total} convolution layers) was unfrozen",
                  "Keep the lower layers frozen: for layer in base_model.layers[:fine_tune_at]: "
                  f"layer.trainable = False ({example}).", trainable_layers=trainable)


@register("finetune.recompile", "the model was recompiled after unfreezing, and the unfrozen weights really changed",
          depends_on=_NEEDS_UNFREEZE)
def finetune_recompile(evidence: Evidence, params: Mapping[str, Any], lab: Lab) -> Verdict:
    phase = fine_tune_phase(evidence)
    compiled = phase.compile
    unfrozen_at_compile = compiled is not None and any(
        "base" in layer and layer["base"]["trainable_weights"] > 0 for layer in compiled["model"]["layers"])
    changed = _base_changed(phase)
    if unfrozen_at_compile and changed:
        return passed(f"recompiled after unfreezing (line {compiled.get('line')}); {len(changed)} base layers "
                      "changed while fine-tuning", changed_layers=len(changed))
    if not unfrozen_at_compile:
        return failed("the base was unfrozen but the model was not compiled again afterwards, so Keras kept "
                      "training only the head: none of the base's weights changed",
                      "Call model.compile(...) after changing trainable; in Keras the change takes effect "
                      "only when the model is compiled.", changed_layers=len(changed))
    return failed("the model was recompiled after unfreezing, but no weight of the base changed while fine-tuning",
                  "Check the learning rate of the fine-tuning phase and that fit ran after the compile.")


@register("finetune.lower_lr", "the fine-tuning learning rate is lower than the first phase's (by the lab's ratio, "
          "when it names one)", depends_on=_NEEDS_UNFREEZE)
def finetune_lower_lr(evidence: Evidence, params: Mapping[str, Any], lab: Lab) -> Verdict:
    first, fine = evidence.phases()[0], fine_tune_phase(evidence)
    before = ((first.compile or {}).get("optimizer") or {}).get("learning_rate")
    after = ((fine.compile or {}).get("optimizer") or {}).get("learning_rate")
    if not all(isinstance(rate, (int, float)) for rate in (before, after)):
        return undecided(f"learning rates could not be compared (first phase {before!r}, fine-tuning {after!r})")
    ratio = lab.finetune.rate_ratio
    if after < before and before / after >= ratio * (1 - 1e-6):
        return passed(f"learning rate {before:g} -> {after:g} ({before / after:g}x lower)", before=before, after=after)
    if after < before:
        return failed(f"fine-tuning used learning rate {after:g}, only {before / after:g}x lower than the first "
                      f"phase's {before:g}; the lab asks for {ratio:g}x lower",
                      f"Recompile for fine-tuning with learning_rate={before / ratio:g} (the first phase's divided by "
                      f"{ratio:g}).", before=before, after=after)
    return failed(f"fine-tuning used learning rate {after:g}, not lower than the first phase's {before:g}",
                  f"Recompile for fine-tuning with a learning rate about {max(ratio, 10):g} times lower, so that the "
                  "pretrained weights move only a little.", before=before, after=after)


@register("finetune.continues", "fine-tuning continues the trained model (same model; initial_epoch carried on, "
          "unless the lab says otherwise)",
          depends_on=_NEEDS_UNFREEZE)
def finetune_continues(evidence: Evidence, params: Mapping[str, Any], lab: Lab) -> Verdict:
    first, fine = evidence.phases()[0], fine_tune_phase(evidence)
    if fine.start.get("model_id") != first.start.get("model_id"):
        return failed("fine-tuning trained a different model object than the first phase: the trained head was lost",
                      "Unfreeze the base of the model you already trained and call fit on that same model.")
    initial = (fine.start.get("requested") or {}).get("initial_epoch") or 0
    written = any("initial_epoch" in fact.details for fact in evidence.static.of("fit")[1:])
    if initial > 0 or written:
        return passed(f"the same model continued from initial_epoch={initial}", initial_epoch=initial)
    if not lab.finetune.initial_epoch:
        return passed("the same model continued training (the lab does not ask to carry the epoch count on)")
    return failed("fine-tuning restarted the epoch count at 0 (no initial_epoch)",
                  "Pass initial_epoch=len(history.epoch) (or history.epoch[-1]) so that the curves of both "
                  "phases line up.", initial_epoch=initial)


@register("finetune.bn_inference", "advisory: BatchNorm layers of the base stay in inference mode while fine-tuning",
          depends_on=_NEEDS_UNFREEZE, advisory=True)
def finetune_bn_inference(evidence: Evidence, params: Mapping[str, Any], lab: Lab) -> Verdict:
    phase = fine_tune_phase(evidence)
    base = phase.base()
    updated = [p for p in phase.weights.get("statistics_changed", []) if p.startswith(base["name"] + "/")]
    if not updated:
        return passed("the base's BatchNorm statistics did not change while fine-tuning")
    return failed(f"{len(updated)} BatchNorm layers of the base updated their statistics while fine-tuning",
                  "Keep the base's BatchNormalization layers frozen while fine-tuning (for layer in "
                  "base_model.layers: if isinstance(layer, layers.BatchNormalization): layer.trainable = False). "
                  "In Keras 3, fit's training=True overrides base_model(x, training=False) inside a functional "
                  "model, and updating the ImageNet statistics on a small dataset can undo what phase 1 learned.",
                  batchnorm_layers=updated[:5])

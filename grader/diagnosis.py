"""Why a model did not learn: probable causes in plain words, each backed by evidence.

The sample answer sheet's log (validation accuracy 0.50 for ten epochs) is the failure this
explains: images scaled twice, raw pixels, loss and output that don't match, labels that don't
match the loss, a learning rate far off, everything frozen, unfrozen without recompiling.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from grader.evidence import Evidence, Phase, output_activation
from grader.families import CONVENTIONS, DEFAULT_BASE, InputConvention, convention_of, spans_expected


@dataclass(frozen=True)
class Cause:
    """One probable cause: an id, the explanation, and how to fix it."""

    id: str
    explanation: str
    fix: str


def input_range_cause(statistics: dict[str, float] | None, evidence: Evidence, base: str = DEFAULT_BASE,
                      convention: InputConvention = CONVENTIONS[DEFAULT_BASE], tolerance: float = 0.1) -> Cause | None:
    """What the statistics of the base's inputs say about the student's preprocessing, for a base
    whose weights expect ``convention`` (MobileNetV2's [-1, 1] by default). The [-1, 1] family's
    usual mistakes are named; for the other families, a range that is not theirs is said as such."""
    if not statistics:
        return None
    low, high, std = statistics["min"], statistics["max"], statistics["std"]
    if convention.name != "tf":
        if not spans_expected(low, high, convention, tolerance):
            return Cause("input_range", f"inputs to the base span [{low:.2f}, {high:.2f}], not {convention.expects} "
                         f"as {base} expects", convention.hint)
        return _flat_input(std)
    if high <= -0.9 and low >= -1.01:
        return Cause("double_scaling",
                     f"images are scaled twice{_scaling_lines(evidence)}: pixels divided by 255 and then mapped "
                     f"to [-1, 1] again reach the base squeezed into [{low:.3f}, {high:.3f}], so every image "
                     f"looks the same grey to {base} and the model stays at chance (accuracy about 0.50)",
                     "Scale once: remove rescale=1./255 (or Rescaling(1./255)) and keep preprocess_input (or "
                     "Rescaling(1./127.5, offset=-1)), which maps 0..255 to [-1, 1].")
    if max(abs(low), abs(high)) <= 0.01:
        return Cause("double_scaling",
                     f"images are scaled twice{_scaling_lines(evidence)}: mapped to [-1, 1] and then divided by "
                     f"255, they reach the base squeezed into [{low:.4f}, {high:.4f}]",
                     "Scale once: keep preprocess_input and remove rescale=1./255.")
    if low >= -0.01 and high <= 1.01 and high > 0.5:
        return Cause("unit_range", f"images reach the base in [0, 1] (min {low:.2f}, max {high:.2f}), but "
                     f"{base} was trained on [-1, 1]: half of the range it expects is never used",
                     f"Use {convention.function} on 0..255 images (or "
                     "Rescaling(1./127.5, offset=-1)) instead of dividing by 255.")
    if high > 2.0:
        return Cause("raw_pixels", f"raw pixels reach the base (values up to {high:.0f}): {base} expects "
                     "[-1, 1] and its activations saturate on 0..255 input",
                     "Apply preprocess_input (or Rescaling(1./127.5, offset=-1)) before the base.")
    return _flat_input(std)


def _flat_input(std: float) -> Cause | None:
    """Inputs that barely vary, whatever range the base expects."""
    if std < 0.05:
        return Cause("flat_input", f"the images entering the base barely vary (std {std:.3f})",
                     "Check the preprocessing: something scales the images towards a constant.")
    return None


def _scaling_lines(evidence: Evidence) -> str:
    """`` (lines 12 and 30)``: where the source scales images, when it says."""
    lines = sorted({evidence.location(fact).line for fact in evidence.static.facts
                    if (fact.kind == "data" and "rescale" in fact.details)
                    or (fact.kind == "layer" and fact.name == "Rescaling") or fact.kind == "preprocess_input"})
    if len(lines) < 2:
        return ""
    return f" (lines {', '.join(map(str, lines[:-1]))} and {lines[-1]})"


def training_causes(evidence: Evidence, phase: Phase) -> list[Cause]:
    """Probable causes for a phase that did not learn, most likely first."""
    causes: list[Cause] = []
    application = evidence.application() or {}
    if application.get("weights", {}).get("kind") == "none":
        causes.append(Cause("random_base", "the base has random weights (weights=None): a randomly initialised "
                            f"{convention_of(application.get('architecture'))[0]} passes no signal, its activations "
                            "vanish within a few blocks",
                            "Build the base with weights='imagenet'."))
    if application.get("effective", {}).get("include_top") is True:
        causes.append(Cause("include_top", "the base keeps its ImageNet classifier (include_top=True): the head "
                            "sees 1000 class probabilities of ImageNet's classes instead of image features",
                            "Build the base with include_top=False and pool its feature maps."))
    statistics = _first(phase.end.get("input_statistics") if phase.end else None)
    cause = input_range_cause(statistics, evidence, *convention_of(application.get("architecture")))
    if cause is not None:
        causes.append(cause)
    causes.extend(loss_output_causes(evidence, phase))
    base = phase.base()
    if base is not None and base["base"]["trainable_weights"]:
        causes.append(Cause("base_not_frozen", "the base trained from the first step (it was not frozen): the new "
                            "head's large, random early gradients reach the pretrained layers and wreck their "
                            "features", "Set base_model.trainable = False before the first compile and fit."))
    rate = ((phase.compile or {}).get("optimizer") or {}).get("learning_rate")
    if isinstance(rate, (int, float)) and (rate >= 0.1 or rate <= 1e-6):
        causes.append(Cause("learning_rate", f"the learning rate {rate:g} is far from the usual 1e-3 to 1e-5: "
                            + ("updates overshoot" if rate >= 0.1 else "updates are too small to move anything"),
                            "Use Adam(learning_rate=1e-3) (or 1e-4) for the first phase."))
    if phase.end is not None and not phase.weights.get("changed") and not phase.weights.get("created_during_fit"):
        causes.append(Cause("all_frozen", "no weight of the model changed while training: everything is frozen",
                            "Freeze only the base (base_model.trainable = False), not the whole model."))
    return causes


def _first(statistics: dict[str, Any] | None) -> dict[str, float] | None:
    if not statistics:
        return None
    return next((value for value in statistics.values() if value), None)


def loss_output_causes(evidence: Evidence, phase: Phase) -> list[Cause]:
    """Mismatches between the output layer, the loss and the labels."""
    compiled = phase.compile or {}
    loss = compiled.get("loss") or {}
    name = str(loss.get("name") or "").lower().replace("_", "")
    output, activation = output_activation(phase.layers)
    units = (output or {}).get("config", {}).get("units")
    return [*output_causes(str(loss.get("name") or ""), bool(loss.get("from_logits")), units, activation),
            *_label_causes(evidence, phase, name, units)]


def output_causes(loss_name: str, from_logits: bool, units: Any, activation: str | None) -> list[Cause]:
    """Mismatches between a loss (its name, ``from_logits``) and the output layer (its units and
    activation, "linear" for none): one rule for the run's model and for the model the source writes."""
    name = loss_name.lower().replace("_", "")
    causes = []
    # The function that turns logits into probabilities for this loss: a sigmoid for a binary loss, a
    # softmax for a categorical one over several units. Said twice or not at all, the model learns wrong.
    squash = "sigmoid" if "binary" in name else "softmax" if "categorical" in name and units and units > 1 else None
    if squash is not None:
        loss_class = ("BinaryCrossentropy" if squash == "sigmoid" else
                      "SparseCategoricalCrossentropy" if "sparse" in name else "CategoricalCrossentropy")
        if from_logits and activation == squash:
            causes.append(Cause("logits_mismatch", "the loss is told the output is logits (from_logits=True) but the "
                                f"output layer already applies a {squash}: the {squash} is applied twice",
                                f"Use {loss_class}() (from_logits=False) with a {squash} output, or drop the "
                                f"{squash} and keep from_logits=True."))
        if not from_logits and activation == "linear":
            causes.append(Cause("logits_mismatch", "the output layer has no activation (logits) but the loss expects "
                                "probabilities (from_logits=False)",
                                f"Add activation='{squash}' to the output layer, or use "
                                f"{loss_class}(from_logits=True)."))
    if units == 1 and activation == "softmax":
        causes.append(Cause("softmax_one_unit", "softmax over a single unit always outputs 1.0, whatever the "
                            "image: the model cannot learn", "Use activation='sigmoid' for one output unit."))
    if units == 1 and "categorical" in name:
        causes.append(Cause("loss_output", f"{loss_name} expects one output per class, but the model has "
                            "one output unit", "Use binary cross-entropy with one sigmoid unit."))
    return causes


def _label_causes(evidence: Evidence, phase: Phase, loss_name: str, units: Any) -> list[Cause]:
    data = phase.start.get("data", {})
    mode = data.get("class_mode")
    label_modes = [event.get("arguments", {}).get("label_mode") for event in evidence.events("dataset")]
    if "binary" in loss_name and (mode == "categorical" or "categorical" in label_modes) and units == 1:
        return [Cause("labels_loss", "the labels are one-hot (categorical, two columns) but the model has one "
                      "output and a binary loss", "Use class_mode='binary' / label_mode='binary' (or 'int').")]
    if "sparse" in loss_name and units == 1:
        return [Cause("labels_loss", "sparse categorical cross-entropy with one output unit treats every "
                      "image as class 0", "Use binary cross-entropy with one sigmoid unit.")]
    return []

"""Write a rubric from an instructor's own solution: ``grade rubric init SOLUTION.py``.

The solution runs under the harness like any submission; what its model is and does (the base and
its arguments, the augmentation before the base, the head after it, the output and the loss, the
classes it loaded, the fine-tuning plan) becomes the rubric's ``[lab]`` table. Every check that
applies to that lab is weighed with the points of a starting rubric (the bundled one by default),
and the rubric is then checked against the solution's own run: a check the solution does not pass
is left out and reported, so that the solution scores full marks under what is written. The
written questions are copied from the starting rubric, for the instructor to edit.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from types import MappingProxyType
from typing import Any

from grader.checks import REGISTRY
from grader.checks.finetuning import WITHOUT_WEIGHTS, fine_tune_phase
from grader.checks.layers import after_base, before_base, computing
from grader.errors import UnfinishedRunError
from grader.evidence import Evidence, applied_activation, output_activation
from grader.lab import AUGMENTATION, HEAD, LAYER_ARGUMENTS, LOGITS, LOSSES, FineTuneSpec, Lab, LayerSpec, OutputSpec
from grader.lab_table import render_lab
from grader.results import CheckStatus, RunStatus
from grader.run.memory import in_gib, machine_memory_bytes
from grader.rubric import CheckSpec, Rubric, parse_rubric, tomllib
from grader.scoring import score_checks
from grader.shared.renamed import current_id
from grader.tables import toml_value

_POOLED = {"avg": "GlobalAveragePooling2D", "max": "GlobalMaxPooling2D"}  # a base's own pooling argument
_DIGITS = 3  # significant digits kept of a measured factor or ratio


@dataclass(frozen=True)
class Derived:
    """A rubric derived from a solution: its text, the rubric it reads as, what was left out (check
    id and the solution's verdict) and what was assumed rather than seen."""

    text: str
    rubric: Rubric
    left_out: tuple[tuple[str, str], ...]
    assumed: tuple[str, ...]


def derive(evidence: Evidence, start: Rubric, source: str) -> Derived:
    """The rubric for the lab ``evidence`` shows, weighed like ``start`` (whose file gives the
    written questions). Raises ``UnfinishedRunError`` when the run did not reach its end (see
    ``require_finished``), ``ValueError`` when it shows no pretrained base to describe."""
    require_finished(evidence)
    lab, assumed = lab_of(evidence)
    start_text = Path(start.source).read_text(encoding="utf-8")
    candidates = [_for_lab(spec, start, lab) for spec in start.checks
                  if not (REGISTRY[spec.id].needs and REGISTRY[spec.id].needs(lab))]
    draft = parse_rubric(_document(start_text, lab, candidates, start), REGISTRY, source)
    verdicts = {check.id: check for check in score_checks(evidence, draft)}
    kept = [spec for spec in candidates if verdicts[spec.id].status is CheckStatus.PASS or spec.points == 0]
    left_out = tuple((spec.id, verdicts[spec.id].message) for spec in candidates if spec not in kept)
    applicable = {spec.id for spec in candidates}
    left_out += tuple((spec.id, "not part of this lab") for spec in start.checks if spec.id not in applicable)
    text = render(start_text, lab, kept, start, source, left_out)
    rubric = parse_rubric(_toml(text), REGISTRY, source)
    return Derived(text, rubric, left_out, tuple(assumed))


_NOTHING_WRITTEN = ("so no rubric was written: one made from a run that stopped early would leave out every "
                    "check the run had not reached")


def require_finished(evidence: Evidence) -> None:
    """Raise ``UnfinishedRunError``, saying what stopped the run and what to do, unless the
    solution's run reached its end: a check may be left out only because the solution shows it does
    not apply, never because the run stopped first."""
    run = evidence.run
    if run.status is RunStatus.COMPLETED and not run.missing_module:
        return
    if run.status is RunStatus.TIMEOUT:
        raise UnfinishedRunError(
            f"the solution's run {run.reason}, {_NOTHING_WRITTEN}. "
            "Run it again on a quieter machine (one job at a time), or start from a rubric (--rubric) whose [run] "
            "table gives it more time (timeout_seconds) or fewer training steps (steps_per_epoch)")
    if run.status is RunStatus.LIMIT and "memory" in run.reason:
        machine = machine_memory_bytes()
        raise UnfinishedRunError(
            f"the solution's run stopped at the memory limit ({run.reason}), {_NOTHING_WRITTEN}. Start from a rubric "
            "(--rubric) whose [run] table raises memory_gib" + (f" (this machine has {in_gib(machine)})" if machine else "")
            + ", or give the solution a smaller batch or input size")
    if run.status is RunStatus.LIMIT:
        raise UnfinishedRunError(f"the solution's run stopped at a limit ({run.reason}), {_NOTHING_WRITTEN}")
    if run.status is RunStatus.INTERNAL_ERROR or run.missing_module:
        raise UnfinishedRunError(f"the solution's run was stopped by the grading environment ({run.reason}), "
                                 f"{_NOTHING_WRITTEN}. Fix the environment and run it again")
    raise UnfinishedRunError(f"the solution's run stopped with an error ({run.reason}), {_NOTHING_WRITTEN}. "
                             "Make it run to its end (`grade check` on it shows where it stops)")


def _for_lab(spec: CheckSpec, start: Rubric, lab: Lab) -> CheckSpec:
    """``spec`` for ``lab``: the parameters the starting rubric set itself, the new lab's defaults for
    the others (train.learns asks a five-class lab for less than a two-class one)."""
    definition = REGISTRY[spec.id]
    own = {key: value for key, value in spec.params.items() if definition.defaults(start.lab).get(key) != value}
    return replace(spec, params=MappingProxyType({**definition.defaults(lab), **own}))


def _toml(text: str) -> dict[str, Any]:
    return tomllib.loads(text)


def _document(start_text: str, lab: Lab, checks: Sequence[Any], start: Rubric) -> dict[str, Any]:
    return _toml(render(start_text, lab, checks, start, "", ()))


def lab_of(evidence: Evidence) -> tuple[Lab, list[str]]:
    """The ``[lab]`` the run shows, and what had to be assumed (said in words)."""
    application = evidence.application()
    if application is None:
        raise ValueError("the solution built no keras.applications base, so there is no transfer-learning lab "
                         "to describe" + evidence.crash_note())
    effective = application.get("effective", {})
    assumed: list[str] = []
    shape = effective.get("input_shape") or (application.get("input_shape") or [None, 224, 224, 3])[1:]
    layers = evidence.model_layers()
    head, output, activation = _head(layers, _POOLED.get(str(effective.get("pooling"))))
    classes, dataset = _data(evidence, assumed)
    lab = Lab(base=str(application.get("architecture")), input_shape=tuple(int(v) for v in shape),
              include_top=bool(effective.get("include_top")), weights="imagenet" if effective.get("weights") else "none",
              augment=_augmentation(evidence, layers), head=head,
              output=_output(evidence, output, activation, assumed),
              classes=classes, dataset=dataset, finetune=_finetune(evidence, assumed))
    return lab, assumed


def _augmentation(evidence: Evidence, layers: list[dict[str, Any]]) -> tuple[LayerSpec, ...]:
    found = [_spec(layer) for layer in before_base(layers) if layer.get("class") in AUGMENTATION]
    if found:
        return tuple(found)
    for fact in evidence.static.of("data", "ImageDataGenerator"):  # augmentation by the generator
        specs = []
        if fact.details.get("horizontal_flip") is True:
            specs.append(LayerSpec("RandomFlip", MappingProxyType({"mode": "horizontal"})))
        degrees = fact.details.get("rotation_range")
        if isinstance(degrees, (int, float)) and degrees:
            specs.append(LayerSpec("RandomRotation", MappingProxyType({"factor": _rounded(degrees / 360)})))
        if specs:
            return tuple(specs)
    return ()


def _spec(layer: dict[str, Any]) -> LayerSpec:
    """A layer of the run as the lab describes it: its class and the arguments the checks judge."""
    config = layer.get("config", {})
    arguments = {}
    for name in LAYER_ARGUMENTS.get(layer["class"], ()):
        value = config.get(name)
        if isinstance(value, (list, tuple)) and value and all(isinstance(v, (int, float)) for v in value):
            value = max(abs(float(v)) for v in value)  # a (low, high) factor: its largest magnitude
        if isinstance(value, float):
            value = _rounded(value)
        if value is not None:
            arguments[name] = value
    return LayerSpec(layer["class"], MappingProxyType(arguments))


def _head(layers: list[dict[str, Any]], pooled: str | None) -> tuple[tuple[LayerSpec, ...], dict[str, Any] | None, str]:
    """The head after the base (its output Dense apart), the output Dense and the activation applied to it."""
    after = computing(after_base(layers))
    output, activation = output_activation(after)
    specs = [LayerSpec(pooled)] if pooled else []
    for index, layer in enumerate(after):
        if layer is output:
            break
        if layer.get("class") == "Dense":
            specs.append(LayerSpec("Dense", MappingProxyType({"units": layer["config"].get("units"),
                                                             "activation": str(applied_activation(after, index))})))
        elif layer.get("class") in HEAD:
            specs.append(_spec(layer))
    return tuple(specs), output, str(activation or LOGITS)


def _output(evidence: Evidence, output: dict[str, Any] | None, activation: str, assumed: list[str]) -> OutputSpec:
    """The output layer and its loss; an output the loss reads as logits is ``linear``."""
    phases = evidence.phases()
    compiled = (phases[0].compile if phases else None) or evidence.first_compile() or {}
    loss = str((compiled.get("loss") or {}).get("name") or "").lower().replace("_", "")
    units = int((output or {}).get("config", {}).get("units") or 1)
    if (compiled.get("loss") or {}).get("from_logits"):
        activation = LOGITS
    names = {folded.replace("_", ""): key for key, folds in LOSSES.items() for folded in folds}
    if loss not in names:
        assumed.append(f"the loss ({loss or 'none seen'}) is none the grader knows: the rubric expects "
                       f"{'binary' if units == 1 else 'sparse categorical'} cross-entropy")
    key = names.get(loss, "binary_crossentropy" if units == 1 else "sparse_categorical_crossentropy")
    return OutputSpec(units, activation if activation in ("sigmoid", "softmax", LOGITS) else LOGITS, key)


def _data(evidence: Evidence, assumed: list[str]) -> tuple[tuple[str, ...], str]:
    loaded = evidence.events("dataset")
    names = next((tuple(event["class_names"]) for event in loaded if event.get("class_names")), ())
    if not names:
        assumed.append("the run named no classes: cats and dogs assumed")
        names = ("cats", "dogs")
    where = " ".join(f"{event.get('loader')} {event.get('directory')}" for event in loaded)
    if "flower" in where:
        return names, "tf_flowers" if "tfds" in where else "flower_photos"
    dataset = "cats_vs_dogs" if "tfds" in where or "cats_vs_dogs" in where else \
        "PetImages" if "PetImages" in where else "cats_and_dogs_filtered"
    return names, dataset


def _finetune(evidence: Evidence, assumed: list[str]) -> FineTuneSpec:
    phase = fine_tune_phase(evidence)
    phases = evidence.phases()
    if phase is None:
        assumed.append("the solution does not fine-tune: the fine-tuning checks are left out")
        return FineTuneSpec()
    trainable = phase.base()["base"].get("trainable_layer_indices") or []
    before = ((phases[0].compile or {}).get("optimizer") or {}).get("learning_rate")
    after = ((phase.compile or {}).get("optimizer") or {}).get("learning_rate")
    ratio = before / after if isinstance(before, (int, float)) and isinstance(after, (int, float)) and after else 1.0
    carried = ((phase.start.get("requested") or {}).get("initial_epoch") or 0) > 0 or any(
        "initial_epoch" in fact.details for fact in evidence.static.of("fit")[1:])
    return FineTuneSpec(_cut(evidence, trainable[0]) if trainable and trainable[0] > 0 else None,
                        max(1.0, _at_most(ratio)), carried)


def _cut(evidence: Evidence, first: int) -> int:
    """The solution's ``fine_tune_at``: the slice it freezes (``base_model.layers[:100]``) when that
    agrees with the run, else the first layer with weights its fine-tuning trained."""
    for fact in evidence.static.of("trainable"):
        written = re.fullmatch(r".*\.layers\[:(\d+)\]", str(fact.details.get("loop_over") or ""))
        if fact.details.get("value") is False and written and \
                int(written.group(1)) <= first <= int(written.group(1)) + WITHOUT_WEIGHTS:
            return int(written.group(1))
    return first


def _rounded(value: float) -> float:
    return float(f"{value:.{_DIGITS}g}")


def _at_most(ratio: float) -> float:
    """``ratio`` to three digits, never above it (beyond float noise): the check asks for at least it."""
    shown = _rounded(ratio)
    if shown <= ratio * (1 + 1e-6):
        return shown
    scale = 10 ** (_DIGITS - 1 - math.floor(math.log10(ratio)))
    return math.floor(ratio * scale) / scale


# ---------------------------------------------------------------- the rubric's text

def render(start_text: str, lab: Lab, checks: Sequence[Any], start: Rubric, source: str,
           left_out: Sequence[tuple[str, str]]) -> str:
    """The rubric's text: a header, ``[run]`` and the written questions of ``start``, the lab, and
    ``checks`` with their points; code questions list only the checks kept."""
    kept = {spec.id for spec in checks}
    code = sum(spec.points for spec in checks)
    written = sum(question.points for question in start.questions)
    lines = [f"# Rubric written by `grade rubric init` from {source or 'a solution'}: the [lab] table is what",
             "# that solution's run showed, the points and the written questions come from the starting rubric.",
             "# Edit the points, the wording and the questions; `grade rubric validate` checks the result.",
             *(f"# Left out: {check_id}: {why}" for check_id, why in left_out),
             "",
             "[rubric]",
             f"name = {toml_value(f'Transfer learning: {lab.base} on {_classes(lab)}')}",
             f"max_score = {toml_value(code + written)}",
             *([f"code_file = {toml_value(start.code_file)}"] if start.code_file else []),
             "",
             "[run]",
             *(f"{key} = {toml_value(value)}" for key, value in _budget(start).items()),
             "",
             render_lab(lab),
             ""]
    for spec in checks:
        lines += [f'[checks."{spec.id}"]', f"points = {toml_value(spec.points)}"]
        defaults = REGISTRY[spec.id].defaults(lab)
        changed = {key: value for key, value in spec.params.items() if defaults.get(key) != value}
        if changed:
            lines.append(f"params = {toml_value(changed)}")
        lines.append("")
    questions = start_text[start_text.index("[questions."):]
    questions = re.sub(r"^checks = (\[.*?\])$", lambda match: "checks = " + toml_value(
        [check_id for check_id in _toml(f"x = {match.group(1)}")["x"] if current_id(check_id) in kept]),
        questions, flags=re.MULTILINE)
    return "\n".join(lines) + "\n" + questions


def _classes(lab: Lab) -> str:
    return " vs ".join(lab.classes) if len(lab.classes) == 2 else f"{len(lab.classes)} classes"




def _budget(rubric: Rubric) -> dict[str, Any]:
    return asdict(rubric.budget)

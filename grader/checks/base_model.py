"""Checks on the pretrained base: which model, its input, its top, its weights, and freezing."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from grader.checks.registry import Verdict, failed, passed, register, undecided, written
from grader.evidence import Evidence
from grader.lab import Lab
from grader.static import Fact


def _built(evidence: Evidence) -> tuple[dict[str, Any] | None, str]:
    """The base's arguments as run (or, failing that, as written) and where they come from."""
    event = evidence.application()
    if event is not None:
        return {**event.get("effective", {}), "architecture": event.get("architecture"),
                "_location": evidence.location(event)}, "run"
    facts = evidence.static.of("application")
    if facts:
        fact = facts[0]
        arguments = {"include_top": True, "weights": "imagenet", **fact.details, "architecture": fact.name,
                     "_location": evidence.location(fact)}
        return arguments, "source"
    return None, ""


def _where(arguments: dict[str, Any], origin: str) -> dict[str, Any]:
    return {"location": arguments.get("_location"), "decided_from": origin}


@register("script.runs", "the script ran to its end under the harness")
def script_runs(evidence: Evidence, params: Mapping[str, Any], lab: Lab) -> Verdict:
    run = evidence.run
    if not evidence.crashed and not (evidence.events("application") or evidence.events("compile")):
        return failed("the script ran to its end but built no model: nothing of the lab ran",
                      "Build, compile and train the model in the script you hand in.")
    if not evidence.crashed:
        return passed(f"ran to its end ({run.reason})" if run.reason != "ran to its end" else "ran to its end")
    exception = next(iter(reversed(evidence.events("exception"))), None)
    location = evidence.location(exception)
    return failed(f"the script did not finish: {run.reason}",
                  "Run your script from start to end before handing it in; fix the first error it shows."
                  + (f" Look at {location}." if location else ""),
                  status=run.status.value, location=location)


@register("base.architecture", "the base model is the keras.applications model the lab names")
def base_architecture(evidence: Evidence, params: Mapping[str, Any], lab: Lab) -> Verdict:
    built, origin = _built(evidence)
    if built is None:
        return failed("no pretrained model from keras.applications was built",
                      f"Load the base with tf.keras.applications.{lab.base}(...).")
    if built["architecture"] == lab.base:
        return passed(f"{lab.base} from keras.applications", **_where(built, origin))
    return failed(f"the base model is {built['architecture']}, not {lab.base}",
                  f"The lab asks for tf.keras.applications.{lab.base}.", architecture=built["architecture"],
                  **_where(built, origin))


@register("base.input_shape", "the base takes the input shape the lab names (160x160x3 by default)")
def base_input_shape(evidence: Evidence, params: Mapping[str, Any], lab: Lab) -> Verdict:
    built, origin = _built(evidence)
    if built is None:
        return undecided("no base model was built, so its input shape is unknown")
    shape = built.get("input_shape")
    expected = lab.input_shape
    if isinstance(shape, (list, tuple)) and tuple(shape)[:3] == expected:
        return passed(f"input shape {tuple(shape)}", input_shape=list(shape), **_where(built, origin))
    height, width, _ = expected
    return failed(f"the base's input shape is {shape!r}, not {expected}",
                  f"Pass input_shape={expected} to {lab.base} and resize images to {height}x{width}.",
                  input_shape=shape, **_where(built, origin))


@register("base.no_top", "built with include_top=False", needs=lambda lab: "" if not lab.include_top else
          "[lab] include_top is true, so there is no top to leave off")
def base_no_top(evidence: Evidence, params: Mapping[str, Any], lab: Lab) -> Verdict:
    built, origin = _built(evidence)
    if built is None:
        return undecided("no base model was built")
    if built.get("include_top") is False:
        return passed("include_top=False: the ImageNet classifier was left off", **_where(built, origin))
    return failed("the base still has its 1000-class ImageNet classifier (include_top is not False)",
                  "Pass include_top=False so that your own head replaces ImageNet's classifier.",
                  include_top=built.get("include_top"), **_where(built, origin))


@register("base.imagenet", "built with weights='imagenet'", needs=lambda lab: "" if lab.weights == "imagenet" else
          "[lab] weights is 'none': nothing is transferred")
def base_imagenet(evidence: Evidence, params: Mapping[str, Any], lab: Lab) -> Verdict:
    built, origin = _built(evidence)
    if built is None:
        return undecided("no base model was built")
    if built.get("weights") == "imagenet":
        return passed("weights='imagenet': the base starts from pretrained weights", **_where(built, origin))
    return failed(f"the base was built with weights={built.get('weights')!r}: nothing is transferred",
                  "Pass weights='imagenet'; with weights=None the base starts from random values.",
                  weights=built.get("weights"), **_where(built, origin))


@register("base.frozen", "in the first training phase the base has no trainable weights and its weights did not change")
def base_frozen(evidence: Evidence, params: Mapping[str, Any], lab: Lab) -> Verdict:
    phases = evidence.phases()
    if not phases:
        return _frozen_without_training(evidence)
    first = phases[0]
    base = first.base()
    if base is None:
        return undecided("the trained model contains no pretrained base the harness built")
    trainable = base["base"]["trainable_weights"]
    changed = [path for path in first.weights["changed"] if path.startswith(base["name"] + "/")]
    where = {"location": evidence.location(first.start)}
    if trainable == 0 and not changed:
        return passed("the base had no trainable weights in the first phase and none of them changed", **where)
    if trainable:
        return failed(f"the base had {trainable} trainable weight tensors during the first training phase",
                      "Set base_model.trainable = False before the first compile and fit, so that the new "
                      "head's large early gradients do not wreck the pretrained features.",
                      trainable_weights=trainable, changed_layers=changed[:10], **where)
    return failed(f"{len(changed)} layers of the base changed during the first phase although it was frozen",
                  "Something updates the base's weights directly; train only the head in phase 1.",
                  changed_layers=changed[:10], **where)


def _whole_base(fact: Fact) -> bool:
    """``base.trainable = False``, or a loop setting it on every layer of ``base.layers`` (a slice
    such as ``base.layers[:100]`` freezes part of the base: that is fine-tuning, not freezing)."""
    loop = fact.details.get("loop_over")
    return loop is None or (str(loop).endswith(".layers") and "[" not in str(loop))


def _frozen_without_training(evidence: Evidence) -> Verdict:
    compiled = evidence.first_compile()
    if compiled is not None:
        base = next((layer for layer in compiled["model"]["layers"] if "base" in layer), None)
        if base is not None and base["base"]["trainable_weights"] == 0:
            return passed("the base was frozen when the model was compiled (training never ran, so no "
                          "weight changes could be observed)" + evidence.crash_note())
    assignments = [f for f in evidence.static.of("trainable") if f.details.get("value") is False
                   and _whole_base(f)]
    if assignments:
        return written(f"`{assignments[0].name}.trainable = False` is written (training never ran)"
                       + evidence.crash_note(), evidence.location(assignments[0]))
    return failed("no training phase ran and the base was not seen frozen" + evidence.crash_note(),
                  "Freeze the base with base_model.trainable = False before compiling.")

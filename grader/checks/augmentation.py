"""Checks on data augmentation: the flip and the rotation the lab asks for, applied before the base."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from grader.checks.layers import before_base, base_index, of_class
from grader.checks import written as written_
from grader.checks.registry import Verdict, failed, passed, register, undecided, written
from grader.evidence import Evidence
from grader.lab import Lab
from grader.results import CheckStatus, Location


def _generator_arguments(evidence: Evidence) -> dict[str, Any]:
    """Arguments of an ImageDataGenerator for training images, read from the source."""
    for fact in evidence.static.of("data", "ImageDataGenerator"):
        if any(key in fact.details for key in ("horizontal_flip", "rotation_range")):
            return {**fact.details, "_fact": fact}
    return {}


def _layers_or_none(evidence: Evidence) -> list[dict[str, Any]] | None:
    layers = evidence.model_layers()
    return layers if layers and base_index(layers) is not None else None


_GENERATOR_NOTE = ("the lab asks for augmentation layers inside the model (they run on the fly, only while "
                   "training); ImageDataGenerator earns {share:.0%} of these points")


def _by_generator(message: str, params: Mapping[str, Any], lab: Lab, location: Location | None) -> Verdict:
    """Augmentation done by ImageDataGenerator: the rubric's ``generator_credit`` says what it earns."""
    share = params["generator_credit"]
    return Verdict(CheckStatus.PASS, f"{message}; {_GENERATOR_NOTE.format(share=share)}",
                   "Use " + " and ".join(f"layers.{spec.shown}" for spec in lab.augment) + " at the start of the model.",
                   {"by": "ImageDataGenerator"}, share, location)


def _needs(layer: str) -> Callable[[Lab], str]:
    return lambda lab: "" if lab.augmentation(layer) else f"[lab] augment has no {layer}"


def _flip(lab: Lab) -> tuple[str, str]:
    """The flip mode the lab asks for, and what to write (with why, for a horizontal flip)."""
    spec = lab.augmentation("RandomFlip")
    mode = str(spec.get("mode", "horizontal_and_vertical")) if spec else "horizontal"
    why = ": photos are not upside down." if mode == "horizontal" else "."
    return mode, f"Use layers.RandomFlip({mode!r}){why}"


@register("augment.flip", "the RandomFlip the lab asks for (horizontal by default) is applied to training images "
          "before the base", params={"generator_credit": 0.5}, needs=_needs("RandomFlip"))
def augment_flip(evidence: Evidence, params: Mapping[str, Any], lab: Lab) -> Verdict:
    layers = _layers_or_none(evidence)
    generator = _generator_arguments(evidence)
    mode, use = _flip(lab)
    if layers is not None:
        flips = of_class(before_base(layers), "RandomFlip")
        matching = [f for f in flips if mode in str(f.get("config", {}).get("mode", ""))]
        if matching:
            return passed(f"RandomFlip(mode={matching[0]['config']['mode']!r}) before the base",
                          layer=matching[0]["path"])
        if flips:
            return failed(f"RandomFlip(mode={flips[0]['config'].get('mode')!r}) does not flip as the lab asks "
                          f"({mode})", use, mode=flips[0]["config"].get("mode"))
        if of_class(layers, "RandomFlip"):
            return failed("RandomFlip comes after the base model, where it flips features, not images",
                          "Put the augmentation layers before the base model.")
    if generator.get("horizontal_flip") is True and mode == "horizontal":
        return _by_generator("ImageDataGenerator(horizontal_flip=True) flips the training images", params, lab,
                             evidence.location(generator["_fact"]))
    reaching, unused = written_.layers(evidence, "RandomFlip")
    if layers is None and not reaching and not unused:
        if not evidence.phases() and not evidence.events("compile"):
            return undecided("no model was compiled, and the source has no RandomFlip" + evidence.crash_note())
    if layers is None and reaching:
        written_mode = written_.argument(reaching[0], "mode")
        if mode in str(written_mode):
            return written(f"RandomFlip({written_mode!r}) is written (not seen running)" + evidence.crash_note(),
                           evidence.location(reaching[0]))
        return failed(f"{written_.shown(reaching[0])} is written at {written_.where(evidence, reaching[0])}: it does "
                      f"not flip as the lab asks ({mode})" + evidence.crash_note(), use,
                      location=evidence.location(reaching[0]))
    unused_note = written_.not_in_model(evidence, unused)
    return failed(unused_note or f"no {mode.replace('_', ' ')} flip is applied to the training images",
                  f"Add layers.RandomFlip({mode!r}) at the start of the model (or in a data_augmentation "
                  "Sequential applied before the base).", location=evidence.location(unused[0]) if unused else None)


@register("augment.rotation", "a RandomRotation of about the lab's factor (0.2 by default) is applied before the base",
          params={"tolerance": 0.05, "generator_credit": 0.5}, needs=_needs("RandomRotation"))
def augment_rotation(evidence: Evidence, params: Mapping[str, Any], lab: Lab) -> Verdict:
    spec = lab.augmentation("RandomRotation")
    expected, tolerance = float(spec.get("factor", 0.2)) if spec else 0.2, params["tolerance"]
    layers = _layers_or_none(evidence)
    if layers is not None:
        rotations = of_class(before_base(layers), "RandomRotation")
        if rotations:
            factor = _largest(rotations[0]["config"].get("factor"))
            if factor is not None and abs(factor - expected) <= tolerance + 1e-9:
                return passed(f"RandomRotation(factor={factor:g}) before the base", factor=factor)
            return failed(f"RandomRotation factor is {factor!r}, expected about {expected:g}",
                          f"Use layers.RandomRotation({expected:g}): a factor is a fraction of a full turn "
                          f"({expected:g} = up to {expected * 360:g} degrees either way).", factor=factor)
    generator = _generator_arguments(evidence)
    degrees = generator.get("rotation_range")
    if isinstance(degrees, (int, float)):
        factor = degrees / 360
        if abs(factor - expected) <= tolerance + 1e-9:
            return _by_generator(f"ImageDataGenerator(rotation_range={degrees:g}) rotates like "
                                 f"RandomRotation({factor:.2f})", params, lab, evidence.location(generator["_fact"]))
        return failed(f"ImageDataGenerator(rotation_range={degrees:g}) is a factor of {factor:.2f}, "
                      f"expected about {expected:g}",
                      f"RandomRotation({expected:g}) rotates up to {expected * 360:g} degrees; use that range.",
                      rotation_range=degrees)
    reaching, unused = written_.layers(evidence, "RandomRotation")
    if layers is None and reaching:
        factor = _largest(written_.argument(reaching[0], "factor"))
        if factor is not None and abs(factor - expected) <= tolerance + 1e-9:
            return written(f"RandomRotation({factor:g}) is written (not seen running)" + evidence.crash_note(),
                           evidence.location(reaching[0]))
        return failed(f"{written_.shown(reaching[0])} is written at {written_.where(evidence, reaching[0])}; the lab "
                      f"asks for RandomRotation({expected:g})" + evidence.crash_note(),
                      f"Use layers.RandomRotation({expected:g}): a factor is a fraction of a full turn.",
                      location=evidence.location(reaching[0]))
    if layers is None and not unused and not evidence.events("compile"):
        return undecided("no model was compiled, and the source has no RandomRotation" + evidence.crash_note())
    return failed(written_.not_in_model(evidence, unused) or "no random rotation is applied to the training images",
                  f"Add layers.RandomRotation({expected:g}) to the augmentation layers before the base.",
                  location=evidence.location(unused[0]) if unused else None)


def _largest(factor: Any) -> float | None:
    """RandomRotation's factor may be a number or a (low, high) pair: the largest magnitude."""
    if isinstance(factor, (int, float)) and not isinstance(factor, bool):
        return abs(float(factor))
    if isinstance(factor, (list, tuple)) and factor and all(isinstance(v, (int, float)) for v in factor):
        return max(abs(float(v)) for v in factor)
    return None


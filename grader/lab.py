"""What a lab asks for: the rubric's ``[lab]`` table, read into frozen data that every check reads.

A rubric without a ``[lab]`` table describes the lab this grader was first built for (MobileNetV2
at 160x160x3 on cats vs dogs, GlobalAveragePooling2D -> Dense(128, relu) -> Dropout(0.5) ->
Dense(1, sigmoid)), so older rubrics keep grading as they did. How each field is judged is in
docs/checks.md; ``grader.rubric`` validates the table.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

POOLING = ("GlobalAveragePooling2D", "GlobalMaxPooling2D", "Flatten")
# The arguments a layer of the lab is described by, and so compared on, in the order they are shown.
LAYER_ARGUMENTS: Mapping[str, tuple[str, ...]] = MappingProxyType({
    "RandomFlip": ("mode",), "RandomRotation": ("factor",), "RandomZoom": ("height_factor",),
    "RandomContrast": ("factor",), "RandomTranslation": ("height_factor", "width_factor"),
    "RandomBrightness": ("factor",),
    "GlobalAveragePooling2D": (), "GlobalMaxPooling2D": (), "Flatten": (),
    "Dense": ("units", "activation"), "Dropout": ("rate",), "BatchNormalization": (),
})
AUGMENTATION = ("RandomFlip", "RandomRotation", "RandomZoom", "RandomContrast", "RandomTranslation",
                "RandomBrightness")
HEAD = (*POOLING, "Dense", "Dropout", "BatchNormalization")
LOGITS = "linear"  # an output without activation: the loss is told from_logits=True
LOSSES: Mapping[str, tuple[str, ...]] = MappingProxyType({
    # a loss the lab names, and the names Keras records for it
    "binary_crossentropy": ("binary_crossentropy", "binarycrossentropy", "bce"),
    "sparse_categorical_crossentropy": ("sparse_categorical_crossentropy", "sparsecategoricalcrossentropy"),
    "categorical_crossentropy": ("categorical_crossentropy", "categoricalcrossentropy"),
})
ACCURACY: Mapping[str, frozenset[str]] = MappingProxyType({
    "binary_crossentropy": frozenset({"accuracy", "acc", "binary_accuracy", "binaryaccuracy"}),
    "sparse_categorical_crossentropy": frozenset({"accuracy", "acc", "sparse_categorical_accuracy",
                                                  "sparsecategoricalaccuracy"}),
    "categorical_crossentropy": frozenset({"accuracy", "acc", "categorical_accuracy", "categoricalaccuracy"}),
})


@dataclass(frozen=True)
class LayerSpec:
    """One layer the lab asks for: its Keras class and the arguments it is judged on."""

    layer: str
    arguments: Mapping[str, Any] = field(default_factory=dict)

    def get(self, name: str, default: Any = None) -> Any:
        return self.arguments.get(name, default)

    @property
    def shown(self) -> str:
        """As a student writes it: ``Dense(128, activation='relu')``, ``RandomFlip('horizontal')``."""
        names = LAYER_ARGUMENTS.get(self.layer, tuple(self.arguments))
        values = [(name, self.arguments[name]) for name in names if name in self.arguments]
        parts = [_literal(value) if index == 0 else f"{name}={_literal(value)}"
                 for index, (name, value) in enumerate(values)]
        return f"{self.layer}({', '.join(parts)})"


def _literal(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else repr(value)


@dataclass(frozen=True)
class OutputSpec:
    """The output layer and the loss that goes with it. ``activation`` ``linear`` means logits."""

    units: int = 1
    activation: str = "sigmoid"
    loss: str = "binary_crossentropy"

    @property
    def from_logits(self) -> bool:
        return self.activation == LOGITS

    @property
    def shown(self) -> str:
        return f"Dense({self.units})" if self.from_logits else f"Dense({self.units}, activation={self.activation!r})"

    @property
    def loss_named(self) -> str:
        """In words: ``binary cross-entropy``."""
        return self.loss.replace("_", " ").replace("crossentropy", "cross-entropy")

    @property
    def loss_shown(self) -> str:
        """As a student writes it: ``tf.keras.losses.BinaryCrossentropy(from_logits=True)``."""
        name = "".join(part.capitalize() for part in self.loss.split("_"))
        return f"tf.keras.losses.{name}({'from_logits=True' if self.from_logits else ''})"


@dataclass(frozen=True)
class FineTuneSpec:
    """The fine-tuning plan. ``unfreeze_from``: the base's first trainable layer (None: any cut that
    keeps some layers frozen); ``rate_ratio``: how many times lower the fine-tuning rate is at least
    (1: just lower); ``initial_epoch``: whether the epoch count carries on."""

    unfreeze_from: int | None = None
    rate_ratio: float = 1.0
    initial_epoch: bool = True


_FLIP = LayerSpec("RandomFlip", MappingProxyType({"mode": "horizontal"}))
_ROTATION = LayerSpec("RandomRotation", MappingProxyType({"factor": 0.2}))
_HEAD = (LayerSpec("GlobalAveragePooling2D"), LayerSpec("Dense", MappingProxyType({"units": 128, "activation": "relu"})),
         LayerSpec("Dropout", MappingProxyType({"rate": 0.5})))


@dataclass(frozen=True)
class Lab:
    """What the lab asks for. The defaults are this grader's first lab."""

    base: str = "MobileNetV2"
    input_shape: tuple[int, int, int] = (160, 160, 3)
    include_top: bool = False
    weights: str = "imagenet"
    augment: tuple[LayerSpec, ...] = (_FLIP, _ROTATION)
    head: tuple[LayerSpec, ...] = _HEAD
    output: OutputSpec = OutputSpec()
    classes: tuple[str, ...] = ("cats", "dogs")
    dataset: str = "cats_and_dogs_filtered"
    finetune: FineTuneSpec = FineTuneSpec()
    boilerplate: tuple[str, ...] = ()  # files the lab hands out (absolute paths): shared code that is no copy

    def augmentation(self, layer: str) -> LayerSpec | None:
        return next((spec for spec in self.augment if spec.layer == layer), None)

    @property
    def pooling(self) -> LayerSpec | None:
        return self.head[0] if self.head and self.head[0].layer in POOLING else None

    @property
    def hidden_dense(self) -> tuple[LayerSpec, ...]:
        return tuple(spec for spec in self.head if spec.layer == "Dense")

    @property
    def dropout(self) -> LayerSpec | None:
        return next((spec for spec in self.head if spec.layer == "Dropout"), None)

    @property
    def chance(self) -> float:
        """The accuracy of guessing among the lab's classes."""
        return 1.0 / len(self.classes)

    @property
    def guessing_loss(self) -> float:
        """The cross-entropy of guessing evenly among the lab's classes (0.693 for two)."""
        return math.log(len(self.classes))

    @property
    def learning_thresholds(self) -> dict[str, float]:
        """What ``train.learns`` asks of a lab of this many classes unless the rubric says otherwise:
        accuracy 40% of the way from guessing to perfect, or a loss 10% under guessing's (0.70 and
        0.62 for two classes)."""
        return {"min_accuracy": round(self.chance + 0.4 * (1 - self.chance), 2),
                "max_loss": round(0.9 * self.guessing_loss, 2)}

    @property
    def summary(self) -> str:
        """The lab in one paragraph, as ``grade rubric validate`` prints it."""
        height, width, channels = self.input_shape
        plan = self.finetune
        cut = f"from layer {plan.unfreeze_from}" if plan.unfreeze_from is not None else "any cut that keeps the lower layers frozen"
        rate = f"{plan.rate_ratio:g}x lower" if plan.rate_ratio > 1 else "lower"
        return (f"{self.base} at {height}x{width}x{channels} (include_top={self.include_top}, "
                f"weights={self.weights!r}); augment {', '.join(s.shown for s in self.augment) or 'nothing'}; "
                f"head {' -> '.join([*(s.shown for s in self.head), self.output.shown])}; loss {self.output.loss}"
                f"{' (from_logits=True)' if self.output.from_logits else ''}; {len(self.classes)} classes "
                f"({', '.join(self.classes)}) from {self.dataset}; fine-tuning {cut}, learning rate {rate}"
                f"{', initial_epoch carried on' if plan.initial_epoch else ''}"
                + (f"; boilerplate {', '.join(Path(path).name for path in self.boilerplate)}"
                   if self.boilerplate else ""))


DEFAULT_LAB = Lab()

"""What each pretrained base of ``keras.applications`` expects its input to be.

A base's ImageNet weights were trained on images prepared one way; feeding them another way is
the commonest silent bug of transfer learning (the model trains, and stays at chance). Keras's
``preprocess_input`` of each family does one of four things to 0..255 images:

- ``tf``: scale to [-1, 1] (MobileNet, MobileNetV2, InceptionV3, Xception, the ResNet V2s, NASNet);
- ``caffe``: RGB to BGR and subtract ImageNet's mean per channel, no scaling (ResNet50/101/152,
  VGG16/19): values from about -124 to 152;
- ``torch``: scale to [0, 1] and standardise per channel with ImageNet's mean and deviation
  (DenseNet): about -2.1 to 2.6;
- ``raw``: nothing, the model rescales inside (EfficientNet and EfficientNetV2, MobileNetV3 with
  its default ``include_preprocessing``, ConvNeXt, RegNet): 0..255.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class InputConvention:
    """The range a family's weights expect, and how a student gets there."""

    name: str
    low: float
    high: float
    expects: str  # in words, for messages
    function: str | None  # the preprocess_input to call on 0..255 images; None: the model rescales inside

    @property
    def width(self) -> float:
        return self.high - self.low

    @property
    def hint(self) -> str:
        """What to do to 0..255 images before the base."""
        if self.function is None:
            return "Feed 0..255 images to the base, which rescales inside the model: remove your own scaling."
        also = " (or Rescaling(1./127.5, offset=-1))" if self.name == "tf" else ""
        return f"Prepare 0..255 images with {self.function}{also} before the base."


def _tf(module: str) -> InputConvention:
    return InputConvention("tf", -1.0, 1.0, "[-1, 1]", f"tf.keras.applications.{module}.preprocess_input")


def _caffe(module: str) -> InputConvention:
    return InputConvention("caffe", -123.68, 151.061, "0..255 in BGR order with ImageNet's mean subtracted "
                           "(about -124 to 152)", f"tf.keras.applications.{module}.preprocess_input")


_TORCH = InputConvention("torch", -2.118, 2.64, "[0, 1] standardised with ImageNet's mean and deviation "
                         "(about -2.1 to 2.6)", "tf.keras.applications.densenet.preprocess_input")
_RAW = InputConvention("raw", 0.0, 255.0, "0..255 (it rescales inside the model)", None)

CONVENTIONS: dict[str, InputConvention] = {
    "MobileNet": _tf("mobilenet"), "MobileNetV2": _tf("mobilenet_v2"), "InceptionV3": _tf("inception_v3"),
    "InceptionResNetV2": _tf("inception_resnet_v2"), "Xception": _tf("xception"),
    "ResNet50V2": _tf("resnet_v2"), "ResNet101V2": _tf("resnet_v2"), "ResNet152V2": _tf("resnet_v2"),
    "NASNetMobile": _tf("nasnet"), "NASNetLarge": _tf("nasnet"),
    "ResNet50": _caffe("resnet50"), "ResNet101": _caffe("resnet"), "ResNet152": _caffe("resnet"),
    "VGG16": _caffe("vgg16"), "VGG19": _caffe("vgg19"),
    "DenseNet121": _TORCH, "DenseNet169": _TORCH, "DenseNet201": _TORCH,
    "MobileNetV3Small": _RAW, "MobileNetV3Large": _RAW,
    **{f"EfficientNetB{n}": _RAW for n in range(8)},
    **{f"EfficientNetV2{size}": _RAW for size in ("B0", "B1", "B2", "B3", "S", "M", "L")},
    **{f"ConvNeXt{size}": _RAW for size in ("Tiny", "Small", "Base", "Large", "XLarge")},
}
DEFAULT_BASE = "MobileNetV2"  # the lab's, and what an unknown base is judged as


def convention_of(architecture: str | None) -> tuple[str, InputConvention]:
    """The base's name (the lab's when unknown) and the input convention of its family."""
    if architecture in CONVENTIONS:
        return architecture, CONVENTIONS[architecture]
    if architecture and architecture.startswith("RegNet"):
        return architecture, _RAW
    return DEFAULT_BASE, CONVENTIONS[DEFAULT_BASE]


def spans_expected(low: float, high: float, convention: InputConvention, tolerance: float) -> bool:
    """Whether observed inputs [low, high] span about the convention's range: within it, give or
    take ``tolerance`` of half its width at each end, and covering most of it."""
    slack = tolerance * convention.width / 2
    return (low >= convention.low - slack and high <= convention.high + slack
            and high - low >= convention.width * (1 - tolerance) - convention.width / 4)

"""Pretrained weights for ``keras.applications`` models, offline.

``build_application`` builds a model the way ``weights='imagenet'`` would, without a network:

1. a weights file given explicitly (``--weights``) is loaded;
2. otherwise the real ImageNet file is used when Keras's cache already holds it;
3. otherwise deterministic *stand-in* weights are used: the same architecture, initialised from
   a seed derived from the model's shape, with every BatchNorm layer's statistics calibrated on
   synthetic images so that features carry signal (a randomly initialised MobileNetV2's
   activations vanish within a few blocks). Stand-ins are made once and cached.

What was used is returned as a ``WeightsSource`` so reports can say so.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import importlib
import inspect
import os
import urllib.parse
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from grader.cache import cache_root

WeightsKind = Literal["imagenet", "stand-in", "file", "none"]
STAND_IN_VERSION = 1
STAND_IN_NOTE = "stand-in weights: accuracy figures are not ImageNet figures"
_CALIBRATION_IMAGES = 96
# A forward pass keeps every layer's output until it ends: a ResNet50 at 224 holds 142 MiB per image,
# 13 GiB for 96. Above this, the images are calibrated in batches that fit (MobileNetV2 at 160, 4 GiB,
# still in one).
CALIBRATION_BYTES = int(4.5 * 2**30)  # outside the sandbox; a run passes a quarter of its memory limit
_ACTIVATION_OFFSET = 2.0


class WeightsNotCached(Exception):
    """Raised inside Keras's downloader instead of opening a connection."""


@dataclass(frozen=True)
class WeightsSource:
    """Which weights a model got: ``kind`` and, for files, where they came from."""

    kind: WeightsKind
    architecture: str
    path: str | None = None
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@contextlib.contextmanager
def no_downloads() -> Iterator[None]:
    """Within the block, Keras's ``get_file`` serves cached files and raises on a cache miss.

    Plain files are looked up before Keras prints "Downloading data from ..."; anything else that
    reaches the downloader is refused there, so no connection is ever opened.
    """
    from keras.src.utils import file_utils

    original_get_file, original_retrieve = file_utils.get_file, file_utils.urlretrieve

    def cached_only(arguments: dict[str, Any]) -> None:
        if not (arguments["extract"] or arguments["untar"]) and not _in_keras_cache(arguments):
            raise WeightsNotCached(arguments["origin"])

    def refuse(url: str, *args: Any, **kwargs: Any) -> None:
        raise WeightsNotCached(url)

    file_utils.get_file, file_utils.urlretrieve = wrap_get_file(original_get_file, cached_only), refuse
    try:
        yield
    finally:
        file_utils.get_file, file_utils.urlretrieve = original_get_file, original_retrieve


def wrap_get_file(original: Callable[..., Any], serve: Callable[[dict[str, Any]], Any]) -> Callable[..., Any]:
    """Wrap Keras's ``get_file``: ``serve`` gets every argument (defaults filled in) and returns
    what to return instead, or None to let the original run."""
    signature = inspect.signature(original)

    @functools.wraps(original)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        call = signature.bind(*args, **kwargs)
        call.apply_defaults()
        served = serve(call.arguments)
        return original(*args, **kwargs) if served is None else served

    return wrapped


def _in_keras_cache(arguments: dict[str, Any]) -> bool:
    from keras.src.backend import config

    home = os.path.expanduser(arguments["cache_dir"] or config.keras_home())
    fname = arguments["fname"] or os.path.basename(urllib.parse.urlsplit(arguments["origin"]).path)
    return os.path.exists(os.path.join(home, arguments["cache_subdir"], os.fspath(fname)))


def build_application(
    constructor: Callable[..., Any],
    kwargs: dict[str, Any],
    *,
    weights_file: str | os.PathLike[str] | None = None,
    cache: Path | None = None,
    calibration_bytes: int = CALIBRATION_BYTES,
) -> tuple[Any, WeightsSource]:
    """Build ``constructor(**kwargs)`` offline and return the model and where its weights came from.

    Only ``weights='imagenet'`` is redirected; any other ``weights`` value is passed through. A
    stand-in made here is calibrated in batches whose layer outputs stay under ``calibration_bytes``.
    Raises whatever the constructor raises for bad arguments (e.g. a wrong input shape).
    """
    name = getattr(constructor, "__name__", "model")
    if kwargs.get("weights", "imagenet") != "imagenet":
        kind: WeightsKind = "none" if kwargs.get("weights") is None else "file"
        return constructor(**kwargs), WeightsSource(kind, name, _str_or_none(kwargs.get("weights")))
    if weights_file is not None:
        model = constructor(**{**kwargs, "weights": None})
        model.load_weights(os.fspath(weights_file))
        return model, WeightsSource("file", name, os.fspath(weights_file))
    try:
        with no_downloads():
            return constructor(**kwargs), WeightsSource("imagenet", name)
    except WeightsNotCached:
        return _stand_in(constructor, kwargs, cache or cache_root(), calibration_bytes)


def _str_or_none(value: Any) -> str | None:
    return None if value is None else str(value)


def stand_in_path(architecture: str, kwargs: dict[str, Any], cache: Path) -> Path:
    """Return the cache file of the stand-in for this architecture and shape (it may not exist yet).

    Only what decides the weights counts: input size, width (``alpha``) and the top.
    """
    shape = kwargs.get("input_shape")
    tensor = kwargs.get("input_tensor")
    if shape is None and tensor is not None:
        shape = tuple(tensor.shape[1:])
    include_top = kwargs.get("include_top", True)
    shaping = {"architecture": architecture, "input_shape": None if shape is None else tuple(shape),
               "alpha": kwargs.get("alpha", 1.0), "include_top": include_top,
               "classes": kwargs.get("classes", 1000) if include_top else None}
    digest = hashlib.sha256(f"{STAND_IN_VERSION}:{sorted(shaping.items())!r}".encode()).hexdigest()[:16]
    return cache / "weights" / f"{architecture}-{digest}.weights.h5"


def _stand_in(
    constructor: Callable[..., Any], kwargs: dict[str, Any], cache: Path, calibration_bytes: int
) -> tuple[Any, WeightsSource]:
    path = stand_in_path(constructor.__name__, kwargs, cache)
    model = constructor(**{**kwargs, "weights": None})
    if path.is_file():
        model.load_weights(os.fspath(path))
    else:
        seed = int(path.stem.split("-")[1].split(".")[0], 16) % (2**32)
        initialise(model, seed)
        calibrate_batchnorm(model, preprocess_for(constructor), calibration_bytes)
        _save_atomically(model, path)
    return model, WeightsSource("stand-in", constructor.__name__, os.fspath(path), STAND_IN_NOTE)


def _save_atomically(model: Any, path: Path) -> None:
    """Cache the stand-in; a read-only cache (as inside the sandbox) only costs a rebuild next time."""
    staging = path.with_name(f"{path.stem.split('.')[0]}.tmp{os.getpid()}.weights.h5")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        model.save_weights(os.fspath(staging))
        staging.replace(path)
    except OSError:
        try:
            staging.unlink(missing_ok=True)
        except OSError:  # a read-only file system refuses even that
            pass


def initialise(model: Any, seed: int) -> None:
    """Give every weight a seeded value, independent of the process's global random state."""
    rng = np.random.default_rng(seed)
    for variable in model.weights:
        shape = tuple(variable.shape)
        leaf = variable.path.rsplit("/", 1)[-1]
        if leaf in _INPUT_STATISTICS and shape == (3,):
            variable.assign(_INPUT_STATISTICS[leaf])  # a Normalization layer (EfficientNet): ImageNet's
        elif shape:  # a scalar (a Normalization layer's count) keeps its value
            variable.assign(_initial_value(variable.path, shape, rng))
    # The last BatchNorm feeds the features a head will see: centred at zero, its ReLU leaves them
    # sparse and small, as a trained network's are, rather than a large constant a head must cancel.
    last_beta = [variable for variable in model.weights if variable.path.endswith("/beta")][-1:]
    for variable in last_beta:
        variable.assign(np.zeros(tuple(variable.shape), np.float32))


# The per-channel statistics of ImageNet on the [0, 1] scale, which the real weights of the models that
# normalise inside (EfficientNet) carry in their Normalization layer.
_INPUT_STATISTICS = {"mean": np.array([0.485, 0.456, 0.406], np.float32),
                     "variance": np.square(np.array([0.229, 0.224, 0.225], np.float32))}


def _initial_value(path: str, shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
    leaf = path.rsplit("/", 1)[-1]
    if leaf in {"gamma", "moving_variance"}:
        return np.ones(shape, np.float32)
    if leaf == "beta":
        # Centre activations well inside ReLU6's linear range: a near-linear random network
        # passes colour and brightness cues to its last layer instead of rectifying them away.
        return np.full(shape, _ACTIVATION_OFFSET, np.float32)
    if leaf in {"bias", "moving_mean"}:
        return np.zeros(shape, np.float32)
    fan_in = int(np.prod(shape[:-1])) if len(shape) > 1 else shape[0]
    # He-normal: keeps activations' scale through ReLU layers before BatchNorm recalibrates them.
    return rng.normal(0.0, np.sqrt(2.0 / max(fan_in, 1)), size=shape).astype(np.float32)


def preprocess_for(constructor: Callable[..., Any]) -> Callable[[np.ndarray], np.ndarray]:
    """Return the ``preprocess_input`` of the application module that defines ``constructor``."""
    module = importlib.import_module(constructor.__module__)
    preprocess = getattr(module, "preprocess_input", None)
    if preprocess is None:
        return lambda images: images / 127.5 - 1.0
    return preprocess


def calibrate_batchnorm(model: Any, preprocess: Callable[[np.ndarray], np.ndarray],
                        calibration_bytes: int = CALIBRATION_BYTES) -> None:
    """Set every BatchNorm layer's moving statistics to those of synthetic images.

    A forward pass in training mode with momentum 0 makes each layer's moving mean and variance
    equal to its batch statistics; since each layer normalises with those same statistics in that
    pass, every layer is calibrated on the inputs it will see in inference. A model whose pass over
    all the images would not fit in memory (``calibration_batch``) is calibrated batch by batch,
    and each layer gets the statistics of all the images (the mean of the batches' means, and the
    mean of their variances plus the variance of their means).
    """
    from keras import layers

    batchnorms = [layer for layer in _all_layers(model) if isinstance(layer, layers.BatchNormalization)]
    saved = [layer.momentum for layer in batchnorms]
    for layer in batchnorms:
        layer.momentum = 0.0
    images = preprocess(calibration_images(model))
    size = calibration_batch(model, calibration_bytes)
    try:
        if size >= len(images):
            model(images, training=True)
            return
        totals = [[0.0, 0.0, 0.0] for _ in batchnorms]  # per layer: sums of means, variances, squared means
        for start in range(0, len(images), size):
            batch = images[start:start + size]
            model(batch, training=True)
            for total, layer in zip(totals, batchnorms):
                mean = np.asarray(layer.moving_mean, np.float64)
                total[0] += mean * len(batch)
                total[1] += np.asarray(layer.moving_variance, np.float64) * len(batch)
                total[2] += mean * mean * len(batch)
        for layer, total in zip(batchnorms, totals):
            mean, variance, square = (value / len(images) for value in total)
            layer.moving_mean.assign(mean.astype(np.float32))
            layer.moving_variance.assign((variance + np.maximum(square - mean * mean, 0.0)).astype(np.float32))
    finally:
        for layer, momentum in zip(batchnorms, saved):
            layer.momentum = momentum


def calibration_batch(model: Any, calibration_bytes: int = CALIBRATION_BYTES) -> int:
    """How many calibration images one forward pass of ``model`` may take: all of them, unless
    the layers' outputs for them would pass ``calibration_bytes``."""
    per_image = 0
    for layer in _all_layers(model):
        shape = getattr(getattr(layer, "output", None), "shape", None)
        if shape is not None and all(isinstance(dim, int) for dim in shape[1:]):
            per_image += 4 * int(np.prod(shape[1:]))
    return max(1, min(_CALIBRATION_IMAGES, calibration_bytes // max(per_image, 1)))


def _all_layers(model: Any) -> list[Any]:
    found = []
    for layer in model.layers:
        found.append(layer)
        if hasattr(layer, "layers"):
            found.extend(_all_layers(layer))
    return found


def calibration_images(model: Any) -> np.ndarray:
    """Return a float batch of synthetic images (0..255) sized for ``model``'s input."""
    from grader.offline.synthetic import CLASSES, draw_image

    height, width = (dim or 224 for dim in model.input_shape[1:3])
    images = [
        np.asarray(draw_image(CLASSES[i % 2], 900_000 + i).resize((width, height)), np.float32)
        for i in range(_CALIBRATION_IMAGES)
    ]
    return np.stack(images)

"""Questions about the model's layers as snapshotted by the harness (a flattened, call-ordered list)."""

from __future__ import annotations

from typing import Any


def base_index(layers: list[dict[str, Any]]) -> int | None:
    """Position of the pretrained base in the list, or None."""
    return next((i for i, layer in enumerate(layers) if "base" in layer), None)


def before_base(layers: list[dict[str, Any]]) -> list[dict[str, Any]]:
    index = base_index(layers)
    return layers[:index] if index is not None else []


def after_base(layers: list[dict[str, Any]]) -> list[dict[str, Any]]:
    index = base_index(layers)
    return layers[index + 1:] if index is not None else []


def of_class(layers: list[dict[str, Any]], *names: str) -> list[dict[str, Any]]:
    return [layer for layer in layers if layer.get("class") in names]


def computing(layers: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Layers that transform tensors (containers such as a nested Sequential left out)."""
    return [layer for layer in layers if layer.get("class") not in ("Sequential", "Functional", "Model")]


def describe(layer: dict[str, Any]) -> str:
    config = layer.get("config", {})
    shown = ", ".join(f"{k}={v!r}" for k, v in config.items() if k in ("units", "activation", "rate", "factor", "mode"))
    return f"{layer.get('class')}({shown})"


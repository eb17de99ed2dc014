"""Grader for the transfer-learning lab (MobileNetV2, cats vs dogs, Keras 3)."""

from __future__ import annotations

__version__ = "0.1.0"

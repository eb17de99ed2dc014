"""Trace lines are signed with a key the parent hands the harness through a pipe."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable


def signer(key: bytes) -> Callable[[str], str]:
    """A function that signs one trace line with ``key`` (kept only in its closure)."""
    def sign(line: str) -> str:
        return hmac.new(key, line.encode(), hashlib.sha256).hexdigest()[:32]

    return sign


def verify(line: str, mac: str, key: bytes) -> bool:
    """Whether ``mac`` is the signature of ``line`` under ``key``."""
    return hmac.compare_digest(signer(key)(line), mac)

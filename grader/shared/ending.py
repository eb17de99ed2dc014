"""How a child process that has used TensorFlow ends."""

from __future__ import annotations

import atexit
import os
import sys
from typing import NoReturn


def exit_now(code: int) -> NoReturn:
    """End the process with ``code``: run the ``atexit`` handlers (the student's and the
    libraries'), flush the standard streams, and leave without the interpreter's teardown.

    After a MobileNetV2 has trained, that teardown (collecting TensorFlow's objects, joining its
    thread pools, finalising modules) takes 2.3 s and does nothing a grade needs; this way the
    process is gone in 0.2 s. Everything the parent reads is already on disk: the trace is flushed
    per event and the saved models are closed when written. Threads the script left running end
    with it, as they would at a timeout.
    """
    try:
        atexit._run_exitfuncs()
    finally:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except (OSError, ValueError):
                pass
        os._exit(code & 0xFF)  # what sys.exit(code) would give the parent

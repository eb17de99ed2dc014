"""Child entry point: ``python -m grader.harness CONFIG.json``.

Installs the offline harness, runs the student's script as ``__main__``, and records in the trace
how it ended. Exit code: the script's own (0 on success, 1 on an exception). The process ends
without the interpreter's slow teardown (``shared.ending``).
"""

from __future__ import annotations

import os
import runpy
import sys
import traceback
from pathlib import Path
from types import TracebackType

from grader.harness import training
from grader.harness.trace import Trace
from grader.shared.budget import HarnessConfig
from grader.shared.ending import exit_now
from grader.shared.layout import Scratch


def _student_frame(tb: TracebackType | None, workdir: str) -> dict[str, object]:
    """The innermost traceback frame in the student's files: where to point them."""
    found: dict[str, object] = {}
    while tb is not None:
        filename = tb.tb_frame.f_code.co_filename
        if os.path.isabs(filename) and filename.startswith(workdir + os.sep):
            found = {"file": os.path.relpath(filename, workdir), "line": tb.tb_lineno}
        tb = tb.tb_next
    return found


def install(config: HarnessConfig, trace: Trace) -> training.Recorder:
    """Install every patch, before the student's first line runs; return the training recorder."""
    import keras

    from grader.harness import applications, compat, data

    keras.utils.set_random_seed(config.seed)
    compat.install(trace, Path(config.workdir))
    applications.install(trace, Path(config.weights_cache), config.weights_file, int(config.budget.memory_gib * 2**30))
    keras_home = Path(os.environ.get("KERAS_HOME", Path.home() / ".keras"))
    petimages = Path(config.petimages_zip) if config.petimages_zip else None
    flowers = Path(config.flowers_root) if config.flowers_root else None
    pets = Path(config.tfds_pets_root) if config.tfds_pets_root else None
    data.install(data.DatasetRedirect(Path(config.data_root), config.data_kind, Path(config.data_zip),
                                      keras_home, trace, petimages, flowers, pets))
    return training.install(training.Recorder(trace, config))


def run(config: HarnessConfig, trace: Trace) -> int:
    """Run the script; record an ``exit`` or ``exception`` event; return the exit code."""
    workdir = os.path.abspath(config.workdir)
    sys.argv = [config.script]
    sys.path.insert(0, os.path.dirname(os.path.abspath(config.script)))
    try:
        runpy.run_path(config.script, run_name="__main__")
    except SystemExit as stop:
        code = stop.code if isinstance(stop.code, int) else (0 if stop.code is None else 1)
        trace.emit("exit", code=code, **_student_frame(stop.__traceback__, workdir))
        return code
    except BaseException as error:  # noqa: BLE001 - every failure of the student's code is data
        lines = traceback.format_exception(type(error), error, error.__traceback__)
        trace.emit("exception", type=type(error).__name__, message=str(error)[:2000],
                   traceback="".join(lines)[-6000:], **_student_frame(error.__traceback__, workdir))
        return 1
    return 0


def _read_key(fd: int | None) -> bytes:
    """The trace-signing key, read from the pipe the parent gave and closed at once."""
    if fd is None:
        return b""
    try:
        return os.read(fd, 64)
    finally:
        os.close(fd)


def main() -> int:
    config = HarnessConfig.read(Path(sys.argv[1]))
    trace = Trace(Scratch(Path(config.workdir)).trace, Path(config.workdir), _read_key(config.key_fd))
    trace.emit("harness_start", python=sys.version.split()[0], pid=os.getpid())
    import keras
    import tensorflow as tf

    recorder = install(config, trace)
    trace.emit("versions", tensorflow=tf.__version__, keras=keras.__version__)
    code = run(config, trace)
    trace.emit("end", code=code, fits=recorder.fits)
    sys.stdout.flush()
    return code


if __name__ == "__main__":
    exit_now(main())

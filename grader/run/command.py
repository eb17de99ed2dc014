"""The command line and environment of a sandboxed grader module (the harness or the inspector)."""

from __future__ import annotations

import sys
from pathlib import Path

import grader
from grader.run.sandbox import Isolation, bwrap_command, drops_privileges, prepare_scratch_owner, python_executable, run_uid
from grader.bundled import bundled_folders
from grader.shared.layout import GRADER_MOUNT, KAGGLE_INPUT, NOTEBOOK_HOMES


def grader_command(module: list[str], writable: Path, readable: list[Path], env: dict[str, str],
                   isolation: Isolation, notebook_homes: bool = False) -> list[str]:
    """``python -m`` one of the grader's modules as a child: under bwrap, it sees only the Python
    environment, the ``grader`` package, ``readable`` (read-only) and ``writable``; when the grader
    is root, ``writable`` is given to a user id of the child's own, which it runs as. With
    ``notebook_homes``, ``writable`` is also seen at Colab's and Kaggle's folders."""
    command = [python_executable(), "-m", *module]
    uid = run_uid() if drops_privileges(isolation) else None
    if uid is not None:
        prepare_scratch_owner(writable, uid)
    if isolation != "bwrap":
        return command
    aliases, empty = (tuple(NOTEBOOK_HOMES), (KAGGLE_INPUT,)) if notebook_homes else ((), ())
    return _with_grader_mount(bwrap_command(command, writable, _python_prefixes() + readable, env, uid, aliases, empty))


def _python_prefixes() -> list[Path]:
    """The Python environment's folders: the child needs them (read-only) to import TensorFlow."""
    return [Path(p).resolve() for p in {sys.prefix, sys.base_prefix, sys.exec_prefix}]


def _package() -> Path:
    return Path(grader.__file__).resolve().parent


def _with_grader_mount(command: list[str]) -> list[str]:
    """Bind only the ``grader`` package (not its repository: tests stay out of reach), and hide the
    shipped rubrics and reference (hidden checks, model answers) where the Python environment,
    which the child sees, holds them."""
    split = command.index("--clearenv")
    mount = ["--perms", "0755", "--dir", str(GRADER_MOUNT.parent), "--perms", "0755", "--dir", str(GRADER_MOUNT),
             "--ro-bind", str(_package()), str(GRADER_MOUNT / "grader")]
    for folder in bundled_folders():
        if any(folder.is_relative_to(prefix) for prefix in _python_prefixes()):
            mount += ["--tmpfs", str(folder)]
    return command[:split] + mount + command[split:]


def child_env(home: Path, isolation: Isolation, extra: dict[str, str]) -> dict[str, str]:
    """The whole environment of a sandboxed child: nothing of the grader's own passes through."""
    grader_path = GRADER_MOUNT if isolation == "bwrap" else _package().parent
    return {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "HOME": str(home),
        "KERAS_HOME": str(home / ".keras"),
        "MPLCONFIGDIR": str(home / ".matplotlib"),
        "XDG_CACHE_HOME": str(home / ".cache"),
        "MPLBACKEND": "Agg",
        "PYTHONPATH": str(grader_path),
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONHASHSEED": "0",
        "PYTHONUNBUFFERED": "1",
        "TF_CPP_MIN_LOG_LEVEL": "2",
        "TF_DETERMINISTIC_OPS": "1",  # grading the same submission twice gives the same result
        "CUDA_VISIBLE_DEVICES": "",
        # glibc reserves 64 MiB of address space per malloc arena, up to 8 arenas a core: on a
        # many-core machine TensorFlow's threads alone pass the address-space limit with little
        # memory in use, and native code then fails (MemoryError, SIGABRT, SIGSEGV). Two arenas
        # keep the reservation near what the run uses, whatever the machine.
        "MALLOC_ARENA_MAX": "2",
        "NO_COLOR": "1",
        "LANG": "C.UTF-8",
        **extra,
    }

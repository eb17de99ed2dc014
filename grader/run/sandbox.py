"""Start a child process isolated from the network, the machine and other students' work.

Where ``bwrap`` (bubblewrap) exists: a new mount, PID, network, IPC and UTS namespace; a root
made of read-only binds of just what Python needs (system folders, the virtual environment, the
grader's harness, the offline cache) and one writable scratch folder; killed with the parent;
run as an unprivileged user when the grader is root. Everywhere: resource limits (memory,
processes, file size, CPU time), a wall-clock timeout, and capped output. Memory is held to what
the run uses, not to its address space (``grader.run.memory``).
"""

from __future__ import annotations

import itertools
import os
import resource
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from grader.errors import SandboxError
from grader.run.memory import GIB, MemoryUse, MemoryWatch

Isolation = Literal["bwrap", "process"]
_RUN_UIDS = itertools.count()
_SYSTEM_DIRS = ("/usr", "/bin", "/lib", "/lib32", "/lib64", "/sbin", "/etc")


@dataclass(frozen=True)
class Limits:
    """Bounds on one child process besides its wall time (which the run budget sets).

    ``memory_bytes``: what the run may use, private writable memory per process and resident plus
    swapped memory of all its processes (``RunSettings.run_limits`` sets it from the rubric's
    ``[run] memory_gib`` and the machine)."""

    memory_bytes: int = 8 * GIB
    processes: int = 1024
    file_size_bytes: int = 512 * 2**20
    output_bytes: int = 64 * 2**10  # kept from each of stdout and stderr (head and tail)

    def cpu_seconds(self, timeout_seconds: float) -> int:
        """CPU time allowed: two cores may be busy for the whole wall-clock budget, plus start-up."""
        return int(timeout_seconds * 2 + 60)


@dataclass(frozen=True)
class ChildOutcome:
    """How the child ended, as the operating system tells it."""

    returncode: int | None
    timed_out: bool
    duration: float
    stdout: str
    stderr: str
    signal_name: str | None
    memory: MemoryUse | None = None  # its peak, and whether it was stopped at the memory limit


def available_isolation(prefer: Isolation | None = None) -> Isolation:
    """Return "bwrap" when bubblewrap is installed and works here, else "process".

    Raises ``SandboxError`` when bwrap was asked for explicitly and cannot be used.
    """
    if prefer == "process":
        return "process"
    if shutil.which("bwrap") and _bwrap_works():
        return "bwrap"
    if prefer == "bwrap":
        raise SandboxError("--isolation bwrap: bubblewrap is not installed or does not work here "
                           "(on Debian/Ubuntu: sudo apt-get install -y bubblewrap)")
    return "process"


_BWRAP_OK: bool | None = None


def _bwrap_works() -> bool:
    global _BWRAP_OK
    if _BWRAP_OK is None:
        try:
            probe = subprocess.run(["bwrap", "--ro-bind", "/", "/", "--unshare-net", "true"],
                                   capture_output=True, timeout=20)
            _BWRAP_OK = probe.returncode == 0
        except (OSError, subprocess.TimeoutExpired):
            _BWRAP_OK = False
    return _BWRAP_OK


def run_uid() -> int:
    """A user id of its own for one run (no account needed): the process limit counts processes
    per user, so a fork flood in one submission cannot starve another running beside it."""
    return 200_000 + (os.getpid() % 4096) * 256 + next(_RUN_UIDS) % 256


def drops_privileges(isolation: Isolation) -> bool:
    """Whether the child runs under its own unprivileged user id (bwrap started by root)."""
    return isolation == "bwrap" and os.geteuid() == 0 and shutil.which("setpriv") is not None


def bwrap_command(command: list[str], scratch: Path, readable: list[Path], env: dict[str, str],
                  uid: int | None = None, aliases: tuple[str, ...] = (), empty: tuple[str, ...] = ()) -> list[str]:
    """Wrap ``command`` in bubblewrap: only ``readable`` (read-only) and ``scratch`` (writable) exist.

    ``aliases``: more paths at which ``scratch`` is seen (``/content``); ``empty``: empty folders
    made in the sandbox's root. With ``uid``, the command runs under that unprivileged user id
    (the grader must be root)."""
    # No user namespace: the child must really run under an unprivileged id for its process limit to hold.
    args = ["bwrap", "--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try",
            "--die-with-parent", "--new-session",
            "--proc", "/proc", "--dev", "/dev", "--perms", "1777", "--tmpfs", "/dev/shm", "--perms", "1777", "--tmpfs", "/tmp"]
    for folder in _SYSTEM_DIRS:
        path = Path(folder)
        if path.is_symlink():
            args += ["--symlink", os.readlink(path), folder]
        elif path.is_dir():
            args += ["--ro-bind", folder, folder]
    made: set[Path] = set()
    for path in _outermost(readable):
        args += _parents(path, made) + ["--ro-bind", str(path), str(path)]
    args += _parents(scratch, made) + ["--bind", str(scratch), str(scratch)]
    for alias in aliases:
        args += _parents(Path(alias), made) + ["--bind", str(scratch), alias]
    for folder in empty:
        args += _parents(Path(folder), made) + ["--perms", "0777", "--dir", folder]
    args += ["--chdir", str(scratch), "--clearenv"]
    for key, value in env.items():
        args += ["--setenv", key, value]
    if uid is not None:
        # As root, RLIMIT_NPROC is not enforced and every file is writable: drop to an unprivileged id.
        args += ["--", "setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "--"]
    else:
        args += ["--"]
    return args + command


def _parents(path: Path, made: set[Path]) -> list[str]:
    """bwrap makes missing mount points as root-only folders: make them traversable first."""
    args: list[str] = []
    for parent in reversed(path.parents):
        if parent != Path("/") and parent not in made and str(parent) not in _SYSTEM_DIRS:
            made.add(parent)
            args += ["--perms", "0755", "--dir", str(parent)]
    return args


def _outermost(paths: list[Path]) -> list[Path]:
    """Drop paths inside others (and system folders already bound); keep order stable."""
    resolved = sorted({p.resolve() for p in paths if p.exists()}, key=lambda p: len(p.parts))
    kept: list[Path] = []
    for path in resolved:
        if any(path.is_relative_to(outer) for outer in kept):
            continue
        if any(path.is_relative_to(folder) for folder in _SYSTEM_DIRS if not Path(folder).is_symlink()):
            continue
        kept.append(path)
    return kept


def prepare_scratch_owner(scratch: Path, uid: int) -> None:
    """Give the scratch folder to the unprivileged user id the child will run as."""
    for root, folders, files in os.walk(scratch):
        for name in [*folders, *files]:
            os.lchown(os.path.join(root, name), uid, uid)
    os.chown(scratch, uid, uid)


def _limit_child(limits: Limits, timeout_seconds: float) -> None:
    """Runs in the child between fork and exec: resource limits and core dumps off."""
    # Private writable memory, not address space: TensorFlow reserves far more than it writes to.
    resource.setrlimit(resource.RLIMIT_DATA, (limits.memory_bytes, limits.memory_bytes))
    resource.setrlimit(resource.RLIMIT_NPROC, (limits.processes, limits.processes))
    resource.setrlimit(resource.RLIMIT_FSIZE, (limits.file_size_bytes, limits.file_size_bytes))
    cpu = limits.cpu_seconds(timeout_seconds)
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 5))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


@dataclass(frozen=True)
class StartedChild:
    """A child started by ``start_child``, to be ended by ``finish_child``."""

    process: subprocess.Popen
    started: float
    limits: Limits
    timeout_seconds: float
    logs: Path
    watch: MemoryWatch


def start_child(command: list[str], cwd: Path, env: dict[str, str], limits: Limits, timeout_seconds: float,
                logs: Path, pass_fds: tuple[int, ...] = (), stdin_pipe: bool = False) -> StartedChild:
    """Start ``command`` with ``limits`` and ``timeout_seconds`` of wall time; stdout/stderr go to
    files in ``logs`` (outside the scratch).

    ``pass_fds`` stay open in the child (and are closed here once it has started). With
    ``stdin_pipe``, ``finish_child`` can hand the child its input."""
    logs.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    with open(logs / "stdout", "wb") as out, open(logs / "stderr", "wb") as err:
        process = subprocess.Popen(command, cwd=cwd, env=env, stdout=out, stderr=err,
                                   stdin=subprocess.PIPE if stdin_pipe else subprocess.DEVNULL,
                                   start_new_session=True, preexec_fn=lambda: _limit_child(limits, timeout_seconds),
                                   pass_fds=pass_fds)
    for fd in pass_fds:
        os.close(fd)
    return StartedChild(process, started, limits, timeout_seconds, logs, MemoryWatch(process.pid, limits.memory_bytes))


def finish_child(child: StartedChild, stdin_data: bytes | None = None) -> ChildOutcome:
    """Give the child its input (if any), wait until it ends or its time is up, kill its whole group."""
    process, limits = child.process, child.limits
    if process.stdin is not None:
        try:
            process.stdin.write(stdin_data or b"")
            process.stdin.close()
        except OSError:  # it has already ended
            pass
    timed_out = False
    try:
        process.wait(timeout=max(0.0, child.timeout_seconds - (time.monotonic() - child.started)))
    except subprocess.TimeoutExpired:
        timed_out = True
    finally:
        memory = child.watch.stop()
        kill_group(process.pid)
        process.wait()
    code = process.returncode
    signal_name = signal.Signals(-code).name if code is not None and code < 0 else None
    return ChildOutcome(code, timed_out and not memory.exceeded, time.monotonic() - child.started,
                        _read_capped(child.logs / "stdout", limits), _read_capped(child.logs / "stderr", limits),
                        signal_name, memory)


def run_child(command: list[str], cwd: Path, env: dict[str, str], limits: Limits, timeout_seconds: float,
              logs: Path, pass_fds: tuple[int, ...] = ()) -> ChildOutcome:
    """Run ``command`` to its end (or its timeout); see ``start_child``."""
    return finish_child(start_child(command, cwd, env, limits, timeout_seconds, logs, pass_fds))


def kill_group(pid: int) -> None:
    """Kill the child's whole process group (its session), ignoring one that is already gone."""
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _read_capped(path: Path, limits: Limits) -> str:
    """Head and tail of a possibly huge output file, each at most half of ``output_bytes``."""
    size = path.stat().st_size
    half = limits.output_bytes // 2
    with open(path, "rb") as handle:
        if size <= limits.output_bytes:
            return handle.read().decode("utf-8", "replace")
        head = handle.read(half)
        handle.seek(size - half)
        tail = handle.read()
    skipped = size - 2 * half
    return (head.decode("utf-8", "replace") + f"\n[... {skipped} bytes of output not kept ...]\n"
            + tail.decode("utf-8", "replace"))


def python_executable() -> str:
    """The interpreter of this environment (the child must import the same TensorFlow)."""
    return sys.executable

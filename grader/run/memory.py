"""What a run really uses of the machine's memory: its limit, and a watch on its processes.

Address space (``RLIMIT_AS``) is no measure of a TensorFlow run: a MobileNetV2 process reserves
1.4 GiB more address space than it writes to, and a limit on it made failures look like the
student's bug. A run is held instead to what it uses:

- each process's private writable memory (``RLIMIT_DATA``, set in the child), which is what a
  tensor, a NumPy array or a ``bytearray`` takes: an allocation past it fails in the process,
  where TensorFlow names the tensor's shape;
- the resident and swapped memory of the whole run, summed over its processes (this watch, read
  from ``/proc`` by the parent): more processes than one, or memory that ``RLIMIT_DATA`` does
  not count, are stopped here; the run is killed.

The watch also keeps the run's peak (the largest sum it saw, or a process's own high-water mark),
which results and ``bench/bases.py`` report.
"""

from __future__ import annotations

import os
import signal
import threading
from dataclasses import dataclass
from pathlib import Path

GIB = 2**30
_RESERVED = 1 * GIB  # left to the grader and the system on any machine
_PROC = Path("/proc")


def machine_memory_bytes() -> int:
    """The machine's physical memory; 0 where it cannot be read."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return 0


def memory_limit_bytes(requested_gib: float, machine: int | None = None) -> int:
    """The limit a run gets: ``requested_gib`` (a rubric's ``[run] memory_gib``), never more than
    the machine has less a reserve for the grader and the system."""
    machine = machine_memory_bytes() if machine is None else machine
    requested = int(requested_gib * GIB)
    if machine <= 0:
        return requested
    return max(GIB // 2, min(requested, machine - _RESERVED))


def in_gib(amount: int) -> str:
    """``amount`` bytes in GiB as reports say it: ``12 GiB``, ``3.5 GiB``."""
    return f"{amount / GIB:.1f}".removesuffix(".0") + " GiB"


@dataclass(frozen=True)
class MemoryUse:
    """What the watch saw of a run: its peak, and whether it was stopped for passing ``limit``."""

    limit: int
    peak: int = 0
    exceeded: bool = False


def _children_map() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for entry in _PROC.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        parent = int(stat[stat.rindex(")") + 2:].split()[1])
        children.setdefault(parent, []).append(int(entry.name))
    return children


def process_tree(root: int) -> list[int]:
    """``root`` and every process descended from it (bwrap's namespace included), from ``/proc``."""
    children, found, waiting = _children_map(), [], [root]
    while waiting:
        pid = waiting.pop()
        found.append(pid)
        waiting.extend(children.get(pid, []))
    return found


def resident(pid: int) -> tuple[int, int]:
    """A process's resident plus swapped memory now, and its resident high-water mark (bytes)."""
    values: dict[str, int] = {}
    try:
        for line in (_PROC / str(pid) / "status").read_text().splitlines():
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmSwap", "VmHWM"):
                values[key] = int(value.split()[0]) * 1024
    except (OSError, ValueError, IndexError):
        return 0, 0
    return values.get("VmRSS", 0) + values.get("VmSwap", 0), values.get("VmHWM", 0)


class MemoryWatch:
    """A thread that samples the memory of ``root``'s processes every ``interval`` seconds, keeps
    the peak, and kills them all when their sum passes ``limit``. Does nothing where there is no
    ``/proc`` (the limit in the child still holds)."""

    def __init__(self, root: int, limit: int, interval: float = 0.25) -> None:
        self._root, self._limit, self._interval = root, limit, interval
        self._peak, self._exceeded = 0, False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, name=f"memory-watch-{root}", daemon=True)
        if _PROC.is_dir():
            self._thread.start()

    def _watch(self) -> None:
        while not self._stop.is_set():
            try:
                self._sample()
            except OSError:
                pass
            if self._exceeded:
                return
            self._stop.wait(self._interval)

    def _sample(self) -> None:
        tree = process_tree(self._root)
        now, marks = 0, [0]
        for pid in tree:
            used, mark = resident(pid)
            now += used
            marks.append(mark)
        self._peak = max(self._peak, now, *marks)
        if now > self._limit:
            self._exceeded = True
            for pid in tree:
                try:
                    os.kill(pid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass

    def stop(self) -> MemoryUse:
        """Stop watching (call before the processes are reaped) and return what was seen."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()
        return MemoryUse(self._limit, self._peak, self._exceeded)

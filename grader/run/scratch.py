"""The scratch folder a run may write: made from the student's files, kept or removed after.

Folders are named ``grade-<grader pid>-...`` so that a batch can sweep those of graders that
were killed mid-run.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from grader.intake import Program
from grader.shared.layout import Scratch

_NOT_COPIED = {"grading-results", ".grader", "__pycache__", ".git", ".venv", "venv", "env", "node_modules",
               ".ipynb_checkpoints", "data", "dataset", "datasets", "cats_and_dogs_filtered", "PetImages",
               "training_set", "test_set"}
_MAX_COPIED_FILE = 5 * 2**20


def make_work_folder(root: Path | None) -> Path:
    """A new, empty folder for one run (its scratch, control files, logs), under ``root`` or the temp folder."""
    return Path(tempfile.mkdtemp(prefix=f"grade-{os.getpid()}-", dir=root))


def fill_scratch(scratch: Scratch, program: Program, files: tuple[Path, ...] | None) -> Path:
    """Copy the student's files into ``scratch`` and write the prepared script; return its path.

    ``files``: only these (a flat or LMS layout); by default the code's folder, less data sets
    and large files."""
    if files is None:
        shutil.copytree(program.origin.parent, scratch.root, symlinks=False, ignore=_ignore_large)
    else:
        scratch.root.mkdir()
        for path in files:
            shutil.copy2(path, scratch.root / path.name)
    script = scratch.root / program.script_name
    script.write_text(program.source, encoding="utf-8")
    scratch.artifacts.mkdir(parents=True)
    scratch.home.mkdir(exist_ok=True)
    return script


def _ignore_large(folder: str, names: list[str]) -> list[str]:
    """Leave out what a run never needs: data sets (the harness serves its own), environments,
    earlier grading output, and files over 5 MiB (a student's own folder may be their Downloads)."""
    skipped = []
    for name in names:
        path = Path(folder) / name
        if name in _NOT_COPIED or (path.is_file() and path.stat().st_size > _MAX_COPIED_FILE):
            skipped.append(name)
    return skipped


def keep_outputs(scratch: Scratch, logs: Path, keep: Path) -> tuple[str, ...]:
    """Copy saved models, logs and the trace out of the scratch folder; return the models' new paths."""
    keep.mkdir(parents=True, exist_ok=True)
    kept = []
    for artifact in scratch.saved_models():
        shutil.copy2(artifact, keep / artifact.name)
        kept.append(str(keep / artifact.name))
    for name in ("stdout", "stderr"):
        if (logs / name).exists():
            shutil.copy2(logs / name, keep / f"{name}.txt")
    if scratch.trace.exists():
        shutil.copy2(scratch.trace, keep / scratch.trace.name)
    return tuple(kept)


def sweep_stale_scratch(root: Path | None = None) -> list[Path]:
    """Remove scratch folders left by graders that were killed mid-run (their process is gone).

    Folders of live graders are kept. Returns what was removed."""
    removed = []
    for folder in Path(root or tempfile.gettempdir()).glob("grade-*-*"):
        pid = folder.name.split("-")[1]
        if not pid.isdigit() or folder.is_symlink() or not folder.is_dir() or _alive(int(pid)):
            continue
        shutil.rmtree(folder, ignore_errors=True)
        removed.append(folder)
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):
        return True
    return True

"""The data the package ships: the lab's rubrics and its reference solution and model answers.

In the repository they live in ``rubrics/`` and ``reference/``; the wheel carries the same folders
as the packages ``dl_lab_rubrics`` and ``dl_lab_reference`` (a package-dir mapping in
``pyproject.toml``), outside ``grader/`` so that the sandbox, which sees only ``grader/``, cannot
read them. Run from a source tree that was not installed, the repository's folders are used.
"""

from __future__ import annotations

import importlib.resources
import importlib.util
from pathlib import Path

from grader.errors import GraderError

RUBRICS = "dl_lab_rubrics"
REFERENCE = "dl_lab_reference"
_FOLDERS = {RUBRICS: "rubrics", REFERENCE: "reference"}
DEFAULT_RUBRIC = "transfer_learning.toml"


def bundled_file(package: str, name: str) -> Path:
    """The path of the shipped file ``name`` of ``package`` (``RUBRICS`` or ``REFERENCE``).

    Raises ``GraderError`` if the installation does not have it."""
    try:
        path = Path(str(importlib.resources.files(package).joinpath(name)))
    except ModuleNotFoundError:
        path = Path(__file__).resolve().parent.parent / _FOLDERS[package] / name
    if not path.is_file():
        raise GraderError(f"{name} is missing from this installation of the grader (looked for {path}); "
                          "reinstall it with pip install dl-lab-grader")
    return path


def default_rubric() -> Path:
    """The default rubric: this lab's, as shipped."""
    return bundled_file(RUBRICS, DEFAULT_RUBRIC)


def shipped_rubrics() -> dict[str, Path]:
    """The rubrics shipped with the grader, by name (``transfer_learning``, ``tf_tutorial``, ...)."""
    folder = default_rubric().parent
    return {path.stem: path for path in sorted(folder.glob("*.toml"))}


def reference_script() -> Path:
    """The reference solution of the lab."""
    return bundled_file(REFERENCE, "transfer.py")


def reference_scripts() -> list[Path]:
    """The shipped reference solutions of every lab (``reference/transfer.py``, ``reference/<lab>/``):
    code that comparing students' code leaves out, as the lab hands it out."""
    folder = reference_script().parent
    return sorted(path for path in folder.rglob("*.py") if path.name != "__init__.py")


def bundled_folders() -> list[Path]:
    """Where the shipped data packages are installed (to hide them from the sandbox); none when the
    grader runs from a source tree, whose ``rubrics/`` and ``reference/`` the sandbox never sees."""
    folders = []
    for package in _FOLDERS:
        try:
            spec = importlib.util.find_spec(package)
        except (ImportError, ValueError):
            continue
        for location in (spec.submodule_search_locations or []) if spec else []:
            folders.append(Path(location).resolve())
    return folders

"""A Gradescope autograder bundle: the zip an instructor uploads to Gradescope.

It holds ``setup.sh`` (run once when Gradescope builds the image: Python, bubblewrap, the grader's
dependencies), ``run_autograder`` (run for each submission: ``grade check`` on the submission
folder, its result written where Gradescope reads it, ``/autograder/results/results.json``), the
rubric, and the grader's own packages as installed here (so the bundle grades exactly as this
grader does).
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import io
import zipfile
from pathlib import Path

from grader.errors import GraderError

SETUP = """#!/usr/bin/env bash
# Gradescope runs this once, when it builds the autograder's image.
set -euo pipefail
apt-get update -qq
apt-get install -y -qq python3 python3-venv bubblewrap
python3 -m venv /autograder/venv
/autograder/venv/bin/pip install -q -r /autograder/source/requirements.txt
"""

RUN = """#!/usr/bin/env bash
# Gradescope runs this for each submission: the student's self-check, as the class is graded, with
# the result where Gradescope reads it. AUTOGRADER_ROOT and GRADER_PYTHON let it run elsewhere.
set -uo pipefail
ROOT="${AUTOGRADER_ROOT:-/autograder}"
PYTHON="${GRADER_PYTHON:-$ROOT/venv/bin/python}"
mkdir -p "$ROOT/results"
cd "$ROOT/source"
PYTHONPATH="$ROOT/source" "$PYTHON" -m grader check "$ROOT/submission" --rubric "$ROOT/source/rubric.toml" \\
    --gradescope "$ROOT/results/results.json" -q
status=$?
if [ ! -s "$ROOT/results/results.json" ]; then
    printf '{"score": 0, "output": "The grader could not grade this submission (exit %s): tell your instructor."}\\n' \\
        "$status" > "$ROOT/results/results.json"
fi
exit 0
"""

_PACKAGES = ("grader", "dl_lab_rubrics", "dl_lab_reference")


def bundle(rubric: Path) -> bytes:
    """The autograder zip for ``rubric``. Raises ``GraderError`` if the grader's packages cannot be
    found as files (a zipped installation)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, text in (("setup.sh", SETUP), ("run_autograder", RUN)):
            info = zipfile.ZipInfo(name)
            info.external_attr = 0o100755 << 16  # executable, as Gradescope runs them
            archive.writestr(info, text)
        archive.writestr("rubric.toml", rubric.read_text(encoding="utf-8"))
        archive.writestr("requirements.txt", "\n".join(_requirements()) + "\n")
        for package in _PACKAGES:
            folder = _package_folder(package)
            for path in sorted(folder.rglob("*")):
                if path.is_file() and "__pycache__" not in path.parts:
                    archive.write(path, f"{package}/{path.relative_to(folder).as_posix()}")
    return buffer.getvalue()


def _requirements() -> list[str]:
    """The grader's dependencies, as installed here (its optional extras left out)."""
    try:
        requires = importlib.metadata.requires("dl-lab-grader") or []
    except importlib.metadata.PackageNotFoundError as error:
        raise GraderError("the grader is not installed (pip install .): its dependencies cannot be listed") from error
    return [requirement for requirement in requires if "extra ==" not in requirement]


def _package_folder(package: str) -> Path:
    spec = importlib.util.find_spec(package)
    locations = list(spec.submodule_search_locations or []) if spec else []
    if not locations or not Path(locations[0]).is_dir():
        raise GraderError(f"the package {package} is not installed as files; reinstall the grader with pip install .")
    return Path(locations[0])

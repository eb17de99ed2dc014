"""The Gradescope autograder bundle, run here as Gradescope would run it on one submission."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from conftest import REPOSITORY

# Gradescope's autograder results format: the keys it reads, and the values it accepts.
TOP = {"score": (int, float), "execution_time": (int, float), "output": str, "output_format": str,
       "visibility": str, "stdout_visibility": str, "extra_data": dict, "tests": list, "leaderboard": list}
TEST = {"score": (int, float), "max_score": (int, float), "status": str, "name": str, "name_format": str,
        "number": str, "output": str, "output_format": str, "tags": list, "visibility": str, "extra_data": dict}
VISIBILITY = {"hidden", "after_due_date", "after_published", "visible"}


def spec_problems(document: dict) -> list[str]:
    """Where a results.json departs from Gradescope's format (empty when it does not)."""
    problems = [f"unknown key {key}" for key in document if key not in TOP]
    problems += [f"{key} is {type(value).__name__}" for key, value in document.items()
                 if key in TOP and not isinstance(value, TOP[key])]
    if "score" not in document and not all("score" in test for test in document.get("tests", [])):
        problems.append("no score: neither at the top nor in every test")
    for test in document.get("tests", []):
        problems += [f"test key {key}" for key in test if key not in TEST]
        problems += [f"test {key} is {type(value).__name__}" for key, value in test.items()
                     if key in TEST and not isinstance(value, TEST[key])]
        if test.get("status", "passed") not in ("passed", "failed"):
            problems.append(f"test status {test['status']}")
        if test.get("visibility", "visible") not in VISIBILITY:
            problems.append(f"test visibility {test['visibility']}")
    return problems


def test_the_bundle_holds_what_gradescope_runs(tmp_path: Path) -> None:
    result = subprocess.run([sys.executable, "-m", "grader", "gradescope-bundle", "--out", str(tmp_path / "a.zip")],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    with zipfile.ZipFile(tmp_path / "a.zip") as archive:
        names = set(archive.namelist())
        modes = {info.filename: info.external_attr >> 16 for info in archive.infolist()}
        requirements = archive.read("requirements.txt").decode()
    assert {"setup.sh", "run_autograder", "rubric.toml", "grader/cli.py", "dl_lab_rubrics/transfer_learning.toml"} <= names
    assert modes["run_autograder"] & 0o111 and modes["setup.sh"] & 0o111
    assert "tensorflow" in requirements and "pytest" not in requirements  # extras left out
    assert not [name for name in names if "__pycache__" in name or name.startswith("tests/")]


def test_a_shipped_lab_s_bundle_is_made_by_its_name(tmp_path: Path) -> None:
    result = subprocess.run([sys.executable, "-m", "grader", "gradescope-bundle", "--rubric", "tf_tutorial", "--out",
                             str(tmp_path / "a.zip")], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    with zipfile.ZipFile(tmp_path / "a.zip") as archive:
        assert archive.read("rubric.toml") == (REPOSITORY / "rubrics" / "tf_tutorial.toml").read_bytes()


@pytest.mark.slow
def test_run_autograder_grades_a_submission_into_a_spec_valid_results_json(tmp_path: Path) -> None:
    root = tmp_path / "autograder"
    subprocess.run([sys.executable, "-m", "grader", "gradescope-bundle", "--out", str(tmp_path / "a.zip")], check=True)
    with zipfile.ZipFile(tmp_path / "a.zip") as archive:
        archive.extractall(root / "source")
    shutil.copytree(REPOSITORY / "examples" / "submissions" / "alice_correct", root / "submission")
    result = subprocess.run(["bash", str(root / "source" / "run_autograder")], capture_output=True, text=True,
                            env={**os.environ, "AUTOGRADER_ROOT": str(root), "GRADER_PYTHON": sys.executable},
                            timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    document = json.loads((root / "results" / "results.json").read_text())
    assert spec_problems(document) == []
    names = [test["name"] for test in document["tests"]]
    assert "script.runs" in names and "q1 (written)" in names and "finetune.bn_inference" not in names  # advice
    assert document["score"] == pytest.approx(sum(test["score"] for test in document["tests"]))
    assert document["score"] > 90  # the correct example lab, graded from the bundle's own copy of the grader


def test_the_spec_check_can_fail() -> None:
    assert spec_problems({"score": "full", "tests": [{"status": "ok", "visibility": "everyone", "extra": 1}]}) == [
        "score is str", "test key extra", "test status ok", "test visibility everyone"]

"""The rubric loader: the bundled rubric is valid, and a bad rubric is rejected naming the problem."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from grader.checks import REGISTRY
from grader.errors import RubricError
from grader.bundled import default_rubric
from grader.rubric import LAB_ITEMS, load_rubric

DEFAULT_RUBRIC = default_rubric()

DOCS = Path(__file__).parent.parent / "docs" / "checks.md"


def test_bundled_rubric_is_valid_and_weighs_100_points() -> None:
    rubric = load_rubric()
    assert rubric.max_score == 100
    assert [q.id for q in rubric.questions] == list(LAB_ITEMS)
    assert sum(c.points for c in rubric.checks) + sum(q.points for q in rubric.questions) == 100


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "rubric.toml"
    path.write_text(text)
    return path


def _bundled_with(old: str, new: str) -> str:
    text = DEFAULT_RUBRIC.read_text()
    assert old in text
    return text.replace(old, new, 1)


def test_unknown_check_id_is_rejected_with_the_id(tmp_path: Path) -> None:
    text = _bundled_with('[checks."head.dropout"]', '[checks."head.droput"]')
    with pytest.raises(RubricError, match=r"unknown check id 'head\.droput'.*Received: 'head\.droput'"):
        load_rubric(_write(tmp_path, text))


def test_negative_points_are_rejected_with_the_key(tmp_path: Path) -> None:
    text = _bundled_with('[checks."head.dropout"]\npoints = 3', '[checks."head.dropout"]\npoints = -3')
    with pytest.raises(RubricError, match=r'checks\."head\.dropout"\.points: points must not be negative\. Received: points=-3'):
        load_rubric(_write(tmp_path, text))


def test_missing_question_is_rejected_naming_it(tmp_path: Path) -> None:
    text = DEFAULT_RUBRIC.read_text()
    start = text.index("[questions.q3]")
    end = text.index("[questions.q4]")
    with pytest.raises(RubricError, match=r"missing question 'q3'"):
        load_rubric(_write(tmp_path, text[:start] + text[end:]))


def test_unknown_parameter_and_wrong_type_are_rejected(tmp_path: Path) -> None:
    text = _bundled_with("params = { tolerance = 0.05 }", "params = { tolerence = 0.05 }")
    with pytest.raises(RubricError, match=r"unknown parameter 'tolerence'.*Received: tolerence=0.05"):
        load_rubric(_write(tmp_path, text))
    text = _bundled_with("params = { tolerance = 0.05 }", 'params = { tolerance = "big" }')
    with pytest.raises(RubricError, match=r"tolerance: must be float\. Received: tolerance='big'"):
        load_rubric(_write(tmp_path, text))


def test_points_must_add_up_to_max_score(tmp_path: Path) -> None:
    text = _bundled_with("max_score = 100", "max_score = 90")
    with pytest.raises(RubricError, match=r"add up to 100"):
        load_rubric(_write(tmp_path, text))


def test_invalid_toml_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(RubricError, match="not valid TOML"):
        load_rubric(_write(tmp_path, "[rubric\nname="))
    with pytest.raises(RubricError, match="rubric not found"):
        load_rubric(tmp_path / "absent.toml")


def test_validate_command_exit_codes(tmp_path: Path) -> None:
    good = subprocess.run([sys.executable, "-m", "grader", "rubric", "validate", str(DEFAULT_RUBRIC)],
                          capture_output=True, text=True)
    assert good.returncode == 0, good.stderr
    assert "valid" in good.stdout
    bad = subprocess.run([sys.executable, "-m", "grader", "rubric", "validate",
                          str(_write(tmp_path, _bundled_with("max_score = 100", "max_score = -1")))],
                         capture_output=True, text=True)
    assert bad.returncode == 2
    assert "max_score" in bad.stderr


def test_docs_registry_and_default_rubric_are_in_step() -> None:
    documented = re.findall(r"^## `([a-z0-9_.]+)`", DOCS.read_text(), flags=re.MULTILINE)
    in_rubric = [spec.id for spec in load_rubric().checks]
    assert sorted(documented) == sorted(REGISTRY)
    assert sorted(in_rubric) == sorted(REGISTRY)
    for check_id in REGISTRY:
        section = " ".join(DOCS.read_text().split(f"## `{check_id}`", 1)[1].split("\n## ", 1)[0].split())
        for part in ("What", "Why", "How", "Common causes"):
            assert f"**{part}" in section, (check_id, part)

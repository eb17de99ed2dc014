"""README's set-up commands are the ones CI runs."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).parent.parent


def _commands() -> list[str]:
    return re.findall(r"```\n(python3 -m venv [^\n]+)\n```", (ROOT / "README.md").read_text())


def test_readme_has_exactly_two_setup_commands() -> None:
    commands = _commands()
    assert len(commands) == 2
    assert any("pytest" in command for command in commands)


def test_ci_runs_the_readme_test_command() -> None:
    test_command = next(command for command in _commands() if "pytest" in command)
    assert test_command in (ROOT / ".ci" / "run").read_text()

"""Read a submission's code (a script or a notebook) into one runnable Python program.

IPython magics and ``!shell`` lines are neutralised (in notebooks and, since students paste them
there too, in ``.py`` files); a notebook's code cells are joined in order, with a map from each
program line back to its cell and line.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from grader.errors import SubmissionError

_MAGIC = re.compile(r"^(?P<indent>[ \t]*)(?P<magic>[%!].*)$")
_ASSIGNED_SHELL = re.compile(r"^(?P<head>[ \t]*[\w.]+\s*=\s*)!(?P<command>.*)$")
# Cell magics whose body is still Python: the magic line goes, the body stays.
_PYTHON_CELL_MAGICS = {"time", "timeit", "capture", "prun"}


@dataclass(frozen=True)
class Program:
    """Runnable source for a submission, and how its lines map back to what the student wrote."""

    origin: Path
    kind: Literal["script", "notebook"]
    source: str
    cell_of_line: tuple[tuple[int, int], ...] = ()  # program line -> (cell number, line in cell)
    neutralised: tuple[int, ...] = ()  # program lines whose magic or shell command was removed
    encoding_note: str = ""

    @property
    def script_name(self) -> str:
        """The name the runnable script has in the scratch folder (a notebook gets ``.py`` added)."""
        return self.origin.name + (".py" if self.kind == "notebook" else "")

    def locate(self, line: int) -> tuple[int | None, int]:
        """Return (cell, line) as the student sees it for a program ``line`` (cell None in scripts)."""
        if self.kind == "notebook" and 0 < line <= len(self.cell_of_line):
            return self.cell_of_line[line - 1]
        return None, line

    def syntax_error(self) -> SyntaxError | None:
        """Return the program's syntax error, if it has one (the source is never executed here)."""
        try:
            ast.parse(self.source)
        except SyntaxError as error:
            return error
        return None


def read_program(path: Path) -> Program:
    """Read a ``.py`` or ``.ipynb`` file. Raises ``SubmissionError`` if it cannot be read at all."""
    if path.suffix.lower() == ".ipynb":
        return _read_notebook(path)
    text, note = _decode(path)
    lines, neutralised = _neutralise(text.splitlines())
    return Program(path, "script", "\n".join(lines) + "\n", (), tuple(neutralised), note)


def _decode(path: Path) -> tuple[str, str]:
    try:
        raw = path.read_bytes()
    except OSError as error:
        raise SubmissionError(f"cannot read {path}: {error.strerror}") from None
    try:
        return raw.decode("utf-8-sig"), ""
    except UnicodeDecodeError as error:
        note = (f"{path.name} is not valid UTF-8 (byte {error.start}); it was read as Latin-1, "
                "so some characters may look wrong")
        return raw.decode("latin-1"), note


def _neutralise(lines: list[str], first_number: int = 1) -> tuple[list[str], list[int]]:
    """Replace magic and shell lines by ``pass`` (same indentation, so blocks stay valid)."""
    out, touched = [], []
    for number, line in enumerate(lines, start=first_number):
        assigned = _ASSIGNED_SHELL.match(line)
        magic = _MAGIC.match(line)
        if assigned:
            out.append(f"{assigned['head']}[]  # [grader] shell command not run: !{assigned['command'][:60]}")
            touched.append(number)
        elif magic and not _continues_expression(out):
            out.append(f"{magic['indent']}pass  # [grader] not run: {magic['magic'][:80]}")
            touched.append(number)
        else:
            out.append(line)
    return out, touched


def _continues_expression(previous: list[str]) -> bool:
    """A line starting with ``%`` inside a bracket or after a backslash is Python's modulo."""
    if not previous:
        return False
    last = previous[-1].rstrip()
    if last.endswith("\\"):
        return True
    text = "\n".join(previous[-20:])
    return text.count("(") + text.count("[") + text.count("{") > text.count(")") + text.count("]") + text.count("}")


def _read_notebook(path: Path) -> Program:
    import nbformat

    try:
        notebook = nbformat.read(path, as_version=4)
    except Exception as error:  # noqa: BLE001 - nbformat raises many kinds for broken files
        raise SubmissionError(f"{path.name} is not a readable notebook ({type(error).__name__}: "
                              f"{str(error)[:200]}); was it saved completely?") from None
    lines: list[str] = []
    cell_of_line: list[tuple[int, int]] = []
    neutralised: list[int] = []
    code_cells = [cell for cell in notebook.cells if cell.cell_type == "code"]
    for number, cell in enumerate(code_cells, start=1):
        cell_lines = _cell_lines(cell.source.splitlines())
        converted, touched = _neutralise(cell_lines, first_number=len(lines) + 1)
        neutralised.extend(touched)
        lines.extend(converted)
        cell_of_line.extend((number, line) for line in range(1, len(converted) + 1))
    return Program(path, "notebook", "\n".join(lines) + "\n", tuple(cell_of_line), tuple(neutralised))


def _cell_lines(lines: list[str]) -> list[str]:
    """A cell that starts with a cell magic: keep Python bodies (``%%time``), comment out the rest."""
    if not lines or not lines[0].startswith("%%"):
        return lines
    name = lines[0][2:].split()[0] if lines[0][2:].split() else ""
    if name in _PYTHON_CELL_MAGICS:
        return [f"pass  # [grader] not run: {lines[0][:80]}", *lines[1:]]
    return [f"# [grader] not run (cell magic %%{name}): {line}" for line in lines]

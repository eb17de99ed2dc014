"""Reading scripts and notebooks: magics neutralised, cells mapped back, odd encodings survived."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from grader.errors import SubmissionError
from grader.intake import read_program


def test_magics_and_shell_lines_in_a_script_become_pass(tmp_path: Path) -> None:
    script = tmp_path / "lab.py"
    script.write_text("!pip install tensorflow\n%matplotlib inline\nif True:\n    !ls\nfiles = !ls\nx = 7 % 3\n")
    program = read_program(script)
    compile(program.source, "lab.py", "exec")  # still valid Python
    assert program.neutralised == (1, 2, 4, 5)
    assert "x = 7 % 3" in program.source


def test_modulo_continuation_is_not_a_magic(tmp_path: Path) -> None:
    script = tmp_path / "lab.py"
    script.write_text("total = (10\n% 3)\n")
    assert read_program(script).neutralised == ()


def test_notebook_cells_are_joined_and_mapped_back(tmp_path: Path) -> None:
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_markdown_cell("# title"), nbformat.v4.new_code_cell("import os\n%time x = 1"),
                      nbformat.v4.new_code_cell("%%bash\necho hi"), nbformat.v4.new_code_cell("%%time\ny = 2\nz = 3")]
    path = tmp_path / "lab.ipynb"
    nbformat.write(notebook, path)
    program = read_program(path)
    compile(program.source, "lab.ipynb.py", "exec")
    lines = program.source.splitlines()
    assert program.locate(lines.index("z = 3") + 1) == (3, 3)
    assert "echo hi" not in [line.strip() for line in lines]


def test_truncated_notebook_is_a_submission_error(tmp_path: Path) -> None:
    path = tmp_path / "lab.ipynb"
    path.write_text('{"cells": [{"cell_type": "code", "source": "print(1)"')
    with pytest.raises(SubmissionError, match="not a readable notebook"):
        read_program(path)


def test_non_utf8_source_is_read_with_a_note(tmp_path: Path) -> None:
    path = tmp_path / "lab.py"
    path.write_bytes(b"# caf\xe9\nprint('ok')\n")
    program = read_program(path)
    assert "not valid UTF-8" in program.encoding_note
    assert "print('ok')" in program.source


def test_syntax_error_is_found_without_running(tmp_path: Path) -> None:
    path = tmp_path / "lab.py"
    path.write_text("def broken(:\n    pass\n")
    error = read_program(path).syntax_error()
    assert error is not None and error.lineno == 1

"""Read an answers document (Markdown, text, notebook, Word, PDF) and split it into the lab's items.

Students head their answers "Answer 1:", "Q1", "Question 1", "1.", "## 1" ...; items may be
missing or reordered. A heading like "Outputs:" (run logs pasted after the last answer) ends the
item before it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from grader.errors import SubmissionError

# "Answer 1:", "**Q2.**", "## Question 3 -", "Ans 4)": a labelled heading, then maybe text.
_LABELLED = re.compile(
    r"^\s*(?:#{1,6}\s*)?(?:[*_]{1,2}\s*)?(?P<label>answers?|ans|questions?|q|task|exercise)\s*\.?\s*"
    r"(?P<number>[1-9])\b\s*(?:[*_]{1,2})?\s*(?:[:.)\-–—]|\s*$)(?:[*_]{1,2})?\s*(?P<rest>.*)$",
    re.IGNORECASE)
# "1." / "1)" / "## 1": a bare number, used only when no labelled headings exist.
_NUMBERED = re.compile(r"^\s*(?:#{1,6}\s*)?(?:[*_]{1,2})?(?P<number>[1-9])\s*(?:[.)]|\s*$)(?:[*_]{1,2})?\s*(?P<rest>.*)$")
_ENDS_ITEMS = re.compile(r"^\s*(?:#{1,6}\s*)?(?:outputs?|results?|logs?|run log|references?|appendix)\s*:?\s*$",
                         re.IGNORECASE)
MAX_ITEM = 8


@dataclass(frozen=True)
class AnswerText:
    """One item of the answer sheet: its number, its text, and the line its heading is on."""

    number: int
    text: str
    line: int

    @property
    def id(self) -> str:
        return f"q{self.number}"


def read_document(path: Path) -> str:
    """Return the text of an answers document. Raises ``SubmissionError`` if it cannot be read."""
    suffix = path.suffix.lower()
    try:
        if suffix == ".docx":
            return _read_docx(path)
        if suffix == ".pdf":
            return _read_pdf(path)
        if suffix == ".ipynb":
            return _read_notebook_markdown(path)
        raw = path.read_bytes()
    except SubmissionError:
        raise
    except Exception as error:  # noqa: BLE001 - each reader raises its own kinds for broken files
        raise SubmissionError(f"cannot read {path.name}: {type(error).__name__}: {str(error)[:200]}") from None
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def _read_docx(path: Path) -> str:
    import docx

    document = docx.Document(str(path))
    lines = [paragraph.text for paragraph in document.paragraphs]
    for table in document.tables:
        lines.extend(cell.text for row in table.rows for cell in row.cells)
    return "\n".join(lines)


def _read_pdf(path: Path) -> str:
    from pypdf import PdfReader

    return "\n".join(page.extract_text() or "" for page in PdfReader(str(path)).pages)


def _read_notebook_markdown(path: Path) -> str:
    import nbformat

    notebook = nbformat.read(path, as_version=4)
    return "\n\n".join(cell.source for cell in notebook.cells if cell.cell_type == "markdown")


def split_items(text: str) -> dict[str, AnswerText]:
    """Split ``text`` into items ``q1``..``q8`` by the headings students use.

    Labelled headings ("Answer 3", "Q3") win over bare numbers; among labels, the kind that names
    the most items wins (so a sheet that repeats "Question 1" above "Answer 1" uses the answers).
    """
    lines = text.splitlines()
    headings = _headings(lines)
    items: dict[str, AnswerText] = {}
    for index, (line_number, number, rest) in enumerate(headings):
        end = headings[index + 1][0] if index + 1 < len(headings) else len(lines)
        body = [rest] + lines[line_number + 1:end]
        body = _until_end_marker(body)
        answer = AnswerText(number, "\n".join(body).strip(), line_number + 1)
        if answer.id not in items or len(answer.text) > len(items[answer.id].text):
            items[answer.id] = answer
    return dict(sorted(items.items(), key=lambda item: int(item[0][1:])))


def _headings(lines: list[str]) -> list[tuple[int, int, str]]:
    labelled: dict[str, list[tuple[int, int, str]]] = {}
    for index, line in enumerate(lines):
        match = _LABELLED.match(line)
        if match and 1 <= int(match["number"]) <= MAX_ITEM:
            kind = match["label"].lower().rstrip("s")
            kind = "answer" if kind in ("answer", "an") else kind
            labelled.setdefault(kind, []).append((index, int(match["number"]), match["rest"]))
    if labelled:
        def coverage(kind: str) -> tuple[int, bool]:
            return len({number for _, number, _ in labelled[kind]}), kind == "answer"

        return labelled[max(labelled, key=coverage)]
    numbered = [(index, int(m["number"]), m["rest"]) for index, line in enumerate(lines)
                if (m := _NUMBERED.match(line)) and 1 <= int(m["number"]) <= MAX_ITEM]
    return _increasing(numbered)


def _increasing(headings: list[tuple[int, int, str]]) -> list[tuple[int, int, str]]:
    """Bare numbers also number lists inside answers: keep only a run that counts up."""
    kept: list[tuple[int, int, str]] = []
    for heading in headings:
        if not kept or heading[1] > kept[-1][1]:
            kept.append(heading)
    return kept


def _until_end_marker(body: list[str]) -> list[str]:
    for index, line in enumerate(body):
        if index and _ENDS_ITEMS.match(line):
            return body[:index]
    return body

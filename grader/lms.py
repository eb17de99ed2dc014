"""LMS in and out: bulk downloads as ``.zip`` (Canvas, Moodle, Blackboard), unpacked safely for
grading; and grades for Canvas's gradebook import.

An archive is untrusted: a member may name a path outside the folder (``../``, absolute, a
drive), be a link, or expand without end (a zip bomb). Each is refused with an error naming the
member; nothing is written outside the destination, and nothing past the caps.
"""

from __future__ import annotations

import csv
import io
import re
import shutil
import stat
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from grader.errors import GraderError

MAX_MEMBERS = 20_000
MAX_TOTAL_BYTES = 4 * 2**30
MAX_RATIO = 200  # uncompressed / compressed, for members over a few MiB: text compresses ~10x
_RATIO_FROM_BYTES = 4 * 2**20
_CHUNK = 2**20


class LMSError(GraderError):
    """An LMS file that cannot be used: an archive unsafe to unpack, a gradebook not as exported."""


@dataclass(frozen=True)
class Unpacked:
    """Where an archive was unpacked, and how many files it held."""

    archive: Path
    folder: Path
    files: int


def unpack(archive: Path, destination: Path) -> Unpacked:
    """Unpack ``archive`` into ``destination`` (replaced if it exists) and return where.

    Raises ``LMSError`` for an archive that is not a zip, names a path outside the folder,
    holds a link, or exceeds the caps on members, total size or compression ratio; then nothing of
    it is left in ``destination``."""
    try:
        bundle = zipfile.ZipFile(archive)
    except (zipfile.BadZipFile, OSError) as error:
        raise LMSError(f"{archive.name} is not a readable zip archive ({error})") from None
    staging = destination.with_name(destination.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    try:
        with bundle:
            members = _checked_members(bundle, archive)
            files = sum(_extract(bundle, member, staging) for member in members)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    shutil.rmtree(destination, ignore_errors=True)
    staging.mkdir(parents=True, exist_ok=True)
    staging.rename(destination)
    return Unpacked(archive, destination, files)


def _checked_members(bundle: zipfile.ZipFile, archive: Path) -> list[zipfile.ZipInfo]:
    """The archive's members, after refusing the ones that are unsafe to unpack."""
    members = bundle.infolist()
    if len(members) > MAX_MEMBERS:
        raise LMSError(f"{archive.name} holds {len(members)} files, more than the {MAX_MEMBERS} allowed")
    declared = sum(member.file_size for member in members)
    if declared > MAX_TOTAL_BYTES:
        raise LMSError(f"{archive.name} expands to {declared / 2**30:.1f} GiB, more than the "
                           f"{MAX_TOTAL_BYTES / 2**30:.0f} GiB allowed")
    for member in members:
        _safe_name(member.filename, archive)
        mode = member.external_attr >> 16
        if stat.S_ISLNK(mode):
            raise LMSError(f"{archive.name}: {member.filename!r} is a link; links are not unpacked")
        if member.file_size > _RATIO_FROM_BYTES and member.file_size > MAX_RATIO * max(member.compress_size, 1):
            raise LMSError(f"{archive.name}: {member.filename!r} expands {member.file_size // max(member.compress_size, 1)}"
                               " times (a zip bomb?); not unpacked")
    return members


def _safe_name(name: str, archive: Path) -> PurePosixPath:
    """The member's relative path; ``LMSError`` if it could land outside the folder."""
    path = PurePosixPath(name.replace("\\", "/"))
    if path.is_absolute() or ".." in path.parts or (path.parts and ":" in path.parts[0]):
        raise LMSError(f"{archive.name}: {name!r} points outside the folder it is unpacked into; refused")
    return path


def _extract(bundle: zipfile.ZipFile, member: zipfile.ZipInfo, folder: Path) -> int:
    """Write one member under ``folder``, never more bytes than it declares; return 1 for a file."""
    target = folder.joinpath(*_safe_name(member.filename, Path(bundle.filename or "archive")).parts)
    if member.is_dir():
        target.mkdir(parents=True, exist_ok=True)
        return 0
    target.parent.mkdir(parents=True, exist_ok=True)
    written = 0
    with bundle.open(member) as source, open(target, "wb") as sink:
        while chunk := source.read(_CHUNK):
            written += len(chunk)
            if written > member.file_size:  # a header that lies about the size
                raise LMSError(f"{member.filename!r} holds more than it declares; not unpacked")
            sink.write(chunk)
    return 1


# Canvas's gradebook export: these columns come first; each assignment is "Name (id)".
_CANVAS_FIXED = ("Student", "ID", "SIS User ID", "SIS Login ID", "Section")
_USER_ID = re.compile(r"_(\d+)$")


@dataclass(frozen=True)
class CanvasImport:
    """A gradebook CSV for Canvas's import, and who could not be matched."""

    text: str
    column: str
    filled: int
    unmatched_grades: tuple[str, ...]  # graded students with no row in the gradebook


def canvas_import(gradebook: str, scores: dict[str, float], assignment: str = "") -> CanvasImport:
    """Fill the scores into a gradebook CSV exported from Canvas (its Student, ID, SIS and Section
    columns and the assignment's column; other rows kept, other assignments left out so that
    importing changes nothing else). ``scores``: by submission id, whose trailing ``_<digits>`` is
    the Canvas user id (as in Canvas's bulk download names). Raises ``LMSError`` for a CSV
    that is not a Canvas gradebook or an assignment it does not have (naming the columns)."""
    rows = list(csv.reader(io.StringIO(gradebook.lstrip("\ufeff"))))
    if not rows or any(column not in rows[0] for column in _CANVAS_FIXED[:2]):
        raise LMSError(f"not a Canvas gradebook export: its first row should start with {', '.join(_CANVAS_FIXED)}. "
                           f"Received: {rows[0][:6] if rows else 'an empty file'}")
    header = rows[0]
    assignments = [column for column in header if column not in _CANVAS_FIXED and re.search(r"\(\d+\)$", column)]
    chosen = [column for column in assignments if assignment and column.startswith(assignment)] \
        or (assignments if not assignment and len(assignments) == 1 else [])
    if len(chosen) != 1:
        raise LMSError(f"choose the assignment column with --assignment (one of: {', '.join(assignments) or 'none'}). "
                           f"Received: {assignment!r}")
    keep = [header.index(column) for column in _CANVAS_FIXED if column in header] + [header.index(chosen[0])]
    by_user = {match[1]: score for student, score in scores.items() if (match := _USER_ID.search(student))}
    out, filled, seen = io.StringIO(), 0, set()
    writer = csv.writer(out)
    writer.writerow([header[i] for i in keep])
    for row in rows[1:]:
        row = row + [""] * (len(header) - len(row))
        user = row[header.index("ID")].strip()
        if user in by_user:
            row[header.index(chosen[0])] = f"{by_user[user]:g}"
            filled, seen = filled + 1, seen | {user}
        writer.writerow([row[i] for i in keep])
    unmatched = tuple(sorted(student for student, _ in scores.items()
                             if not (m := _USER_ID.search(student)) or m[1] not in seen))
    return CanvasImport(out.getvalue(), chosen[0], filled, unmatched)

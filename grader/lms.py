"""LMS bulk downloads as ``.zip`` (Canvas, Moodle, Blackboard), unpacked safely for grading.

An archive is untrusted: a member may name a path outside the folder (``../``, absolute, a
drive), be a link, or expand without end (a zip bomb). Each is refused with an error naming the
member; nothing is written outside the destination, and nothing past the caps.
"""

from __future__ import annotations

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


class ArchiveError(GraderError):
    """An archive of submissions that cannot be unpacked safely."""


@dataclass(frozen=True)
class Unpacked:
    """Where an archive was unpacked, and how many files it held."""

    archive: Path
    folder: Path
    files: int


def unpack(archive: Path, destination: Path) -> Unpacked:
    """Unpack ``archive`` into ``destination`` (replaced if it exists) and return where.

    Raises ``ArchiveError`` for an archive that is not a zip, names a path outside the folder,
    holds a link, or exceeds the caps on members, total size or compression ratio; then nothing of
    it is left in ``destination``."""
    try:
        bundle = zipfile.ZipFile(archive)
    except (zipfile.BadZipFile, OSError) as error:
        raise ArchiveError(f"{archive.name} is not a readable zip archive ({error})") from None
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
        raise ArchiveError(f"{archive.name} holds {len(members)} files, more than the {MAX_MEMBERS} allowed")
    declared = sum(member.file_size for member in members)
    if declared > MAX_TOTAL_BYTES:
        raise ArchiveError(f"{archive.name} expands to {declared / 2**30:.1f} GiB, more than the "
                           f"{MAX_TOTAL_BYTES / 2**30:.0f} GiB allowed")
    for member in members:
        _safe_name(member.filename, archive)
        mode = member.external_attr >> 16
        if stat.S_ISLNK(mode):
            raise ArchiveError(f"{archive.name}: {member.filename!r} is a link; links are not unpacked")
        if member.file_size > _RATIO_FROM_BYTES and member.file_size > MAX_RATIO * max(member.compress_size, 1):
            raise ArchiveError(f"{archive.name}: {member.filename!r} expands {member.file_size // max(member.compress_size, 1)}"
                               " times (a zip bomb?); not unpacked")
    return members


def _safe_name(name: str, archive: Path) -> PurePosixPath:
    """The member's relative path; ``ArchiveError`` if it could land outside the folder."""
    path = PurePosixPath(name.replace("\\", "/"))
    if path.is_absolute() or ".." in path.parts or (path.parts and ":" in path.parts[0]):
        raise ArchiveError(f"{archive.name}: {name!r} points outside the folder it is unpacked into; refused")
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
                raise ArchiveError(f"{member.filename!r} holds more than it declares; not unpacked")
            sink.write(chunk)
    return 1

"""What `recoup import PATH...` reads: files, folders (recursively), `.gz` and `.zip` members.

Each report becomes an `Incoming` that can be opened as a byte stream. Archives are opened
lazily, so a broken archive fails with its own name when its turn comes. Only regular files are
read: a named pipe would wait forever for a writer, and a device such as /dev/zero never ends.
"""

from __future__ import annotations

import gzip
import stat
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from recoup.ingest.errors import FileProblem

SKIPPED_NAMES = {".DS_Store", "Thumbs.db", "desktop.ini"}

# The zip compression methods Python unpacks: stored, deflate, bzip2 and LZMA.
READABLE_METHODS = {zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA}
# Methods seen in the wild that it does not; Windows Explorer writes Deflate64 for large files.
METHOD_NAMES = {9: "Deflate64", 93: "Zstandard", 95: "XZ", 98: "PPMd"}
ENCRYPTED = 0x1  # general purpose flag bit 0 (PKWARE APPNOTE 4.4.4)


@dataclass(frozen=True)
class Incoming:
    name: str  # shown to the seller: the path, or archive.zip!member
    origin: Path
    open: Callable[[], IO[bytes]]
    packed: int | None = None  # bytes it takes compressed (None: read as it is, not unpacked)


def _gunzip(opener: Callable[[], IO[bytes]]) -> Callable[[], IO[bytes]]:
    def open_() -> IO[bytes]:
        return gzip.GzipFile(fileobj=opener(), mode="rb")  # type: ignore[return-value]

    return open_


def _unreadable(member: zipfile.ZipInfo) -> str | None:
    """Why a zip member cannot be unpacked, read from the archive's directory before opening it."""
    if member.flag_bits & ENCRYPTED:
        return "is encrypted (password-protected): unzip it with its password and import the file"
    if member.compress_type not in READABLE_METHODS:
        method = METHOD_NAMES.get(member.compress_type, f"method {member.compress_type}")
        return (
            f"compressed with {method}, which recoup cannot unpack: unzip it with another tool "
            "and import the file"
        )
    return None


def _zip_members(path: Path, name_of: Callable[[Path], str]) -> Iterator[Incoming | FileProblem]:
    try:
        archive = zipfile.ZipFile(path)
        members = [m for m in archive.infolist() if not m.is_dir()]
    except (zipfile.BadZipFile, OSError) as exc:
        raise FileProblem(name_of(path), f"not a readable zip archive ({exc})") from exc
    archive_size = path.stat().st_size
    for member in members:
        if Path(member.filename).name in SKIPPED_NAMES or "__MACOSX" in member.filename:
            continue
        name = f"{name_of(path)}!{member.filename}"
        problem = _unreadable(member)
        if problem:
            yield FileProblem(name, problem)
            continue

        def opener(m: zipfile.ZipInfo = member) -> IO[bytes]:
            return archive.open(m)

        # The directory states the packed size; a forged one cannot exceed the archive's own.
        packed = min(member.compress_size, archive_size)
        if member.filename.endswith(".gz"):
            yield Incoming(name, path, _gunzip(opener), packed)
        else:
            yield Incoming(name, path, opener, packed)


def expand(
    paths: list[Path], name_of: Callable[[Path], str] = str
) -> Iterator[Incoming | FileProblem]:
    """Every report under `paths`, in a stable order; problems are yielded, not raised.
    `name_of`: the name a file is shown and cited by (the path as given, unless the caller
    knows a better one, such as the name a browser uploaded it under). A folder or archive
    holding no report is a problem too: the seller meant to import something."""
    for path in paths:
        found = False
        for item in _expand_path(path, name_of):
            found = True
            yield item
        if not found:
            yield FileProblem(name_of(path), "no reports found in it")


def _expand_path(path: Path, name_of: Callable[[Path], str]) -> Iterator[Incoming | FileProblem]:
    if not path.is_dir():
        yield from _expand_file(path, name_of)
        return
    for entry in sorted(path.rglob("*")):
        if entry.name in SKIPPED_NAMES or entry.name.startswith(".") or entry.is_dir():
            continue
        yield from _expand_file(entry, name_of)


def _expand_file(file: Path, name_of: Callable[[Path], str]) -> Iterator[Incoming | FileProblem]:
    refusal = _refusal(file)
    if refusal:
        yield FileProblem(name_of(file), refusal)
    elif file.suffix.lower() == ".zip":
        try:
            yield from _zip_members(file, name_of)
        except FileProblem as problem:
            yield problem
    elif file.suffix.lower() == ".gz":
        yield Incoming(name_of(file), file, _gunzip(_opener(file)), file.stat().st_size)
    else:
        yield Incoming(name_of(file), file, _opener(file))


def _refusal(path: Path) -> str | None:
    """Why `path` cannot be read as a report, known before opening it (None: a regular file)."""
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        return "no such file or folder"
    except OSError as exc:
        return f"cannot be read ({exc.strerror})"
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISFIFO(mode):
        kind = "a named pipe"
    elif stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        kind = "a device"
    else:
        kind = "a socket" if stat.S_ISSOCK(mode) else "not a file"
    return f"not a regular file ({kind}): recoup reads files, folders, .gz and .zip"


def _opener(path: Path) -> Callable[[], IO[bytes]]:
    def open_() -> IO[bytes]:
        return path.open("rb")

    return open_

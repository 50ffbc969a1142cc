"""What `recoup import PATH...` reads: files, folders (recursively), `.gz` and `.zip` members.

Each report becomes an `Incoming` that can be opened as a byte stream. Archives are opened
lazily, so a broken archive fails with its own name when its turn comes.
"""

from __future__ import annotations

import gzip
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from recoup.ingest.errors import FileProblem

SKIPPED_NAMES = {".DS_Store", "Thumbs.db", "desktop.ini"}


@dataclass(frozen=True)
class Incoming:
    name: str  # shown to the seller: the path, or archive.zip!member
    origin: Path
    open: Callable[[], IO[bytes]]


def _gunzip(opener: Callable[[], IO[bytes]]) -> Callable[[], IO[bytes]]:
    def open_() -> IO[bytes]:
        return gzip.GzipFile(fileobj=opener(), mode="rb")  # type: ignore[return-value]

    return open_


def _zip_members(path: Path, name_of: Callable[[Path], str]) -> Iterator[Incoming]:
    try:
        archive = zipfile.ZipFile(path)
        members = [m for m in archive.infolist() if not m.is_dir()]
    except (zipfile.BadZipFile, OSError) as exc:
        raise FileProblem(name_of(path), f"not a readable zip archive ({exc})") from exc
    for member in members:
        if Path(member.filename).name in SKIPPED_NAMES or "__MACOSX" in member.filename:
            continue

        def opener(m: zipfile.ZipInfo = member) -> IO[bytes]:
            return archive.open(m)

        name = f"{name_of(path)}!{member.filename}"
        if member.filename.endswith(".gz"):
            yield Incoming(name, path, _gunzip(opener))
        else:
            yield Incoming(name, path, opener)


def expand(
    paths: list[Path], name_of: Callable[[Path], str] = str
) -> Iterator[Incoming | FileProblem]:
    """Every report under `paths`, in a stable order; problems are yielded, not raised.
    `name_of`: the name a file is shown and cited by (the path as given, unless the caller
    knows a better one, such as the name a browser uploaded it under)."""
    for path in paths:
        if not path.exists():
            yield FileProblem(name_of(path), "no such file or folder")
            continue
        files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
        for file in files:
            if file.name in SKIPPED_NAMES or file.name.startswith("."):
                continue
            if file.suffix.lower() == ".zip":
                try:
                    yield from _zip_members(file, name_of)
                except FileProblem as problem:
                    yield problem
            elif file.suffix.lower() == ".gz":
                yield Incoming(name_of(file), file, _gunzip(_opener(file)))
            else:
                yield Incoming(name_of(file), file, _opener(file))


def _opener(path: Path) -> Callable[[], IO[bytes]]:
    def open_() -> IO[bytes]:
        return path.open("rb")

    return open_

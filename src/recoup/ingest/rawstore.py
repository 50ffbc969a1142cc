"""Keep every imported report byte for byte under `raw/<sha256>` (decompressed, as read).

What comes in is checked while it is copied, so that a hostile file cannot fill the disk: its
first bytes must already be a report recoup knows, and an archive may not unpack to more than a
real report does (a zip bomb of zeros unpacks a thousand times its size)."""

from __future__ import annotations

import codecs
import errno
import hashlib
import lzma
import uuid
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import IO

from recoup.ingest.decode import HEAD_BYTES, detect
from recoup.ingest.errors import FileProblem
from recoup.ingest.files import Incoming

CHUNK = 8 * 1024 * 1024
# Reports are text that packs 10 to 20 times smaller (a 5.9 GB ledger zips to about 400 MB), so
# unpacking stops past 100 times the packed size; up to 100 MB is always allowed, whatever the
# ratio, as a small file (a header and a few rows) may pack tighter and fills no disk.
MAX_RATIO = 100
ALWAYS_ALLOWED = 100_000_000
NO_SPACE = {errno.ENOSPC, errno.EDQUOT}


def copy_in(
    incoming: Incoming, raw_dir: Path, on_progress: Callable[[int], None]
) -> tuple[Path, str, int]:
    """Copy the report into a temporary file in `raw_dir`: its path, sha256 and size. When it
    fails, nothing is left behind."""
    temporary = raw_dir / f"incoming-{uuid.uuid4().hex}"
    try:
        with _open(incoming) as source, temporary.open("wb") as sink:
            sha256, size = _copy(incoming, source, sink, on_progress)
    except OSError as exc:  # reading fails as a FileProblem: this is writing the copy
        temporary.unlink(missing_ok=True)
        raise FileProblem(incoming.name, _cannot_write(exc, raw_dir)) from exc
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return temporary, sha256, size


def _copy(
    incoming: Incoming, source: IO[bytes], sink: IO[bytes], on_progress: Callable[[int], None]
) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    limit = None if incoming.packed is None else max(ALWAYS_ALLOWED, MAX_RATIO * incoming.packed)
    amount = HEAD_BYTES  # the head alone first: what recognises a report
    while chunk := _read(source, incoming, amount):
        sink.write(chunk)
        digest.update(chunk)
        size += len(chunk)
        on_progress(len(chunk))
        if amount == HEAD_BYTES:
            sink.flush()
            _recognise(Path(sink.name), incoming.name)
            amount = CHUNK
        if limit is not None and size > limit:
            raise FileProblem(incoming.name, _too_big(limit, incoming.packed or 0))
    return digest.hexdigest(), size


def _open(incoming: Incoming) -> IO[bytes]:
    try:
        return incoming.open()
    except zipfile.BadZipFile as exc:
        raise FileProblem(incoming.name, f"the zip archive is corrupt ({exc})") from exc
    except OSError as exc:
        raise FileProblem(incoming.name, f"cannot be read ({exc})") from exc


def _read(source: IO[bytes], incoming: Incoming, amount: int) -> bytes:
    try:
        return source.read(amount)
    except (EOFError, zlib.error, lzma.LZMAError, zipfile.BadZipFile, OSError) as exc:
        reason = "cannot be read" if incoming.packed is None else (
            "the compressed file is truncated or corrupt")  # fmt: skip
        raise FileProblem(incoming.name, f"{reason} ({exc})") from exc


def _recognise(head: Path, name: str) -> None:
    """Refuse a file whose first bytes are no report before reading (or unpacking) the rest:
    the test the import applies to the whole file later, which reads no further than this
    head either (an Inbound API JSON payload, as `decode.json_to_tsv` tells it, or a header
    `detect` knows)."""
    with head.open("rb") as stream:
        start = stream.read(64).lstrip(codecs.BOM_UTF8).lstrip()
    if not start.startswith((b"{", b"[")):
        detect(head, name)


def _too_big(limit: int, packed: int) -> str:
    return (
        f"unpacks to more than {_size(limit)} from {_size(packed)} (over {MAX_RATIO} times its "
        "packed size, when reports pack 10 to 20 times): recoup stopped unpacking it. If it "
        "is a report, unpack it yourself and import the unpacked file"
    )


def _size(count: int) -> str:
    return f"{count / 1e6:,.0f} MB" if count >= 1e6 else f"{max(1, round(count / 1e3))} KB"


def _cannot_write(exc: OSError, raw_dir: Path) -> str:
    if exc.errno in NO_SPACE:
        return f"no space left on device in {raw_dir}: free some space there and import again"
    return f"cannot be copied into {raw_dir} ({exc.strerror or exc})"

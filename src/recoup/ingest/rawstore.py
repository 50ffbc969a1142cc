"""Keep every imported report byte for byte under `raw/<sha256>` (decompressed, as read)."""

from __future__ import annotations

import hashlib
import uuid
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path

from recoup.ingest.errors import FileProblem
from recoup.ingest.sources import Incoming

CHUNK = 8 * 1024 * 1024


def copy_in(
    incoming: Incoming, raw_dir: Path, on_progress: Callable[[int], None]
) -> tuple[Path, str, int]:
    """Copy the report into a temporary file in `raw_dir`: its path, sha256 and size."""
    temporary = raw_dir / f"incoming-{uuid.uuid4().hex}"
    digest = hashlib.sha256()
    size = 0
    try:
        with incoming.open() as source, temporary.open("wb") as sink:
            while chunk := source.read(CHUNK):
                sink.write(chunk)
                digest.update(chunk)
                size += len(chunk)
                on_progress(len(chunk))
    except (EOFError, zlib.error, zipfile.BadZipFile, OSError) as exc:
        temporary.unlink(missing_ok=True)
        reason = (
            "the compressed file is truncated or corrupt"
            if not isinstance(exc, FileNotFoundError)
            else "cannot be read"
        )
        raise FileProblem(incoming.name, f"{reason} ({exc})") from exc
    return temporary, digest.hexdigest(), size

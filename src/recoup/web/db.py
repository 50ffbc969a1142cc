"""Short-lived connections to the workspace, so the dashboard never keeps it from the CLI.

DuckDB lets one process write a database file at a time. The dashboard opens a connection per
request and closes it at once; when `recoup import`, `audit` or `sync` holds the file, it retries
for a moment and then says the workspace is busy instead of failing. Connections inside this
process share one database (DuckDB caches it per file), so a page still reads while the
dashboard's own import or audit job writes.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb

from recoup.workspace import DB_NAME, Workspace

RETRY_SECONDS = 2.0  # a page waits this long for another recoup process to let go of the file


class Busy(RuntimeError):
    """Another process holds the workspace (says which, when DuckDB tells)."""


def _holder(error: Exception) -> str:
    found = re.search(r"held in (.+?) \(PID (\d+)\)", str(error))
    if not found:
        return "another recoup process"
    program = found[1].rsplit("/", 1)[-1]
    return f"another process ({program}, pid {found[2]})"


def _locked(error: Exception) -> bool:
    return "lock" in str(error).lower()


def _retrying(open_it: Any, wait: float) -> Any:
    deadline = time.monotonic() + wait
    pause = 0.05
    while True:
        try:
            return open_it()
        except duckdb.IOException as error:
            if not _locked(error):
                raise
            if time.monotonic() >= deadline:
                raise Busy(
                    f"The workspace is busy: {_holder(error)} is writing to it, such as "
                    "recoup import, audit or sync. This page tries again by itself."
                ) from None
            time.sleep(pause)
            pause = min(pause * 2, 0.4)


@contextmanager
def connect(root: Path, wait: float = RETRY_SECONDS) -> Iterator[Any]:
    """A connection for one request, closed afterwards."""
    con = _retrying(lambda: duckdb.connect(str(root / DB_NAME)), wait)
    try:
        con.execute("SET enable_progress_bar = false")
        yield con
    finally:
        con.close()


@contextmanager
def workspace(root: Path, wait: float = RETRY_SECONDS) -> Iterator[Workspace]:
    """The whole workspace (raw store too) for an import or audit job."""
    opened: Workspace = _retrying(lambda: Workspace(root), wait)
    try:
        yield opened
    finally:
        opened.close()

"""Short-lived connections to the workspace, so the dashboard never keeps it from the CLI.

DuckDB lets one process write a database file at a time. The dashboard opens a connection per
request and closes it at once; when `recoup import`, `audit` or `sync` holds the file, it waits
a moment and then says the workspace is busy instead of failing. Connections inside this process
share one database (DuckDB caches it per file), so a page still reads while the dashboard's own
import or audit job writes.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from recoup.workspace import DB_NAME, Workspace, WorkspaceBusy, connect

PAGE_WAIT = 2.0  # a page waits this long for another recoup process to let go of the file


class Busy(RuntimeError):
    """Another process holds the workspace; the message says so, for the page."""


@contextmanager
def connection(root: Path, wait: float = PAGE_WAIT) -> Iterator[Any]:
    """A connection for one request, closed afterwards."""
    try:
        con = connect(root / DB_NAME, wait)
    except WorkspaceBusy as busy:
        raise Busy(f"{busy} This page tries again by itself.") from None
    try:
        yield con
    finally:
        con.close()


@contextmanager
def workspace(root: Path, wait: float = PAGE_WAIT) -> Iterator[Workspace]:
    """The whole workspace (raw store too) for an import or audit job."""
    try:
        opened = Workspace(root, wait=wait)
    except WorkspaceBusy as busy:
        raise Busy(str(busy)) from None
    try:
        yield opened
    finally:
        opened.close()

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

from recoup.workspace import DB_NAME, connect

PAGE_WAIT = 2.0  # a page waits this long for another recoup process to let go of the file


@contextmanager
def connection(root: Path, wait: float = PAGE_WAIT) -> Iterator[Any]:
    """A connection for one request, closed afterwards (WorkspaceBusy if another process
    holds the file longer than `wait`)."""
    con = connect(root / DB_NAME, wait)
    try:
        yield con
    finally:
        con.close()

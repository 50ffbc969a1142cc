"""A workspace: one DuckDB file, a `raw/` store of every imported file, and numbered migrations.

recoup-workspace/
  recoup.duckdb      canonical tables, imported-file register, rejects, findings
  raw/<sha256>       every imported report, byte for byte
  tmp/               scratch space for one import (emptied afterwards)
"""

from __future__ import annotations

import hashlib
import re
import time
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from types import TracebackType

import duckdb

from recoup.merge import all_view_sql

DB_NAME = "recoup.duckdb"
WAIT_SECONDS = 10.0  # how long a command waits for another recoup process to let go


class WorkspaceBusy(RuntimeError):
    """Another process holds the workspace's database (DuckDB lets one process write it)."""


def _holder(error: Exception) -> str:
    found = re.search(r"held in (.+?) \(PID (\d+)\)", str(error))
    if not found:
        return "another process"
    return f"another process ({found[1].rsplit('/', 1)[-1]}, pid {found[2]})"


def connect(path: Path, wait: float = WAIT_SECONDS) -> duckdb.DuckDBPyConnection:
    """Open the database file, waiting up to `wait` seconds while another process holds it
    (`recoup serve` holds it only for a moment per page; an import or audit for longer)."""
    deadline = time.monotonic() + wait
    pause = 0.05
    while True:
        try:
            con = duckdb.connect(str(path))
        except duckdb.IOException as error:
            if "lock" not in str(error).lower():
                raise
            if time.monotonic() >= deadline:
                raise WorkspaceBusy(
                    f"The workspace is busy: {_holder(error)} is using {path}, such as recoup "
                    "import, audit or sync, or an import or audit run from the dashboard."
                ) from None
            time.sleep(pause)
            pause = min(pause * 2, 0.4)
        else:
            # recoup shows its own progress; DuckDB's bar would write into the command's output.
            con.execute("SET enable_progress_bar = false")
            return con


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str


def migrations() -> list[Migration]:
    """The numbered SQL files shipped in `recoup/migrations`, in order."""
    found = []
    for entry in resources.files("recoup.migrations").iterdir():
        match = re.fullmatch(r"(\d{4})_(\w+)\.sql", entry.name)
        if match:
            found.append(Migration(int(match[1]), match[2], entry.read_text(encoding="utf-8")))
    return sorted(found, key=lambda m: m.version)


class Workspace:
    """An open workspace. Use as a context manager, or call `close()`."""

    def __init__(
        self, root: Path, *, target_version: int | None = None, wait: float = WAIT_SECONDS
    ) -> None:
        self.root = root
        self.raw_dir = root / "raw"
        self.tmp_dir = root / "tmp"
        for folder in (self.root, self.raw_dir, self.tmp_dir):
            folder.mkdir(parents=True, exist_ok=True)
        self.con = connect(root / DB_NAME, wait)
        self.migrate(target_version)
        if target_version is None:
            self.sweep()

    @property
    def db_path(self) -> Path:
        return self.root / DB_NAME

    def schema_version(self) -> int:
        row = self.con.execute("SELECT max(version) FROM schema_migrations").fetchone()
        return int(row[0]) if row and row[0] is not None else 0

    def migrate(self, target_version: int | None = None) -> list[Migration]:
        """Apply pending migrations (each in its own transaction), then refresh the views."""
        self.con.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations "
            "(version INTEGER PRIMARY KEY, name VARCHAR NOT NULL, applied_at TIMESTAMP NOT NULL)"
        )
        current = self.schema_version()
        applied = []
        for migration in migrations():
            if migration.version <= current:
                continue
            if target_version is not None and migration.version > target_version:
                break
            self.con.begin()
            try:
                self.con.execute(migration.sql)
                self.con.execute(
                    "INSERT INTO schema_migrations VALUES (?, ?, now())",
                    [migration.version, migration.name],
                )
                self.con.commit()
            except Exception:
                self.con.rollback()
                raise
            applied.append(migration)
        if target_version is None:
            self._refresh_views(force=bool(applied))
        return applied

    def _refresh_views(self, *, force: bool) -> None:
        """Re-create the overlap-resolving views when their SQL changed (a new recoup) or a
        migration ran. Not on every open: rewriting twenty views makes each short-lived
        connection write and checkpoint the file."""
        statements = all_view_sql()
        digest = hashlib.sha256("\n".join(statements).encode()).hexdigest()
        self.con.execute("CREATE TABLE IF NOT EXISTS view_digest (digest VARCHAR NOT NULL)")
        stored = self.con.execute("SELECT max(digest) FROM view_digest").fetchone()
        if not force and stored and stored[0] == digest:
            return
        self.con.begin()
        for sql in statements:
            self.con.execute(sql)
        self.con.execute("DELETE FROM view_digest")
        self.con.execute("INSERT INTO view_digest VALUES (?)", [digest])
        self.con.commit()

    def sweep(self) -> None:
        """Remove what an interrupted import left behind: scratch files, and raw copies whose
        import never committed (the database itself rolls back on its own)."""
        for leftover in self.tmp_dir.iterdir():
            leftover.unlink(missing_ok=True)
        known = {row[0] for row in self.con.execute("SELECT sha256 FROM source_files").fetchall()}
        for stored in self.raw_dir.iterdir():
            if stored.name not in known:
                stored.unlink(missing_ok=True)

    def raw_path(self, sha256: str) -> Path:
        return self.raw_dir / sha256

    def close(self) -> None:
        self.con.close()

    def __enter__(self) -> Workspace:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

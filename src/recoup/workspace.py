"""A workspace: one DuckDB file, a `raw/` store of every imported file, and numbered migrations.

recoup-workspace/
  recoup.duckdb      canonical tables, imported-file register, rejects, findings
  raw/<sha256>       every imported report, byte for byte
  tmp/               scratch space for one import (emptied afterwards)
"""

from __future__ import annotations

import errno
import hashlib
import os
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from types import TracebackType

import duckdb

from recoup.merge import all_view_sql
from recoup.sql import run

DB_NAME = "recoup.duckdb"
WAIT_SECONDS = 10.0  # how long a command waits for another recoup process to let go


class WorkspaceError(RuntimeError):
    """The workspace cannot be used; the message is one sentence with the next step."""


class WorkspaceBusy(WorkspaceError):
    """Another process holds the workspace's database (DuckDB lets one process write it)."""


# The words of DuckDB's IO errors, as the errno they stand for (DuckDB gives only the text).
DUCKDB_ERRNO = {
    "No space left on device": errno.ENOSPC,
    "Disk quota exceeded": errno.EDQUOT,
    "Read-only file system": errno.EROFS,
    "Permission denied": errno.EACCES,
    "Is a directory": errno.EISDIR,
}
# DuckDB's words for a database file it cannot read, and what they mean for a seller.
DAMAGE = {
    "not a valid DuckDB database file": "it is not a DuckDB database file",
    "Could not read enough bytes": "it is cut short",
    "Corrupt database file": "a checksum does not match",
    "checksum": "a checksum does not match",
    "Corrupt WAL": "its write-ahead log is damaged",
}


def _chain(error: BaseException) -> list[BaseException]:
    """The error and the ones it was raised from or while handling (a failed commit is often
    hidden behind a failed rollback)."""
    found: list[BaseException] = []
    link: BaseException | None = error
    while link is not None and link not in found:
        found.append(link)
        link = link.__cause__ or link.__context__
    return found


def _errno_and_path(error: BaseException, root: Path) -> tuple[int | None, Path]:
    if isinstance(error, OSError):
        return error.errno, Path(error.filename) if error.filename else root
    if not isinstance(error, duckdb.Error):
        return None, root
    text = str(error)
    quoted = re.search(r'"([^"]+)"', text)
    code = next((c for words, c in DUCKDB_ERRNO.items() if words in text), None)
    return code, Path(quoted[1]) if quoted else root / DB_NAME


def _inside(path: Path, root: Path) -> bool:
    return path.resolve().is_relative_to(root.resolve())


def _file_problem(code: int | None, path: Path, root: Path) -> str | None:
    if code in (errno.ENOSPC, errno.EDQUOT):
        return (
            f"No space left on device at {path}: the change in progress was undone and the "
            "workspace holds what it held; free some space on that disk and run the command "
            "again (recoup doctor shows how much is free)"
        )
    if not _inside(path, root):
        return None
    if code == errno.EROFS:
        return (
            f"The workspace {root} is on a read-only file system, and recoup writes to its "
            "database even to read it: remount it read-write, or copy the folder somewhere "
            "writable and use --workspace COPY"
        )
    if code in (errno.EACCES, errno.EPERM):
        return (
            f"recoup may not write {path} (permission denied): give your user write access to "
            f"{root} (chown or chmod u+w), or use another folder with --workspace"
        )
    if code == errno.EISDIR and path.name == DB_NAME:
        return (
            f"{path} is a folder, but it should be the workspace's database file: move that "
            "folder away (and restore recoup.duckdb from a backup if you have one), or start a "
            "new workspace with --workspace NEW_FOLDER"
        )
    if code in (errno.EEXIST, errno.ENOTDIR):
        return (
            f"{path} is in the way of the workspace's own folders: move it away, or use "
            "another folder with --workspace"
        )
    if code is not None:
        return (
            f"recoup cannot use {path} ({os.strerror(code).lower()}): check the workspace "
            f"folder {root}, or use another with --workspace"
        )
    return None


def _database_problem(error: BaseException, root: Path) -> str | None:
    if not isinstance(error, duckdb.Error):
        return None
    text = str(error)
    _code, path = _errno_and_path(error, root)
    damage = next((meaning for words, meaning in DAMAGE.items() if words in text), None)
    if damage and path.name == f"{DB_NAME}.wal":
        return (
            f"The workspace's write-ahead log {path} is damaged ({damage}): move that file away "
            "to open the workspace as it was at its last checkpoint (then run the latest "
            "imports or audits again), or restore the workspace from a backup"
        )
    if damage:
        return (
            f"The workspace database {path} is damaged ({damage}): restore it from a backup, or "
            "start a new workspace with --workspace NEW_FOLDER and import your reports again "
            f"(a copy of each is kept in {root / 'raw'})"
        )
    if "newer version of DuckDB" in text or "version number" in text:
        return (
            f"The workspace database {path} was written by a newer recoup (a newer DuckDB "
            "storage format): upgrade recoup to open it"
        )
    if isinstance(error, duckdb.OutOfMemoryException):
        return (
            f"DuckDB ran out of memory ({text.splitlines()[0]}): raise [audit] memory_limit in "
            f"recoup.toml, or free disk space at {root}, where DuckDB puts what does not fit"
        )
    return None


def explain(error: BaseException, root: Path) -> str | None:
    """One sentence with the next step for a failure of the workspace's files or database (a
    full disk, a read-only or damaged workspace); None when `error` is something else."""
    chain = _chain(error)
    for link in chain:  # a full disk first: it is often the cause of what was raised last
        code, path = _errno_and_path(link, root)
        if code in (errno.ENOSPC, errno.EDQUOT):
            return _file_problem(code, path, root)
    for link in chain:
        if isinstance(link, WorkspaceError):
            return str(link)
        explained = _database_problem(link, root)
        if explained is None and isinstance(link, OSError | duckdb.IOException):
            explained = _file_problem(*_errno_and_path(link, root), root)
        if explained:
            return explained
    return None


def unwritable(path: Path, error: OSError) -> str:
    """Why `path` (an export's --output, say) cannot be written, naming it."""
    if error.errno == errno.ENOTDIR:
        in_the_way = next((p for p in path.parents if p.exists() and not p.is_dir()), path.parent)
        reason = f"{in_the_way} is a file, not a folder"
    else:
        reason = {
            errno.ENOENT: f"no such folder {path.parent}",
            errno.EISDIR: "it is a folder",
            errno.EACCES: "permission denied",
            errno.EPERM: "permission denied",
            errno.EROFS: "it is on a read-only file system",
            errno.ENOSPC: "no space left on device",
            errno.EDQUOT: "disk quota exceeded",
        }.get(error.errno or 0, (error.strerror or str(error)).lower())
    return f"cannot write {path}: {reason}"


@contextmanager
def explained(root: Path) -> Iterator[None]:
    """Raise a failure of the workspace's files or database as a WorkspaceError with the next
    step; anything else as it is."""
    try:
        yield
    except WorkspaceError:
        raise
    except (duckdb.Error, OSError) as error:
        sentence = explain(error, root)
        if sentence is None:
            raise
        raise WorkspaceError(sentence) from error


def _holder(error: Exception) -> str:
    found = re.search(r"held in (.+?) \(PID (\d+)\)", str(error))
    if not found:
        return "another process"
    return f"another process ({found[1].rsplit('/', 1)[-1]}, pid {found[2]})"


def connect(
    path: Path, wait: float = WAIT_SECONDS, *, read_only: bool = False
) -> duckdb.DuckDBPyConnection:
    """Open the database file, waiting up to `wait` seconds while another process holds it
    (`recoup serve` holds it only for a moment per page; an import or audit for longer).
    A damaged, read-only or misplaced file is a WorkspaceError that says what to do."""
    deadline = time.monotonic() + wait
    pause = 0.05
    with explained(path.parent):
        while True:
            try:
                con = duckdb.connect(str(path), read_only=read_only)
            except duckdb.IOException as error:
                # "Could not set lock", "Conflicting lock": not the "block" of a checksum error
                if not re.search(r"\block\b", str(error), re.IGNORECASE):
                    raise
                if time.monotonic() >= deadline:
                    raise WorkspaceBusy(
                        f"The workspace is busy: {_holder(error)} is using {path}, such as "
                        "recoup import, audit or sync, or an import or audit run from the "
                        "dashboard."
                    ) from None
                time.sleep(pause)
                pause = min(pause * 2, 0.4)
            else:
                # recoup shows its own progress; DuckDB's bar would write into the output.
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
        with explained(root):
            for folder in (self.root, self.raw_dir, self.tmp_dir):
                folder.mkdir(parents=True, exist_ok=True)
            self.con = connect(root / DB_NAME, wait)
            try:
                self.migrate(target_version)
                if target_version is None:
                    self.sweep()
            except BaseException:
                self.con.close()
                raise

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
                run(
                    self.con,
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
        run(self.con, "INSERT INTO view_digest VALUES (?)", [digest])
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

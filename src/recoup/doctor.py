"""`recoup doctor`: is the workspace sound, the configuration valid, are the secrets private?

Each check says what it found, and when something is wrong, how to fix it. Doctor changes
nothing: it opens the database read-only and reads every table back, which makes DuckDB verify
the checksum of every block it holds (DuckDB has no integrity_check pragma of its own).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import duckdb

from recoup.policy import PolicyError, load_policy
from recoup.settings import CONFIG_FILE, ConfigError, Settings, load_settings, read_config
from recoup.settings import unknown_keys as unknown_config_keys
from recoup.sources import credentials as creds
from recoup.workspace import DB_NAME, WorkspaceError, connect, explained, migrations

GIB = 1024**3
FREE_AT_LEAST = GIB  # and twice the database: an audit rewrites its findings, DuckDB spills
SHOWN = 3  # missing raw files named in full; the rest counted


@dataclass(frozen=True)
class Check:
    """One line of the report: what was checked, whether it is fine, and what was found (with
    the fix, when it is not)."""

    name: str
    ok: bool
    says: str


def run_checks(
    root: Path, settings: Settings | None, env: Mapping[str, str] | None = None
) -> list[Check]:
    """Every check, in the order they are shown. `settings` is None when recoup.toml is wrong
    (the configuration check says why)."""
    env = os.environ if env is None else env
    return [
        Check("DuckDB", True, f"version {duckdb.__version__}"),
        *configuration(),
        *workspace(root),
        *secrets(settings, env),
    ]


def configuration() -> Iterator[Check]:
    """recoup.toml parses, validates, names only keys recoup knows, and its windows read."""
    where = Path.cwd() / CONFIG_FILE
    if not CONFIG_FILE.is_file():
        yield Check("recoup.toml", True, f"none at {where}: the defaults apply")
        return
    try:
        settings = load_settings()
        unknown = unknown_config_keys(read_config())
        load_policy(settings.audit.windows, settings.audit.cost_basis)
    except (ConfigError, PolicyError) as error:
        yield Check("recoup.toml", False, str(error))
        return
    if unknown:
        yield Check(
            "recoup.toml", False,
            f"{where}: recoup knows no key {', '.join(unknown)} and ignores it (misspelt?): "
            "correct or delete it (the README shows the [audit] settings)",
        )  # fmt: skip
        return
    yield Check("recoup.toml", True, f"{where} is valid")


def workspace(root: Path) -> Iterator[Check]:
    """The folder is writable, the database opens and reads back, its schema is one this
    recoup knows, every imported file is in the raw store, and the disk has room."""
    database = root / DB_NAME
    if not database.exists():
        yield Check(
            "workspace", False,
            f"no workspace at {root}: recoup import or recoup demo makes one there; if yours is "
            "elsewhere, name it with --workspace (or RECOUP_WORKSPACE)",
        )  # fmt: skip
        return
    yield _writable(root)
    try:
        with explained(root):
            con = connect(database, read_only=True)
    except WorkspaceError as error:
        yield Check("workspace database", False, str(error))
        return
    try:
        yield _read_back(con, database, root)
        yield _schema(con, database)
        yield _raw_store(con, root)
    finally:
        con.close()
    yield _disk_space(root, database.stat().st_size)


def _writable(root: Path) -> Check:
    try:
        with explained(root), tempfile.TemporaryFile(dir=root):
            pass
    except WorkspaceError as error:
        return Check("workspace", False, str(error))
    return Check("workspace", True, f"{root} is writable")


def _read_back(con: duckdb.DuckDBPyConnection, database: Path, root: Path) -> Check:
    tables = [row[0] for row in con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE database_name = current_database() "
        "AND schema_name = 'main' AND NOT internal ORDER BY 1"
    ).fetchall()]  # fmt: skip
    rows = 0
    try:
        with explained(root):
            for table in tables:
                # Hashing every row reads every column's blocks, and DuckDB checks each
                # block's checksum as it reads it.
                read = con.execute(f'SELECT count(*), bit_xor(hash(t)) FROM "{table}" AS t')
                rows += int((read.fetchone() or (0,))[0])
    except WorkspaceError as error:
        return Check("workspace database", False, str(error))
    size = con.execute("SELECT database_size, wal_size FROM pragma_database_size()").fetchone()
    shown = f"{size[0]} (write-ahead log {size[1]})" if size else "?"
    return Check(
        "workspace database", True,
        f"{database}: {shown}, {len(tables)} tables and {rows:,} rows read back intact",
    )  # fmt: skip


def _schema(con: duckdb.DuckDBPyConnection, database: Path) -> Check:
    latest = migrations()[-1].version
    try:
        row = con.execute("SELECT max(version) FROM schema_migrations").fetchone()
    except duckdb.CatalogException:
        return Check(
            "schema version", False,
            f"{database} holds no recoup schema (no schema_migrations table): is it another "
            "program's database? Point --workspace at a recoup workspace",
        )  # fmt: skip
    version = int(row[0]) if row and row[0] is not None else 0
    if version > latest:
        return Check(
            "schema version", False,
            f"{version}, newer than this recoup knows ({latest}): a newer recoup wrote this "
            "workspace; upgrade recoup before using it",
        )  # fmt: skip
    if version < latest:
        return Check("schema version", True,
                     f"{version}; the next recoup command upgrades it to {latest}")  # fmt: skip
    return Check("schema version", True, f"{version}, the latest this recoup knows")


def _raw_store(con: duckdb.DuckDBPyConnection, root: Path) -> Check:
    """Every imported file is kept byte for byte under raw/<sha256>: its size is checked
    (hashing them all would take as long as importing them again)."""
    imported = con.execute(
        "SELECT DISTINCT sha256, size_bytes, name FROM source_files ORDER BY name"
    ).fetchall()
    missing = []
    for sha256, size, name in imported:
        kept = root / "raw" / sha256
        if not kept.is_file() or kept.stat().st_size != size:
            missing.append(f"raw/{sha256} ({name})")
    if missing:
        more = f" and {len(missing) - SHOWN} more" if len(missing) > SHOWN else ""
        return Check(
            "raw store", False,
            f"{len(missing)} of {len(imported)} imported files are missing or changed in "
            f"{root / 'raw'}: {', '.join(missing[:SHOWN])}{more}. Their rows are still in the "
            "database; restore the files from a backup, or import the reports again into a new "
            "workspace, to keep the evidence byte for byte",
        )  # fmt: skip
    return Check("raw store", True, f"all {len(imported)} imported files kept in {root / 'raw'}")


def _disk_space(root: Path, database_size: int) -> Check:
    free = shutil.disk_usage(root).free
    wanted = max(FREE_AT_LEAST, 2 * database_size)
    says = f"{_size(free)} free at {root}"
    if free < wanted:
        return Check(
            "disk space", False,
            f"only {says}; an import or audit wants at least {_size(wanted)} (1 GB, and twice "
            "the database): free some space on that disk, or move the workspace",
        )  # fmt: skip
    return Check("disk space", True, says)


def _size(count: int) -> str:
    return f"{count / GIB:.1f} GB" if count >= GIB else f"{count / 1024**2:.0f} MB"


def secrets(settings: Settings | None, env: Mapping[str, str]) -> Iterator[Check]:
    """The SP-API credentials file and the dashboard's password file: only their owner may
    read them (mode 0600)."""
    files = []
    if env.get(creds.FILE_ENV):
        files.append(("SP-API credentials", Path(env[creds.FILE_ENV]), "credentials file"))
    if settings is not None and settings.web.password_file is not None:
        files.append(("web password", settings.web.password_file.expanduser(), "password file"))
    for name, path, what in files:
        try:
            creds.check_private(path, what)
        except creds.CredentialsError as error:
            yield Check(name, False, str(error))
        else:
            yield Check(name, True, f"{path} is readable by its owner only")
    if not env.get(creds.FILE_ENV):
        from_env = all(
            env.get(creds.ENV[k]) for k in ("client_id", "client_secret", "refresh_token")
        )
        yield Check(
            "SP-API credentials", True,
            "from RECOUP_* variables" if from_env else
            f"none set (recoup sync needs them: {creds.FILE_ENV} names a 0600 file, or the "
            "RECOUP_LWA_* variables)",
        )  # fmt: skip

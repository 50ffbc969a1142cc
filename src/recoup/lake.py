"""`recoup export-lake DIR`: the canonical tables as Parquet, one folder per table, for Spark
(or any engine that reads Parquet). Overlapping downloads are already resolved: a lake holds
what the audit reads, not every imported row.

Every canonical table is written, not only those today's rules declare: a lake is often audited
elsewhere, where another rule package (reading, say, the fee preview) may be installed."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from duckdb import DuckDBPyConnection

from recoup.engines import ALL_TABLES
from recoup.sql import run


def export_lake(
    con: DuckDBPyConnection,
    lake: Path,
    accounts: list[str] | None = None,
    on_table: Callable[[str, int], None] | None = None,
    tables: Iterable[str] = ALL_TABLES,
) -> dict[str, int]:
    """Write the tables (all accounts, or `accounts`) under `lake`; returns row counts.
    Each table is written beside the old one and swapped in, so a failed export leaves the
    previous lake readable."""
    lake.mkdir(parents=True, exist_ok=True)
    counts = {}
    for name in tables:
        where = ""
        params: list[Any] = []
        if accounts:
            where = f" WHERE account IN ({', '.join('?' for _ in accounts)})"
            params = list(accounts)
        fresh = lake / f".{name}.new"
        shutil.rmtree(fresh, ignore_errors=True)
        fresh.mkdir()
        # COPY answers with the number of rows it wrote: no need to read the file back.
        row = run(
            con,
            f"COPY (SELECT * FROM {name}{where}) TO '{fresh / 'part-0.parquet'}' "
            "(FORMAT parquet, COMPRESSION zstd)",
            params,
        ).fetchone()
        counts[name] = int(row[0]) if row else 0
        shutil.rmtree(lake / name, ignore_errors=True)
        fresh.rename(lake / name)
        if on_table:
            on_table(name, counts[name])
    return counts

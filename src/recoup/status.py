"""What the workspace holds, per canonical report type: `recoup status` and the dashboard's
Imports page both show `workspace_status()`, so the two never disagree.

Rows and dates are those the audit reads, after overlapping downloads are resolved (merge.py):
not the sum of what each file held, so two overlapping downloads count their common days once.
The JSON form of `recoup status` is a stable interface: an object keyed by canonical table, each
with `files`, `rows`, `first_date`, `last_date`, `marketplaces`, `rejects` and `coverage`: per
marketplace, the day ranges the report covers (audit-rules.md principle 11) and the gaps between
them, as `[first, last]` ISO date pairs.
"""

from __future__ import annotations

from typing import Any

import duckdb

from recoup import coverage
from recoup.reports import CANONICAL_TABLES, by_table
from recoup.sql import run


def workspace_status(con: duckdb.DuckDBPyConnection, account: str | None = None) -> dict[str, Any]:
    status: dict[str, Any] = {}
    where = "WHERE account = $account" if account else ""
    params = {"account": account} if account else {}
    for table in CANONICAL_TABLES:
        date = next((r.date_column for r in by_table(table) if r.date_column), None)
        period = f"min({date}), max({date})" if date else "NULL, NULL"
        rows = run(
            con,
            f"SELECT count(*), {period}, list(DISTINCT marketplace ORDER BY marketplace) "
            f"FROM {table} {where}",
            params,
        ).fetchone()
        files = run(
            con,
            f"SELECT count(*), coalesce(sum(rejects), 0) FROM source_files "
            f"WHERE canonical = '{table}' {'AND account = $account' if account else ''}",
            params,
        ).fetchone()
        assert rows is not None
        assert files is not None
        status[table] = {
            "files": int(files[0]),
            "rows": int(rows[0]),
            "first_date": rows[1].isoformat() if rows[1] else None,
            "last_date": rows[2].isoformat() if rows[2] else None,
            "marketplaces": list(rows[3] or []),
            "rejects": int(files[1]),
            "coverage": {},
        }
    for (marketplace, table), spans in sorted(_coverage(con, account).items()):
        if table in status:
            holes = coverage.gaps(spans, spans[0][0], spans[-1][1])
            status[table]["coverage"][marketplace] = {
                "ranges": [[a.isoformat(), b.isoformat()] for a, b in spans],
                "gaps": [[a.isoformat(), b.isoformat()] for a, b in holes],
            }
    return status


def _coverage(
    con: duckdb.DuckDBPyConnection, account: str | None
) -> dict[tuple[str, str], list[coverage.Span]]:
    """Covered days per (marketplace, report), of one account or of all of them together."""
    rows = run(
        con,
        "SELECT marketplace, report, first_day, last_day FROM file_coverage"
        + (" WHERE account = ?" if account else ""),
        [account] if account else [],
    ).fetchall()
    return coverage.Coverage.of(rows).spans


def held(status: dict[str, Any]) -> dict[str, Any]:
    """The reports `status` holds anything of: a file (even one whose every row was rejected)
    or a row."""
    return {table: entry for table, entry in status.items() if entry["files"] or entry["rows"]}

"""`recoup status`: what the workspace holds, per canonical report type.

The JSON form is a stable interface: an object keyed by canonical table, each with `files`,
`rows` (after overlap resolution), `first_date`, `last_date`, `marketplaces` and `rejects`.
"""

from __future__ import annotations

from typing import Any

import duckdb

from recoup.reports import CANONICAL_TABLES, by_table


def workspace_status(con: duckdb.DuckDBPyConnection, account: str | None = None) -> dict[str, Any]:
    status: dict[str, Any] = {}
    where = "WHERE account = $account" if account else ""
    params = {"account": account} if account else {}
    for table in CANONICAL_TABLES:
        date = next((r.date_column for r in by_table(table) if r.date_column), None)
        period = f"min({date}), max({date})" if date else "NULL, NULL"
        rows = con.execute(
            f"SELECT count(*), {period}, list(DISTINCT marketplace ORDER BY marketplace) "
            f"FROM {table} {where}",
            params,
        ).fetchone()
        files = con.execute(
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
        }
    return status

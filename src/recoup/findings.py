"""Stored findings, read back and written out in the export contract (audit-rules.md): table,
CSV (evidence as a JSON string; formula-looking cells escaped for spreadsheets) or JSON."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

from duckdb import DuckDBPyConnection

from recoup.cells import csv_text, text
from recoup.filters import where
from recoup.sql import run

COLUMNS = (
    "finding_id", "kind", "marketplace", "fnsku", "msku", "asin", "fulfillment_center",
    "reference_id", "order_id", "shipment_id", "removal_order_id", "reimbursement_id",
    "event_date", "quantity", "unit_value", "amount", "currency", "value_basis",
    "window_opens", "window_closes", "state", "evidence", "needs",
)  # fmt: skip
# A finding's state as of the audit; `unverified`: the reports that could cancel it do not cover
# the days it needs (principle 11), so it is never drafted.
STATES = ("claimable", "not_yet", "expired", "unverified")
STORED = (*COLUMNS, "window_id")  # the contract's columns, and the policy window's id


def latest_as_of(con: DuckDBPyConnection, account: str) -> dt.date | None:
    row = run(
        con, "SELECT as_of FROM audits WHERE account = ? ORDER BY ran_at DESC LIMIT 1", [account]
    ).fetchone()
    return row[0] if row else None


def load(
    con: DuckDBPyConnection,
    account: str,
    as_of: dt.date,
    kinds: Sequence[str] = (),
    states: Sequence[str] = (),
) -> list[dict[str, Any]]:
    clause, params = where({"account": account, "as_of": as_of}, {"kind": kinds, "state": states})
    cursor = run(
        con,
        f"SELECT {', '.join(COLUMNS)} FROM findings WHERE {clause} "
        "ORDER BY kind, marketplace, event_date, finding_id",
        params,
    )
    rows = [dict(zip(COLUMNS, r, strict=True)) for r in cursor.fetchall()]
    for row in rows:
        row["evidence"] = json.loads(row["evidence"])
    return rows


def to_csv(rows: Sequence[dict[str, Any]]) -> str:
    return csv_text(
        COLUMNS, rows, lambda row, c: json.dumps(row[c]) if c == "evidence" else text(row[c])
    )


def to_json(rows: Sequence[dict[str, Any]]) -> str:
    def plain(row: dict[str, Any]) -> dict[str, Any]:
        return {c: row[c] if c in ("evidence", "quantity") else text(row[c]) for c in COLUMNS}

    return json.dumps([plain(r) for r in rows], indent=2, ensure_ascii=False) + "\n"


def totals(
    findings: Iterable[dict[str, Any]], by: tuple[str, ...] = ("kind", "state")
) -> dict[tuple[Any, ...], list[Any]]:
    """[count, units, amount] of the findings per value of the `by` columns."""
    out: dict[tuple[Any, ...], list[Any]] = {}
    for f in findings:
        total = out.setdefault(tuple(f[c] for c in by), [0, 0, Decimal(0)])
        total[0] += 1
        total[1] += f["quantity"]
        total[2] += f["amount"]
    return out

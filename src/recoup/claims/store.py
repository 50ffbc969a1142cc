"""Reading and writing claims: the append-only event log and the current picture beside it.

Every change to a claim is one `claim_events` row plus the matching update of `claims` (and of
`claim_findings` when a draft's findings change), written in the caller's transaction.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

from duckdb import DuckDBPyConnection

from recoup.filters import where
from recoup.sql import run

STATES = ("draft", "filed", "partly_reimbursed", "reimbursed", "denied", "expired", "withdrawn")
OPEN = ("draft", "filed", "partly_reimbursed")  # a finding is in at most one of these
FILED = ("filed", "partly_reimbursed")  # waiting for Amazon

CLAIM_COLUMNS = (
    "claim_id", "account", "kind", "marketplace", "currency", "group_key", "state", "drafted_on",
    "quantity", "amount", "window_opens", "window_closes", "case_id", "filed_on",
    "recovered_units", "recovered_amount", "review",
)  # fmt: skip
MEMBER_COLUMNS = (
    "claim_id", "finding_id", "kind", "marketplace", "fnsku", "msku", "asin",
    "fulfillment_center", "reference_id", "order_id", "shipment_id", "removal_order_id",
    "reimbursement_id", "event_date", "quantity", "unit_value", "amount", "currency",
    "value_basis", "window_opens", "window_closes", "window_id", "evidence", "removed_on",
    "removed_why",
)  # fmt: skip
EVENT_COLUMNS = (
    "claim_id", "account", "recorded_at", "on_date", "event", "state_after", "case_id",
    "finding_id", "payment_key", "units", "amount", "note",
)  # fmt: skip
_COUNTS = ("quantity", "units", "recovered_units")
_MONEY = ("amount", "unit_value", "recovered_amount")
_DATES = ("drafted_on", "window_opens", "window_closes", "filed_on", "event_date", "removed_on",
          "on_date")  # fmt: skip


class ClaimError(ValueError):
    """A claim action that the workflow or the guardrails do not allow (says why)."""


def insert(
    con: DuckDBPyConnection,
    table: str,
    columns: Sequence[str],
    rows: Sequence[dict[str, Any]],
    numbered: tuple[str, str] | None = None,
) -> None:
    """Bulk insert through Arrow (row-by-row inserts are slow for thousands of claims), by
    column name. `numbered`: (column, sequence) to fill that column from the sequence."""
    if not rows:
        return
    # Only writers need pyarrow: reading claims stays light (tests/test_startup.py).
    import pyarrow as pa  # noqa: PLC0415

    arrays = {}
    for c in columns:
        values = [r.get(c) for r in rows]
        if c in _COUNTS:
            arrays[c] = pa.array(values, type=pa.int64())
        elif c in _MONEY:
            arrays[c] = pa.array(values, type=pa.decimal128(18, 2))
        elif c in _DATES:
            arrays[c] = pa.array(values, type=pa.date32())
        elif c == "recorded_at":
            arrays[c] = pa.array(values, type=pa.timestamp("us"))
        else:
            arrays[c] = pa.array([None if v is None else str(v) for v in values], type=pa.string())
    name = f"recoup_new_{table}"
    con.register(name, pa.table(arrays))
    try:
        targets, selected = list(columns), list(columns)
        if numbered:
            targets.insert(0, numbered[0])
            selected.insert(0, f"nextval('{numbered[1]}')")
        con.execute(f"INSERT INTO {table} ({', '.join(targets)}) "
                    f"SELECT {', '.join(selected)} FROM {name}")  # fmt: skip
    finally:
        con.unregister(name)


def events(con: DuckDBPyConnection, new: Iterable[dict[str, Any]]) -> None:
    """Append events (in order); each gets the next event number."""
    now = dt.datetime.now()
    rows = [{"recorded_at": now, **e} for e in new]
    insert(con, "claim_events", EVENT_COLUMNS, rows, numbered=("event_no", "claim_event_numbers"))


def event(
    con: DuckDBPyConnection, claim: dict[str, Any], name: str, on_date: dt.date, **fields: Any
) -> None:
    events(con, [{"claim_id": claim["claim_id"], "account": claim["account"], "event": name,
                  "on_date": on_date, "state_after": claim["state"], **fields}])  # fmt: skip


def next_claim_ids(con: DuckDBPyConnection, count: int) -> list[str]:
    rows = run(con, "SELECT nextval('claim_numbers') FROM range(?)", [count]).fetchall()
    return [f"C{n}" for (n,) in rows]


def dicts(cursor: Any) -> list[dict[str, Any]]:
    """A query's rows as dicts by column name."""
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, r, strict=True)) for r in cursor.fetchall()]


def claims(
    con: DuckDBPyConnection,
    account: str,
    states: Sequence[str] = (),
    kinds: Sequence[str] = (),
    closing_by: dt.date | None = None,
    *,
    limit: int | None = None,
    offset: int = 0,
) -> list[dict[str, Any]]:
    """Soonest deadline first; `limit`/`offset` page through them (the dashboard)."""
    clause, params = where({"account": account}, {"state": states, "kind": kinds})
    if closing_by is not None:
        clause += " AND window_closes <= ?"
        params.append(closing_by)
    page = f" LIMIT {int(limit)} OFFSET {int(offset)}" if limit is not None else ""
    return dicts(run(con,
        f"SELECT * FROM claims WHERE {clause} "
        f"ORDER BY window_closes, CAST(substr(claim_id, 2) AS BIGINT){page}", params,
    ))  # fmt: skip


def claim(con: DuckDBPyConnection, claim_id: str) -> dict[str, Any]:
    rows = dicts(run(con, "SELECT * FROM claims WHERE claim_id = ?", [claim_id.upper()]))
    if not rows:
        raise ClaimError(f"no claim {claim_id!r} (recoup claims list shows them)")
    return rows[0]


def members(
    con: DuckDBPyConnection, claim_ids: Sequence[str], *, active: bool = True, parse: bool = True
) -> list[dict[str, Any]]:
    """The findings of these claims (active ones only unless `active=False`); `parse=False`
    leaves each evidence list as the JSON text it is stored as."""
    if not claim_ids:
        return []
    rows = dicts(run(con,
        # IN over an unnested list is a hash join; list_contains would scan the list per row.
        "SELECT * FROM claim_findings WHERE claim_id IN (SELECT unnest(?::VARCHAR[]))"
        f"{' AND removed_on IS NULL' if active else ''} "
        "ORDER BY claim_id, event_date, reference_id, order_id, fnsku, finding_id",
        [list(claim_ids)],
    ))  # fmt: skip
    if parse:
        for row in rows:
            row["evidence"] = json.loads(row["evidence"])
    return rows


def history(con: DuckDBPyConnection, claim_id: str) -> list[dict[str, Any]]:
    return dicts(run(con,
        "SELECT * FROM claim_events WHERE claim_id = ? ORDER BY event_no", [claim_id]
    ))  # fmt: skip


def totals(rows: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """A claim's figures from its active findings: units, money and the window they share."""
    rows = list(rows)
    return {
        "quantity": sum(r["quantity"] for r in rows),
        "amount": sum((Decimal(r["amount"]) for r in rows), Decimal("0.00")),
        "window_opens": max(r["window_opens"] for r in rows),
        "window_closes": min(r["window_closes"] for r in rows),
    }


def save(con: DuckDBPyConnection, claim: dict[str, Any], fields: Sequence[str]) -> None:
    """Write some of a claim's current fields back to `claims`."""
    sets = ", ".join(f"{f} = ?" for f in fields)
    run(con, f"UPDATE claims SET {sets} WHERE claim_id = ?",
                [*(claim[f] for f in fields), claim["claim_id"]])  # fmt: skip


def transaction(con: DuckDBPyConnection) -> Any:
    """`with transaction(con):` commits on success and rolls back on any error."""
    return _Transaction(con)


class _Transaction:
    def __init__(self, con: DuckDBPyConnection) -> None:
        self.con = con

    def __enter__(self) -> None:
        self.con.begin()

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if exc_type is None:
            self.con.commit()
        else:
            self.con.rollback()

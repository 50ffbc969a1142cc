"""The money figures a seller watches, from one function the CLI and the dashboard share.

`figures()` returns a tidy table: one row per (measure, kind, month, currency) with a count, units
and an amount. The measures:

- `detected`: every finding of the newest audit (month: its clock date);
- `claimable`: findings inside their window today and not yet filed (month: when it closes);
- `filed`: claims filed with Amazon, at the amount asked (month: the filing day);
- `recovered`: reimbursements matched to claims (month: the approval day);
- `missed`: findings whose window closed before they were filed (month: when it closed);
- `unverified`: findings the downloads cannot prove yet (audit-rules.md principle 11), whose
  window is still open or not yet open (month: when it closes). They are kept apart from
  claimable money: they become claimable only once the reports that could cancel them are in.

Windows are compared with `today`, not with the audit's own date, so an old audit still shows
which money has since been missed. Currencies are never added together.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from duckdb import DuckDBPyConnection

from recoup import clock
from recoup.claims import store
from recoup.money import CENT
from recoup.sql import run

MEASURES = ("detected", "claimable", "unverified", "filed", "recovered", "missed")
DEADLINES = (7, 14, 30)


# The newest audit's findings, and those in a claim filed with Amazon.
_FINDINGS = """
WITH f AS (SELECT * FROM findings WHERE account = $account AND as_of = $as_of),
filed_ids AS (
    SELECT DISTINCT m.finding_id FROM claim_findings m JOIN claims c USING (claim_id)
    WHERE c.account = $account AND c.filed_on IS NOT NULL AND m.removed_on IS NULL
)
"""

_SQL = (
    _FINDINGS
    + """,
unfiled_all AS (SELECT * FROM f ANTI JOIN filed_ids USING (finding_id)),
unfiled AS (SELECT * FROM unfiled_all WHERE state <> 'unverified')
SELECT 'detected' AS measure, kind, strftime(event_date, '%Y-%m') AS month, currency,
       count(*) AS count, sum(quantity) AS units, sum(amount) AS amount
FROM f GROUP BY ALL
UNION ALL
SELECT 'claimable', kind, strftime(window_closes, '%Y-%m'), currency, count(*), sum(quantity),
       sum(amount)
FROM unfiled WHERE window_opens <= $today AND window_closes >= $today GROUP BY ALL
UNION ALL
SELECT 'missed', kind, strftime(window_closes, '%Y-%m'), currency, count(*), sum(quantity),
       sum(amount)
FROM unfiled WHERE window_closes < $today GROUP BY ALL
UNION ALL
SELECT 'unverified', kind, strftime(window_closes, '%Y-%m'), currency, count(*), sum(quantity),
       sum(amount)
FROM unfiled_all WHERE state = 'unverified' AND window_closes >= $today GROUP BY ALL
UNION ALL
SELECT 'filed', kind, strftime(filed_on, '%Y-%m'), currency, count(*), sum(quantity), sum(amount)
FROM claims WHERE account = $account AND filed_on IS NOT NULL GROUP BY ALL
UNION ALL
SELECT 'recovered', c.kind, strftime(e.on_date, '%Y-%m'), c.currency, count(DISTINCT claim_id),
       sum(e.units), sum(e.amount)
FROM claim_events e JOIN claims c USING (claim_id)
WHERE e.event = 'payment' AND c.account = $account GROUP BY ALL
"""
)

_DEADLINES_SQL = (
    _FINDINGS
    + """
SELECT d.days, f.currency, count(*), sum(f.quantity), sum(f.amount)
FROM f ANTI JOIN filed_ids USING (finding_id)
CROSS JOIN (SELECT unnest($days) AS days) d
WHERE f.state <> 'unverified' AND f.window_opens <= $today AND f.window_closes >= $today
  AND f.window_closes <= $today + d.days * INTERVAL 1 DAY
GROUP BY ALL ORDER BY 1, 2
"""
)


@dataclass
class Figures:
    account: str
    as_of: dt.date | None  # the audit the findings come from
    today: dt.date
    rows: list[dict[str, Any]] = field(default_factory=list)
    deadlines: list[dict[str, Any]] = field(default_factory=list)  # claimable, closing within N
    next_claims: list[dict[str, Any]] = field(default_factory=list)  # drafts, soonest first

    def totals(self, by: Sequence[str] = ("measure", "currency")) -> list[dict[str, Any]]:
        return summed(self.rows, by)


def summed(rows: Iterable[dict[str, Any]], by: Sequence[str]) -> list[dict[str, Any]]:
    """Sum count, units and amount over the other columns."""
    out: dict[tuple[Any, ...], dict[str, Any]] = defaultdict(
        lambda: {"count": 0, "units": 0, "amount": Decimal("0.00")}
    )
    for r in rows:
        total = out[tuple(r[c] for c in by)]
        total["count"] += r["count"]
        total["units"] += r["units"]
        total["amount"] += r["amount"]
    return [{**dict(zip(by, key, strict=True)), **v} for key, v in sorted(out.items())]


def figures(
    con: DuckDBPyConnection, account: str, today: dt.date | None = None, upcoming: int = 10
) -> Figures:
    today = today or clock.today()
    row = run(con, "SELECT max(as_of) FROM audits WHERE account = ?", [account]).fetchone()
    as_of = row[0] if row else None
    result = Figures(account, as_of, today)
    params = {"account": account, "as_of": as_of, "today": today}
    result.rows = [
        {**r, "units": int(r["units"] or 0), "amount": Decimal(r["amount"] or 0).quantize(CENT)}
        for r in store.dicts(run(con, _SQL, params))
    ]
    result.rows.sort(key=lambda r: (MEASURES.index(r["measure"]), r["kind"], r["month"] or ""))
    result.deadlines = [
        {"days": d, "currency": c, "count": n, "units": int(u or 0), "amount": Decimal(a or 0)}
        for d, c, n, u, a in run(con, _DEADLINES_SQL, {**params, "days": list(DEADLINES)})
        .fetchall()
    ]  # fmt: skip
    drafts = store.claims(con, account, states=("draft",))
    result.next_claims = [
        {**c, "days_left": (c["window_closes"] - today).days}
        for c in drafts if c["window_closes"] >= today
    ][:upcoming]  # fmt: skip
    return result

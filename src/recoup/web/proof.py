"""Proof of absence on the dashboard (audit-rules.md principle 11): which days each report that
can cancel a finding covers, and which downloads would verify the unverified findings.

- `checklist()`: per report that matters for proof and per marketplace, the days covered in the
  18 months the audit can use, the gaps, the last covered day and the finding kinds it verifies.
- `unverified()`: the newest audit's unverified findings that still count (not filed, window not
  closed: the overview's Unverified figure), and `coverage.downloads()` of them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from duckdb import DuckDBPyConnection

from recoup import coverage, reports
from recoup.claims.store import dicts
from recoup.findings import latest_as_of
from recoup.policy import add_months
from recoup.rules import RULES, verifies
from recoup.sql import run

USABLE_MONTHS = 18  # Amazon's reports go back this far; so does the longest claim window
# The reports whose coverage proves absence, or that the audit reads as a source over time.
CHECKED = ("ledger_detail", "reimbursements", "customer_returns", "removal_orders",
           "removal_shipments", "settlements")  # fmt: skip


def checked_reports() -> tuple[str, ...]:
    """CHECKED, and any other report a rule's findings need the coverage of."""
    extra = [r for rule in RULES for r in rule.proven_by if r not in CHECKED]
    return CHECKED + tuple(dict.fromkeys(extra))


@dataclass
class Row:
    """One report in one marketplace against the usable window."""

    marketplace: str
    first: dt.date  # the usable window
    last: dt.date
    spans: list[coverage.Span]  # covered, inside the window
    gaps: list[coverage.Span]  # not covered since the history start (a report ending within
    # the lag reaches today)
    last_day: dt.date | None  # the last day any file covers, wherever it is
    history: dt.date | None  # the first day any report of the marketplace covers

    @property
    def before(self) -> coverage.Span | None:
        """The window's days before the account's history: no report of any kind covers them,
        so nothing there is found, nor needs proving."""
        if self.history is None or self.history <= self.first:
            return None
        return self.first, min(self.history - dt.timedelta(days=1), self.last)

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1

    @property
    def covered(self) -> int:
        return sum((b - a).days + 1 for a, b in self.spans)

    @property
    def percent(self) -> int:
        return int(100 * self.covered / self.days)

    @property
    def complete(self) -> bool:
        return not self.gaps

    def segments(self) -> list[dict[str, str]]:
        """The bar: the days before the history, then the covered spans, as left and width
        percentages (numbers only)."""
        out = []
        before = [("before", self.before)] if self.before else []
        for what, (a, b) in [*before, *(("covered", span) for span in self.spans)]:
            left = 100 * (a - self.first).days / self.days
            width = 100 * ((b - a).days + 1) / self.days
            out.append({"class": what, "left": f"{left:.2f}", "width": f"{width:.2f}",
                        "title": f"{a}..{b}"})  # fmt: skip
        return out


@dataclass
class Report:
    report: str
    title: str
    place: str
    verifies: tuple[str, ...]
    source_of: tuple[str, ...]  # kinds found from its rows
    rows: list[Row] = field(default_factory=list)


def checklist(cov: coverage.Coverage, today: dt.date, marketplaces: list[str]) -> list[Report]:
    first = add_months(today, -USABLE_MONTHS)
    out = []
    for report in checked_reports():
        entry = Report(
            report=report,
            title=reports.title(report),
            place=reports.download_from(report),
            verifies=verifies(report),
            source_of=tuple(rule.kind for rule in RULES
                            if any(report in need.split("|") for need in rule.needs)),
        )  # fmt: skip
        for marketplace in marketplaces:
            spans = cov.spans.get((marketplace, report), [])
            inside = [(max(a, first), min(b, today)) for a, b in spans if b >= first and a <= today]
            history = cov.history_start(marketplace)
            since = max(first, history) if history else first
            holes = coverage.gaps(cov.reaching(marketplace, report, today), since, today)
            last_day = spans[-1][1] if spans else None
            entry.rows.append(Row(marketplace, first, today, inside, holes, last_day, history))
        out.append(entry)
    return out


def marketplaces(cov: coverage.Coverage, *more: str) -> list[str]:
    return sorted({m for m, _ in cov.spans} | set(more))


@dataclass
class Unverified:
    as_of: dt.date | None
    findings: int = 0
    totals: list[dict[str, Any]] = field(default_factory=list)  # per currency: count, amount
    downloads: list[coverage.Download] = field(default_factory=list)


# Unverified findings of the newest audit that are not in a filed claim and whose window has not
# closed: the findings behind the overview's Unverified figure (claims.figures).
_UNVERIFIED = """
SELECT f.marketplace, f.currency, f.amount, f.needs FROM findings f
WHERE f.account = $account AND f.as_of = $as_of AND f.state = 'unverified'
  AND f.window_closes >= $today
  AND NOT EXISTS (
    SELECT 1 FROM claim_findings m JOIN claims c USING (claim_id)
    WHERE m.finding_id = f.finding_id AND c.account = $account AND c.filed_on IS NOT NULL
      AND m.removed_on IS NULL)
"""


def unverified(con: DuckDBPyConnection, account: str, today: dt.date) -> Unverified:
    as_of = latest_as_of(con, account)
    result = Unverified(as_of)
    if as_of is None:
        return result
    rows = dicts(run(con, _UNVERIFIED, {"account": account, "as_of": as_of, "today": today}))
    totals: dict[str, dict[str, Any]] = {}
    for row in rows:
        total = totals.setdefault(row["currency"], {"currency": row["currency"], "count": 0,
                                                    "amount": Decimal("0.00")})  # fmt: skip
        total["count"] += 1
        total["amount"] += Decimal(row["amount"])
    result.findings = len(rows)
    result.totals = [totals[c] for c in sorted(totals)]
    result.downloads = coverage.downloads(rows)
    return result

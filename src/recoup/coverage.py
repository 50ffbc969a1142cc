"""Which days each report covers, per account and marketplace (audit-rules.md principle 11).

A finding asserts that something did not happen: no return arrived, no reimbursement was paid,
no disposal order was placed. That is proven only by a report that covers the days where it could
have happened. A report's coverage is the union of its files' periods:
- a synced file covers the window recoup asked Amazon for (`synced`), and a window Amazon had no
  data for (CANCELLED) covers it too, without a file;
- an uploaded file covers the period the seller states (`recoup import --period`, `stated`),
  else the first to last row date of every dated report imported with it (`batch`: downloads
  made together cover the same days), else its own first to last row date (`rows`);
- a header-only file covers only a stated or synced period.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from duckdb import DuckDBPyConnection

from recoup import reports
from recoup.sql import run

LAG_DAYS = 7  # a report ending at most this many days before as_of reaches it (Amazon lags)
BASES = ("rows", "batch", "stated", "synced")

Span = tuple[dt.date, dt.date]


def union(spans: Iterable[Span]) -> list[Span]:
    """Sorted, non-overlapping spans; spans that touch (next day) are joined."""
    out: list[Span] = []
    for first, last in sorted(spans):
        if out and first <= out[-1][1] + dt.timedelta(days=1):
            if last > out[-1][1]:
                out[-1] = (out[-1][0], last)
        else:
            out.append((first, last))
    return out


def gaps(spans: list[Span], first: dt.date, last: dt.date) -> list[Span]:
    """The days of [first, last] outside `spans` (which `union` made)."""
    out: list[Span] = []
    day = first
    for start, end in spans:
        if end < day:
            continue
        if start > last:
            break
        if start > day:
            out.append((day, start - dt.timedelta(days=1)))
        day = max(day, end + dt.timedelta(days=1))
    if day <= last:
        out.append((day, last))
    return out


@dataclass(frozen=True)
class Need:
    """A report that must cover [first, last] before a finding can be claimed."""

    report: str
    first: dt.date
    last: dt.date

    def __str__(self) -> str:
        return f"{self.report} {self.first.isoformat()}..{self.last.isoformat()}"


def needs_text(needs: Iterable[Need]) -> str:
    return "; ".join(str(n) for n in needs)


def wanted_days(text: str | None) -> list[tuple[str, dt.date, dt.date | None]]:
    """`report first..last` parts separated by `;` (the `needs` column, and a rule's `proof`,
    whose blank last day means the as-of date)."""
    out = []
    for part in (text or "").split(";"):
        report, _, days = part.strip().partition(" ")
        if report and days:
            first, _, last = days.partition("..")
            out.append((report, dt.date.fromisoformat(first),
                        dt.date.fromisoformat(last) if last else None))  # fmt: skip
    return out


def parse_needs(text: str | None) -> list[Need]:
    """The `needs` column back into its parts."""
    return [Need(report, first, last or first) for report, first, last in wanted_days(text)]


@dataclass
class Coverage:
    """The covered days of one account: (marketplace, report) -> spans."""

    spans: dict[tuple[str, str], list[Span]] = field(default_factory=dict)
    # Asked once per finding, the same few answers each time: kept.
    _starts: dict[str, dt.date | None] = field(default_factory=dict, repr=False, compare=False)
    _reaching: dict[tuple[str, str, dt.date], list[Span]] = field(
        default_factory=dict, repr=False, compare=False
    )

    @classmethod
    def of(cls, rows: Iterable[tuple[str, str, dt.date, dt.date]]) -> Coverage:
        """From (marketplace, report, first_day, last_day) rows."""
        found: dict[tuple[str, str], list[Span]] = defaultdict(list)
        for marketplace, report, first, last in rows:
            found[(marketplace, report)].append((first, last))
        return cls({key: union(spans) for key, spans in found.items()})

    def history_start(self, marketplace: str) -> dt.date | None:
        """The earliest day any report of this marketplace covers: nothing before it is seen."""
        if marketplace not in self._starts:
            starts = [s[0][0] for (m, _), s in self.spans.items() if m == marketplace and s]
            self._starts[marketplace] = min(starts) if starts else None
        return self._starts[marketplace]

    def reaching(self, marketplace: str, report: str, as_of: dt.date) -> list[Span]:
        """The report's spans, the last one extended to as_of when it ends within the lag."""
        key = (marketplace, report, as_of)
        if key not in self._reaching:
            spans = list(self.spans.get((marketplace, report), []))
            if spans and as_of - dt.timedelta(days=LAG_DAYS) <= spans[-1][1] < as_of:
                spans[-1] = (spans[-1][0], as_of)
            self._reaching[key] = spans
        return self._reaching[key]

    def covers(self, marketplace: str, report: str, first: dt.date, last: dt.date,
               as_of: dt.date) -> bool:  # fmt: skip
        return not gaps(self.reaching(marketplace, report, as_of), first, last)

    def missing(
        self,
        marketplace: str,
        as_of: dt.date,
        wanted: Iterable[tuple[str, dt.date, dt.date | None]],
    ) -> list[Need]:
        """The wanted (report, first day, last day or None for as_of) that are not covered,
        with a first day before the account's history moved to its start."""
        history = self.history_start(marketplace)
        out = []
        for report, first, last in wanted:
            end = min(last or as_of, as_of)
            start = max(first, history) if history else first
            if start > end:
                continue
            if not self.covers(marketplace, report, start, end, as_of):
                out.append(Need(report, start, end))
        return out


def load(con: DuckDBPyConnection, account: str) -> Coverage:
    """The account's coverage from the workspace."""
    rows = run(
        con,
        "SELECT marketplace, report, first_day, last_day FROM file_coverage WHERE account = ?",
        [account],
    ).fetchall()
    return Coverage.of(rows)


# -- recording -------------------------------------------------------------------------------


def record(
    con: DuckDBPyConnection,
    file_id: int | None,
    *,
    account: str,
    report: str,
    marketplaces: Iterable[str],
    span: Span,
    basis: str,
) -> None:
    """Store that a file (or a synced window with no data) covers `span` in `marketplaces`."""
    assert basis in BASES
    for marketplace in dict.fromkeys(marketplaces):
        run(
            con,
            "INSERT INTO file_coverage VALUES (?, ?, ?, ?, ?, ?, ?)",
            [file_id, account, marketplace, report, span[0], span[1], basis],
        )


PERIOD = re.compile(r"\s*(\d{4}-\d{2}-\d{2})\s*\.\.\s*(\d{4}-\d{2}-\d{2})\s*")


def parse_period(text: str, today: dt.date) -> Span:
    """`FROM..TO` (ISO dates, both included). A ValueError says what is wrong."""
    match = PERIOD.fullmatch(text)
    if not match:
        raise ValueError(f"{text!r} is not a period: write FROM..TO, e.g. 2025-01-01..2025-06-30")
    try:
        first, last = (dt.date.fromisoformat(match.group(i)) for i in (1, 2))
    except ValueError as error:
        raise ValueError(f"{text!r}: {error}") from None
    if first > last:
        raise ValueError(f"{text!r}: the period starts ({first}) after it ends ({last})")
    if last > today:
        raise ValueError(
            f"{text!r}: the period ends in the future ({last}; today is {today}); a download "
            "cannot cover days that have not happened"
        )
    return first, last


# -- what to download --------------------------------------------------------------------------


@dataclass
class Download:
    """One report to import, in one marketplace, and the unverified money it would settle."""

    marketplace: str
    report: str
    first: dt.date
    last: dt.date
    currency: str
    findings: int = 0
    amount: Decimal = Decimal("0.00")

    @property
    def title(self) -> str:
        """The name a seller knows the report by."""
        return reports.title(self.report)

    @property
    def place(self) -> str:
        return reports.download_from(self.report)

    def sentence(self) -> str:
        where = f" ({self.place})" if self.place else ""
        return (
            f"Import the {self.title} report{where} for {self.marketplace} covering "
            f"{self.first}..{self.last} to verify {self.findings} finding"
            f"{'' if self.findings == 1 else 's'} worth {self.amount:,.2f} {self.currency}"
        )


def downloads(findings: Iterable[dict[str, Any]]) -> list[Download]:
    """Per (marketplace, report): the days unverified findings need it to cover, how many
    findings and how much money it would verify; the most money first."""
    out: dict[tuple[str, str], Download] = {}
    for finding in findings:
        for need in parse_needs(finding.get("needs")):
            key = (finding["marketplace"], need.report)
            got = out.get(key)
            if got is None:
                got = out[key] = Download(
                    key[0], need.report, need.first, need.last, finding.get("currency") or ""
                )
            got.first, got.last = min(got.first, need.first), max(got.last, need.last)
            got.findings += 1
            got.amount += Decimal(finding["amount"])
    return sorted(out.values(), key=lambda d: (-d.amount, -d.findings, d.marketplace, d.report))

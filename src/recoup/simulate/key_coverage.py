"""Proof of absence in the answer key (audit-rules.md principle 11): which findings are
`unverified`, and the `needs` column naming the downloads that would settle them.

Modelled from what the simulator wrote and how `Simulated.import_groups` says to import it,
never from recoup's coverage code:
- Import groups: every report that is complete (not cut) in one import command, then each cut
  report's files in a command of their own (with `SimConfig.one_batch`: everything in one).
- A group's span is the earliest to the latest row date of any dated report in it (ledger,
  reimbursements, customer returns, removal orders and shipments, settlement lines; not the
  seller's cost file nor the undated inbound snapshots). Each dated report with at least one
  row in the group covers that span; a report whose files have no rows covers nothing (no
  period is stated). A report's coverage is the union over the groups.
- The account's history starts on the earliest covered day of any report.
- A finding wants reports to cover days (the table of principle 11, from its own clock date or
  the earliest candidate of its FNSKU, up to as_of); a wanted start before the history is moved
  to it, a start after the end wants nothing; a report whose coverage ends within 7 days before
  as_of reaches as_of. Each wanted report that does not cover its days, in the table's order,
  is one `<report> <first>..<last>` of `needs`, and the finding is then `unverified`.
Legacy ledger rows (no Unreconciled Quantity) are never simulated, so warehouse kinds want nothing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from pathlib import Path

from recoup.simulate.account import Account, SimConfig, settlement_of, settlement_periods
from recoup.simulate.answer_key import DISPOSED, expected_findings
from recoup.simulate.layouts import DECLARED, FILES
from recoup.simulate.partial import DATED, Download, visible

LAG_DAYS = 7
CUSTOMER_PAYMENT = ("CustomerReturn", "CustomerServiceIssue")

Span = tuple[dt.date, dt.date]
# Per report: first and last row date (None without dated rows) and how many rows were written.
Printed = dict[str, tuple[dt.date | None, dt.date | None, int]]
# What one finding wants covered: (report, first day, last day), in the table's order.
Wants = list[tuple[str, dt.date, dt.date]]


def batch_key(account: Account) -> tuple[list[dict[str, object]], list[Wants], Printed]:
    """One batch of products: the findings its downloads show, what each wants covered, and
    what its files hold. `needs` is filled in for the whole account by `resolve`."""
    seen = visible(account)
    findings = expected_findings(seen)
    return findings, wanted(findings, seen), printed(account)


# -- what the files hold -----------------------------------------------------------------------


def printed(account: Account) -> Printed:
    """First and last row date and row count of each report the seller's files hold."""
    download = Download.of(account.config)
    days: dict[str, list[dt.date]] = {}
    counts: dict[str, int] = {}

    def add(report: str, day: object) -> None:
        if download.shows(report, day):
            counts[report] = counts.get(report, 0) + 1
            if isinstance(day, dt.date) and report in DATED:
                days.setdefault(report, []).append(day)

    for row in account.rows.get("ledger_detail", []):
        add("ledger_detail", row.values["date"])
    for sale in account.sales:
        add("ledger_detail", sale.day)
    for _, report, _ in FILES:
        column = DECLARED[report].date_column
        for row in account.rows.get(report, []):
            add(report, row.values.get(column) if column else None)
    periods = settlement_periods(account.config)
    for event in account.settled():
        add("settlements", event.day)
    for sale in account.sales:
        if sale.order is None and settlement_of(account.config, periods, sale.day):
            add("settlements", sale.day)
    return {r: (min(days[r]) if r in days else None, max(days[r]) if r in days else None, n)
            for r, n in counts.items()}  # fmt: skip


def merge(a: Printed, b: Printed) -> Printed:
    out = dict(a)
    for report, (first, last, n) in b.items():
        if report not in out:
            out[report] = (first, last, n)
            continue
        f0, l0, n0 = out[report]
        out[report] = (
            min((d for d in (f0, first) if d is not None), default=None),
            max((d for d in (l0, last) if d is not None), default=None),
            n0 + n,
        )
    return out


# -- import groups and coverage ----------------------------------------------------------------


def report_of(path: Path) -> str:
    """The canonical report a simulated file holds."""
    if path.name.startswith("ledger-detail"):
        return "ledger_detail"
    if path.name.startswith("settlement-"):
        return "settlements"
    return next(report for name, report, _ in FILES if name == path.name)


def group_reports(config: SimConfig, reports: Iterable[str]) -> list[list[str]]:
    """Reports in import order -> the import commands (complete ones first, then each cut)."""
    reports = list(dict.fromkeys(reports))
    if config.one_batch:
        return [reports] if reports else []
    cut = [r for r, _ in config.cut]
    groups = [[r for r in reports if r not in cut]]
    groups += [[r] for r in cut if r in reports]
    return [g for g in groups if g]


def import_groups(config: SimConfig, paths: list[Path]) -> list[list[Path]]:
    """The written files, one list per import command (`Simulated.import_groups`)."""
    groups = group_reports(config, (report_of(p) for p in paths))
    return [[p for p in paths if report_of(p) in group] for group in groups]


def union(spans: Iterable[Span]) -> list[Span]:
    out: list[Span] = []
    for first, last in sorted(spans):
        if out and first <= out[-1][1] + dt.timedelta(days=1):
            out[-1] = (out[-1][0], max(last, out[-1][1]))
        else:
            out.append((first, last))
    return out


def coverage(config: SimConfig, held: Printed) -> dict[str, list[Span]]:
    """Each report's covered days, when imported as `import_groups` says."""
    download = Download.of(config)
    written = [r for r in held if download.written(r)]
    found: dict[str, list[Span]] = {}
    for group in group_reports(config, written):
        dated = [r for r in group if r in DATED and held[r][2] > 0 and held[r][0] is not None]
        if not dated:
            continue
        first = min(held[r][0] for r in dated)  # type: ignore[type-var]
        last = max(held[r][1] for r in dated)  # type: ignore[type-var]
        for report in dated:
            found.setdefault(report, []).append((first, last))  # type: ignore[arg-type]
    return {report: union(spans) for report, spans in found.items()}


# -- what each finding wants covered -----------------------------------------------------------


def _earliest(seen: Account) -> dict[tuple[str, str], dt.date]:
    """The earliest candidate (its clock date) per (kind, FNSKU), cancelled or not."""
    as_of = seen.config.as_of
    first: dict[tuple[str, str], dt.date] = {}

    def note(kind: str, fnsku: str, day: dt.date) -> None:
        if day <= as_of and day < first.get((kind, fnsku), dt.date.max):
            first[kind, fnsku] = day

    for adjustment in seen.adjustments:
        if adjustment.reason in DISPOSED and adjustment.quantity < 0:
            note("disposed_unauthorized", adjustment.product.fnsku, adjustment.day)
    refunded: dict[str, dt.date] = {}
    for refund in seen.refunds:
        order_id = refund.order.order_id
        if refund.settled and refund.day < refunded.get(order_id, dt.date.max):
            refunded[order_id] = refund.day
    for back in seen.returns:
        damaged = back.disposition in ("DAMAGED", "CARRIER_DAMAGED") or back.reason in (
            "DAMAGED_BY_FC",
            "DAMAGED_BY_CARRIER",
        )
        if damaged and back.disposition not in ("CUSTOMER_DAMAGED", "DEFECTIVE"):
            clock = refunded.get(back.order.order_id, back.day)
            note("return_damaged_by_amazon", back.order.product.fnsku, clock)
    for shipment in seen.shipments:
        last = shipment.last_receipt
        stale = last is not None and (as_of - last).days > 60
        if shipment.status == "CLOSED" or (shipment.status == "RECEIVING" and stale):
            for item in shipment.items:
                if item.shipped - item.received > 0:
                    note("inbound_shortage", item.product.fnsku, last or as_of)
    for order in seen.removals:
        short = order.requested - order.cancelled - order.disposed - order.shipped
        if order.order_type == "Return" and order.status == "Completed" and short > 0:
            note("removal_short", order.product.fnsku, order.last_updated)
    return first


def wanted(findings: list[dict[str, object]], seen: Account) -> list[Wants]:
    """Per finding, the canceller reports and days the table of principle 11 asks for."""
    as_of = seen.config.as_of
    first = _earliest(seen)
    by_id = {r.reimbursement_id: r for r in seen.reimbursements}
    out = []
    for finding in findings:
        kind, fnsku = str(finding["kind"]), str(finding["fnsku"])
        day = dt.date.fromisoformat(str(finding["event_date"]))
        earliest = first.get((kind, fnsku), day)
        wants: Wants = []
        if kind == "disposed_unauthorized":
            wants = [("removal_orders", day - dt.timedelta(days=90), as_of),
                     ("reimbursements", earliest, as_of)]  # fmt: skip
        elif kind == "return_not_received":
            since = day - dt.timedelta(days=45)
            wants = [("customer_returns", since, as_of), ("reimbursements", since, as_of)]
        elif kind in ("return_damaged_by_amazon", "inbound_shortage", "removal_short"):
            wants = [("reimbursements", earliest, as_of)]
        elif kind == "reimbursement_underpaid":
            wants = [("reimbursements", day, as_of)]
        elif kind == "reversal_unmatched":
            reversal = by_id[str(finding["reimbursement_id"])]
            original = by_id.get(reversal.original_id)
            # An original that was not downloaded: from the first day (the history's start).
            since = original.day if original is not None else dt.date.min
            reason = original.reason if original is not None else reversal.original_reason
            end = min(reversal.day + dt.timedelta(days=LAG_DAYS), as_of)
            wants = [("ledger_detail", since, end)]
            if reason in CUSTOMER_PAYMENT:
                wants.append(("customer_returns", since, end))
        out.append(wants)
    return out


# -- needs -------------------------------------------------------------------------------------


def _inside(spans: list[Span], first: dt.date, last: dt.date) -> bool:
    return any(start <= first and last <= end for start, end in spans)


def needs(wants: Wants, covered: dict[str, list[Span]], as_of: dt.date) -> str:
    """The `needs` text: each wanted report that does not cover its days."""
    starts = [spans[0][0] for spans in covered.values() if spans]
    history = min(starts) if starts else None
    missing = []
    for report, since, until in wants:
        first = max(since, history) if history is not None else since
        last = min(until, as_of)
        if first > last:
            continue
        spans = list(covered.get(report, []))
        if spans and as_of - dt.timedelta(days=LAG_DAYS) <= spans[-1][1] < as_of:
            spans[-1] = (spans[-1][0], as_of)  # Amazon's reports lag: this one reaches as_of
        if not _inside(spans, first, last):
            missing.append(f"{report} {first.isoformat()}..{last.isoformat()}")
    return "; ".join(missing)


def resolve(
    findings: list[dict[str, object]],
    wants: list[Wants],
    covered: dict[str, list[Span]],
    as_of: dt.date,
) -> None:
    """Fill in `needs`; a finding that needs a download is `unverified`."""
    for finding, wanting in zip(findings, wants, strict=True):
        text = needs(wanting, covered, as_of)
        finding["needs"] = text
        if text:
            finding["state"] = "unverified"

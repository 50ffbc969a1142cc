"""Write a simulated account's reports in Amazon's real layouts, with optional quirks.

Header names come from recoup's report declarations (the layouts documented in
amazon-reports.md). Quirks, when asked for: the ledger split into monthly files that overlap by
three days, cp1252 reimbursements with their columns shuffled, a BOM on customer returns, CRLF
line ends on removal orders, an extra column on removal shipments. DE settlements always print
`dd.MM.yyyy` dates and comma decimals, as Amazon.de does. Every row learns the file and line it
was written to, for the answer key's evidence.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import random
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from recoup.reports import REPORT_TYPES
from recoup.simulate.downloads import settlement_periods
from recoup.simulate.events import Row
from recoup.simulate.seller import Account

DECLARED = {r.name: r for r in REPORT_TYPES}
OVERLAP_DAYS = 3

# Columns recoup accepts but the real downloads do not print.
NOT_PRINTED = {
    "removal_orders": {"order_source"},
    "inbound_shipments": {
        "label_prep_type",
        "are_cases_required",
        "confirmed_need_by_date",
        "box_contents_source",
    },
    "inbound_shipment_items": {"release_date"},
    "sourcing_costs": {"marketplace_name"},
}


@dataclass(frozen=True)
class Style:
    delimiter: str = "\t"
    encoding: str = "utf-8"
    newline: str = "\n"
    shuffle: bool = False
    extra_column: bool = False


def write_reports(account: Account, out: Path, *, quirks: bool = False) -> list[Path]:
    """Write every report into `out`; return the files in the order they should be imported."""
    out.mkdir(parents=True, exist_ok=True)
    rng = random.Random(account.config.seed)
    tsv = Style()
    files = [*_ledger(account, out, monthly=quirks)]
    files.append(
        _write(
            account,
            out / "reimbursements.txt",
            "reimbursements",
            _rows(account, "reimbursements"),
            style=Style(encoding="cp1252", shuffle=True) if quirks else tsv,
            rng=rng,
        )
    )
    files.append(
        _write(
            account,
            out / "customer-returns.txt",
            "customer_returns",
            _rows(account, "customer_returns"),
            style=Style(encoding="utf-8-sig") if quirks else tsv,
            rng=rng,
        )
    )
    files.append(
        _write(
            account,
            out / "removal-order-detail.txt",
            "removal_orders",
            _rows(account, "removal_orders"),
            style=Style(newline="\r\n") if quirks else tsv,
            rng=rng,
        )
    )
    files.append(
        _write(
            account,
            out / "removal-shipment-detail.txt",
            "removal_shipments",
            _rows(account, "removal_shipments"),
            style=Style(extra_column=quirks),
            rng=rng,
        )
    )
    files += _settlements(account, out, rng)
    comma = Style(delimiter=",")
    for name, report in (
        ("inbound-shipments.csv", "inbound_shipments"),
        ("inbound-shipment-items.csv", "inbound_shipment_items"),
        ("sourcing-costs.csv", "sourcing_costs"),
    ):
        files.append(
            _write(account, out / name, report, _rows(account, report), style=comma, rng=rng)
        )
    return files


def _rows(account: Account, report: str) -> list[Row]:
    """A report's rows in date order (stable: events of a day stay in the order they happened)."""
    rows = account.rows.get(report, [])
    date = DECLARED[report].date_column
    if date is None:
        return rows
    return sorted(rows, key=lambda r: r.values.get(date) or dt.date.min)  # type: ignore[return-value,arg-type]


def _ledger(account: Account, out: Path, *, monthly: bool) -> Iterable[Path]:
    rows = _rows(account, "ledger_detail")
    if not monthly:
        yield _write(
            account, out / "ledger-detail.txt", "ledger_detail", rows, style=Style(), rng=None
        )
        return
    month = dt.date(account.config.start.year, account.config.start.month, 1)
    while month <= account.config.as_of:
        following = dt.date(month.year + month.month // 12, month.month % 12 + 1, 1)
        until = following + dt.timedelta(days=OVERLAP_DAYS - 1)
        part = [r for r in rows if month <= r.values["date"] <= until]  # type: ignore[operator]
        yield _write(
            account,
            out / f"ledger-detail-{month:%Y-%m}.txt",
            "ledger_detail",
            part,
            style=Style(),
            rng=None,
        )
        month = following


def _settlements(account: Account, out: Path, rng: random.Random) -> list[Path]:
    rows = account.rows.get("settlement_v2", [])
    by_id: dict[str, list[Row]] = {}
    for row in rows:
        by_id.setdefault(str(row.values["settlement_id"]), []).append(row)
    files = []
    for settlement_id, start, end in settlement_periods(account):
        lines = sorted(by_id.get(settlement_id, []), key=lambda r: r.values["posted_date"])  # type: ignore[arg-type,return-value]
        total = sum((Decimal(str(r.values["amount"])) for r in lines), Decimal(0))
        summary = Row(
            "settlement_v2",
            {
                "settlement_id": settlement_id,
                "settlement_start_date": start,
                "settlement_end_date": end + dt.timedelta(days=1),
                "deposit_date": end + dt.timedelta(days=3),
                "total_amount": total,
                "currency": account.market.currency,
            },
        )
        files.append(
            _write(
                account,
                out / f"settlement-{settlement_id}.txt",
                "settlement_v2",
                [summary, *lines],
                style=Style(),
                rng=rng,
            )
        )
    return files


def _write(
    account: Account,
    path: Path,
    report: str,
    rows: list[Row],
    *,
    style: Style,
    rng: random.Random | None = None,
) -> Path:
    columns = [c for c in DECLARED[report].columns if c.name not in NOT_PRINTED.get(report, set())]
    if style.shuffle and rng is not None:
        columns = rng.sample(columns, len(columns))
    header = [c.sources[0] for c in columns] + (["seller-note"] if style.extra_column else [])
    buffer = io.StringIO()
    writer = csv.writer(
        buffer,
        delimiter=style.delimiter,
        lineterminator=style.newline,
        quoting=csv.QUOTE_MINIMAL if style.delimiter == "," else csv.QUOTE_NONE,
        escapechar=None if style.delimiter == "," else "\\",
    )
    writer.writerow(header)
    for line, row in enumerate(rows, start=2):
        values = [_text(account, report, c.name, row.values.get(c.name)) for c in columns]
        writer.writerow(values + (["checked"] if style.extra_column else []))
        row.file, row.line = path.name, line
    path.write_bytes(buffer.getvalue().encode(style.encoding))
    return path


def _text(account: Account, report: str, column: str, value: object) -> str:
    market = account.market
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return market.amount(value) if report == "settlement_v2" else str(value)
    if isinstance(value, dt.date):
        if report == "ledger_detail":
            return f"{value:%m/%d/%Y}"
        if report == "settlement_v2":
            if column in ("posted_date",):
                return market.posted_date(value)
            return market.settlement_date(value)
        if report == "sourcing_costs":
            return value.isoformat()
        return f"{value:%Y-%m-%d}T10:15:00+00:00"
    return str(value)

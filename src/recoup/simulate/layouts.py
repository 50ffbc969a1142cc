"""Write a simulated account's reports in Amazon's real layouts, with optional quirks.

Header names come from recoup's report declarations (the layouts documented in
amazon-reports.md). Quirks, when asked for: the ledger split into monthly files that overlap by
three days, cp1252 reimbursements with their columns shuffled, a BOM on customer returns, CRLF
line ends on removal orders, an extra column on removal shipments. DE settlements always print
`dd.MM.yyyy` dates and comma decimals, as Amazon.de does.

Rows are appended batch by batch (a large account never sits in memory whole); every row learns
the file and line it was written to, for the answer key's evidence.
"""

from __future__ import annotations

import csv
import datetime as dt
import heapq
import io
import random
import shutil
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

from recoup.reports import REPORT_TYPES
from recoup.reports.base import Column
from recoup.simulate.account import Account, SimConfig, settlement_of, settlement_periods
from recoup.simulate.catalog import Product
from recoup.simulate.events import Row, Sale, Settled, Values, sale_amounts
from recoup.simulate.markets import MARKETS, Market
from recoup.simulate.partial import Download

DECLARED = {r.name: r for r in REPORT_TYPES}
OVERLAP_DAYS = 3

# Columns recoup accepts but the real downloads do not print.
NOT_PRINTED = {
    "removal_orders": {"order_source"},
    "inbound_shipments": {
        "label_prep_type", "are_cases_required", "confirmed_need_by_date", "box_contents_source"
    },
    "inbound_shipment_items": {"release_date"},
    "sourcing_costs": {"marketplace_name"},
}  # fmt: skip
# What a settlement line fills in, in `write_settled`'s order; the other columns stay blank.
SETTLEMENT_FIELDS = [
    "settlement_id", "transaction_type", "order_id", "adjustment_id", "marketplace_name",
    "amount_type", "amount_description", "amount", "fulfillment_id", "posted_date", "sku",
    "quantity_purchased",
]  # fmt: skip
# (file name, report, quirk) in import order after the ledger; settlements come last.
FILES = [
    ("reimbursements.txt", "reimbursements", "cp1252 and shuffled"),
    ("customer-returns.txt", "customer_returns", "BOM"),
    ("removal-order-detail.txt", "removal_orders", "CRLF"),
    ("removal-shipment-detail.txt", "removal_shipments", "extra column"),
    ("inbound-shipments.csv", "inbound_shipments", ""),
    ("inbound-shipment-items.csv", "inbound_shipment_items", ""),
    ("sourcing-costs.csv", "sourcing_costs", ""),
]


@dataclass
class Sink:
    """One report file being written: its columns, formatters and next line number."""

    path: Path
    stream: IO[str]
    writer: Any  # a csv writer for CSV files; None for tab-separated reports
    newline: str
    formats: list[tuple[str, Callable[[Any], str]]]
    extra: list[str] = field(default_factory=list)
    line: int = 2
    name: str = ""  # the file rows cite (settlement bodies cite the file they will be part of)
    template: str = ""  # for settlement lines
    sales: dict[str, str] = field(default_factory=dict)  # a ledger template per product
    stamps: dict[dt.date, tuple[str, str]] = field(default_factory=dict)  # Date, Date and Time
    fast: str = ""  # a format string printing a whole row (the ledger: most rows of an account)
    dates: dict[dt.date, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.name = self.name or self.path.name

    def emit(self, texts: list[str]) -> None:
        if self.writer is not None:
            self.writer.writerow(texts)
        else:  # Amazon's TSVs are not quoted: a title's quotes and commas are printed as they are
            self.stream.write("\t".join(texts) + self.newline)

    def write_settled(self, event: Settled, market: Market) -> None:
        """An order's or refund's settlement lines; it learns where they start (evidence)."""
        transaction, order_id, adjustment_id, sku, quantity = event.printed()
        event.file, event.line = self.name, self.line
        self.write_lines(market, event.settlement_id, transaction, order_id, adjustment_id, sku,
                         quantity, event.day, event.amounts())  # fmt: skip

    def write_lines(  # noqa: PLR0917 - the fields of a settlement line, in the report's words
        self,
        market: Market,
        settlement_id: str,
        transaction: str,
        order_id: str,
        adjustment_id: str,
        sku: str,
        quantity: int | None,
        day: dt.date,
        amounts: tuple[tuple[str, str, Decimal], ...],
    ) -> None:
        """Settlement lines, each through one format string (these are the bulk of an
        account's rows)."""
        if not self.template:
            fields = {name: str(i) for i, name in enumerate(SETTLEMENT_FIELDS)}
            self.template = (
                "\t".join(
                    "{" + fields[name] + "}" if name in fields else "" for name, _ in self.formats
                )
                + self.newline
            )
        posted = self.dates.get(day)
        if posted is None:
            posted = self.dates[day] = market.posted_date(day)
        for amount_type, description, amount in amounts:
            self.stream.write(
                self.template.format(
                    settlement_id, transaction, order_id, adjustment_id, market.site,
                    amount_type, description, market.amount(amount), "AFN", posted, sku,
                    "" if quantity is None else quantity,
                )
            )  # fmt: skip
        self.line += len(amounts)

    def write_sale(self, sale: Sale, market: Market) -> None:
        """A sale's ledger row (`Shipments`), through a format string made once per product."""
        template = self.sales.get(sale.product.fnsku)
        if template is None:
            template = self.sales[sale.product.fnsku] = self._sale_template(sale.product, market)
        printed = self.dates.get(sale.day)
        if printed is None:
            printed = self.dates[sale.day] = (
                f"{sale.day:%m/%d/%Y}\0{market.date_and_time(sale.day)}"
            )
        day, stamp = printed.split("\0")
        self.stream.write(template.format(day, -sale.quantity, stamp))
        self.line += 1

    def _sale_template(self, product: Product, market: Market) -> str:
        fixed = {
            "fnsku": product.fnsku, "asin": product.asin, "msku": product.sku,
            "title": product.title, "event_type": "Shipments",
            "fulfillment_center": product.fulfillment_center, "disposition": "SELLABLE",
            "country": market.code,
        }  # fmt: skip
        varying = {"date": "{0}", "quantity": "{1}", "date_and_time": "{2}"}
        parts = [
            varying.get(name) or fixed.get(name, "").replace("{", "{{").replace("}", "}}")
            for name, _ in self.formats
        ]
        return "\t".join(parts) + self.newline

    def write(self, row: Row) -> None:
        values = row.values
        if self.fast:
            self.stream.write(self.fast.format_map(values))
        else:
            text = [
                ("" if (v := values.get(name)) is None else fmt(v)) for name, fmt in self.formats
            ]
            self.emit(text + self.extra)
        row.file, row.line = self.name, self.line
        self.line += 1


class ReportWriter:
    """Appends each batch's rows to the account's report files; `close()` finishes them.

    With `part=True` it writes one batch's rows only, without headers and counting lines from 1,
    for a worker process; the main writer then appends such parts in order (`append_part`).
    """

    def __init__(
        self, config: SimConfig, out: Path, *, quirks: bool = False, part: bool = False
    ) -> None:
        self.config, self.out, self.quirks, self.part = config, out, quirks, part
        self.market = MARKETS[config.marketplace]
        self.download = Download.of(config)  # rows the seller did not download are not written
        self.rng = random.Random(config.seed)
        if not part:  # a part is written in memory
            out.mkdir(parents=True, exist_ok=True)
            _clear_previous(out)
        self.sinks: dict[str, Sink] = {}
        self.months: dict[dt.date, Sink] = {}
        self.periods = settlement_periods(config)
        self.totals: dict[str, Decimal] = {p[0]: Decimal(0) for p in self.periods}
        self.bodies: dict[str, Sink] = {}
        for name, report, quirk in FILES:
            self.sinks[report] = self._open(out / name, report, quirk if quirks else "")

    def add(self, account: Account) -> None:
        rows = _by_date(account, "ledger_detail")
        sales = sorted(account.sales, key=lambda sale: sale.day)
        ledger: Iterable[tuple[dt.date, int, int, Row | Sale]] = heapq.merge(
            ((r.values["date"], 0, i, r) for i, r in enumerate(rows)),  # type: ignore[misc]
            ((sale.day, 1, i, sale) for i, sale in enumerate(sales)),
        )
        shows = self.download.shows
        for day, _, _, item in ledger:
            if not shows("ledger_detail", day):
                continue
            for sink in self._ledger_sinks(item):
                if isinstance(item, Row):
                    sink.write(item)
                else:
                    sink.write_sale(item, self.market)
        for _, report, _ in FILES:
            sink = self.sinks[report]
            date = DECLARED[report].date_column
            for row in _by_date(account, report):
                if shows(report, row.values.get(date) if date else None):
                    sink.write(row)
        self._settle(account, sales)

    def _settle(self, account: Account, sales: list[Sale]) -> None:
        """Settlement lines: orders and refunds that are evidence, and the other sales."""
        plain: list[tuple[dt.date, int, int, Settled | Sale, str]] = []
        for sale in sales:
            settlement = settlement_of(self.config, self.periods, sale.day)
            if sale.order is None and settlement:
                plain.append((sale.day, 1, len(plain), sale, settlement))
        settled: list[tuple[dt.date, int, int, Settled | Sale, str]] = [
            (e.day, 0, i, e, e.settlement_id) for i, e in enumerate(account.settled())
        ]
        for day, _, _, item, settlement in heapq.merge(settled, plain):
            if not self.download.shows("settlements", day):
                continue
            if settlement not in self.bodies:
                self.bodies[settlement] = self._body(settlement)
            body = self.bodies[settlement]
            if isinstance(item, Sale):
                amounts = sale_amounts(item.product, item.quantity)
                body.write_lines(self.market, settlement, "Order", item.order_id, "",
                                 item.product.sku, item.quantity, item.day, amounts)  # fmt: skip
            else:
                amounts = item.amounts()
                body.write_settled(item, self.market)
            self.totals[settlement] += sum(amount for _, _, amount in amounts)

    def _body(self, settlement: str) -> Sink:
        """Where a settlement's lines go until `close()` puts the summary row before them."""
        name = f"settlement-{settlement}.txt"
        path = self.out / (name if self.part else f".{name}.body")
        body = self._open(path, "settlement_v2", "", header=False)
        if not self.part:
            body.line, body.name = 3, name  # after the header and the summary row
        return body

    def finish_part(self) -> tuple[dict[str, tuple[bytes, int]], dict[str, Decimal]]:
        """A part's text of each file (by final name) with its line count, and the settlement
        totals. Parts live in memory: the main writer writes every byte to disk once."""
        sinks = [*self.months.values(), *self.sinks.values(), *self.bodies.values()]
        texts = {}
        for sink in sinks:
            sink.stream.flush()
            texts[sink.path.name] = (sink.stream.buffer.getvalue(), sink.line - 1)  # type: ignore[attr-defined]
            sink.stream.close()
        return texts, self.totals

    def append_part(self, name: str, text: bytes, lines: int) -> int:
        """Append a part's text to the file called `name`; return how many lines that file had
        before (the part's line numbers shift by as much). Parts are in the file's encoding
        (without a BOM), so their bytes are appended as they are."""
        sink = self._sink_named(name)
        before = sink.line - 1
        sink.stream.flush()
        sink.stream.buffer.write(text)  # type: ignore[attr-defined]
        sink.line += lines
        return before

    def _sink_named(self, name: str) -> Sink:
        if name.startswith("settlement-"):
            settlement = name.removeprefix("settlement-").removesuffix(".txt")
            if settlement not in self.bodies:
                self.bodies[settlement] = self._body(settlement)
            return self.bodies[settlement]
        if name == "ledger-detail.txt":
            return self._single()
        if name.startswith("ledger-detail-"):
            year, month = name.removeprefix("ledger-detail-").removesuffix(".txt").split("-")
            return self._month(dt.date(int(year), int(month), 1))
        return next(self.sinks[r] for file, r, _ in FILES if file == name)

    def close(self) -> list[Path]:
        """Close every file; return them in the order they should be imported."""
        ledger = [self.months[m] for m in sorted(self.months)]
        if not self.quirks and "single" in self.sinks:
            ledger = [self.sinks["single"]]
        for sink in [*ledger, *self.sinks.values(), *self.bodies.values()]:
            sink.stream.close()
        files = [s.path for s in ledger]
        for _, report, _ in FILES:
            if self.download.written(report):
                files.append(self.sinks[report].path)
            else:
                self.sinks[report].path.unlink()
        # A settlement all of whose lines were cut (or all settlements, dropped) is not there.
        partial = not self.download.written("settlements") or "settlements" in self.download.cuts
        periods = [p for p in self.periods if not partial or p[0] in self.bodies]
        return files + [self._settlement_file(*period) for period in periods]

    # -- the ledger ------------------------------------------------------------------------------

    def _ledger_sinks(self, item: Row | Sale) -> list[Sink]:
        """The ledger files a row goes to, in writing order."""
        if not self.quirks:
            return [self._single()]
        day: dt.date = item.values["date"] if isinstance(item, Row) else item.day  # type: ignore[assignment]
        month = dt.date(day.year, day.month, 1)
        earlier = (month - dt.timedelta(days=1)).replace(day=1)
        # Monthly downloads overlap by a few days: the first days of a month are in the previous
        # month's file too. The later file (imported later) is the one whose line is evidence.
        if day.day <= OVERLAP_DAYS and earlier >= self._month_of(self.config.start):
            return [self._month(earlier), self._month(month)]
        return [self._month(month)]

    def _single(self) -> Sink:
        if "single" not in self.sinks:
            self.sinks["single"] = self._open(self.out / "ledger-detail.txt", "ledger_detail", "")
        return self.sinks["single"]

    def _month_of(self, day: dt.date) -> dt.date:
        return dt.date(day.year, day.month, 1)

    def _month(self, month: dt.date) -> Sink:
        if month not in self.months:
            path = self.out / f"ledger-detail-{month:%Y-%m}.txt"
            self.months[month] = self._open(path, "ledger_detail", "")
        return self.months[month]

    # -- settlements -----------------------------------------------------------------------------

    def _settlement_file(self, settlement: str, start: dt.date, end: dt.date) -> Path:
        """Header, the summary row (Amazon prints it first), then the lines written so far."""
        path = self.out / f"settlement-{settlement}.txt"
        with path.open("w", encoding="utf-8", newline="") as stream:
            sink = self._sink(path, stream, "settlement_v2", "")
            sink.write(
                Row(
                    "settlement_v2",
                    Values(
                        {
                            "settlement_id": settlement,
                            "settlement_start_date": start,
                            "settlement_end_date": end + dt.timedelta(days=1),
                            "deposit_date": end + dt.timedelta(days=3),
                            "total_amount": self.totals[settlement],
                            "currency": self.market.currency,
                        }
                    ),
                )
            )
            body = self.bodies.pop(settlement, None)
            if body is not None:
                with body.path.open(encoding="utf-8", newline="") as lines:
                    shutil.copyfileobj(lines, stream)
                body.path.unlink()
        return path

    # -- files -------------------------------------------------------------------------------------

    def _open(self, path: Path, report: str, quirk: str, *, header: bool = True) -> Sink:
        encoding = {"cp1252 and shuffled": "cp1252", "BOM": "utf-8-sig"}.get(quirk, "utf-8")
        # Parts have no header and no BOM: the main writer's file has them, and its lines
        # continue the count.
        if self.part:
            memory: IO[str] = io.TextIOWrapper(
                io.BytesIO(), encoding=encoding.replace("-sig", ""), newline=""
            )
            sink = self._sink(path, memory, report, quirk, header=False)
            sink.line = 1
            return sink
        stream = path.open("w", encoding=encoding, newline="")
        return self._sink(path, stream, report, quirk, header=header)

    def _sink(
        self, path: Path, stream: IO[str], report: str, quirk: str, *, header: bool = True
    ) -> Sink:
        columns = [
            c for c in DECLARED[report].columns if c.name not in NOT_PRINTED.get(report, set())
        ]
        if quirk == "cp1252 and shuffled":
            columns = self.rng.sample(columns, len(columns))
        newline = "\r\n" if quirk == "CRLF" else "\n"
        writer = csv.writer(stream, lineterminator=newline) if path.suffix == ".csv" else None
        extra = ["seller-note"] if quirk == "extra column" else []
        formats = [(c.name, _format(self.market, report, c)) for c in columns]
        sink = Sink(path, stream, writer, newline, formats, ["checked"] if extra else [])
        if report == "ledger_detail":  # every value prints with str() except the date
            sink.fast = (
                "\t".join(
                    f"{{{c.name}:%m/%d/%Y}}" if c.kind == "date" else f"{{{c.name}}}"
                    for c in columns
                )
                + newline
            )
        if header:
            sink.emit([c.sources[0] for c in columns] + extra)
        return sink


def _clear_previous(out: Path) -> None:
    """Remove the files an earlier simulation wrote here (and only those), so that importing the
    folder never mixes two simulations (e.g. a longer one's extra monthly ledgers)."""
    ours = [name for name, _, _ in FILES] + ["ledger-detail*.txt", "settlement-*.txt"]
    for pattern in [*ours, ".settlement-*.body"]:
        for path in out.glob(pattern):
            path.unlink()


def _by_date(account: Account, report: str) -> list[Row]:
    """A report's rows in date order (stable: events of a day stay in the order they happened)."""
    rows = account.rows.get(report, [])
    date = DECLARED[report].date_column
    if date is None:
        return rows
    return sorted(rows, key=lambda r: r.values.get(date) or dt.date.min)  # type: ignore[return-value,arg-type]


def _format(market: Market, report: str, column: Column) -> Callable[[Any], str]:
    """How this report prints this column's values (dates remembered: they repeat a lot)."""
    printed = _printer(market, report, column)
    if column.kind != "date":
        return printed
    seen: dict[object, str] = {}

    def remembered(value: Any) -> str:
        text = seen.get(value)
        if text is None:
            text = seen[value] = printed(value)
        return text

    return remembered


def _printer(market: Market, report: str, column: Column) -> Callable[[Any], str]:
    if column.kind == "date":
        if report == "ledger_detail":
            return lambda d: f"{d:%m/%d/%Y}"
        if report == "settlement_v2":
            return market.posted_date if column.name == "posted_date" else market.settlement_date
        if report == "sourcing_costs":
            return lambda d: d.isoformat()
        return lambda d: f"{d:%Y-%m-%d}T10:15:00+00:00"
    if column.kind == "decimal" and report == "settlement_v2":
        return market.amount
    return str

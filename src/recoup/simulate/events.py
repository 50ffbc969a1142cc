"""The true events of a simulated account, each with the report rows it printed.

A `Row` is one line of one Amazon report, keyed by recoup's canonical column names; the writer
fills in the file and line it landed on, which the answer key cites as evidence.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from recoup.simulate.catalog import Product


class Values(dict[str, object]):
    """A row's values; a column it does not have prints blank (for `str.format_map`)."""

    def __missing__(self, key: str) -> str:
        return ""


@dataclass(eq=False)
class Row:
    report: str  # a report type name, e.g. "ledger_detail"
    values: dict[str, object]
    file: str = ""
    line: int = 0

    def evidence(self) -> dict[str, object]:
        return {"report": self.report, "file": self.file, "line": self.line}


class SettlementLine:
    """One settlement row, kept compact (there are three per order): the writer prints it."""

    __slots__ = (
        "adjustment_id",
        "amount",
        "amount_type",
        "day",
        "description",
        "file",
        "line",
        "order_id",
        "quantity",
        "settlement_id",
        "sku",
        "transaction",
    )  # fmt: skip
    report = "settlement_v2"

    def __init__(
        self,
        *,
        settlement_id: str,
        transaction: str,
        order_id: str,
        adjustment_id: str,
        sku: str,
        day: dt.date,
        amount_type: str,
        description: str,
        amount: Decimal,
        quantity: int | None = None,
    ) -> None:
        self.settlement_id, self.transaction = settlement_id, transaction
        self.order_id, self.adjustment_id, self.sku, self.day = order_id, adjustment_id, sku, day
        self.amount_type, self.description, self.amount = amount_type, description, amount
        self.quantity = quantity
        self.file, self.line = "", 0

    def evidence(self) -> dict[str, object]:
        return {"report": self.report, "file": self.file, "line": self.line}


Cited = Row | SettlementLine


@dataclass(eq=False)
class Adjustment:
    """A ledger `Adjustments` row: a loss (M, 5), damage (E, 6, 7, H, K, U), disposal (D, G),
    or found units (F, N)."""

    day: dt.date
    product: Product
    reason: str
    quantity: int  # signed, as printed
    reference_id: str
    row: Row
    reconciled: int = 0  # as of the download, for loss and damage rows
    unreconciled: int = 0


@dataclass(eq=False)
class Reimbursement:
    reimbursement_id: str
    day: dt.date
    reason: str
    product: Product
    quantity_cash: int
    quantity_inventory: int
    amount_per_unit: Decimal
    amount_total: Decimal
    row: Row
    order_id: str = ""
    original_id: str = ""
    original_reason: str = ""

    @property
    def quantity_total(self) -> int:
        return self.quantity_cash + self.quantity_inventory


@dataclass(eq=False)
class Order:
    order_id: str
    day: dt.date
    product: Product
    quantity: int
    principal: Decimal
    commission: Decimal  # positive: what Amazon charged
    rows: list[SettlementLine] = field(default_factory=list)


@dataclass(eq=False)
class Refund:
    adjustment_id: str
    day: dt.date
    order: Order
    principal: Decimal  # positive: what was refunded
    commission_refunded: Decimal  # positive
    refund_commission: Decimal  # positive: the administration fee Amazon kept
    rows: list[SettlementLine] = field(default_factory=list)
    settled: bool = False  # printed in a settlement the seller has


@dataclass(eq=False)
class CustomerReturn:
    day: dt.date
    order: Order
    quantity: int
    disposition: str
    reason: str
    row: Row


@dataclass(eq=False)
class RemovalOrder:
    order_id: str
    order_type: str  # Return, Disposal
    status: str
    request_day: dt.date
    last_updated: dt.date
    product: Product
    requested: int
    cancelled: int
    disposed: int
    shipped: int
    row: Row


@dataclass(eq=False)
class InboundItem:
    product: Product
    shipped: int
    received: int  # as of the download
    row: Row | None = None


@dataclass(eq=False)
class InboundShipment:
    shipment_id: str
    created: dt.date
    status: str
    items: list[InboundItem]
    receipts: list[tuple[dt.date, Product, int, Row]] = field(default_factory=list)
    row: Row | None = None

    @property
    def last_receipt(self) -> dt.date | None:
        return max((r[0] for r in self.receipts), default=None)

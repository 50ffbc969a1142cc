"""The true events of a simulated account, each with the report rows it printed.

A `Row` is one line of one Amazon report, keyed by recoup's canonical column names; the writer
fills in the file and line it landed on, which the answer key cites as evidence.
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass, field
from decimal import Decimal
from typing import NamedTuple

from recoup.money import cents
from recoup.simulate.catalog import Product


class Values(dict[str, object]):
    """A row's values; a column it does not have prints blank (for `str.format_map`)."""

    def __missing__(self, key: str) -> str:
        return ""


@dataclass(eq=False)
class Row:
    report: str  # a report type name, e.g. "ledger_detail"
    values: Values
    file: str = ""
    line: int = 0

    def evidence(self) -> dict[str, object]:
        return {"report": self.report, "file": self.file, "line": self.line}


@dataclass(frozen=True)
class LineRef:
    """One line of a settlement file, cited as evidence."""

    file: str
    line: int
    report: str = "settlement_v2"

    def evidence(self) -> dict[str, object]:
        return {"report": self.report, "file": self.file, "line": self.line}


class Settled:
    """An order or refund as a settlement prints it: three lines from its first `line` on."""

    settlement_id: str
    file: str
    line: int
    day: dt.date

    @property
    def settled(self) -> bool:
        """Printed in a settlement the seller has (settlements close every 14 days)."""
        return bool(self.settlement_id)

    def cite(self, index: int) -> LineRef:
        return LineRef(self.file, self.line + index)

    def printed(self) -> tuple[str, str, str, str, int | None]:
        """transaction-type, order-id, adjustment-id, sku, quantity-purchased."""
        raise NotImplementedError

    def amounts(self) -> tuple[tuple[str, str, Decimal], ...]:
        """(amount-type, amount-description, amount) of each of its lines."""
        raise NotImplementedError


Cited = Row | LineRef


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


FBA_FEE = Decimal("3.22")  # per unit, in every simulated settlement
COMMISSION = Decimal("0.15")


@functools.cache
def sale_amounts(product: Product, quantity: int) -> tuple[tuple[str, str, Decimal], ...]:
    """The settlement lines of a sale: principal, commission, FBA fee (the same for every sale
    of a product and quantity, so made once)."""
    principal = product.price * quantity
    return (
        ("ItemPrice", "Principal", principal),
        ("ItemFees", "Commission", -cents(principal * COMMISSION)),
        ("ItemFees", "FBAPerUnitFulfillmentFee", -FBA_FEE * quantity),
    )


@dataclass(eq=False)
class Order(Settled):
    order_id: str
    day: dt.date
    product: Product
    quantity: int
    settlement_id: str = ""
    file: str = ""
    line: int = 0

    @property
    def principal(self) -> Decimal:
        return self.amounts()[0][2]

    @property
    def commission(self) -> Decimal:
        """Positive: what Amazon charged."""
        return -self.amounts()[1][2]

    def printed(self) -> tuple[str, str, str, str, int | None]:
        return "Order", self.order_id, "", self.product.sku, self.quantity

    def amounts(self) -> tuple[tuple[str, str, Decimal], ...]:
        return sale_amounts(self.product, self.quantity)


class Sale(NamedTuple):
    """One FBA shipment to a customer: a ledger row and, once settled, three settlement lines.
    Kept this small because sales are most of an account; a sale that will be refunded also
    has an `Order` (its lines are evidence)."""

    day: dt.date
    order_id: str
    quantity: int
    product: Product
    order: Order | None


@dataclass(eq=False)
class Refund(Settled):
    adjustment_id: str
    day: dt.date
    order: Order
    principal: Decimal  # positive: what was refunded
    commission_refunded: Decimal  # positive
    refund_commission: Decimal  # positive: the administration fee Amazon kept
    settlement_id: str = ""
    file: str = ""
    line: int = 0

    def printed(self) -> tuple[str, str, str, str, int | None]:
        return "Refund", self.order.order_id, self.adjustment_id, self.order.product.sku, None

    def amounts(self) -> tuple[tuple[str, str, Decimal], ...]:
        return (
            ("ItemPrice", "Principal", -self.principal),
            ("ItemFees", "Commission", self.commission_refunded),
            ("ItemFees", "RefundCommission", -self.refund_commission),
        )


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

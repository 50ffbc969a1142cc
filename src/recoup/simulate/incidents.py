"""What can happen to a product on a day, and what Amazon does about it afterwards.

Each incident changes the true stock and writes the rows Amazon's reports would show. The odds
are chosen so that a default account (40 products, 14 months) meets every finding kind and every
case that must not be claimed.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable
from decimal import Decimal
from typing import TYPE_CHECKING

from recoup.money import cents
from recoup.simulate.catalog import Product
from recoup.simulate.events import (
    Adjustment,
    CustomerReturn,
    InboundItem,
    InboundShipment,
    Order,
    Refund,
    Reimbursement,
    RemovalOrder,
    Sale,
)

if TYPE_CHECKING:
    from random import Random

    from recoup.simulate.seller import Seller

# From this approval date a US loss before a customer order is paid at sourcing cost (policy A.0).
US_COST_BASIS = dt.date(2025, 3, 31)
# Rare cases, drawn from the seller's `rare` stream so that they leave every other draw alone.
# The chance that a shipment short by 2 or more units is split in two that close on one day:
SPLIT_INBOUND = 0.3
# The chance that a customer-return payment for an order of 2 or more units is a
# CustomerServiceIssue payment a late return then explains the reversal of:
SERVICE_ISSUE = 0.3
UNSELLABLE_DAMAGE = {
    "6": "CARRIER_DAMAGED",
    "7": "EXPIRED",
    "H": "CUSTOMER_DAMAGED",
    "K": "DEFECTIVE",
    "U": "DISTRIBUTOR_DAMAGED",
}


def _pick(s: Seller, odds: dict[str, float]) -> str:
    roll = s.rng.random() * sum(odds.values())
    for name, weight in odds.items():
        if roll < weight:
            return name
        roll -= weight
    return next(iter(odds))


def _per_unit(s: Seller, product: Product, day: dt.date, *, short: bool = False) -> Decimal:
    """What Amazon pays per unit lost before an order: sourcing cost in the US from the cost-basis
    date (sometimes less), before that and elsewhere the estimated proceeds of a sale."""
    if s.account.market.code == "US" and day >= US_COST_BASIS:
        cost = s.cost_on(product, day)
        return cents(cost * Decimal("0.70")) if short else cost
    return cents(product.price * Decimal("0.72"))


# -- sales, refunds and returns ----------------------------------------------------------------


def sell(s: Seller, day: dt.date, product: Product) -> None:
    quantity = 2 if s.rng.random() < 0.1 and s.sellable[product.fnsku] >= 2 else 1
    s.sellable[product.fnsku] -= quantity
    order_id = s.order_id()
    order = None
    if s.rng.random() < 0.07:
        order = Order(order_id, day, product, quantity)
        s.account.orders.append(order)
        _refund_later(s, order)
    s.account.sales.append(Sale(day, order_id, quantity, product, order))


def _refund_later(s: Seller, order: Order) -> None:
    outcome = _pick(
        s,
        {
            "returned": 38,
            "customer_damaged": 14,
            "amazon_damaged": 10,
            "reimbursed": 18,
            "never": 8,
            "concession": 5,
            "overcharged": 1,
        },
    )
    refund_day = order.day + s.days(3, 30)
    principal, commission = order.principal, order.commission
    if outcome == "concession":  # a partial refund: never a return
        principal, commission = (
            cents(principal * Decimal("0.2")),
            cents(commission * Decimal("0.2")),
        )
    if outcome == "overcharged":
        principal += Decimal("5.00")
    fee = cents(min(Decimal(5), commission * Decimal("0.2")))
    if s.rng.random() < 0.015:
        fee += Decimal("1.50")  # Amazon kept more than its refund administration fee

    def refund() -> None:
        s.account.refunds.append(
            Refund(f"amzn1:crow:{s.digits(12)}", refund_day, order, principal, commission, fee)
        )

    s.later(refund_day, refund)
    if outcome in ("returned", "overcharged", "customer_damaged", "amazon_damaged"):
        # Some units come back before the refund is issued.
        return_day = refund_day + s.days(-3, 20)
        s.later(
            max(return_day, order.day + dt.timedelta(days=1)), lambda: _come_back(s, order, outcome)
        )
    elif outcome == "reimbursed" and order.quantity > 1 and s.rare.random() < SERVICE_ISSUE:
        s.later(refund_day + s.days(60, 75), lambda: _service_issue(s, order))
    elif outcome == "reimbursed":
        per_unit = cents(order.principal / order.quantity)
        s.later(
            refund_day + s.days(60, 75),
            lambda: s.reimburse(
                s.queue_day,
                order.product,
                "CustomerReturn",
                order.quantity,
                per_unit,
                order_id=order.order_id,
            ),
        )


def _service_issue(s: Seller, order: Order) -> None:
    """Amazon pays a `CustomerServiceIssue` for all but one refunded unit of an order that did
    not come back, then a unit comes back late after all and Amazon reverses the payment. The
    return explains the reversal, so the payment cancels nothing (principle 7): the return
    cancels one refunded unit, and the order's other refunded unit is owed."""
    original = s.reimburse(
        s.queue_day,
        order.product,
        "CustomerServiceIssue",
        order.quantity - 1,
        cents(order.principal / order.quantity),
        order_id=order.order_id,
    )
    back = s.queue_day + dt.timedelta(days=s.rare.randint(5, 20))
    s.later(back, lambda: _late_return(s, order))
    s.later(back + dt.timedelta(days=s.rare.randint(2, 10)), lambda: _reverse(s, original))


def _late_return(s: Seller, order: Order) -> None:
    """One unit of the order comes back. It is kept out of the stock the seller sells from, so
    that the rare case leaves the rest of the account's history as it was."""
    _come_back(s, order, "returned", units=1, rng=s.rare)
    s.sellable[order.product.fnsku] -= 1


def _come_back(
    s: Seller, order: Order, outcome: str, *, units: int | None = None, rng: Random | None = None
) -> None:
    """The customer's return of `units` of the order (all of them unless given); `rng` draws
    its license plate number (the seller's stream unless given)."""
    day = s.queue_day
    product = order.product
    quantity = order.quantity if units is None else units
    rng = rng or s.rng
    if outcome == "customer_damaged":
        disposition, reason, ledger = "CUSTOMER_DAMAGED", "UNWANTED_ITEM", "CUSTOMER_DAMAGED"
    elif outcome == "amazon_damaged":
        by_carrier = s.rng.random() < 0.4
        disposition = "CARRIER_DAMAGED" if by_carrier else "DAMAGED"
        reason = "DAMAGED_BY_CARRIER" if by_carrier else "DAMAGED_BY_FC"
        ledger = "CARRIER_DAMAGED" if by_carrier else "WAREHOUSE_DAMAGED"
    else:
        disposition, reason, ledger = "SELLABLE", "UNWANTED_ITEM", "SELLABLE"
    row = s.account.row(
        "customer_returns",
        return_date=day,
        order_id=order.order_id,
        sku=product.sku,
        asin=product.asin,
        fnsku=product.fnsku,
        product_name=product.title,
        quantity=quantity,
        fulfillment_center_id=product.fulfillment_center,
        detailed_disposition=disposition,
        reason=reason,
        status="Unit returned to inventory",
        license_plate_number=f"LPN{rng.randrange(10**9):09d}",
        customer_comments="<b>not as described</b>" if rng.random() < 0.05 else "",
    )
    s.account.returns.append(CustomerReturn(day, order, quantity, disposition, reason, row))
    s.ledger(day, product, "CustomerReturns", quantity, disposition=ledger)
    pool = s.sellable if disposition == "SELLABLE" else s.unsellable
    pool[product.fnsku] += quantity
    if outcome == "amazon_damaged" and s.rng.random() < 0.5:
        per_unit = cents(order.principal / order.quantity)
        s.later(
            day + s.days(10, 40),
            lambda: s.reimburse(
                s.queue_day,
                product,
                "CustomerReturn",
                order.quantity,
                per_unit,
                order_id=order.order_id,
            ),
        )


# -- inbound -------------------------------------------------------------------------------------


def _shipment_id(s: Seller) -> str:
    return f"FBA{s.digits(3)}{s.rng.randrange(36**6):06X}"[:12]


def send_inbound(s: Seller, day: dt.date, product: Product, quantity: int) -> None:
    shipment = InboundShipment(_shipment_id(s), day, "WORKING", [InboundItem(product, quantity, 0)])
    s.account.shipments.append(shipment)
    s.inbound_open.add(product.fnsku)
    short = s.rng.randint(1, min(4, quantity - 1)) if s.rng.random() < 0.2 else 0
    arrives = day + s.days(6, 12)
    parts = s.rng.randint(1, 3)
    left = quantity - short
    receipts: list[tuple[dt.date, InboundShipment, int]] = []
    for part in range(parts):
        units = left if part == parts - 1 else s.rng.randint(0, left)
        left -= units
        if units:
            receipts.append((arrives + dt.timedelta(days=part), shipment, units))
    split = short > 1 and receipts[-1][2] > 1 and s.rare.random() < SPLIT_INBOUND
    paid = _split(s, short, receipts) if split else short
    for when, into, units in receipts:
        s.later(when, functools.partial(_receive, s, into, units))
    last = arrives + dt.timedelta(days=parts - 1)
    s.later(last, lambda: s.inbound_open.discard(product.fnsku))
    if short and s.rng.random() < 0.4:
        delay = s.days(20, 45)
    elif split:  # a split shipment is always paid in part
        delay = dt.timedelta(days=s.rare.randint(20, 45))
    else:
        return
    s.later(
        last + delay,
        lambda: s.reimburse(
            s.queue_day, product, "Lost_Inbound", paid, _per_unit(s, product, s.queue_day)
        ),
    )


def _split(s: Seller, short: int, receipts: list[tuple[dt.date, InboundShipment, int]]) -> int:
    """Amazon splits a shipment in two (a second shipment id for the same FNSKU) whose last
    receipts fall on the same day, both short, and pays back the first one's shortage only.
    Which of the two those units cancel is principle 5's tie on a day: by shipment id, not by
    the order the shipments were created or printed in. Moves units of the last receipt to the
    second shipment; returns the units paid."""
    when, shipment, last = receipts[-1]
    item = shipment.items[0]
    received = s.rare.randint(1, last - 1)
    missing = s.rare.randint(1, short - 1)
    twin = InboundShipment(
        f"FBA{s.rare.randrange(1000):03d}{s.rare.randrange(36**6):06X}"[:12],
        shipment.created,
        "WORKING",
        [InboundItem(item.product, received + missing, 0)],
    )
    s.account.shipments.append(twin)
    item.shipped -= received + missing
    receipts[-1] = (when, shipment, last - received)
    receipts.append((when, twin, received))
    return short - missing


def _receive(s: Seller, shipment: InboundShipment, units: int) -> None:
    item = shipment.items[0]
    day = s.queue_day
    item.received += units
    s.sellable[item.product.fnsku] += units
    row = s.ledger(day, item.product, "Receipts", units, reference=shipment.shipment_id)
    shipment.receipts.append((day, item.product, units, row))


# -- losses, damage and disposal in the warehouse --------------------------------------------------


def _take(s: Seller, product: Product, most: int) -> int:
    """Take 1 to `most` sellable units out of stock (none when there are none)."""
    stock = s.sellable[product.fnsku]
    units = s.rng.randint(1, min(most, stock)) if stock else 0
    s.sellable[product.fnsku] -= units
    return units


def lose(s: Seller, day: dt.date, product: Product) -> None:
    units = _take(s, product, 3)
    if not units:
        return
    reason = "M" if s.rng.random() < 0.85 else "5"
    adjustment = _adjust(s, day, product, reason, -units)
    outcome = _pick(
        s,
        {
            "paid": 40,
            "found": 14,
            "partly": 8,
            "unpaid": 10,
            "found_reversed": 8,
            "reversed": 6,
            "under_cost": 9,
            "late": 5,
        },
    )
    if outcome == "unpaid":
        return
    if outcome == "found":
        s.later(day + s.days(5, 40), lambda: _find(s, adjustment, units))
        return
    paid = units - 1 if outcome == "partly" and units > 1 else units
    pay_day = day + (s.days(70, 100) if outcome == "late" else s.days(3, 15))

    def pay() -> None:
        original = s.reimburse(
            s.queue_day,
            product,
            "Lost_Warehouse",
            paid,
            _per_unit(s, product, s.queue_day, short=outcome == "under_cost"),
            in_kind=1 if paid > 1 and s.rng.random() < 0.1 else 0,
        )
        adjustment.reconciled += paid
        if outcome == "found_reversed":
            found_day = s.queue_day + s.days(10, 30)
            s.later(found_day, lambda: _find(s, adjustment, paid, counted=True))
            s.later(found_day + s.days(1, 6), lambda: _reverse(s, original))
        elif outcome == "reversed":
            s.later(s.queue_day + s.days(25, 50), lambda: _reverse(s, original))

    s.later(pay_day, pay)


def _adjust(
    s: Seller,
    day: dt.date,
    product: Product,
    reason: str,
    units: int,
    *,
    disposition: str = "SELLABLE",
) -> Adjustment:
    reference = s.reference_id()
    row = s.ledger(
        day,
        product,
        "Adjustments",
        units,
        reference=reference,
        reason=reason,
        disposition=disposition,
    )
    adjustment = Adjustment(day, product, reason, units, reference, row)
    s.account.adjustments.append(adjustment)
    return adjustment


def _find(s: Seller, lost: Adjustment, units: int, *, counted: bool = False) -> None:
    s.sellable[lost.product.fnsku] += units
    found = _adjust(s, s.queue_day, lost.product, "F", units)
    found.reconciled = units
    if not counted:
        lost.reconciled += units


def _reverse(s: Seller, original: Reimbursement) -> None:
    """Amazon claws a reimbursement back (`Reimbursement_Reversal`, negative units)."""
    s.reimburse(
        s.queue_day,
        original.product,
        "Reimbursement_Reversal",
        -original.quantity_cash,
        original.amount_per_unit,
        original=original,
    )


def damage(s: Seller, day: dt.date, product: Product) -> None:
    units = _take(s, product, 2)
    if not units:
        return
    s.unsellable[product.fnsku] += units
    adjustment = _adjust(s, day, product, "E", -units)
    s.ledger(
        day,
        product,
        "Adjustments",
        units,
        reference=adjustment.reference_id,
        reason="P",
        disposition="WAREHOUSE_DAMAGED",
    )
    outcome = _pick(s, {"paid": 60, "unpaid": 25, "partly": 15})
    if outcome == "unpaid":
        return
    paid = units - 1 if outcome == "partly" and units > 1 else units

    def pay() -> None:
        s.reimburse(
            s.queue_day, product, "Damaged_Warehouse", paid, _per_unit(s, product, s.queue_day)
        )
        adjustment.reconciled += paid

    s.later(day + s.days(3, 20), pay)


def damage_unsellable(s: Seller, day: dt.date, product: Product) -> None:
    """Damage to a unit that was already unsellable: Amazon pays little or nothing."""
    if s.unsellable[product.fnsku] < 1:
        return
    reason = s.rng.choice(sorted(UNSELLABLE_DAMAGE))
    adjustment = _adjust(s, day, product, reason, -1, disposition=UNSELLABLE_DAMAGE[reason])
    s.ledger(
        day,
        product,
        "Adjustments",
        1,
        reference=adjustment.reference_id,
        reason="P",
        disposition="WAREHOUSE_DAMAGED",
    )


def dispose_unauthorised(s: Seller, day: dt.date, product: Product) -> None:
    units = _take(s, product, 2)
    if not units:
        return
    _adjust(s, day, product, "D", -units)


# -- removals ------------------------------------------------------------------------------------


def _removal(s: Seller, day: dt.date, product: Product, kind: str, units: int) -> RemovalOrder:
    order_id = f"R{s.digits(2)}-{s.rng.randrange(36**8):08X}"[:12]
    row = s.account.row("removal_orders", request_date=day, order_id=order_id)
    order = RemovalOrder(order_id, kind, "Pending", day, day, product, units, 0, 0, 0, row)
    order.row.values["disposition"] = "Unsellable" if kind == "Disposal" else "Sellable"
    s.account.removals.append(order)
    return order


def dispose_authorised(s: Seller, day: dt.date, product: Product) -> None:
    """The seller orders a disposal of its unsellable units; Amazon disposes of them (`D`)."""
    units = s.unsellable[product.fnsku]
    if units < 1:
        return
    s.unsellable[product.fnsku] = 0
    order = _removal(s, day, product, "Disposal", units)

    def done() -> None:
        order.status, order.last_updated, order.disposed = "Completed", s.queue_day, units
        _adjust(s, s.queue_day, product, "D", -units, disposition="CUSTOMER_DAMAGED")

    s.later(day + s.days(3, 10), done)


def remove(s: Seller, day: dt.date, product: Product) -> None:
    """The seller asks for sellable units back; some orders complete short."""
    stock = s.sellable[product.fnsku]
    if stock < 4:
        return
    units = s.rng.randint(2, min(6, stock // 2))
    s.sellable[product.fnsku] -= units
    order = _removal(s, day, product, "Return", units)
    cancelled = 1 if s.rng.random() < 0.1 else 0
    going = units - cancelled
    short = s.rng.randint(1, going - 1) if going > 1 and s.rng.random() < 0.4 else 0

    def done() -> None:
        shipped = units - cancelled - short
        s.sellable[product.fnsku] += cancelled
        order.status, order.last_updated = "Completed", s.queue_day
        order.cancelled, order.shipped = cancelled, shipped
        s.ledger(s.queue_day, product, "VendorReturns", -shipped, reference=order.order_id)
        s.account.row(
            "removal_shipments",
            request_date=order.request_day,
            order_id=order.order_id,
            shipment_date=s.queue_day,
            sku=product.sku,
            fnsku=product.fnsku,
            disposition="Sellable",
            shipped_quantity=shipped,
            carrier="UPS",
            tracking_number=f"1Z{s.digits(16)}",
            removal_order_type="Return",
        )
        if short and s.rng.random() < 0.4:
            s.later(
                s.queue_day + s.days(15, 40),
                lambda: s.reimburse(
                    s.queue_day, product, "Lost_Outbound", short, _per_unit(s, product, s.queue_day)
                ),
            )

    s.later(day + s.days(5, 15), done)


# Chance per product and day of each incident (the first that the roll lands in happens).
DAILY: list[tuple[float, Callable[[Seller, dt.date, Product], None]]] = [
    (0.006, lose),
    (0.002, damage),
    (0.0015, damage_unsellable),
    (0.002, dispose_unauthorised),
    (0.003, dispose_authorised),
    (0.003, remove),
]

"""Units of your removal orders that Amazon never shipped back (`removal_short`).

What it finds: completed Return removal orders whose requested units exceed the units cancelled,
disposed and shipped. A unit short on a removal order is claimed here, never also as a warehouse
loss. What cancels it: Lost_Outbound reimbursements for the FNSKU, oldest first. Clock: the
order's last-updated date; window as its rows in policy/windows.toml say. Valued at sourcing
cost.
"""

from __future__ import annotations

import ibis.expr.types as ir
from ibis import _

from recoup.rules import allocation, inputs
from recoup.rules.context import Context, contributions, earliest, proof, stack
from recoup.rules.fifo import allocate
from recoup.rules.kind import Evidence, Form, units

KIND = "removal_short"
ORDER = 70
NEEDS = ("removal_orders",)
# Payments, less reversals that found units or returns explain; shipments against your receipt
# log when you import one.
READS = ("reimbursements", "ledger_detail", "customer_returns", "removal_shipments",
         "removal_receipts")  # fmt: skip
# The reports that must cover a finding's days before it is claimed (principle 11).
PROVEN_BY: tuple[str, ...] = ("reimbursements",)
WINDOW_FROM_SHIPMENT = "removal_short_receipt"  # policy row: 15-75 days from the shipment
WINDOWS = (KIND, WINDOW_FROM_SHIPMENT)


def find(ctx: Context) -> ir.Table:
    orders = ctx.table("removal_orders")
    orders = orders.filter(
        (orders.order_type == "Return")
        & (orders.order_status == "Completed")
        & (orders.last_updated_date <= ctx.as_of_value)
    )
    short = (
        orders.requested_quantity.fill_null(0)
        - orders.cancelled_quantity.fill_null(0)
        - orders.disposed_quantity.fill_null(0)
        - orders.shipped_quantity.fill_null(0)
    )
    orders = orders.mutate(units=short.cast("int64"), _cid=inputs.row_id(orders, "O"))
    orders = orders.filter(orders.units > 0)
    orders = orders.mutate(_first=earliest(orders, "last_updated_date"))
    paid = ctx.shared("paid_units", allocation.paid_units)
    orders, _unused = allocate(
        orders, paid.filter(paid.reason == "Lost_Outbound"), allocation.KEYS,
        day="last_updated_date", units="units", canceller_day="approval_date",
        canceller_units="net_units", canceller_ties=["reimbursement_id"],
        candidate_ties=["order_id"],
    )  # fmt: skip
    owed = orders.mutate(owed=_.units - _.cancelled).filter(_.owed > 0)
    found = contributions(
        owed, kind=KIND, marketplace=owed.marketplace, fnsku=owed.fnsku, msku=owed.sku,
        removal_order_id=owed.order_id, event_date=owed.last_updated_date, quantity=owed.owed,
        report="removal_orders", file_id=owed.file_id, line=owed.line,
        proof=proof("reimbursements", owed._first),
    )  # fmt: skip
    if {"removal_shipments", "removal_receipts"} <= ctx.available:
        return stack(found, _received_short(ctx, paid.filter(paid.reason == "Lost_Outbound")))
    return found


def _received_short(ctx: Context, paid: ir.Table) -> ir.Table:
    ships = ctx.table("removal_shipments")
    ships = ships.filter(ships.shipment_date <= ctx.as_of_value)
    log = ctx.table("removal_receipts")
    packages = log.select(p_market=log.marketplace, p_order=log.removal_order_id,
                          p_tracking=log.tracking_number).distinct()  # fmt: skip
    ships = ships.inner_join(
        packages, [ships.marketplace == packages.p_market, ships.order_id == packages.p_order,
                   ships.tracking_number == packages.p_tracking],
    ).drop("p_market", "p_order", "p_tracking")  # fmt: skip
    got = log.group_by(
        r_market="marketplace", r_order="removal_order_id", r_tracking="tracking_number",
        r_fnsku="fnsku",
    ).aggregate(received=_.received_quantity.sum())  # fmt: skip
    ships = ships.left_join(
        got, [ships.marketplace == got.r_market, ships.order_id == got.r_order,
              ships.tracking_number == got.r_tracking, ships.fnsku == got.r_fnsku],
    )  # fmt: skip
    ships = ships.mutate(
        units=(ships.shipped_quantity.fill_null(0) - ships.received.fill_null(0)).cast("int64"),
        _cid=inputs.row_id(ships, "S"),
    ).filter(_.units > 0)
    ships = ships.mutate(_first=earliest(ships, "shipment_date"))
    ships, _unused = allocate(
        ships, paid, allocation.KEYS, day="shipment_date", units="units",
        canceller_day="approval_date", canceller_units="net_units",
        canceller_ties=["reimbursement_id"], candidate_ties=["order_id"],
    )  # fmt: skip
    owed = ships.mutate(owed=_.units - _.cancelled).filter(_.owed > 0)
    return contributions(
        owed, kind=KIND, marketplace=owed.marketplace, fnsku=owed.fnsku, msku=owed.sku,
        removal_order_id=owed.order_id, event_date=owed.shipment_date, quantity=owed.owed,
        window=WINDOW_FROM_SHIPMENT, report="removal_shipments", file_id=owed.file_id,
        line=owed.line, proof=proof("reimbursements", owed._first),
    )  # fmt: skip


# -- how it is claimed ----------------------------------------------------------------------------


def units_requested(rows: Evidence) -> int | None:
    """The units the removal orders requested (less those cancelled), else those shipped."""
    orders = rows.get("removal_orders", [])
    if orders:
        return units(orders, "requested_quantity") - units(orders, "cancelled_quantity") or None
    return units(rows.get("removal_shipments", []), "shipped_quantity") or None


FORM = Form(
    title="Removal order units not delivered",
    group_by="removal_order_id",
    line_id="fnsku",
    line_label="FNSKU",
    file_at=(
        "The removal order claim tool (removal order ID), or Contact Us with the removal order ID"
    ),
    policy=(
        "FBA inventory reimbursement policy: removal orders (units lost or damaged before delivery)"
    ),
    attach=(
        "the evidence rows (CSV) from the Removal Order Detail report",
        "the removal shipment's carrier tracking or proof of delivery",
        "photos of the units, packaging and box received, if any arrived damaged",
    ),
    expected="units requested",
    accounted="disposed, shipped or reimbursed",
    settle_by="units",
    pays=("Lost_Outbound",),
    match_on="fnsku",
    expected_units=units_requested,
)

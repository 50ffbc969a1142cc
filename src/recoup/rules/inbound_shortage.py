"""Units you shipped to Amazon that it never received (`inbound_shortage`).

What it finds: items of inbound shipments that Amazon has closed (or that have sat in RECEIVING
for more than 60 days since their last receipt) where QuantityShipped exceeds QuantityReceived
(or, when the items give no received quantity, the ledger Receipts booked against the shipment).
What cancels it: a Lost_Inbound or Damaged_Inbound reimbursement whose case id is that of your
filed claim for the shipment cancels that shipment's units; the others cancel by FNSKU, oldest
first.
Clock: the shipment's last receipt in the ledger (when it has none, the date recoup first saw it
closed). Window: counted from that clock, as its rows in policy/windows.toml say (where Amazon's
policy is unresolved a row says so; override it in recoup.toml). Attach the invoice and proof of
delivery. Valued at sourcing cost.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir
from ibis import _

from recoup.rules import allocation, inputs
from recoup.rules.context import Context, contributions, earliest, proof, stack
from recoup.rules.fifo import allocate
from recoup.rules.kind import Evidence, Form, units

KIND = "inbound_shortage"
ORDER = 60
NEEDS = ("inbound_shipments", "inbound_shipment_items")
# Receipts; payments, less reversals that found units or returns explain; recoup's own record of
# closed shipments and of filed case ids.
READS = ("ledger_detail", "reimbursements", "customer_returns", "shipments_seen_closed",
         "claim_cases")  # fmt: skip
# The reports that must cover a finding's days before it is claimed (principle 11).
PROVEN_BY: tuple[str, ...] = ("reimbursements",)
STUCK_DAYS = 60  # RECEIVING this long after the last receipt counts as closed


def _receipts(ctx: Context) -> ir.Table:
    led = inputs.ledger(ctx)
    return led.filter((led.event_type == "Receipts") & led.reference_id.notnull())


def short_items(ctx: Context) -> ir.Table:
    ships = ctx.table("inbound_shipments")
    items = ctx.table("inbound_shipment_items")
    receipts = _receipts(ctx)
    last = receipts.group_by("marketplace", shipment_id=_.reference_id).aggregate(
        last_receipt=_.date.max()
    )
    per_item = receipts.group_by(
        "marketplace", shipment_id=_.reference_id, r_fnsku=_.fnsku
    ).aggregate(booked=_.quantity.sum())
    s = ships.left_join(last, ["marketplace", "shipment_id"]).drop(
        "marketplace_right", "shipment_id_right"
    )
    if "shipments_seen_closed" in ctx.available:
        seen = ctx.table("shipments_seen_closed")
        s = s.left_join(seen.drop("account"), ["marketplace", "shipment_id"]).drop(
            "marketplace_right", "shipment_id_right"
        )
    else:
        s = s.mutate(first_seen=ibis.null("date"))
    stuck = (s.shipment_status == "RECEIVING") & (
        s.last_receipt + ibis.interval(days=STUCK_DAYS) < ctx.as_of_value
    )
    s = s.filter((s.shipment_status == "CLOSED") | stuck)
    s = s.mutate(
        clock=ibis.coalesce(
            s.last_receipt, ibis.least(s.first_seen.fill_null(ctx.as_of_value), ctx.as_of_value)
        ),
        s_file=s.file_id,
        s_line=s.line,
    ).select("marketplace", "shipment_id", "clock", "s_file", "s_line")
    i = items.inner_join(s, ["marketplace", "shipment_id"])
    i = i.left_join(
        per_item,
        [i.marketplace == per_item.marketplace, i.shipment_id == per_item.shipment_id,
         i.fnsku == per_item.r_fnsku],
    ).drop("marketplace_right", "shipment_id_right", "r_fnsku")  # fmt: skip
    received = ibis.coalesce(i.quantity_received, i.booked, ibis.literal(0, "int64"))
    i = i.mutate(
        units=(i.quantity_shipped.fill_null(0) - received).cast("int64"), _cid=inputs.row_id(i, "I")
    )
    return i.filter(i.units > 0)


def _by_case_id(ctx: Context, items: ir.Table, paid: ir.Table) -> tuple[ir.Table, ir.Table]:
    """Payments naming the case id of a tracked claim for one shipment cancel that shipment's
    items of their FNSKU; returns the items left and the payments that did not."""
    if "claim_cases" not in ctx.available:
        return items, paid
    cases = ctx.table("claim_cases")
    cases = cases.filter(cases.kind == KIND).select(
        c_market="marketplace", c_case="case_id", c_shipment="shipment_id"
    )
    paid = paid.mutate(_case=paid.case_id.strip())
    joined = paid.inner_join(
        cases, [paid.marketplace == cases.c_market, paid._case == cases.c_case]
    )
    targeted = joined.mutate(shipment_id=joined.c_shipment).drop("c_market", "c_case", "c_shipment")
    items, _placed = allocate(
        items, targeted, [*allocation.KEYS, "shipment_id"], day="clock", units="units",
        canceller_day="approval_date", canceller_units="net_units",
        canceller_ties=["reimbursement_id"],
    )  # fmt: skip
    items = items.mutate(units=items.units - items.cancelled).drop("cancelled")
    rest = paid.anti_join(cases, [paid.marketplace == cases.c_market, paid._case == cases.c_case])
    return items.filter(items.units > 0), rest.drop("_case")


def find(ctx: Context) -> ir.Table:
    items = short_items(ctx)
    items = items.mutate(_first=earliest(items, "clock"))
    paid = ctx.shared("paid_units", allocation.paid_units)
    paid = paid.filter(paid.reason.isin(("Lost_Inbound", "Damaged_Inbound")))
    items, paid = _by_case_id(ctx, items, paid)
    # Same-day items are taken by shipment id (principle 5); payments count net of reversed
    # units that found units explain (principle 7).
    items, _unused = allocate(
        items, paid, allocation.KEYS, day="clock", units="units", canceller_day="approval_date",
        canceller_units="net_units", canceller_ties=["reimbursement_id"],
        candidate_ties=["shipment_id"],
    )  # fmt: skip
    owed = items.filter(items.units > items.cancelled)

    def one(t: ir.Table, quantity: ir.Value | int, report: str, file_id: ir.Value,
            line: ir.Value, *, needs: ir.Value | None = None) -> ir.Table:  # fmt: skip
        return contributions(
            t, kind=KIND, marketplace=t.marketplace, fnsku=t.fnsku, msku=t.seller_sku,
            shipment_id=t.shipment_id, event_date=t.clock, quantity=quantity, report=report,
            file_id=file_id, line=line, proof=needs,
        )  # fmt: skip

    parts = [
        one(
            owed,
            owed.units - owed.cancelled,
            "inbound_shipment_items",
            owed.file_id,
            owed.line,
            needs=proof("reimbursements", owed._first),
        ),
        one(owed, 0, "inbound_shipments", owed.s_file, owed.s_line),
    ]
    receipts = _receipts(ctx)
    cited = owed.select("marketplace", "shipment_id", "fnsku", "seller_sku", "clock").inner_join(
        receipts.select("marketplace", "file_id", "line", shipment_id=_.reference_id),
        ["marketplace", "shipment_id"],
    )
    parts.append(one(cited, 0, "ledger_detail", cited.file_id, cited.line))
    return stack(*parts)


# -- how it is claimed ----------------------------------------------------------------------------


def units_shipped(rows: Evidence) -> int | None:
    """The units the shipment items say were shipped."""
    return units(rows.get("inbound_shipment_items", []), "quantity_shipped") or None


FORM = Form(
    title="Units shipped to Amazon but not received",
    group_by="shipment_id",
    line_id="fnsku",
    line_label="FNSKU",
    file_at=(
        "Shipments > Track shipment > Reconcile (Contents) > Research missing units; damaged "
        "inbound units through Contact Us"
    ),
    policy=(
        "FBA inventory reimbursement policy: inbound shipments (units lost or damaged before "
        "receipt)"
    ),
    attach=(
        (
            "proof of ownership: supplier invoice (or signed packing slip if you make the "
            "product) with the purchase date, product names matching the missing items and "
            "quantities"
        ),
        (
            "proof of delivery: the carrier's tracking (small parcel) or the BOL signed by Amazon "
            "with box count and weight (LTL), as a PDF or JPG"
        ),
        "the evidence rows (CSV): shipment items and ledger receipts",
    ),
    expected="units shipped",
    accounted="received or reimbursed",
    settle_by="units",
    pays=("Lost_Inbound", "Damaged_Inbound"),
    match_on="fnsku",
    expected_units=units_shipped,
)

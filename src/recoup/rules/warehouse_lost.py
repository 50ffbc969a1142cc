"""Units Amazon lost in its warehouse and never paid for (`warehouse_lost`).

What it finds: ledger adjustments with reason M (misplaced) or 5 (unrecoverable). When the ledger
download has an Unreconciled Quantity column, each such row is owed exactly its unreconciled
units: Amazon has already netted found and reimbursed units against that row, and claims are filed
per row (transaction item id). Older downloads without the column: the row's units, less units
found later (ledger F rows of the same FNSKU) and Lost_Warehouse reimbursements, oldest first.
Why Amazon owes it: units in its care went missing. Window: counted from the adjustment, as its
`warehouse_lost` rows say (policy/windows.toml; the dashboard's Settings page lists the windows
in force). Valued at your sourcing cost.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir
from ibis import _

from recoup.rules import allocation, inputs
from recoup.rules.context import Context, contributions, earliest, proof, stack
from recoup.rules.fifo import allocate
from recoup.rules.kind import Evidence, Form

KIND = "warehouse_lost"
ORDER = 10
NEEDS = ("ledger_detail",)
READS = ("reimbursements", "customer_returns")  # payments, less reversals returns explain
# The reports that must cover a finding's days before it is claimed (principle 11).
PROVEN_BY: tuple[str, ...] = ("reimbursements",)  # legacy rows: Unreconciled Quantity needs none


def owed_rows(ctx: Context, reasons: tuple[str, ...], pays: str, found_first: bool) -> ir.Table:
    """Rows with `owed` units: the unreconciled quantity, or the legacy FIFO without it."""
    rows = allocation.warehouse_rows(ctx, reasons)
    # Amazon's own attribution: nothing left to prove (principle 11).
    current = rows.filter(rows.unreconciled_quantity.notnull()).mutate(
        owed=_.unreconciled_quantity.cast("int64"), _proof=ibis.null("string")
    )
    legacy = rows.filter(rows.unreconciled_quantity.isnull())
    legacy = legacy.mutate(_proof=proof("reimbursements", earliest(legacy, "date")))
    if found_first:
        led = inputs.ledger(ctx)
        found = led.filter(
            (led.event_type == "Adjustments") & (led.reason == "F") & (led.quantity > 0)
        ).mutate(_xid=inputs.row_id(led, "L"), units=_.quantity.cast("int64"))
        legacy, _unused = allocate(legacy, found, allocation.KEYS, day="date", units="units")
        legacy = legacy.mutate(units=_.units - _.cancelled).drop("cancelled")
    paid = ctx.shared("paid_units", allocation.paid_units)
    legacy, _unused = allocate(
        legacy, paid.filter(paid.reason == pays), allocation.KEYS, day="date", units="units",
        canceller_day="approval_date", canceller_units="net_units",
        canceller_ties=["reimbursement_id"],
    )  # fmt: skip
    legacy = legacy.mutate(owed=_.units - _.cancelled).drop("cancelled")
    both = stack(current, legacy)
    return both.filter(both.owed > 0)


def ledger_contributions(rows: ir.Table, kind: str, basis: ir.Value | None = None) -> ir.Table:
    return contributions(
        rows,
        kind=kind,
        marketplace=rows.marketplace,
        fnsku=rows.fnsku,
        msku=rows.msku,
        asin=rows.asin,
        fulfillment_center=rows.fulfillment_center,
        reference_id=rows.reference_id,
        event_date=rows.date,
        quantity=rows.owed,
        value_basis=basis,
        proof=rows._proof,
        report="ledger_detail",
        file_id=rows.file_id,
        line=rows.line,
    )


def find(ctx: Context) -> ir.Table:
    return ledger_contributions(owed_rows(ctx, allocation.LOST, "Lost_Warehouse", True), KIND)


# -- how it is claimed ----------------------------------------------------------------------------


def units_adjusted(rows: Evidence) -> int | None:
    """The units the ledger adjusted out (its negative Adjustments rows)."""
    adjusted = [int(r.get("quantity") or 0) for r in rows.get("ledger_detail", [])
                if r.get("event_type") == "Adjustments"]  # fmt: skip
    return sum(-quantity for quantity in adjusted if quantity < 0) or None


FORM = Form(
    title="Inventory lost in a fulfillment center",
    group_by="fnsku",
    line_id="reference_id",
    line_label="Transaction item ID",
    file_at=(
        "Help > Investigate an item lost in warehouse (one FNSKU at a time) > Create a case; or "
        "Contact Us with the transaction item IDs below"
    ),
    policy="FBA inventory reimbursement policy: inventory lost in the fulfillment center",
    attach=("the evidence rows (CSV) from the Inventory Ledger",),
    expected="units adjusted",
    accounted="found or reimbursed since",
    settle_by="units",
    pays=("Lost_Warehouse",),
    match_on="fnsku",
    expected_units=units_adjusted,
)

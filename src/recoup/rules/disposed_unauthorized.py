"""Units Amazon disposed of without your request (`disposed_unauthorized`).

What it finds: ledger adjustments with reason D (disposed) or G (donated). Cancelled by your own
disposal or liquidation orders for the FNSKU (their requested minus cancelled units, applied to
disposals on or after the request), then by Lost_Warehouse / Damaged_Warehouse reimbursements the
lost and damaged rows left over. Not run with `automatic_disposal = true` (you told Amazon to
dispose of unfulfillable stock automatically). Window: counted from the adjustment, as its rows in
policy/windows.toml say. Valued at sourcing cost.
"""

from __future__ import annotations

import ibis.expr.types as ir

from recoup.rules import allocation
from recoup.rules.context import Context
from recoup.rules.kind import Form
from recoup.rules.warehouse_lost import ledger_contributions, units_adjusted
from recoup.settings import AuditSettings

KIND = "disposed_unauthorized"
ORDER = 30
NEEDS = ("ledger_detail",)
# Disposal orders, and the payments the lost and damaged rows left over.
READS = ("removal_orders", "reimbursements", "customer_returns")
# The reports that must cover a finding's days before it is claimed (principle 11).
PROVEN_BY: tuple[str, ...] = ("removal_orders", "reimbursements")


def skip_when(options: AuditSettings) -> str | None:
    """You let Amazon dispose of unfulfillable stock automatically: its disposals are yours."""
    if options.automatic_disposal:
        return "automatic disposal is on (audit.automatic_disposal)"
    return None


def find(ctx: Context) -> ir.Table:
    rows = ctx.shared("warehouse", allocation.warehouse)["disposed"]
    rows = rows.filter(rows.owed > 0)
    return ledger_contributions(rows, KIND)


# -- how it is claimed ----------------------------------------------------------------------------

FORM = Form(
    title="Inventory disposed of without my authorization",
    group_by="fnsku",
    line_id="reference_id",
    line_label="Transaction item ID",
    file_at=(
        "Contact Us > FBA inventory > disposed without authorization, with the transaction item "
        "IDs below"
    ),
    policy=(
        "FBA inventory reimbursement policy: inventory lost or damaged in the fulfillment center "
        "(disposal without a removal order)"
    ),
    attach=(
        "the evidence rows (CSV) from the Inventory Ledger",
        "my removal orders show no disposal request for these units",
    ),
    expected="units disposed",
    accounted="covered by my disposal orders or reimbursed",
    settle_by="units",
    pays=("Lost_Warehouse", "Damaged_Warehouse"),
    match_on="fnsku",
    expected_units=units_adjusted,
)

"""Units Amazon disposed of without your request (`disposed_unauthorized`).

What it finds: ledger adjustments with reason D (disposed) or G (donated). Cancelled by your own
disposal or liquidation orders for the FNSKU (their requested minus cancelled units, applied to
disposals on or after the request), then by Lost_Warehouse / Damaged_Warehouse reimbursements the
lost and damaged rows left over. Not run with `automatic_disposal = true` (you told Amazon to
dispose of unfulfillable stock automatically). Window: as warehouse_lost. Valued at sourcing cost.
"""

from __future__ import annotations

import ibis.expr.types as ir

from recoup.rules import allocation
from recoup.rules.context import Context
from recoup.rules.warehouse_lost import ledger_contributions

KIND = "disposed_unauthorized"
NEEDS = ("ledger_detail",)
# The reports that must cover a finding's days before it is claimed (principle 11).
PROVEN_BY: tuple[str, ...] = ("removal_orders", "reimbursements")


def find(ctx: Context) -> ir.Table:
    rows = ctx.shared("warehouse", allocation.warehouse)["disposed"]
    rows = rows.filter(rows.owed > 0)
    return ledger_contributions(rows, KIND)

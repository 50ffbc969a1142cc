"""Units Amazon damaged in its warehouse and never paid for (`warehouse_damaged`).

What it finds: ledger adjustments with reason E (damaged from sellable stock) or 6, 7, H, K, U
(damaged, but the unit was already unsellable: carrier-damaged, expired, customer-damaged,
defective, distributor-damaged). Units owed as for lost units: the row's unreconciled quantity, or
for old downloads without that column its units less Damaged_Warehouse reimbursements, oldest
first. Already-unsellable units are paid little or nothing, so they are listed with value 0
(basis `unsellable`) unless you set `claim_unsellable_damage = true`.
Window: counted from the adjustment, as its rows in policy/windows.toml say.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from recoup.rules import allocation
from recoup.rules.context import Context
from recoup.rules.kind import Form
from recoup.rules.warehouse_lost import ledger_contributions, owed_rows, units_adjusted

KIND = "warehouse_damaged"
ORDER = 20
NEEDS = ("ledger_detail",)
READS = ("reimbursements", "customer_returns")  # as warehouse_lost
# The reports that must cover a finding's days before it is claimed (principle 11).
PROVEN_BY: tuple[str, ...] = ("reimbursements",)  # legacy rows only, as warehouse_lost


def find(ctx: Context) -> ir.Table:
    rows = owed_rows(ctx, allocation.DAMAGED, "Damaged_Warehouse", False)
    if ctx.options.claim_unsellable_damage:
        return ledger_contributions(rows, KIND)
    basis = (rows.reason == "E").ifelse(ibis.null("string"), ibis.literal("unsellable"))
    return ledger_contributions(rows, KIND, basis)


# -- how it is claimed ----------------------------------------------------------------------------

FORM = Form(
    title="Inventory damaged in a fulfillment center",
    group_by="fnsku",
    line_id="reference_id",
    line_label="Transaction item ID",
    file_at=(
        "Contact Us > FBA inventory > damaged in warehouse, with the transaction item IDs below"
    ),
    policy="FBA inventory reimbursement policy: inventory damaged in the fulfillment center",
    attach=("the evidence rows (CSV) from the Inventory Ledger",),
    expected="units adjusted",
    accounted="reimbursed since",
    settle_by="units",
    pays=("Damaged_Warehouse",),
    match_on="fnsku",
    expected_units=units_adjusted,
)

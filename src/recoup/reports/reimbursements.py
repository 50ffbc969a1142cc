"""FBA Reimbursements: what Amazon paid, in cash or in replacement units.

Real US files are cp1252. The report names no marketplace; its currency does where only one
marketplace uses it, otherwise `--marketplace` must. Reversal rows carry negative amounts and
point back through original-reimbursement-id.
"""

from recoup.reports.base import (
    DayBased,
    MarketplaceSource,
    ReportType,
    day,
    integer,
    money,
    text,
)

REIMBURSEMENTS = ReportType(
    name="reimbursements",
    table="reimbursements",
    title="FBA Reimbursements",
    cited_as="Reimbursements report",
    download_from="Reports > Fulfillment > Payments > Reimbursements",
    columns=(
        day("approval_date", "approval-date", required=True, not_null=True),
        text("reimbursement_id", "reimbursement-id", required=True, not_null=True),
        text("case_id", "case-id"),
        text("amazon_order_id", "amazon-order-id"),
        text("reason", "reason", required=True),
        text("sku", "sku"),
        text("fnsku", "fnsku"),
        text("asin", "asin"),
        text("product_name", "product-name"),
        text("condition", "condition"),
        text("currency", "currency-unit"),
        money("amount_per_unit", "amount-per-unit"),
        money("amount_total", "amount-total", required=True),
        integer("quantity_reimbursed_cash", "quantity-reimbursed-cash"),
        integer("quantity_reimbursed_inventory", "quantity-reimbursed-inventory"),
        integer("quantity_reimbursed_total", "quantity-reimbursed-total", required=True),
        text("original_reimbursement_id", "original-reimbursement-id"),
        text("original_reimbursement_type", "original-reimbursement-type"),
    ),
    merge=DayBased("approval_date"),
    date_column="approval_date",
    marketplace_from=(MarketplaceSource("currency", "currency"),),
)

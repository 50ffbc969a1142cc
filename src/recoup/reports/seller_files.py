"""Files the seller keeps: sourcing costs and a log of removal units received back.

Sourcing cost CSV: `sku, unit_cost` and optionally `fnsku, currency, effective_from,
marketplace`; a cost without `effective_from` applies from the beginning. Removal receipts CSV:
`removal-order-id, tracking-number, fnsku, received-quantity` (optionally `received-date`).
Spreadsheets saved in Europe may write `12,50`: the number style is detected per file.
"""

from recoup.reports.base import (
    MarketplaceSource,
    ReportType,
    Snapshot,
    day,
    integer,
    money,
    text,
)

SOURCING_COSTS = ReportType(
    name="sourcing_costs",
    table="sourcing_costs",
    title="Sourcing costs (your file)",
    cited_as="my sourcing costs",
    columns=(
        text("sku", "sku", required=True, not_null=True),
        money("unit_cost", "unit_cost", required=True, not_null=True, never_negative=True),
        text("fnsku", "fnsku"),
        text("currency", "currency"),
        day("effective_from", "effective_from"),
        text("marketplace_name", "marketplace"),
    ),
    merge=Snapshot(("sku", "fnsku", "effective_from")),
    date_column="effective_from",
    marketplace_from=(
        MarketplaceSource("marketplace_name"),
        MarketplaceSource("currency", "currency"),
    ),
    localised_numbers=True,
)

REMOVAL_RECEIPTS = ReportType(
    name="removal_receipts",
    table="removal_receipts",
    title="Removal receipts (your file)",
    cited_as="my removal receipt log",
    columns=(
        text("removal_order_id", "removal-order-id", required=True, not_null=True),
        text("tracking_number", "tracking-number", required=True),
        text("fnsku", "fnsku", required=True, not_null=True),
        integer(
            "received_quantity",
            "received-quantity",
            required=True,
            not_null=True,
            never_negative=True,
        ),
        day("received_date", "received-date"),
        text("sku", "sku"),
    ),
    merge=Snapshot(("removal_order_id", "tracking_number", "fnsku")),
    date_column="received_date",
)

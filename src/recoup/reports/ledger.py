"""Inventory Ledger (detail and summary) and the legacy Inventory Adjustments report.

Ledger detail comes as the real SP-API file (spaced names, 15 or 16 columns with `Date and Time`
and `Store`), the documented CamelCase header (14 columns), or the Seller Central quoted CSV
download; header names are normalised, so one declaration reads them all.
Identical rows inside one ledger file are real, separate events (a real EU file had 6,623
duplicates in 24,286 rows): they are all kept.
"""

from recoup.reports.base import (
    DayBased,
    MarketplaceSource,
    ReportType,
    day,
    integer,
    text,
)

LEDGER_DETAIL = ReportType(
    name="ledger_detail",
    table="ledger_detail",
    title="Inventory Ledger (detailed view)",
    download_from="Reports > Fulfillment > Inventory Ledger, Detailed view",
    columns=(
        day("date", "Date", required=True, not_null=True),
        text("fnsku", "FNSKU", required=True),
        text("asin", "ASIN"),
        text("msku", "MSKU"),
        text("title", "Title"),
        text("event_type", "Event Type", required=True, not_null=True),
        text("reference_id", "Reference ID", required=True),
        integer("quantity", "Quantity", required=True, not_null=True),
        text("fulfillment_center", "Fulfillment Center"),
        text("disposition", "Disposition"),
        text("reason", "Reason"),
        text("country", "Country"),
        integer("reconciled_quantity", "Reconciled Quantity"),
        integer("unreconciled_quantity", "Unreconciled Quantity"),
        text("date_and_time", "Date and Time"),
        text("store", "Store"),
    ),
    merge=DayBased("date"),
    date_column="date",
    marketplace_from=(MarketplaceSource("country"),),
    may_quote_tsv=True,
)

LEDGER_SUMMARY = ReportType(
    name="ledger_summary",
    table="ledger_summary",
    title="Inventory Ledger (summary view)",
    columns=(
        # `MM/YYYY` when aggregated monthly (airbyte #34830): read as the first of the month.
        day("date", "Date", required=True, not_null=True),
        text("fnsku", "FNSKU", required=True),
        text("asin", "ASIN"),
        text("msku", "MSKU"),
        text("title", "Title"),
        text("disposition", "Disposition"),
        integer("starting_warehouse_balance", "Starting Warehouse Balance", required=True),
        integer("in_transit_between_warehouses", "In Transit Between Warehouses"),
        integer("receipts", "Receipts"),
        integer("customer_shipments", "Customer Shipments"),
        integer("customer_returns", "Customer Returns"),
        integer("vendor_returns", "Vendor Returns"),
        integer("warehouse_transfer_in_out", "Warehouse Transfer In/Out"),
        integer("found", "Found"),
        integer("lost", "Lost"),
        integer("damaged", "Damaged"),
        integer("disposed", "Disposed"),
        integer("other_events", "Other Events"),
        integer("ending_warehouse_balance", "Ending Warehouse Balance", required=True),
        integer("unknown_events", "Unknown Events"),
        # Location is a country code or an FC code, depending on aggregateByLocation.
        text("location", "Location"),
        text("store", "Store"),
        text("supplier", "supplier"),
    ),
    merge=DayBased("date"),
    date_column="date",
    marketplace_from=(MarketplaceSource("location"),),
    may_quote_tsv=True,
)

INVENTORY_ADJUSTMENTS = ReportType(
    name="inventory_adjustments",
    table="inventory_adjustments",
    title="Inventory Adjustments (legacy)",
    columns=(
        # The SP-API file says adjusted-date, the Seller Central download adjustment-date.
        day("adjusted_date", "adjusted-date", "adjustment-date", required=True, not_null=True),
        text("transaction_item_id", "transaction-item-id", required=True),
        text("fnsku", "fnsku", required=True),
        text("sku", "sku"),
        text("product_name", "product-name"),
        text("fulfillment_center_id", "fulfillment-center-id"),
        integer("quantity", "quantity", required=True, not_null=True),
        text("reason", "reason", required=True),
        text("disposition", "disposition"),
        integer("reconciled_quantity", "reconciled"),
        integer("unreconciled_quantity", "unreconciled"),
    ),
    merge=DayBased("adjusted_date"),
    date_column="adjusted_date",
)

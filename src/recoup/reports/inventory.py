"""Manage FBA Inventory (unsuppressed MYI): the current stock per SKU. A snapshot report."""

from recoup.reports.base import (
    MarketplaceSource,
    ReportType,
    Snapshot,
    flag,
    integer,
    measure,
    money,
    text,
)

INVENTORY = ReportType(
    name="inventory",
    table="inventory",
    title="Manage FBA Inventory",
    columns=(
        text("sku", "sku", required=True, not_null=True),
        text("fnsku", "fnsku", required=True),
        text("asin", "asin"),
        text("product_name", "product-name"),
        text("condition", "condition"),
        money("your_price", "your-price"),
        flag("mfn_listing_exists", "mfn-listing-exists"),
        integer("mfn_fulfillable_quantity", "mfn-fulfillable-quantity"),
        flag("afn_listing_exists", "afn-listing-exists"),
        integer("afn_warehouse_quantity", "afn-warehouse-quantity", required=True),
        integer("afn_fulfillable_quantity", "afn-fulfillable-quantity", required=True),
        integer("afn_unsellable_quantity", "afn-unsellable-quantity"),
        integer("afn_reserved_quantity", "afn-reserved-quantity"),
        integer("afn_total_quantity", "afn-total-quantity"),
        measure("per_unit_volume", "per-unit-volume"),
        integer("afn_inbound_working_quantity", "afn-inbound-working-quantity"),
        integer("afn_inbound_shipped_quantity", "afn-inbound-shipped-quantity"),
        integer("afn_inbound_receiving_quantity", "afn-inbound-receiving-quantity"),
        integer("afn_researching_quantity", "afn-researching-quantity"),
        integer("afn_reserved_future_supply", "afn-reserved-future-supply"),
        integer("afn_future_supply_buyable", "afn-future-supply-buyable"),
        text("store", "store"),
    ),
    merge=Snapshot(("sku", "fnsku")),
    marketplace_from=(MarketplaceSource("store"),),
)

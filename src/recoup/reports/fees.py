"""FBA fee preview (estimated FBA fees): the NA layout (US and CA rows in one cp1252 file, with
`amazon-store`) and the EU layout (`has-local-inventory`, `product-size-weight-band`, EFN fees).
`--` means "not applicable" and is read as empty.
"""

from recoup.reports.base import (
    MarketplaceSource,
    ReportType,
    Snapshot,
    flag,
    measure,
    money,
    text,
)

FEE_PREVIEW = ReportType(
    name="fee_preview",
    table="fee_preview",
    title="FBA fee preview",
    columns=(
        text("sku", "sku", required=True, not_null=True),
        text("fnsku", "fnsku", required=True),
        text("asin", "asin", required=True),
        text("amazon_store", "amazon-store"),
        text("product_name", "product-name"),
        text("product_group", "product-group"),
        text("brand", "brand"),
        text("fulfilled_by", "fulfilled-by"),
        flag("has_local_inventory", "has-local-inventory"),
        money("your_price", "your-price"),
        money("sales_price", "sales-price"),
        measure("longest_side", "longest-side"),
        measure("median_side", "median-side"),
        measure("shortest_side", "shortest-side"),
        measure("length_and_girth", "length-and-girth"),
        text("unit_of_dimension", "unit-of-dimension"),
        measure("item_package_weight", "item-package-weight"),
        text("unit_of_weight", "unit-of-weight"),
        text("product_size_tier", "product-size-tier", "product-size-weight-band"),
        text("currency", "currency"),
        money("estimated_fee_total", "estimated-fee-total", required=True),
        money("estimated_referral_fee_per_unit", "estimated-referral-fee-per-unit"),
        money("estimated_variable_closing_fee", "estimated-variable-closing-fee"),
        money("estimated_order_handling_fee_per_order", "estimated-order-handling-fee-per-order"),
        money("estimated_pick_pack_fee_per_unit", "estimated-pick-pack-fee-per-unit"),
        money("estimated_weight_handling_fee_per_unit", "estimated-weight-handling-fee-per-unit"),
        money(
            "expected_fulfillment_fee_per_unit",
            "expected-fulfillment-fee-per-unit",
            "expected-domestic-fulfilment-fee-per-unit",
        ),
    ),
    merge=Snapshot(("sku",)),
    marketplace_from=(
        MarketplaceSource("amazon_store"),
        MarketplaceSource("currency", "currency"),
    ),
)

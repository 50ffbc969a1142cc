"""FBA Inventory / Inventory Health (`GET_FBA_INVENTORY_PLANNING_DATA`): one line per SKU a day,
with its age buckets, recent sales, Amazon's recommendation and its storage volume and cost.

A snapshot report: a download is the state on its `snapshot-date`; the same day downloaded again
replaces that day, and the snapshots of different days are all kept (aged stock over time is what
a storage-fee audit will read; no rule reads this table yet).

amazon-reports.md does not document this report. The declaration is based on (2026-12):
- the synthetic sample in shared/samples/real/public-repos/synthetic/inventory_planning (a
  39-column layout: `inv-age-365-plus-days`, `healthy-inventory-level`);
- a 99-column header pinned from a production download in a public parser's tests: it adds
  `fc-transfer`, the inbound and reserved quantities, `estimated-storage-cost-next-month`, finer
  age buckets (`inv-age-0-to-30-days` ... `inv-age-456-plus-days`, which replace
  `inv-age-365-plus-days`) and prints `DEPRECATED healthy-inventory-level`;
- Amazon's Inventory Age help page, for what the age buckets count (sellable units by days in
  the fulfilment network, first in first out).
Columns not declared (the aged-inventory surcharge tiers `quantity-to-be-charged-ais-*` and
`estimated-ais-*`, whose tiers Amazon re-cuts; prices of other offers; seasons) are ignored.
"""

from recoup.reports.base import (
    MarketplaceSource,
    ReportType,
    Snapshot,
    day,
    integer,
    measure,
    money,
    text,
)

INVENTORY_HEALTH = ReportType(
    name="inventory_health",
    table="inventory_health",
    title="FBA Inventory (Inventory Health)",
    columns=(
        day("snapshot_date", "snapshot-date", required=True, not_null=True),
        text("sku", "sku", required=True, not_null=True),
        text("fnsku", "fnsku", required=True),
        text("asin", "asin", required=True),
        text("product_name", "product-name"),
        text("condition", "condition"),
        integer("available", "available", required=True),
        integer("fc_transfer", "fc-transfer"),
        integer("pending_removal_quantity", "pending-removal-quantity"),
        integer("inv_age_0_to_90_days", "inv-age-0-to-90-days", required=True),
        integer("inv_age_91_to_180_days", "inv-age-91-to-180-days"),
        integer("inv_age_181_to_270_days", "inv-age-181-to-270-days"),
        integer("inv_age_271_to_365_days", "inv-age-271-to-365-days"),
        integer("inv_age_365_plus_days", "inv-age-365-plus-days"),
        integer("inv_age_366_to_455_days", "inv-age-366-to-455-days"),
        integer("inv_age_456_plus_days", "inv-age-456-plus-days"),
        integer("inv_age_0_to_30_days", "inv-age-0-to-30-days"),
        integer("inv_age_31_to_60_days", "inv-age-31-to-60-days"),
        integer("inv_age_61_to_90_days", "inv-age-61-to-90-days"),
        integer("inv_age_181_to_330_days", "inv-age-181-to-330-days"),
        integer("inv_age_331_to_365_days", "inv-age-331-to-365-days"),
        text("currency", "currency"),
        integer("units_shipped_t7", "units-shipped-t7"),
        integer("units_shipped_t30", "units-shipped-t30"),
        integer("units_shipped_t60", "units-shipped-t60"),
        integer("units_shipped_t90", "units-shipped-t90"),
        text("alert", "alert"),
        money("your_price", "your-price"),
        money("sales_price", "sales-price"),
        text("recommended_action", "recommended-action"),
        integer(
            "healthy_inventory_level",
            "healthy-inventory-level",
            "DEPRECATED healthy-inventory-level",
        ),
        money("recommended_sales_price", "recommended-sales-price"),
        integer("recommended_sale_duration_days", "recommended-sale-duration-days"),
        integer("recommended_removal_quantity", "recommended-removal-quantity"),
        money(
            "estimated_cost_savings_of_recommended_actions",
            "estimated-cost-savings-of-recommended-actions",
        ),
        measure("sell_through", "sell-through"),
        measure("item_volume", "item-volume"),
        text("volume_unit_measurement", "volume-unit-measurement"),
        text("storage_type", "storage-type"),
        measure("storage_volume", "storage-volume"),
        text("marketplace_name", "marketplace"),
        text("product_group", "product-group"),
        integer("sales_rank", "sales-rank"),
        measure("days_of_supply", "days-of-supply"),
        integer("estimated_excess_quantity", "estimated-excess-quantity"),
        measure("weeks_of_cover_t30", "weeks-of-cover-t30"),
        measure("weeks_of_cover_t90", "weeks-of-cover-t90"),
        money("estimated_storage_cost_next_month", "estimated-storage-cost-next-month"),
        integer("inbound_quantity", "inbound-quantity"),
        integer("inbound_working", "inbound-working"),
        integer("inbound_shipped", "inbound-shipped"),
        integer("inbound_received", "inbound-received"),
        integer("unfulfillable_quantity", "unfulfillable-quantity"),
        integer("total_reserved_quantity", "Total Reserved Quantity"),
    ),
    merge=Snapshot(("snapshot_date", "sku", "fnsku")),
    date_column="snapshot_date",  # shown as the file's period; not a dated download (__init__)
    marketplace_from=(
        MarketplaceSource("marketplace_name"),
        MarketplaceSource("currency", "currency"),
    ),
)

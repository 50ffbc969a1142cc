"""Removal Order Detail (a snapshot per order line) and Removal Shipment Detail (shipped units)."""

from recoup.reports.base import (
    DayBased,
    MarketplaceSource,
    ReportType,
    Snapshot,
    day,
    integer,
    money,
    text,
)

REMOVAL_ORDERS = ReportType(
    name="removal_orders",
    table="removal_orders",
    title="Removal Order Detail",
    cited_as="Removal Order Detail report",
    download_from="Reports > Fulfillment > Removals > Removal Order Detail",
    columns=(
        day("request_date", "request-date", required=True, not_null=True),
        text("order_id", "order-id", required=True, not_null=True),
        text("order_source", "order-source"),  # seen only in third-party code; kept if present
        text("order_type", "order-type", required=True),
        text("service_speed", "service-speed"),
        text("order_status", "order-status", required=True),
        day("last_updated_date", "last-updated-date"),
        text("sku", "sku"),
        text("fnsku", "fnsku", required=True),
        text("disposition", "disposition"),
        integer("requested_quantity", "requested-quantity", required=True, never_negative=True),
        integer("cancelled_quantity", "cancelled-quantity", never_negative=True),
        integer("disposed_quantity", "disposed-quantity", never_negative=True),
        integer("shipped_quantity", "shipped-quantity", never_negative=True),
        integer("in_process_quantity", "in-process-quantity", never_negative=True),
        money("removal_fee", "removal-fee"),
        text("currency", "currency"),
    ),
    # An order line's status and quantities change until it completes: the newest download wins.
    merge=Snapshot(("order_id", "sku", "fnsku", "disposition")),
    date_column="request_date",
    marketplace_from=(MarketplaceSource("currency", "currency"),),
)

REMOVAL_SHIPMENTS = ReportType(
    name="removal_shipments",
    table="removal_shipments",
    title="Removal Shipment Detail",
    cited_as="Removal Shipment Detail report",
    download_from="Reports > Fulfillment > Removals > Removal Shipment Detail",
    columns=(
        day("request_date", "request-date"),
        text("order_id", "order-id", required=True, not_null=True),
        # Older help text says removal-date and quantity shipped.
        day("shipment_date", "shipment-date", "removal-date", required=True, not_null=True),
        text("sku", "sku"),
        text("fnsku", "fnsku", required=True),
        text("disposition", "disposition"),
        integer(
            "shipped_quantity",
            "shipped-quantity",
            "quantity shipped",
            required=True,
            not_null=True,
            never_negative=True,
        ),
        text("carrier", "carrier"),
        text("tracking_number", "tracking-number", required=True),
        text("removal_order_type", "removal-order-type"),
    ),
    merge=DayBased("shipment_date"),
    date_column="shipment_date",
)

"""Inbound shipments and shipment items, with the Fulfillment Inbound API (v0) field names.

They come as CSV files the seller writes or exports, or as the API's JSON payloads
(`getShipments` -> ShipmentData, `getShipmentItems` -> ItemData), which ingest flattens into
the same columns. Both are snapshots: the newest download of a shipment wins (its status and
QuantityReceived change while Amazon receives it).
"""

from recoup.reports.base import ReportType, Snapshot, day, flag, integer, text

INBOUND_SHIPMENTS = ReportType(
    name="inbound_shipments",
    table="inbound_shipments",
    title="Inbound shipments",
    cited_as="inbound shipments",
    columns=(
        text("shipment_id", "ShipmentId", required=True, not_null=True),
        text("shipment_name", "ShipmentName"),
        text("shipment_status", "ShipmentStatus", required=True, not_null=True),
        text("destination_fulfillment_center_id", "DestinationFulfillmentCenterId"),
        text("label_prep_type", "LabelPrepType"),
        flag("are_cases_required", "AreCasesRequired"),
        day("confirmed_need_by_date", "ConfirmedNeedByDate"),
        text("box_contents_source", "BoxContentsSource"),
    ),
    merge=Snapshot(("shipment_id",)),
)

INBOUND_SHIPMENT_ITEMS = ReportType(
    name="inbound_shipment_items",
    table="inbound_shipment_items",
    title="Inbound shipment items",
    cited_as="inbound shipment items",
    columns=(
        text("shipment_id", "ShipmentId", required=True, not_null=True),
        text("seller_sku", "SellerSKU", required=True),
        text("fnsku", "FulfillmentNetworkSKU", required=True),
        integer(
            "quantity_shipped", "QuantityShipped", required=True, not_null=True, never_negative=True
        ),
        integer("quantity_received", "QuantityReceived", never_negative=True),
        integer("quantity_in_case", "QuantityInCase", never_negative=True),
        day("release_date", "ReleaseDate"),
    ),
    merge=Snapshot(("shipment_id", "seller_sku", "fnsku")),
)

# The JSON payload keys that hold lists of these records.
JSON_LISTS = {"ShipmentData": INBOUND_SHIPMENTS, "ItemData": INBOUND_SHIPMENT_ITEMS}

"""FBA Customer Returns: one row per returned unit (or licence plate) that reached an FC.

Refunds without a physical return never appear here; that gap is what return_not_received finds.
"""

from recoup.reports.base import DayBased, ReportType, day, integer, text

CUSTOMER_RETURNS = ReportType(
    name="customer_returns",
    table="customer_returns",
    title="FBA Customer Returns",
    cited_as="FBA Customer Returns report",
    download_from="Reports > Fulfillment > Customer Concessions > FBA customer returns",
    columns=(
        day("return_date", "return-date", required=True, not_null=True),
        # Help pages call it amazon-order-id; the SP-API file says order-id.
        text("order_id", "order-id", "amazon-order-id", required=True, not_null=True),
        text("sku", "sku"),
        text("asin", "asin"),
        text("fnsku", "fnsku", required=True),
        text("product_name", "product-name"),
        integer("quantity", "quantity", required=True, not_null=True, never_negative=True),
        text("fulfillment_center_id", "fulfillment-center-id"),
        text("detailed_disposition", "detailed-disposition", required=True),
        text("reason", "reason"),
        text("status", "status"),
        text("license_plate_number", "license-plate-number"),
        text("customer_comments", "customer-comments"),
    ),
    merge=DayBased("return_date"),
    date_column="return_date",
)

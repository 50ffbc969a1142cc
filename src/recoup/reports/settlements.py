"""Settlement reports: the V2 flat file (US and EU) and the V1 flat file (real Amazon.ca files).

Both become one long table, one amount per row, like V2: `amount_type`, `amount_description`,
`amount`. The first data row of every settlement is its summary (dates, `total-amount`,
currency); it goes to `settlement_summaries`. Every other row's amounts sum to that total, which
is checked on import (true in all seven real Amazon.ca files).
EU V2 files print `dd.MM.yyyy` dates and `179,99` amounts; the file style is detected.
"""

from __future__ import annotations

from recoup.reports.base import (
    BySettlement,
    Column,
    MarketplaceSource,
    ReportType,
    day,
    integer,
    money,
    text,
)

# FBA reimbursement codes that V1 files print as the transaction type (V2: amount-description).
REIMBURSEMENT_CODES = (
    "REVERSAL_REIMBURSEMENT",
    "COMPENSATED_CLAWBACK",
    "FREE_REPLACEMENT_REFUND_ITEMS",
    "WAREHOUSE_DAMAGE",
    "WAREHOUSE_LOST",
    "WAREHOUSE_LOST_MANUAL",
    "WAREHOUSE_DAMAGE_EXCEPTION",
    "MISSING_FROM_INBOUND",
    "MISSING_FROM_INBOUND_CLAWBACK",
    "REMOVAL_ORDER_LOST",
    "CS_ERROR_ITEMS",
    "INCORRECT_FEES_ITEMS",
)

_SUMMARY: tuple[Column, ...] = (
    text("settlement_id", "settlement-id", required=True, not_null=True),
    day("settlement_start_date", "settlement-start-date"),
    day("settlement_end_date", "settlement-end-date"),
    day("deposit_date", "deposit-date"),
    money("total_amount", "total-amount", required=True),
    text("currency", "currency"),
)

_IDS: tuple[Column, ...] = (
    text("transaction_type", "transaction-type", required=True),
    text("order_id", "order-id"),
    text("merchant_order_id", "merchant-order-id"),
    text("adjustment_id", "adjustment-id"),
    text("shipment_id", "shipment-id"),
    text("marketplace_name", "marketplace-name"),
    text("fulfillment_id", "fulfillment-id"),
    text("order_item_code", "order-item-code"),
    text("merchant_order_item_id", "merchant-order-item-id"),
    text("merchant_adjustment_item_id", "merchant-adjustment-item-id"),
    text("sku", "sku"),
    integer("quantity_purchased", "quantity-purchased"),
)

_LINE_COLUMNS = (
    "settlement_id, transaction_type, order_id, merchant_order_id, adjustment_id, shipment_id, "
    "marketplace_name, fulfillment_id, order_item_code, merchant_order_item_id, "
    "merchant_adjustment_item_id, sku, quantity_purchased"
)
_COMMON = "account, marketplace, file_id, line"


def _summaries(rows: str) -> tuple[str, str]:
    return (
        "settlement_summaries",
        f"SELECT {_COMMON}, settlement_id, settlement_start_date, settlement_end_date, "
        f"deposit_date, total_amount, currency FROM {rows} WHERE total_amount IS NOT NULL",
    )


def _lines(rows: str) -> str:
    # The currency is printed on the summary row only. Joined from a per-settlement aggregate,
    # not a window over the settlement: a window holds every line of it in memory (1.4 GB and
    # 2 s for a 970k-line settlement), a join streams them.
    return (
        f"(SELECT r.*, c.settlement_currency FROM {rows} AS r LEFT JOIN "
        f"(SELECT settlement_id, max(currency) AS settlement_currency FROM {rows} "
        f"GROUP BY settlement_id) AS c ON r.settlement_id IS NOT DISTINCT FROM c.settlement_id)"
    )


def _shape_v2(rows: str) -> list[tuple[str, str]]:
    return [
        _summaries(rows),
        (
            "settlements",
            f"SELECT {_COMMON}, {_LINE_COLUMNS}, promotion_id, amount_type, amount_description, "
            f"amount, coalesce(posted_date_time, posted_date) AS posted_date, "
            f"settlement_currency AS currency FROM {_lines(rows)} WHERE total_amount IS NULL",
        ),
    ]


# V1 amount columns -> the V2 amount-type they correspond to, and the column naming the amount.
_V1_AMOUNTS = (
    ("price_amount", "'ItemPrice'", "price_type"),
    ("item_related_fee_amount", "'ItemFees'", "item_related_fee_type"),
    ("promotion_amount", "'Promotion'", "promotion_type"),
    ("shipment_fee_amount", "'ShipmentFees'", "shipment_fee_type"),
    ("order_fee_amount", "'OrderFees'", "order_fee_type"),
    ("misc_fee_amount", "'MiscFee'", "NULL"),
    ("other_fee_amount", "'OtherFees'", "other_fee_reason_description"),
    ("direct_payment_amount", "'DirectPayment'", "direct_payment_type"),
    (
        "other_amount",
        "CASE WHEN transaction_type IN ("
        + ", ".join(f"'{c}'" for c in REIMBURSEMENT_CODES)
        + ") THEN 'FBA Inventory Reimbursement' ELSE 'other-transaction' END",
        "transaction_type",
    ),
)


def _shape_v1(rows: str) -> list[tuple[str, str]]:
    lines = _lines(rows)
    parts = [
        f"SELECT {_COMMON}, {_LINE_COLUMNS}, promotion_id, {amount_type} AS amount_type, "
        f"{description} AS amount_description, {amount} AS amount, posted_date, "
        f"settlement_currency AS currency FROM {lines} "
        f"WHERE total_amount IS NULL AND {amount} IS NOT NULL"
        for amount, amount_type, description in _V1_AMOUNTS
    ]
    # A line with no amount (the quantity row of an order item) is kept too.
    no_amount = " AND ".join(f"{amount} IS NULL" for amount, _, _ in _V1_AMOUNTS)
    parts.append(
        f"SELECT {_COMMON}, {_LINE_COLUMNS}, promotion_id, NULL AS amount_type, "
        f"NULL AS amount_description, NULL AS amount, posted_date, "
        f"settlement_currency AS currency FROM {lines} "
        f"WHERE total_amount IS NULL AND {no_amount}"
    )
    return [_summaries(rows), ("settlements", " UNION ALL ".join(parts))]


def settlement_check(file_id: int) -> str:
    """One warning per settlement whose rows do not add up to its summary total."""
    return f"""
        SELECT format('settlement {{}}: rows sum to {{}} but the summary total-amount is {{}}',
                      s.settlement_id, CAST(coalesce(l.rows_total, 0) AS VARCHAR),
                      CAST(s.total_amount AS VARCHAR))
        FROM settlement_summaries_rows s
        LEFT JOIN (SELECT settlement_id, sum(amount) AS rows_total FROM settlements_rows
                   WHERE file_id = {file_id} GROUP BY settlement_id) l USING (settlement_id)
        WHERE s.file_id = {file_id} AND coalesce(l.rows_total, 0) <> s.total_amount
        ORDER BY s.settlement_id
    """


def without_summary(rows: str) -> str:
    """Lines of a settlement whose summary line (the one with total-amount) is not in the file:
    without it there is no total to check them against and no newest download to choose."""
    return f"""
        SELECT line, 'total-amount', NULL,
               format('settlement {{}} has no summary line (the line with its total-amount, '
                      || 'dates and currency): download this settlement again from Seller '
                      || 'Central', settlement_id)
        FROM {rows}
        WHERE settlement_id NOT IN (SELECT settlement_id FROM {rows} WHERE total_amount IS NOT NULL)
    """


_MARKETPLACE = (
    MarketplaceSource("marketplace_name"),
    MarketplaceSource("currency", "currency"),
)

SETTLEMENT_V2 = ReportType(
    name="settlement_v2",
    table="settlements",
    title="Settlement report (V2 flat file)",
    cited_as="settlement report",
    download_from="Reports > Payments > All Statements (or Reports Repository), Flat File V2",
    columns=(
        *_SUMMARY,
        *_IDS,
        text("amount_type", "amount-type", required=True),
        text("amount_description", "amount-description", required=True),
        money("amount", "amount", required=True),
        day("posted_date", "posted-date"),
        day("posted_date_time", "posted-date-time"),
        text("promotion_id", "promotion-id"),
    ),
    merge=BySettlement(),
    date_column="posted_date",
    marketplace_from=_MARKETPLACE,
    localised_numbers=True,
    shape=_shape_v2,
    check=settlement_check,
    unusable=without_summary,
)

SETTLEMENT_V1 = ReportType(
    name="settlement_v1",
    table="settlements",
    title="Settlement report (V1 flat file)",
    cited_as="settlement report",
    columns=(
        *_SUMMARY,
        *_IDS,
        text("shipment_fee_type", "shipment-fee-type"),
        money("shipment_fee_amount", "shipment-fee-amount"),
        text("order_fee_type", "order-fee-type"),
        money("order_fee_amount", "order-fee-amount"),
        day("posted_date", "posted-date"),
        text("price_type", "price-type", required=True),
        money("price_amount", "price-amount", required=True),
        text("item_related_fee_type", "item-related-fee-type", required=True),
        money("item_related_fee_amount", "item-related-fee-amount"),
        money("misc_fee_amount", "misc-fee-amount"),
        money("other_fee_amount", "other-fee-amount"),
        text("other_fee_reason_description", "other-fee-reason-description"),
        text("promotion_id", "promotion-id"),
        text("promotion_type", "promotion-type"),
        money("promotion_amount", "promotion-amount"),
        text("direct_payment_type", "direct-payment-type"),
        money("direct_payment_amount", "direct-payment-amount"),
        money("other_amount", "other-amount"),
    ),
    merge=BySettlement(),
    date_column="posted_date",
    marketplace_from=_MARKETPLACE,
    localised_numbers=True,
    shape=_shape_v1,
    check=settlement_check,
    unusable=without_summary,
)

"""What the seller downloads on the as-of date: snapshot values, settlements and their own files.

The ledger's reconciled and unreconciled quantities, removal order and inbound shipment states
are as Amazon shows them that day; orders and refunds name the (closed) settlement that prints
them (`account.settlement_periods`).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from recoup.simulate.account import Account, settlement_of, settlement_periods

LOSS_AND_DAMAGE = {"M", "5", "E", "6", "7", "H", "K", "U"}
CLOSED_AFTER_DAYS = 14  # a shipment is CLOSED this long after its last receipt


def finish(account: Account) -> None:
    _reconciliation(account)
    _removal_orders(account)
    _inbound(account)
    _sourcing_costs(account)
    _settlements(account)


def _reconciliation(account: Account) -> None:
    for adjustment in account.adjustments:
        values = adjustment.row.values
        if adjustment.reason in LOSS_AND_DAMAGE:
            units = abs(adjustment.quantity)
            adjustment.unreconciled = units - min(units, adjustment.reconciled)
            values["reconciled_quantity"] = units - adjustment.unreconciled
            values["unreconciled_quantity"] = adjustment.unreconciled
        elif adjustment.reason == "F":
            values["reconciled_quantity"] = adjustment.quantity
            values["unreconciled_quantity"] = 0


def _removal_orders(account: Account) -> None:
    for order in account.removals:
        in_process = order.requested - order.cancelled - order.disposed - order.shipped
        if order.status == "Completed":
            in_process = 0
        elif order.request_day < account.config.as_of:
            order.status = "In Process"
        order.row.values.update(
            order_type=order.order_type,
            service_speed="Standard",
            order_status=order.status,
            last_updated_date=order.last_updated,
            sku=order.product.sku,
            fnsku=order.product.fnsku,
            requested_quantity=order.requested,
            cancelled_quantity=order.cancelled,
            disposed_quantity=order.disposed,
            shipped_quantity=order.shipped,
            in_process_quantity=in_process,
            removal_fee=Decimal("0.97") * order.requested,
            currency=account.market.currency,
        )


def _inbound(account: Account) -> None:
    as_of = account.config.as_of
    for shipment in account.shipments:
        last = shipment.last_receipt
        if last is None:
            shipment.status = "SHIPPED"
        elif (as_of - last).days >= CLOSED_AFTER_DAYS:
            shipment.status = "CLOSED"
        else:
            shipment.status = "RECEIVING"
        shipment.row = account.row(
            "inbound_shipments",
            shipment_id=shipment.shipment_id,
            shipment_name=f"FBA ({shipment.created:%m/%d/%Y})",
            shipment_status=shipment.status,
            destination_fulfillment_center_id=shipment.items[0].product.fulfillment_center,
        )
        for item in shipment.items:
            item.row = account.row(
                "inbound_shipment_items",
                shipment_id=shipment.shipment_id,
                seller_sku=item.product.sku,
                fnsku=item.product.fnsku,
                quantity_shipped=item.shipped,
                quantity_received=item.received,
                quantity_in_case=0,
            )


def _sourcing_costs(account: Account) -> None:
    since = account.config.start - dt.timedelta(days=365)
    change = account.config.cost_change_day
    for product in account.products:
        for cost, since_day in ((product.cost, since), (product.later_cost, change)):
            if cost is not None:
                account.row(
                    "sourcing_costs",
                    sku=product.sku,
                    unit_cost=cost,
                    fnsku=product.fnsku,
                    currency=account.market.currency,
                    effective_from=since_day,
                )


def _settlements(account: Account) -> None:
    periods = settlement_periods(account.config)
    for event in [*account.orders, *account.refunds]:
        event.settlement_id = settlement_of(account.config, periods, event.day)

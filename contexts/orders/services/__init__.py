"""Writes of the orders context, one private module per concern, re-exported here."""

from contexts.orders.services._checkout import (
    CheckoutRequest,
    PlacedOrder,
    checkout,
    checkout_result,
    place_order,
    register_address_book,
)
from contexts.orders.services._demo import backdate_demo_order
from contexts.orders.services._idempotency import idempotency_keys, prune_idempotency_records
from contexts.orders.services._lifecycle import (
    cancel_order,
    finish_interrupted_operations,
    mark_delivered,
    receive_return,
    record_shipment,
    request_return,
    ship_order,
)
from contexts.orders.services._money import MoneyDifference, MoneyPosition, money_position
from contexts.orders.services._orders import anonymise_customer_orders, locked_order, next_order_number, transition
from contexts.orders.services._previews import refund_on_cancel, refund_on_receipt
from contexts.orders.services._saga import CheckoutFailed, heal, recover_stuck_checkouts

__all__ = [
    "CheckoutFailed",
    "CheckoutRequest",
    "MoneyDifference",
    "MoneyPosition",
    "PlacedOrder",
    "anonymise_customer_orders",
    "backdate_demo_order",
    "cancel_order",
    "checkout",
    "checkout_result",
    "finish_interrupted_operations",
    "heal",
    "idempotency_keys",
    "locked_order",
    "mark_delivered",
    "money_position",
    "next_order_number",
    "place_order",
    "prune_idempotency_records",
    "receive_return",
    "record_shipment",
    "recover_stuck_checkouts",
    "refund_on_cancel",
    "refund_on_receipt",
    "register_address_book",
    "request_return",
    "ship_order",
    "transition",
]

"""Writes of the cart context: judged with no transaction open (other contexts are asked then),
committed atomically on the cart's own database (see ``_writes``)."""

from contexts.cart.services._carts import (
    assign_cart,
    checkout_cart,
    claim_for_checkout,
    close_cart,
    create_cart,
    delete_abandoned_carts,
    discard_customer_carts,
    release_checkout_claim,
)
from contexts.cart.services._delivery import UNSET, set_delivery, shipping_options
from contexts.cart.services._lines import add_line, remove_line, set_line_quantity
from contexts.cart.services._vouchers import add_voucher, remove_voucher

__all__ = [
    "UNSET",
    "add_line",
    "add_voucher",
    "assign_cart",
    "checkout_cart",
    "claim_for_checkout",
    "close_cart",
    "create_cart",
    "delete_abandoned_carts",
    "discard_customer_carts",
    "release_checkout_claim",
    "remove_line",
    "remove_voucher",
    "set_delivery",
    "set_line_quantity",
    "shipping_options",
]

"""Writes of the orders context, one private module per concern, re-exported here."""

from contexts.orders.services._orders import anonymise_customer_orders, locked_order, next_order_number, transition

__all__ = ["anonymise_customer_orders", "locked_order", "next_order_number", "transition"]

"""Demo data only: ``backdate_demo_order`` moves an order placed just now by the demo seed into the past,
so the demo shop's dashboard shows weeks of sales. No business path calls it: orders' own code never
rewrites when something happened."""

from datetime import datetime
from uuid import UUID

from django.db.models import F

from commerce.database import atomic_in
from contexts.orders.exceptions import OrderNotFound
from contexts.orders.models import Order, OrderStatusChange, Payment, Refund, Return, Shipment
from contexts.orders.services._orders import db


def backdate_demo_order(*, order_id: UUID, placed_at: datetime) -> None:
    """Shift the order and everything recorded about it (status history, payment, shipments, returns,
    refunds) by the same delta, so it reads as placed at ``placed_at`` and its steps keep their order."""
    alias = db()
    with atomic_in("orders"):
        order = Order.objects.using(alias).select_for_update().filter(pk=order_id).first()
        if order is None:
            raise OrderNotFound()
        delta = placed_at - order.created_at
        Order.objects.using(alias).filter(pk=order_id).update(created_at=placed_at)
        OrderStatusChange.objects.using(alias).filter(order_id=order_id).update(at=F("at") + delta)
        Payment.objects.using(alias).filter(order_id=order_id).update(created_at=F("created_at") + delta)
        Shipment.objects.using(alias).filter(order_id=order_id).update(
            created_at=F("created_at") + delta, dispatched_at=F("dispatched_at") + delta
        )
        Return.objects.using(alias).filter(order_id=order_id).update(created_at=F("created_at") + delta)
        Refund.objects.using(alias).filter(order_id=order_id).update(created_at=F("created_at") + delta)

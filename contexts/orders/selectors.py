"""Reads inside the orders context."""

from collections.abc import Iterable

from django.db.models import QuerySet

from commerce.database import database_for
from contexts.orders.models import Order, Refund, Return


def orders() -> QuerySet[Order]:
    return Order.objects.using(database_for("orders"))


def with_details(queryset: QuerySet[Order]) -> QuerySet[Order]:
    return queryset.select_related("payment").prefetch_related("lines", "history", "shipments")


def customer_orders(customer_id: int, statuses: Iterable[str] | None = None) -> QuerySet[Order]:
    """The customer's orders, newest first: in one of ``statuses``, or whatever their status."""
    rows = orders().filter(customer_id=customer_id)
    if statuses is not None:
        rows = rows.filter(status__in=sorted(statuses))
    return rows.order_by("-created_at", "-number")


def order_by_id(order_id) -> Order | None:
    return with_details(orders()).filter(pk=order_id).first()


def returns() -> QuerySet[Return]:
    return Return.objects.using(database_for("orders")).select_related("order", "refund").prefetch_related("lines")


def return_by_id(return_id):
    return returns().filter(pk=return_id).first()


def returns_of(order_id):
    return returns().filter(order_id=order_id).order_by("-created_at")


def customer_returns(customer_id: int) -> QuerySet[Return]:
    return returns().filter(order__customer_id=customer_id).order_by("-created_at")


def customer_refunds(customer_id: int) -> QuerySet[Refund]:
    """Money that went back to the customer: completed refunds of something, oldest first."""
    return (
        Refund.objects.using(database_for("orders"))
        .filter(order__customer_id=customer_id, completed=True, amount__gt=0)
        .select_related("order")
        .order_by("created_at", "id")
    )

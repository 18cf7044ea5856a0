"""Reads inside the orders context."""

from collections.abc import Iterable
from datetime import datetime, timedelta

from django.db.models import Count, Min, Q, QuerySet, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from commerce.database import database_for
from contexts.orders.models import Order, Payment, Refund, Return


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


# --- What staff must act on (the admin's dashboard and the order list's filters) ------------------

TO_SHIP = ("confirmed", "partially_shipped")
RETURNS_WAITING = ("requested", "receiving")
# A payment still pending, or a refund not completed, this long after it started is stuck: the
# checkout's recovery job or the gateway should have settled it within minutes.
PAYMENT_STALE_AFTER = timedelta(minutes=15)


def orders_to_ship() -> QuerySet[Order]:
    return orders().filter(status__in=TO_SHIP)


def returns_waiting() -> QuerySet[Return]:
    return Return.objects.using(database_for("orders")).filter(status__in=RETURNS_WAITING)


def count_and_oldest(rows: QuerySet) -> tuple[int, datetime | None]:
    figures = rows.aggregate(count=Count("pk"), oldest=Min("created_at"))
    return figures["count"], figures["oldest"]


def payment_attention_condition(now: datetime) -> Q:
    """Orders whose money needs a person: a payment pending, or a refund not completed, for longer than
    ``PAYMENT_STALE_AFTER``. One condition for the dashboard's figure and the order list's filter."""
    stale = now - PAYMENT_STALE_AFTER
    pending = Q(payment__status=Payment.Status.PENDING, payment__created_at__lt=stale)
    unrefunded = Q(refunds__completed=False, refunds__created_at__lt=stale)
    return pending | unrefunded


def orders_needing_payment_attention(now: datetime) -> QuerySet[Order]:
    return orders().filter(pk__in=orders().filter(payment_attention_condition(now)).values("pk"))


def daily_sales(since: datetime, statuses: Iterable[str]) -> QuerySet:
    """Orders in ``statuses`` created since ``since``, counted and summed per local day and currency."""
    return (
        orders()
        .filter(created_at__gte=since, status__in=sorted(statuses))
        .annotate(day=TruncDate("created_at", tzinfo=timezone.get_current_timezone()))
        .values("day", "currency")
        .annotate(count=Count("pk"), revenue=Sum("total"))
        .order_by("day", "currency")
    )

"""Orders as records: numbers, status transitions with their history, erasure of personal data."""

from django.db import connections
from django.utils import timezone

from commerce.database import atomic_in, database_for
from contexts.orders import domain
from contexts.orders.conf import orders_settings
from contexts.orders.exceptions import InvalidTransition
from contexts.orders.models import CustomerErasure, Order, OrderNumberCounter, OrderStatusChange, Return
from contexts.orders.services._idempotency import idempotency_keys

COUNTER = "orders"


def db() -> str:
    return database_for("orders")


def next_order_number() -> str:
    """The next human order number; call inside the transaction that confirms the order.

    An ``UPDATE … SET last = last + 1`` takes the counter row's lock until that transaction ends, so
    concurrent checkouts get distinct consecutive numbers, and a rolled-back one gives its number back.
    Failed checkouts never take one (issue 22): numbers run without gaps among placed orders. One
    statement (``RETURNING``, which PostgreSQL and SQLite both have) in the common case.
    """
    alias = db()
    number = _increment(alias)
    if number is None:
        OrderNumberCounter.objects.using(alias).get_or_create(
            name=COUNTER, defaults={"last": orders_settings().first_order_number - 1}
        )
        number = _increment(alias)
    return str(number)


def _increment(alias: str) -> int | None:
    connection = connections[alias]
    table = connection.ops.quote_name(OrderNumberCounter._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {table} SET last = last + 1 WHERE name = %s RETURNING last", [COUNTER])
        row = cursor.fetchone()
    return None if row is None else row[0]


def transition(
    order: Order, target: str, *, actor: str = "system", note: str = "", also_save: tuple[str, ...] = ()
) -> bool:
    """Move a locked order to ``target``, writing its history entry; False if it already is there.

    ``also_save`` names other fields the caller changed on ``order``, saved in the same UPDATE.

    :raises InvalidTransition: the state machine does not allow it.
    """
    if order.status == target and target != domain.OrderStatus.PARTIALLY_RETURNED:
        return False
    if not domain.can_transition(order.status, target):
        raise InvalidTransition(f"An order that is {order.status} cannot become {target}.")
    OrderStatusChange.objects.using(db()).create(
        order=order, from_status=order.status, to_status=target, actor=actor[:200], note=note[:300]
    )
    order.status = target
    order.save(update_fields=["status", "updated_at", *also_save])
    return True


def locked_order(order_id) -> Order:
    """The order row, locked until the current transaction ends."""
    return Order.objects.using(db()).select_for_update().get(pk=order_id)


ANONYMOUS = {
    "email": "",
    "ship_full_name": "",
    "ship_line1": "",
    "ship_line2": "",
    "ship_city": "",
    "ship_postal_code": "",
    "ship_phone": "",
    "payment_token": "",
}


def lock_customer(customer_id: int) -> CustomerErasure:
    """The customer's erasure row, locked until the current transaction ends (created if missing).

    Order creation and erasure both take it: an order created first is committed before the erasure
    reads the customer's orders (and anonymised with them); one created after sees ``erased_at``.
    """
    rows = CustomerErasure.objects.using(db())
    rows.bulk_create([CustomerErasure(customer_id=customer_id)], ignore_conflicts=True)
    return rows.select_for_update().get(pk=customer_id)


def anonymise_customer_orders(*, customer_id: int) -> int:
    """Strip name, email, phone and address (and return reasons, free text) from the customer's
    orders; amounts and SKUs stay. Records that the customer was erased: from then on no order can
    be created for them.

    The country stays too (tax was charged by it, which accounting must be able to show). Stored
    checkout answers (which repeat those details) are deleted. Returns how many orders were changed
    now: 0 when run again.
    """
    with atomic_in("orders"):
        erased = lock_customer(customer_id)
        if erased.erased_at is None:
            CustomerErasure.objects.using(db()).filter(pk=customer_id).update(erased_at=timezone.now())
        orders = Order.objects.using(db()).filter(customer_id=customer_id, anonymised_at__isnull=True)
        Return.objects.using(db()).filter(order__in=orders).update(reason="")  # free text: may name the person
        count = orders.update(**ANONYMOUS, anonymised_at=timezone.now())
        idempotency_keys.forget(scope=f"customer:{customer_id}")
    return count

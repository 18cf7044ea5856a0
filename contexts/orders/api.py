"""The published interface of the orders context: the checkout saga, orders, payments, returns and refunds.

Other contexts import this module and ``events`` and nothing else of this context.
"""

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from uuid import UUID

from django.utils import timezone

from contexts.orders import domain, selectors, services
from contexts.orders.exceptions import InvalidOrderInput, OrderNotFound, OrdersError, ReturnNotFound
from contexts.orders.models import Order as OrderRow

__all__ = [
    "PLACED",
    "SALES_STATUSES",
    "Address",
    "AddressBook",
    "Backlog",
    "DailySales",
    "HistoryEntry",
    "InvalidOrderInput",
    "Order",
    "OrderLine",
    "OrderNotFound",
    "OrdersError",
    "PaymentSummary",
    "Refund",
    "Return",
    "ReturnNotFound",
    "ShipmentSummary",
    "anonymise_customer_orders",
    "backdate_demo_order",
    "cancel_order",
    "count_customer_orders",
    "daily_sales",
    "get_order",
    "get_return",
    "list_customer_orders",
    "list_customer_refunds",
    "list_customer_returns",
    "list_returns",
    "mark_delivered",
    "orders_to_ship",
    "payments_needing_attention",
    "place_order",
    "register_address_book",
    "request_return",
    "returns_waiting",
    "ship_order",
]


PLACED: frozenset[str] = domain.PLACED
"""The statuses of an order the customer placed: ``confirmed`` and after (not a checkout still
running, nor a failed attempt)."""

# --- DTOs ----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderLine:
    sku: str
    name: str
    quantity: int
    unit_price: Decimal
    discount: Decimal
    tax_rate: Decimal
    tax: Decimal
    line_total: Decimal


Address = domain.Address
"""A shipping address (``full_name``, ``line1``, ``line2``, ``city``, ``postal_code``, ``country``, ``phone``)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class PaymentSummary:
    status: str
    amount: Decimal
    captured: Decimal
    refunded: Decimal


@dataclass(frozen=True, slots=True, kw_only=True)
class ShipmentSummary:
    id: int
    status: str
    lines: tuple[tuple[str, int], ...]  # (sku, quantity)
    dispatched_at: datetime | None


@dataclass(frozen=True, slots=True, kw_only=True)
class HistoryEntry:
    status: str
    at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class Order:
    id: UUID
    number: str | None  # given when the order is confirmed
    status: str
    customer_id: int | None
    email: str
    currency: str
    lines: tuple[OrderLine, ...]
    subtotal: Decimal
    discount_total: Decimal
    shipping_method: str
    shipping_total: Decimal
    tax_total: Decimal
    total: Decimal
    vouchers: tuple[str, ...]
    shipping_address: Address
    payment: PaymentSummary | None
    shipments: tuple[ShipmentSummary, ...]
    history: tuple[HistoryEntry, ...]
    created_at: datetime
    anonymised: bool


def _order(row: OrderRow) -> Order:
    return _order_of(
        row,
        lines=row.lines.all(),
        payment=_payment_or_none(row),
        shipments=row.shipments.all(),
        history=row.history.all(),
    )


def _order_of(row: OrderRow, *, lines, payment, shipments, history) -> Order:
    return Order(
        id=row.id,
        number=row.number,
        status=row.status,
        customer_id=row.customer_id,
        email=row.email,
        currency=row.currency,
        lines=tuple(
            OrderLine(
                sku=line.sku,
                name=line.name,
                quantity=line.quantity,
                unit_price=line.unit_price,
                discount=line.discount,
                tax_rate=line.tax_rate,
                tax=line.tax,
                line_total=line.line_total,
            )
            for line in lines
        ),
        subtotal=row.subtotal,
        discount_total=row.discount_total,
        shipping_method=row.shipping_method,
        shipping_total=row.shipping_total,
        tax_total=row.tax_total,
        total=row.total,
        vouchers=tuple(item["code"] for item in row.vouchers),
        shipping_address=row.shipping_address,
        payment=None
        if payment is None
        else PaymentSummary(
            status=payment.status, amount=payment.amount, captured=payment.captured, refunded=payment.refunded
        ),
        shipments=tuple(
            ShipmentSummary(
                id=shipment.shipment_id,
                status=shipment.status,
                lines=tuple((item["sku"], int(item["quantity"])) for item in shipment.lines),
                dispatched_at=shipment.dispatched_at,
            )
            for shipment in shipments
        ),
        history=tuple(HistoryEntry(status=entry.to_status, at=entry.at) for entry in history),
        created_at=row.created_at,
        anonymised=row.anonymised_at is not None,
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class Return:
    id: UUID
    order_id: UUID
    status: str
    reason: str
    lines: tuple[tuple[str, int], ...]  # (sku, quantity)
    currency: str
    refunded: Decimal | None  # what this return refunded, once received
    created_at: datetime
    received_at: datetime | None


def _return(row) -> Return:
    refund = row.refund if hasattr(row, "refund") else None
    return Return(
        id=row.id,
        order_id=row.order_id,
        status=row.status,
        reason=row.reason,
        lines=tuple((line.sku, line.quantity) for line in row.lines.all()),
        currency=row.order.currency,
        refunded=refund.amount if refund is not None and refund.completed else None,
        created_at=row.created_at,
        received_at=row.received_at,
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class Refund:
    """Money that went back to the customer through the payment gateway."""

    id: UUID
    order_id: UUID
    return_id: UUID | None  # the return it paid for; None for a cancellation's
    amount: Decimal
    currency: str
    reason: str  # "cancellation" | "return" | "compensation" (a checkout that failed after the capture)
    at: datetime


def _refund(row) -> Refund:
    return Refund(
        id=row.id,
        order_id=row.order_id,
        return_id=row.ret_id,
        amount=row.amount,
        currency=row.order.currency,
        reason=row.reason,
        at=row.created_at,
    )


def _payment_or_none(row: OrderRow):  # the reverse one-to-one raises when absent
    try:
        return row.payment
    except OrderRow.payment.RelatedObjectDoesNotExist:
        return None


# --- Reads ---------------------------------------------------------------------------------------


def get_order(*, order_id: UUID, customer_id: int | None = None) -> Order:
    """The order with this id; with ``customer_id``, only if it belongs to that customer.

    :raises OrderNotFound: no such order, or it belongs to someone else.
    """
    row = selectors.order_by_id(order_id)
    if row is None or (customer_id is not None and row.customer_id != customer_id):
        raise OrderNotFound()
    return _order(row)


def list_customer_orders(
    *, customer_id: int, statuses: Iterable[str] | None = None, offset: int = 0, limit: int | None = None
) -> tuple[Order, ...]:
    """The customer's orders, newest first, with lines, payment, shipments and status history: those in
    one of ``statuses`` (``PLACED``: the orders the customer placed), or every one, failed attempts
    included, when ``statuses`` is ``None`` (the data export); a page with ``offset``/``limit``.
    A fixed number of queries, whatever the count."""
    rows = selectors.with_details(selectors.customer_orders(customer_id, statuses))
    rows = rows[offset : offset + limit] if limit is not None else rows[offset:]
    return tuple(_order(row) for row in rows)


def count_customer_orders(*, customer_id: int, statuses: Iterable[str] | None = None) -> int:
    """How many orders ``list_customer_orders`` has for this customer (and these ``statuses``)."""
    return selectors.customer_orders(customer_id, statuses).count()


def get_return(*, return_id: UUID) -> Return:
    """:raises ReturnNotFound:"""
    row = selectors.return_by_id(return_id)
    if row is None:
        raise ReturnNotFound()
    return _return(row)


def list_returns(*, order_id: UUID) -> tuple[Return, ...]:
    """The order's returns, newest first."""
    return tuple(_return(row) for row in selectors.returns_of(order_id))


def list_customer_returns(*, customer_id: int) -> tuple[Return, ...]:
    """Every return of the customer's orders, newest first (for the data export)."""
    return tuple(_return(row) for row in selectors.customer_returns(customer_id))


def list_customer_refunds(*, customer_id: int) -> tuple[Refund, ...]:
    """The money sent back to the customer, refund by refund, oldest first (for the data export)."""
    return tuple(_refund(row) for row in selectors.customer_refunds(customer_id))


# --- Personal data -------------------------------------------------------------------------------


def anonymise_customer_orders(*, customer_id: int) -> int:
    """Erase the customer's personal data from their orders: name, email, phone and address go;
    amounts, SKUs, names of products, statuses and the country (tax was charged by it) stay for
    accounting. Idempotent: returns how many orders were changed by this call (0 the second time).

    Orders records the erasure itself: from then on a checkout for this customer is refused
    (``account_closed``), and an order being created at that moment is anonymised with the others.
    """
    return services.anonymise_customer_orders(customer_id=customer_id)


# --- Writes: an order's life, for callers outside orders (the demo seed, ``contexts/demo_orders.py``) ---


def place_order(
    *,
    cart_id: UUID,
    customer_id: int | None,
    email: str,
    shipping_address: Address,
    shipping_method: str,
    payment_token: str,
    idempotency_claim: UUID,
) -> Order:
    """Check the cart out as ``POST /checkout`` does (the same saga); the same ``idempotency_claim``
    again answers the order it placed instead of placing another.

    :raises OrdersError: (its kinds, as ``services.checkout`` documents) the checkout was refused or failed.
    """
    return placed_order(
        services.place_order(
            services.CheckoutRequest(
                cart_id=cart_id,
                customer_id=customer_id,
                email=email,
                shipping_address=shipping_address,
                shipping_method=shipping_method,
                payment_token=payment_token,
                idempotency_claim=idempotency_claim,
            )
        )
    )


def placed_order(placed: services.PlacedOrder) -> Order:
    """The order a checkout placed: as its run wrote it (a just-confirmed order has no shipments yet),
    without reading it back; read when another run confirmed it."""
    if placed.written is None:
        return get_order(order_id=placed.id)
    run = placed.written
    return _order_of(run.order, lines=run.lines, payment=run.payment, shipments=(), history=run.history)


def ship_order(*, order_id: UUID, actor: str = "staff") -> Order:
    """Ship what is not shipped yet, as staff's Ship button does. :raises OrdersError: not shippable."""
    return get_order(order_id=services.ship_order(order_id=order_id, actor=actor).pk)


def mark_delivered(*, order_id: UUID, actor: str = "staff") -> Order:
    """The carrier delivered a shipped order. :raises OrdersError: it has not shipped."""
    return get_order(order_id=services.mark_delivered(order_id=order_id, actor=actor).pk)


def cancel_order(*, order_id: UUID, actor: str = "staff") -> Order:
    """Cancel a confirmed order as staff do: stock released, voucher given back, money refunded.
    :raises OrdersError: not cancellable."""
    return get_order(order_id=services.cancel_order(order_id=order_id, actor=actor).pk)


def request_return(*, order_id: UUID, customer_id: int, lines: Sequence[tuple[str, int]], reason: str) -> Return:
    """The customer asks to send back shipped units ((sku, quantity) pairs), as ``POST /orders/{id}/returns``.
    :raises OrdersError: nothing shipped, or more than can be returned."""
    return get_return(
        return_id=services.request_return(
            order_id=order_id, customer_id=customer_id, lines=list(lines), reason=reason
        ).pk
    )


def backdate_demo_order(*, order_id: UUID, placed_at: datetime) -> None:
    """Demo data only (``manage.py seed_demo_orders``): move an order just placed, with its history,
    payment, shipments, returns and refunds, to ``placed_at``. No business path calls it."""
    services.backdate_demo_order(order_id=order_id, placed_at=placed_at)


# --- Saved addresses (lent by identity) ---------------------------------------------------------

AddressBook = Callable[[int, int], Address | None]


def register_address_book(*, resolver: AddressBook) -> None:
    """Let checkout use a customer's saved addresses (``address_id``).

    Identity sits above orders in the context graph, so orders cannot call it; identity lends its
    address book instead, at start-up: ``resolver(customer_id, address_id)`` returns that customer's
    address as an ``Address``, or ``None`` when the customer has no such address. Until one is
    registered, a checkout with ``address_id`` is refused (400, ``errors.address_id``).
    """

    services.register_address_book(resolver)


# --- What staff must act on, and how the shop is doing (the admin's dashboard) --------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class Backlog:
    """Work waiting for staff: how many, and since when the oldest has waited (``None`` when none)."""

    count: int
    oldest: datetime | None


@dataclass(frozen=True, slots=True, kw_only=True)
class DailySales:
    day: date  # in the shop's time zone (``TIME_ZONE``)
    currency: str
    orders: int
    revenue: Decimal  # the orders' totals, before any refund


SALES_STATUSES: frozenset[str] = PLACED - {domain.OrderStatus.CANCELLED}
"""The orders counted as sales: placed and not cancelled (returns are counted: their refunds are not
subtracted from the day the order was placed)."""


def _backlog(rows) -> Backlog:
    count, oldest = selectors.count_and_oldest(rows)
    return Backlog(count=count, oldest=oldest)


def orders_to_ship() -> Backlog:
    """Confirmed or partially shipped orders: one query."""
    return _backlog(selectors.orders_to_ship())


def returns_waiting() -> Backlog:
    """Returns requested or being received: one query."""
    return _backlog(selectors.returns_waiting())


def payments_needing_attention(*, now: datetime) -> Backlog:
    """Orders with a payment pending, or a refund not completed, for longer than a few minutes at ``now``
    (``selectors.PAYMENT_STALE_AFTER``): one query."""
    return _backlog(selectors.orders_needing_payment_attention(now))


def daily_sales(*, since: date) -> tuple[DailySales, ...]:
    """Sales (``SALES_STATUSES``) per day and currency from the start of ``since`` in the shop's time zone,
    oldest first; days without sales are absent. One query."""
    start = timezone.make_aware(datetime.combine(since, datetime.min.time()))
    return tuple(
        DailySales(day=row["day"], currency=row["currency"], orders=row["count"], revenue=row["revenue"])
        for row in selectors.daily_sales(start, SALES_STATUSES)
    )

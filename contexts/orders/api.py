"""The published interface of the orders context: the checkout saga, orders, payments, returns and refunds.

Other contexts import this module and ``events`` and nothing else of this context.
"""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from uuid import UUID

from contexts.orders import selectors, services
from contexts.orders.exceptions import OrderNotFound, OrdersError
from contexts.orders.models import Order as OrderRow

__all__ = [
    "Address",
    "HistoryEntry",
    "Order",
    "OrderLine",
    "OrderNotFound",
    "OrdersError",
    "PaymentSummary",
    "ShipmentSummary",
    "anonymise_customer_orders",
    "get_order",
    "list_customer_orders",
]


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


@dataclass(frozen=True, slots=True, kw_only=True)
class Address:
    full_name: str
    line1: str
    line2: str
    city: str
    postal_code: str
    country: str
    phone: str


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
    number: str
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
    payment = _payment_or_none(row)
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
            for line in row.lines.all()
        ),
        subtotal=row.subtotal,
        discount_total=row.discount_total,
        shipping_method=row.shipping_method,
        shipping_total=row.shipping_total,
        tax_total=row.tax_total,
        total=row.total,
        vouchers=tuple(item["code"] for item in row.vouchers),
        shipping_address=Address(
            full_name=row.ship_full_name,
            line1=row.ship_line1,
            line2=row.ship_line2,
            city=row.ship_city,
            postal_code=row.ship_postal_code,
            country=row.ship_country,
            phone=row.ship_phone,
        ),
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
            for shipment in row.shipments.all()
        ),
        history=tuple(HistoryEntry(status=entry.to_status, at=entry.at) for entry in row.history.all()),
        created_at=row.created_at,
        anonymised=row.anonymised_at is not None,
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


def list_customer_orders(*, customer_id: int) -> tuple[Order, ...]:
    """Every order the customer placed or tried to place, newest first, with lines, payment,
    shipments and status history (for the customer's data export). A few queries, whatever the count."""
    return tuple(_order(row) for row in selectors.customer_orders(customer_id))


# --- Personal data -------------------------------------------------------------------------------


def anonymise_customer_orders(*, customer_id: int) -> int:
    """Erase the customer's personal data from their orders: name, email, phone and address go;
    amounts, SKUs, names of products, statuses and the country (tax was charged by it) stay for
    accounting. Idempotent: returns how many orders were changed by this call (0 the second time).
    """
    return services.anonymise_customer_orders(customer_id=customer_id)

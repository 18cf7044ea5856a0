"""Events published by the orders context.

Each event carries everything a subscriber needs to act without calling back into orders: the order's
id and human number, the customer (``customer_id`` is ``None`` for a guest), the email the order was
placed with, the currency and the amounts. Notifications, for one, render their messages from these
events alone, which is what lets them be lifted out as a service first.
"""

from dataclasses import dataclass
from decimal import Decimal
from uuid import UUID

from commerce.eventbus import Event, domain_event


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderLineSnapshot:
    sku: str
    name: str
    quantity: int
    unit_price: Decimal
    discount: Decimal
    tax_rate: Decimal
    line_total: Decimal


@dataclass(frozen=True, slots=True, kw_only=True)
class AddressSnapshot:
    full_name: str
    line1: str
    line2: str
    city: str
    postal_code: str
    country: str
    phone: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ReturnedLine:
    sku: str
    quantity: int


@domain_event("orders.OrderPlaced", version=1, aggregate="order_id")
@dataclass(frozen=True, slots=True, kw_only=True)
class OrderPlaced(Event):
    """The order is confirmed: stock reserved and committed, payment captured."""

    order_id: UUID
    number: str
    customer_id: int | None
    email: str
    currency: str
    lines: tuple[OrderLineSnapshot, ...]
    vouchers: tuple[str, ...]
    subtotal: Decimal
    discount_total: Decimal
    shipping_method: str
    shipping_total: Decimal
    tax_total: Decimal
    total: Decimal
    shipping_address: AddressSnapshot


@domain_event("orders.OrderCancelled", version=1, aggregate="order_id")
@dataclass(frozen=True, slots=True, kw_only=True)
class OrderCancelled(Event):
    """A confirmed order was cancelled by its customer or by staff; stock and money went back."""

    order_id: UUID
    number: str
    customer_id: int | None
    email: str
    currency: str
    total: Decimal
    refunded: Decimal
    cancelled_by: str  # "customer" | "staff"


@domain_event("orders.OrderFailed", version=1, aggregate="order_id")
@dataclass(frozen=True, slots=True, kw_only=True)
class OrderFailed(Event):
    """Checkout did not complete and every step it took was compensated."""

    order_id: UUID
    number: str | None  # None: numbers are given to confirmed orders only
    customer_id: int | None
    email: str
    reason: str  # the error code the customer saw, e.g. "payment_declined"


@domain_event("orders.ReturnReceived", version=1, aggregate="order_id")
@dataclass(frozen=True, slots=True, kw_only=True)
class ReturnReceived(Event):
    """Staff received returned goods; stock went back and a refund follows."""

    return_id: UUID
    order_id: UUID
    number: str
    customer_id: int | None
    email: str
    lines: tuple[ReturnedLine, ...]


@domain_event("orders.RefundIssued", version=1, aggregate="order_id")
@dataclass(frozen=True, slots=True, kw_only=True)
class RefundIssued(Event):
    """Money went back to the customer through the payment gateway."""

    refund_id: UUID
    order_id: UUID
    number: str
    customer_id: int | None
    email: str
    currency: str
    amount: Decimal
    reason: str  # "cancellation" | "return"
    lines: tuple[ReturnedLine, ...]  # empty for a whole-order refund

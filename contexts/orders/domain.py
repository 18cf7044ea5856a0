"""Pure rules of the orders context: the order's state machine and the share of a refund.

No ORM here; services apply these rules to rows.

Refund rule (returns): a line's *paid* amount is what the customer paid for it, discounts (its
promotions and its share of vouchers and basket promotions, already spread to the cent by pricing)
and tax included. Of a line of ``q`` units, the first ``k`` units returned are worth
``share(k) = round_half_up(paid × k / q)``; returning ``n`` more after ``k`` refunds ``share(k + n) -
share(k)``, and the return that brings back the line's last unit refunds what remains of it
(``paid - share(k)``): the refunds of a line add up to exactly its paid amount, never a cent more,
whatever the sequence of partial returns. Shipping is refunded only with the return that brings back
everything that was bought (or on cancellation, which refunds all that was captured). The services
work the shares out one return of an order at a time, in the order they are received, each from
what the returns before it left.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from django.db import models


class OrderStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    CONFIRMED = "confirmed", "Confirmed"
    PARTIALLY_SHIPPED = "partially_shipped", "Partially shipped"
    SHIPPED = "shipped", "Shipped"
    DELIVERED = "delivered", "Delivered"
    CANCELLED = "cancelled", "Cancelled"
    FAILED = "failed", "Failed"
    PARTIALLY_RETURNED = "partially_returned", "Partially returned"
    RETURNED = "returned", "Returned"


S = OrderStatus

TRANSITIONS: Mapping[str, frozenset[str]] = {
    S.PENDING: frozenset({S.CONFIRMED, S.FAILED}),
    S.CONFIRMED: frozenset({S.PARTIALLY_SHIPPED, S.SHIPPED, S.CANCELLED}),
    S.PARTIALLY_SHIPPED: frozenset({S.SHIPPED, S.PARTIALLY_RETURNED}),
    S.SHIPPED: frozenset({S.DELIVERED, S.PARTIALLY_RETURNED, S.RETURNED}),
    S.DELIVERED: frozenset({S.PARTIALLY_RETURNED, S.RETURNED}),
    S.PARTIALLY_RETURNED: frozenset({S.PARTIALLY_RETURNED, S.RETURNED, S.SHIPPED, S.DELIVERED}),
    S.RETURNED: frozenset(),
    S.CANCELLED: frozenset(),
    S.FAILED: frozenset(),
}
"""Which status may follow which. ``partially_returned`` may follow itself (a second partial
return) and move on to ``shipped``/``delivered`` only as the carrier reports the rest."""

CANCELLABLE = frozenset({S.CONFIRMED})
RETURNABLE = frozenset({S.PARTIALLY_SHIPPED, S.SHIPPED, S.DELIVERED, S.PARTIALLY_RETURNED})
SHIPPABLE = frozenset({S.CONFIRMED, S.PARTIALLY_SHIPPED})
PLACED = frozenset(TRANSITIONS) - {S.PENDING, S.FAILED}
"""Orders the customer placed: ``confirmed`` and every status after it (a checkout still running, or
one that failed, is an attempt; the customer's order list shows those only when asked)."""


def can_transition(current: str, target: str) -> bool:
    return target in TRANSITIONS.get(current, frozenset())


def staff_transitions(current: str) -> tuple[str, ...]:
    """What staff may do to an order in this status, in the order the admin offers it: ``ship`` (every
    line not shipped yet), ``deliver`` (the carrier delivered it), ``cancel`` (stock released, money
    refunded). Receiving a return depends on the order's returns, not its status."""
    offered = []
    if current in SHIPPABLE:
        offered.append("ship")
    if can_transition(current, S.DELIVERED):
        offered.append("deliver")
    if current in CANCELLABLE:
        offered.append("cancel")
    return tuple(offered)


def round_money(amount: Decimal, places: int = 2) -> Decimal:
    return amount.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


@dataclass(frozen=True, slots=True, kw_only=True)
class Address:
    """A shipping address, as checkout takes it (typed in, or lent from identity's address book) and
    as the order keeps it. The one address type of this context; ``events.AddressSnapshot`` is the
    published event's own copy, since events import nothing of their context."""

    full_name: str
    line1: str
    line2: str
    city: str
    postal_code: str
    country: str  # ISO 3166-1 alpha-2
    phone: str


@dataclass(frozen=True, slots=True, kw_only=True)
class PaidLine:
    """What was bought and paid for one SKU of an order."""

    sku: str
    quantity: int
    paid: Decimal  # discounts and tax included
    tax: Decimal


@dataclass(frozen=True, slots=True, kw_only=True)
class RefundShare:
    amount: Decimal  # goods + shipping, tax included
    tax: Decimal  # the tax contained in amount
    shipping: Decimal


def _share(total: Decimal, part: int, whole: int, places: int) -> Decimal:
    return round_money(total * part / whole, places)


def _line_refund(total: Decimal, *, quantity: int, before: int, now: int, places: int) -> Decimal:
    """What ``now`` more units of a line are worth after ``before`` came back: the rounded share, or
    for the line's last units what remains of ``total``."""
    already = _share(total, before, quantity, places)
    if before + now == quantity:
        return total - already
    return _share(total, before + now, quantity, places) - already


def refund_on_cancel(*, captured: Decimal, refunded: Decimal) -> Decimal:
    """A cancellation refunds everything captured that was not refunded already."""
    return max(captured - refunded, Decimal(0))


def refund_for_return(
    *,
    lines: Iterable[PaidLine],
    returned_before: Mapping[str, int],
    returning: Mapping[str, int],
    shipping_paid: Decimal,
    shipping_tax: Decimal,
    places: int = 2,
) -> RefundShare:
    """The refund owed for ``returning`` units, given what came back before (see the module's rule).

    :raises ValueError: more units of a line would be back than were bought.
    """
    lines = tuple(lines)
    amount = Decimal(0)
    tax = Decimal(0)
    for line in lines:
        before = returned_before.get(line.sku, 0)
        now = returning.get(line.sku, 0)
        if before + now > line.quantity:
            raise ValueError(f"{line.sku}: {before + now} returned of {line.quantity} bought")
        amount += _line_refund(line.paid, quantity=line.quantity, before=before, now=now, places=places)
        tax += _line_refund(line.tax, quantity=line.quantity, before=before, now=now, places=places)
    everything_back = all(
        returned_before.get(line.sku, 0) + returning.get(line.sku, 0) == line.quantity for line in lines
    )
    already_all_back = all(returned_before.get(line.sku, 0) == line.quantity for line in lines)
    shipping = Decimal(0)
    if everything_back and not already_all_back:
        shipping = shipping_paid
        tax += shipping_tax
    return RefundShare(amount=amount + shipping, tax=tax, shipping=shipping)

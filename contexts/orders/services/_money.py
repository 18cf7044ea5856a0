"""The money position: what the shop believes it holds per order against the gateway's own record."""

from dataclasses import dataclass
from decimal import Decimal

from contexts.orders.domain import OrderStatus
from contexts.orders.models import Order, Payment
from contexts.orders.services import gateway as gateways
from contexts.orders.services._orders import db

HOLDS_MONEY = {
    OrderStatus.CONFIRMED,
    OrderStatus.PARTIALLY_SHIPPED,
    OrderStatus.SHIPPED,
    OrderStatus.DELIVERED,
    OrderStatus.PARTIALLY_RETURNED,
    OrderStatus.RETURNED,
}


@dataclass(frozen=True, slots=True, kw_only=True)
class MoneyDifference:
    order_number: str
    order_status: str
    shop_net: Decimal  # captured - refunded, as the shop recorded it
    gateway_net: Decimal  # captured - refunded, as the gateway recorded it
    problem: str


@dataclass(frozen=True, slots=True, kw_only=True)
class MoneyPosition:
    orders: int
    captured: Decimal
    refunded: Decimal
    differences: tuple[MoneyDifference, ...]


def money_position() -> MoneyPosition:
    """Compare, order by order, captured - refunded in the shop's records and the gateway's.

    Besides any mismatch it reports money held for an order that is not (or no longer) meant to
    hold any: a failed order, or a cancelled one, must net to zero; and a charge the gateway holds
    under a key that belongs to no order.
    """
    charges = {charge.idempotency_key: charge for charge in gateways.gateway().list_charges()}
    payments = Payment.objects.using(db()).select_related("order").order_by("order__number")
    differences = []
    captured = refunded = Decimal(0)
    seen = set()
    count = 0
    for payment in payments.iterator():
        count += 1
        order: Order = payment.order
        seen.add(payment.idempotency_key)
        charge = charges.get(payment.idempotency_key)
        gateway_net = (charge.captured - charge.refunded) if charge else Decimal(0)
        shop_net = payment.captured - payment.refunded
        captured += charge.captured if charge else Decimal(0)
        refunded += charge.refunded if charge else Decimal(0)
        problem = ""
        if shop_net != gateway_net:
            problem = "the shop's record and the gateway's differ"
        elif order.status not in HOLDS_MONEY and order.status != OrderStatus.PENDING and gateway_net != 0:
            problem = f"money held for a {order.status} order"
        if problem:
            differences.append(
                MoneyDifference(
                    order_number=order.number,
                    order_status=order.status,
                    shop_net=shop_net,
                    gateway_net=gateway_net,
                    problem=problem,
                )
            )
    for key, charge in charges.items():
        if key not in seen and charge.captured - charge.refunded != 0:
            differences.append(
                MoneyDifference(
                    order_number=key,
                    order_status="",
                    shop_net=Decimal(0),
                    gateway_net=charge.captured - charge.refunded,
                    problem="the gateway holds money under a key that belongs to no order",
                )
            )
    return MoneyPosition(orders=count, captured=captured, refunded=refunded, differences=tuple(differences))

"""Events as the orders and inventory contexts publish them, for notification tests."""

from decimal import Decimal
from uuid import UUID, uuid4

from commerce.database import atomic_in
from commerce.eventbus import publish
from contexts.inventory import events as inventory_events
from contexts.orders import events as orders_events

ADDRESS = orders_events.AddressSnapshot(
    full_name="Ann Lee",
    line1="Hauptstr. 1",
    line2="",
    city="Berlin",
    postal_code="10115",
    country="DE",
    phone="+49 30 1234567",
)


def order_placed(*, email: str, customer_id: int | None, order_id: UUID | None = None, number: str = "100042"):
    return orders_events.OrderPlaced(
        order_id=order_id or uuid4(),
        number=number,
        customer_id=customer_id,
        email=email,
        currency="EUR",
        lines=(
            orders_events.OrderLineSnapshot(
                sku="MUG-1",
                name="Tom & Jerry <Mug>",
                quantity=2,
                unit_price=Decimal("10.00"),
                discount=Decimal("0.00"),
                tax_rate=Decimal("0.19"),
                line_total=Decimal("20.00"),
            ),
        ),
        vouchers=(),
        subtotal=Decimal("20.00"),
        discount_total=Decimal("0.00"),
        shipping_method="standard",
        shipping_total=Decimal("4.90"),
        tax_total=Decimal("3.98"),
        total=Decimal("24.90"),
        shipping_address=ADDRESS,
    )


def shipment_dispatched(*, order_id: UUID, shipment_id: int = 1):
    return inventory_events.ShipmentDispatched(
        shipment_id=shipment_id,
        reference=str(order_id),
        lines=(inventory_events.DispatchedLine(sku="MUG-1", warehouse_code="MAIN", quantity=2),),
    )


def order_cancelled(*, placed):
    return orders_events.OrderCancelled(
        order_id=placed.order_id,
        number=placed.number,
        customer_id=placed.customer_id,
        email=placed.email,
        currency="EUR",
        total=placed.total,
        refunded=placed.total,
        cancelled_by="customer",
    )


def refund_issued(*, placed, amount: str = "20.00"):
    return orders_events.RefundIssued(
        refund_id=uuid4(),
        order_id=placed.order_id,
        number=placed.number,
        customer_id=placed.customer_id,
        email=placed.email,
        currency="EUR",
        amount=Decimal(amount),
        reason="return",
        lines=(orders_events.ReturnedLine(sku="MUG-1", quantity=2),),
    )


def publish_now(event) -> None:
    """Publish as the event's own context does: in a transaction on its database."""
    with atomic_in(event.context):
        publish(event)

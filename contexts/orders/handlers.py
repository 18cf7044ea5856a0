"""The orders context's subscriptions to other contexts' events."""

from uuid import UUID

from commerce.eventbus import subscriber
from contexts.inventory import events as inventory_events
from contexts.orders import services


@subscriber(inventory_events.ShipmentDispatched)
def follow_shipment_when_shipment_dispatched(event: inventory_events.ShipmentDispatched) -> None:
    """An order's status follows its shipments: the reference of an order's shipment is the order id.

    A shipment of some other reference (not an order's) is none of orders' business.
    """
    try:
        order_id = UUID(event.reference)
    except ValueError:
        return
    services.record_shipment(
        order_id=order_id,
        shipment_id=event.shipment_id,
        lines=[(line.sku, line.quantity) for line in event.lines],
        dispatched_at=event.occurred_at,
        actor="inventory",
    )

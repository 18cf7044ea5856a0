"""Shipments and returns: allocated stock leaves the warehouse, and returned units come back on hand."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from contexts.inventory import models, selectors, services

# --- DTOs ----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class ShipmentLine:
    """A line to ship: ``quantity`` units of ``sku`` out of what is allocated to the reference."""

    sku: str
    quantity: int


@dataclass(frozen=True, slots=True, kw_only=True)
class ShippedLine:
    sku: str
    warehouse_code: str
    quantity: int


@dataclass(frozen=True, slots=True, kw_only=True)
class Shipment:
    id: int
    reference: str
    status: str  # "created" | "dispatched"
    created_at: datetime
    dispatched_at: datetime | None
    lines: tuple[ShippedLine, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class ReturnLine:
    sku: str
    quantity: int


# --- Mapping -------------------------------------------------------------------------------------


def _shipment(shipment: models.Shipment) -> Shipment:
    return Shipment(
        id=shipment.pk,
        reference=shipment.reference,
        status=shipment.status,
        created_at=shipment.created_at,
        dispatched_at=shipment.dispatched_at,
        lines=tuple(
            ShippedLine(sku=line.sku, warehouse_code=line.warehouse.code, quantity=line.quantity)
            for line in shipment.lines.all()
        ),
    )


# --- Shipments and returns -----------------------------------------------------------------------


def create_shipment(*, reference: str, lines: Sequence[ShipmentLine] | None = None, key: str | None = None) -> Shipment:
    """Ship allocated stock: on hand and allocated decrease, with shipment movements in the ledger.

    ``lines=None`` ships everything still allocated to ``reference``. Idempotent by (reference,
    ``key``): a retry returns the shipment the first call made (whatever has happened to it since),
    never a second one. Without a ``key`` it is derived from the request: ``lines=None`` is one
    shipment, each distinct set of lines another; give a ``key`` to make two identical partial
    shipments of one reference.

    :raises ReservationNotFound: nothing was reserved under this reference.
    :raises ReservationNotCommitted: the reservation is not committed yet.
    :raises ReservationClosed: it was released.
    :raises ReservationExpired: it expired.
    :raises OverShipment: more than is allocated and unshipped, or nothing left to ship.
    :raises InvalidQuantity: a quantity below 1.
    :raises ReferenceConflict: this ``key`` already made a shipment of other lines.
    :raises InvalidArgument: the reference or key is empty, too long or holds a control character.
    """
    shipment = services.create_shipment(reference=reference, lines=lines, key=key)
    return _shipment(selectors.shipment_with_lines(shipment.pk))


def dispatch_shipment(*, shipment_id: int) -> Shipment:
    """Mark a shipment as handed to the carrier and publish ``ShipmentDispatched`` (idempotent: once).

    The event carries the shipment id, the ``reference`` (orders: the order id) and its lines
    (SKU, warehouse, quantity).

    :raises ShipmentNotFound: no shipment has this id.
    """
    shipment = services.dispatch_shipment(shipment_id=shipment_id)
    return _shipment(selectors.shipment_with_lines(shipment.pk))


def list_shipments(*, reference: str) -> tuple[Shipment, ...]:
    """The shipments made for this reference, oldest first.

    :raises InvalidArgument: the reference is empty, too long or holds a control character.
    """
    return tuple(
        _shipment(shipment) for shipment in selectors.shipments_for_reference(services.clean_reference(reference))
    )


def return_stock(
    *,
    reference: str,
    lines: Sequence[ReturnLine],
    warehouse_code: str | None = None,
    actor: str = "system",
    key: str | None = None,
) -> None:
    """Put returned units of dispatched shipments back on hand (return movements), in the warehouse they shipped from unless
    ``warehouse_code`` names another.

    Idempotent by (reference, ``key``): a retry puts nothing back a second time. Without a ``key``
    it is derived from the lines and ``warehouse_code``, so two returns of the same lines of one
    reference (a customer sending a second unit back later) need their own keys: orders passes the
    return's id.

    :raises ReservationNotFound: nothing was reserved under this reference.
    :raises OverReturn: more than was dispatched minus what already came back (a shipment not yet
        dispatched never left, so nothing of it can be returned).
    :raises UnknownWarehouse: ``warehouse_code`` names no warehouse.
    :raises InvalidQuantity: a quantity below 1.
    :raises ReferenceConflict: this ``key`` already returned other lines.
    :raises InvalidArgument: the reference, key or actor is empty, too long or holds a control character.
    """
    services.return_stock(reference=reference, lines=lines, warehouse_code=warehouse_code, actor=actor, key=key)

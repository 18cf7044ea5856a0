"""Shipments of allocated stock, their dispatch, and returns back on hand."""

import hashlib
from collections import defaultdict
from collections.abc import Mapping, Sequence

from django.utils import timezone

from commerce.database import atomic_in
from commerce.eventbus import publish
from contexts.inventory import events, selectors
from contexts.inventory.exceptions import (
    OverReturn,
    OverShipment,
    ReferenceConflict,
    ReservationClosed,
    ReservationExpired,
    ReservationNotCommitted,
    ShipmentNotFound,
    Shortfall,
)
from contexts.inventory.models import Reservation, Shipment, ShipmentLine, StockMovement
from contexts.inventory.services._locking import _AvailabilityWatch, _change_level, _lock_stock, _record_movement
from contexts.inventory.services._reservations import _lock_reservation, _quantities
from contexts.inventory.services._validation import (
    CONTEXT,
    MAX_KEY_LENGTH,
    _clean_actor,
    _clean_lines,
    _clean_reference,
    _warehouse,
)


def _lines_key(requested: Mapping[str, int], *extra: str) -> str:
    """A key derived from what a call asks for: the same lines (and destination) give the same key."""
    canonical = ";".join([*(f"{sku}={quantity}" for sku, quantity in sorted(requested.items())), *extra])
    return "lines:" + hashlib.sha256(canonical.encode()).hexdigest()[:40]


def _shipment_key(key: object, requested: Mapping[str, int] | None) -> str:
    if key is not None:
        return "key:" + _clean_reference(key, what="shipment key", maximum=MAX_KEY_LENGTH)
    return "all" if requested is None else _lines_key(requested)


def create_shipment(
    *, reference: str, lines: Sequence[object] | None = None, key: str | None = None, actor: str = "system"
) -> Shipment:
    """Ship allocated stock once per (reference, key); a retry returns the shipment the first call made.

    Without a ``key``, one is derived from the request: ``lines=None`` ("everything left") and each
    distinct set of lines make one shipment each, so two identical partial shipments of one
    reference need keys of their own.
    """
    reference = _clean_reference(reference)
    requested = None if lines is None else _clean_lines(lines, maximum=None)
    shipment_key = _shipment_key(key, requested)
    actor = _clean_actor(actor)
    with atomic_in(CONTEXT):
        reservation = _lock_reservation(reference)  # serialises shipments of one reference: a twin waits here
        done = Shipment.objects.filter(reference=reference, key=shipment_key).first()
        if done is not None:
            if requested is not None and _quantities(done.lines.all()) != requested:
                raise ReferenceConflict(
                    f"Shipment {key!r} of {reference!r} was already made for other lines.", reference=reference
                )
            return done
        if reservation.status == Reservation.Status.ACTIVE:
            raise ReservationNotCommitted(f"Reservation {reference!r} is not committed yet.")
        if reservation.status == Reservation.Status.RELEASED:
            raise ReservationClosed(f"Reservation {reference!r} was released.")
        if reservation.status == Reservation.Status.EXPIRED:
            raise ReservationExpired(f"Reservation {reference!r} expired.")
        allocations = list(reservation.lines.all())
        unshipped: dict[str, int] = defaultdict(int)
        for line in allocations:
            unshipped[line.sku] += line.unshipped
        if requested is None:
            requested = {sku: quantity for sku, quantity in unshipped.items() if quantity > 0}
            if not requested:
                raise OverShipment(f"Everything allocated to {reference!r} has already been shipped.")
        over = [
            Shortfall(sku=sku, requested=quantity, available=unshipped.get(sku, 0))
            for sku, quantity in sorted(requested.items())
            if quantity > unshipped.get(sku, 0)
        ]
        if over:
            raise OverShipment(
                "More asked to ship than is allocated: "
                + ", ".join(f"{s.sku} ({s.requested} > {s.available})" for s in over),
                shortfalls=tuple(over),
            )
        warehouses, locked = _lock_stock(requested)
        levels = {(lv.sku, lv.warehouse_id): lv for lv in locked}
        # the most preferred warehouse's allocation ships first
        allocations.sort(key=lambda line: (-warehouses[line.warehouse_id].priority, warehouses[line.warehouse_id].code))
        shipment = Shipment.objects.create(reference=reference, key=shipment_key)
        shipment_lines = []
        for sku, quantity in sorted(requested.items()):
            left = quantity
            for line in (line for line in allocations if line.sku == sku and line.unshipped > 0):
                take = min(line.unshipped, left)
                level = levels[(sku, line.warehouse_id)]
                _change_level(level, on_hand=-take, allocated=-take)
                _record_movement(
                    level,
                    kind=StockMovement.Kind.SHIPMENT,
                    quantity=-take,
                    reason=f"shipment {shipment.pk}",
                    reference=reference,
                    actor=actor,
                )
                line.shipped += take
                line.save(update_fields=["shipped"])
                shipment_lines.append(
                    ShipmentLine(shipment=shipment, sku=sku, warehouse_id=line.warehouse_id, quantity=take)
                )
                left -= take
                if left == 0:
                    break
        ShipmentLine.objects.bulk_create(shipment_lines)
    return shipment


def dispatch_shipment(*, shipment_id: int) -> Shipment:
    if isinstance(shipment_id, bool) or not isinstance(shipment_id, int):
        raise ShipmentNotFound()
    with atomic_in(CONTEXT):
        shipment = Shipment.objects.select_for_update().filter(pk=shipment_id).first()
        if shipment is None:
            raise ShipmentNotFound(f"No shipment {shipment_id}.")
        if shipment.status == Shipment.Status.DISPATCHED:
            return shipment
        shipment.status = Shipment.Status.DISPATCHED
        shipment.dispatched_at = timezone.now()
        shipment.save(update_fields=["status", "dispatched_at"])
        warehouses = selectors.warehouses_by_id()
        publish(
            events.ShipmentDispatched(
                shipment_id=shipment.pk,
                reference=shipment.reference,
                lines=tuple(
                    events.DispatchedLine(
                        sku=line.sku, warehouse_code=warehouses[line.warehouse_id].code, quantity=line.quantity
                    )
                    for line in shipment.lines.all()
                ),
            )
        )
    return shipment


def return_stock(
    *,
    reference: str,
    lines: Sequence[object],
    warehouse_code: str | None = None,
    actor: str = "system",
    key: str | None = None,
) -> None:
    """Put returned units back on hand, in the warehouse they left from unless another is named.

    Only dispatched shipments count: units of a shipment still being packed never left, so they
    cannot come back (a return against one would put phantom units on hand). Made once per
    (reference, key); without a key, one is derived from the lines and the warehouse named.
    """
    reference = _clean_reference(reference)
    requested = _clean_lines(lines, maximum=None)
    target = _warehouse(warehouse_code) if warehouse_code is not None else None
    actor = _clean_actor(actor)
    if key is not None:
        return_key = "key:" + _clean_reference(key, what="return key", maximum=MAX_KEY_LENGTH)
    else:
        return_key = _lines_key(requested, f"to={target.code if target else ''}")
    operation = f"return:{reference}:{return_key}"
    with atomic_in(CONTEXT):
        _lock_reservation(reference)  # serialises returns of one reference: no double return
        done = StockMovement.objects.filter(operation=operation)
        if done.exists():
            if _quantities(done) != requested:
                raise ReferenceConflict(
                    f"Return {key!r} of {reference!r} was already booked for other lines.", reference=reference
                )
            return  # a retry: those units are back on hand already
        shipped: dict[str, int] = defaultdict(int)
        source: dict[str, int] = {}  # warehouse id each SKU first shipped from
        for line in ShipmentLine.objects.filter(
            shipment__reference=reference, shipment__status=Shipment.Status.DISPATCHED, sku__in=requested
        ).order_by("id"):
            shipped[line.sku] += line.quantity
            source.setdefault(line.sku, line.warehouse_id)
        returned = _quantities(
            StockMovement.objects.filter(kind=StockMovement.Kind.RETURN, reference=reference, sku__in=requested)
        )
        over = [
            Shortfall(sku=sku, requested=quantity, available=shipped[sku] - returned.get(sku, 0))
            for sku, quantity in sorted(requested.items())
            if quantity > shipped[sku] - returned.get(sku, 0)
        ]
        if over:
            raise OverReturn(
                "More returned than shipped: " + ", ".join(f"{s.sku} ({s.requested} > {s.available})" for s in over),
                shortfalls=tuple(over),
            )
        destination = {sku: target.pk if target else source[sku] for sku in requested}
        warehouses, levels = _lock_stock(requested, create=destination.items())
        watch = _AvailabilityWatch(levels, warehouses, requested)
        by_key = {(level.sku, level.warehouse_id): level for level in levels}
        for sku, quantity in sorted(requested.items()):
            level = by_key[(sku, destination[sku])]
            _change_level(level, on_hand=quantity)
            _record_movement(
                level,
                kind=StockMovement.Kind.RETURN,
                quantity=quantity,
                reason="return",
                reference=reference,
                actor=actor,
                operation=operation,
            )
        watch.publish(always=False)

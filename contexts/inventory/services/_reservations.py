"""Reservations: hold stock for a basket, commit it to an order, release or expire it."""

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta

from django.db import IntegrityError
from django.utils import timezone

from commerce import metrics
from commerce.database import atomic_in
from commerce.eventbus import publish
from contexts.inventory import domain, events
from contexts.inventory.conf import inventory_settings
from contexts.inventory.exceptions import (
    InsufficientStock,
    InvalidArgument,
    ReservationClosed,
    ReservationCommitted,
    ReservationConflict,
    ReservationExpired,
    ReservationNotFound,
    Shortfall,
)
from contexts.inventory.models import Reservation, ReservationLine
from contexts.inventory.services._locking import _AvailabilityWatch, _change_level, _lock_stock
from contexts.inventory.services._validation import CONTEXT, _clean_lines, _clean_reason, _clean_reference


def _quantities(lines: Iterable[ReservationLine]) -> dict[str, int]:
    totals: dict[str, int] = defaultdict(int)
    for line in lines:
        totals[line.sku] += line.quantity
    return dict(totals)


def _same_request(reservation: Reservation, requested: Mapping[str, int]) -> Reservation:
    if _quantities(reservation.lines.all()) != dict(requested):
        raise ReservationConflict(f"Reservation {reservation.reference!r} already exists for other lines.")
    return reservation


def reserve_stock(*, reference: str, lines: Sequence[object], ttl: timedelta | None = None) -> Reservation:
    conf = inventory_settings()
    reference = _clean_reference(reference)
    requested = _clean_lines(lines, maximum=conf.max_line_quantity)
    if ttl is None:
        ttl = timedelta(seconds=conf.reservation_ttl_seconds)
    if not isinstance(ttl, timedelta) or ttl <= timedelta(0) or ttl > timedelta(days=30):
        raise InvalidArgument("A reservation lasts more than nothing and at most 30 days.")
    existing = Reservation.objects.filter(reference=reference).first()
    if existing is not None:
        return _same_request(existing, requested)
    with atomic_in(CONTEXT):
        try:
            with atomic_in(CONTEXT):  # savepoint: a concurrent twin may win the unique reference
                now = timezone.now()
                reservation = Reservation.objects.create(reference=reference, created_at=now, expires_at=now + ttl)
        except IntegrityError:
            return _same_request(Reservation.objects.get(reference=reference), requested)
        warehouses, levels = _lock_stock(requested)
        watch = _AvailabilityWatch(levels, warehouses, requested)
        stock = [
            domain.WarehouseStock(
                sku=level.sku,
                warehouse_code=warehouses[level.warehouse_id].code,
                priority=warehouses[level.warehouse_id].priority,
                available=level.available,
            )
            for level in levels
            if warehouses[level.warehouse_id].active
        ]
        result = domain.allocate(requested, stock)
        if not result.ok:
            metrics.reservation_made("insufficient_stock")
            raise InsufficientStock(
                shortfalls=tuple(
                    Shortfall(sku=s.sku, requested=s.requested, available=s.available) for s in result.shortages
                )
            )
        by_key = {(level.sku, warehouses[level.warehouse_id].code): level for level in levels}
        reserved_lines = []
        for allocation in result.allocations:
            level = by_key[(allocation.sku, allocation.warehouse_code)]
            _change_level(level, reserved=allocation.quantity)
            reserved_lines.append(
                ReservationLine(
                    reservation=reservation,
                    sku=level.sku,
                    warehouse_id=level.warehouse_id,
                    quantity=allocation.quantity,
                )
            )
        ReservationLine.objects.bulk_create(reserved_lines)
        publish(
            events.StockReserved(
                reference=reference,
                lines=tuple(
                    events.ReservedLine(sku=a.sku, warehouse_code=a.warehouse_code, quantity=a.quantity)
                    for a in result.allocations
                ),
            )
        )
        watch.publish(always=False)
    metrics.reservation_made("ok")
    return reservation


def _lock_reservation(reference: str) -> Reservation:
    reservation = Reservation.objects.select_for_update().filter(reference=reference).first()
    if reservation is None:
        raise ReservationNotFound(f"No reservation {reference!r}.")
    return reservation


def _release_locked(reservation: Reservation, *, reason: str, status: str) -> None:
    """Give back what a locked reservation holds: reserved stock, or allocated stock not yet shipped."""
    lines = list(reservation.lines.all())
    committed = reservation.status == Reservation.Status.COMMITTED
    to_release = [(line, line.unshipped if committed else line.quantity) for line in lines]
    to_release = [(line, quantity) for line, quantity in to_release if quantity > 0]
    if committed and not to_release:
        return  # everything was shipped: nothing is held any more
    warehouses, levels = _lock_stock({line.sku for line, _ in to_release})
    watch = _AvailabilityWatch(levels, warehouses, {line.sku for line, _ in to_release})
    by_key = {(level.sku, level.warehouse_id): level for level in levels}
    for line, quantity in to_release:
        level = by_key[(line.sku, line.warehouse_id)]
        if committed:
            _change_level(level, allocated=-quantity)
        else:
            _change_level(level, reserved=-quantity)
    reservation.status = status
    reservation.closed_at = timezone.now()
    reservation.save(update_fields=["status", "closed_at"])
    metrics.reservation_made(status)
    if to_release:
        publish(
            events.StockReleased(
                reference=reservation.reference,
                lines=tuple(
                    events.ReleasedLine(sku=line.sku, warehouse_code=warehouses[line.warehouse_id].code, quantity=q)
                    for line, q in to_release
                ),
                reason=reason,
            )
        )
    watch.publish(always=False)


def commit_reservation(*, reference: str, now: datetime | None = None) -> Reservation:
    reference = _clean_reference(reference)
    now = now or timezone.now()
    expired = False
    with atomic_in(CONTEXT):
        reservation = _lock_reservation(reference)
        if reservation.status == Reservation.Status.COMMITTED:
            return reservation
        if reservation.status == Reservation.Status.RELEASED:
            raise ReservationClosed(f"Reservation {reference!r} was released.")
        if reservation.status == Reservation.Status.EXPIRED:
            raise ReservationExpired(f"Reservation {reference!r} expired.")
        if reservation.expires_at <= now:
            # Too late: the expiry job would release it anyway; do it now and refuse, once committed.
            _release_locked(reservation, reason="expired", status=Reservation.Status.EXPIRED)
            expired = True
        else:
            lines = list(reservation.lines.all())
            _, locked = _lock_stock({line.sku for line in lines})
            levels = {(lv.sku, lv.warehouse_id): lv for lv in locked}
            for line in lines:
                _change_level(levels[(line.sku, line.warehouse_id)], reserved=-line.quantity, allocated=line.quantity)
            reservation.status = Reservation.Status.COMMITTED
            reservation.committed_at = now
            reservation.save(update_fields=["status", "committed_at"])
            metrics.reservation_made("committed")
    if expired:
        raise ReservationExpired(f"Reservation {reference!r} expired; its stock went back on sale.")
    return reservation


def release_reservation(*, reference: str, reason: str = "released") -> Reservation | None:
    """Give back what an active reservation holds (a checkout's compensation); refuse a committed one.

    A checkout that failed after the commit must not hand its paid order's stock back by a late
    compensation: cancelling a committed order is ``cancel_reservation``, a deliberate act.
    """
    return _close(reference, reason, committed_too=False)


def cancel_reservation(*, reference: str, reason: str = "cancelled") -> Reservation | None:
    """Give back everything a reservation still holds, reserved or committed and not yet shipped."""
    return _close(reference, reason, committed_too=True)


def _close(reference: object, reason: object, *, committed_too: bool) -> Reservation | None:
    reference = _clean_reference(reference)
    reason = _clean_reason(reason)
    with atomic_in(CONTEXT):
        reservation = Reservation.objects.select_for_update().filter(reference=reference).first()
        if reservation is None:
            return None
        if reservation.status in (Reservation.Status.RELEASED, Reservation.Status.EXPIRED):
            return reservation
        if reservation.status == Reservation.Status.COMMITTED and not committed_too:
            raise ReservationCommitted(
                f"Reservation {reference!r} is committed to an order; cancel_reservation gives its stock back."
            )
        _release_locked(reservation, reason=reason, status=Reservation.Status.RELEASED)
    return reservation


def expire_reservations(*, now: datetime | None = None) -> int:
    """Release active reservations past their expiry, each in its own short transaction."""
    now = now or timezone.now()
    batch = inventory_settings().expiry_batch_size
    due = list(
        Reservation.objects.filter(status=Reservation.Status.ACTIVE, expires_at__lte=now)
        .order_by("expires_at")
        .values_list("pk", flat=True)[:batch]
    )
    expired = 0
    for pk in due:
        with atomic_in(CONTEXT):
            reservation = (
                Reservation.objects.select_for_update(skip_locked=True)
                .filter(pk=pk, status=Reservation.Status.ACTIVE, expires_at__lte=now)
                .first()
            )
            if reservation is None:
                continue  # committed, released or being handled by someone else meanwhile
            _release_locked(reservation, reason="expired", status=Reservation.Status.EXPIRED)
            expired += 1
    return expired

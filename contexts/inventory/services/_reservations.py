"""Reservations: hold stock for a basket, commit it to an order, release or expire it."""

import dataclasses
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import NoReturn

from django.db import IntegrityError
from django.utils import timezone

from commerce import metrics
from commerce.database import atomic_in
from commerce.eventbus import publish, publish_many
from contexts.inventory import domain, events, selectors
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
from contexts.inventory.models import Reservation, ReservationLine, StockLevel, Warehouse
from contexts.inventory.services import _statements as statements
from contexts.inventory.services._locking import _AvailabilityWatch, _change_level, _lock_stock
from contexts.inventory.services._statements import Level
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


class _LongWay(Exception):
    """The quick path cannot decide: roll its transaction back and take the locked path."""


class _Taken(Exception):
    """The reference is reserved already: roll back and answer as its retry."""


def reserve_stock(*, reference: str, lines: Sequence[object], ttl: timedelta | None = None) -> Reservation:
    """Hold stock for every line, all or nothing; idempotent by reference (see ``api.reserve_stock``).

    Seven statements on PostgreSQL however many lines: BEGIN; the levels of the SKUs with their
    warehouses, share-locked; the reservation and its lines in one insert; one conditional ``UPDATE``
    of every level of the SKUs, locked in (sku, warehouse id) order; the outbox's two inserts;
    COMMIT. The level rows are locked last, for the outbox's inserts only. The allocation is worked
    out from the unlocked read and checked against the locked rows the ``UPDATE`` returns: if any
    level moved so that the allocation would differ (or cannot be met), the transaction rolls back
    and ``_reserve_under_locks`` decides under row locks, as every reservation did before.
    """
    conf = inventory_settings()
    reference = _clean_reference(reference)
    requested = _clean_lines(lines, maximum=conf.max_line_quantity)
    if ttl is None:
        ttl = timedelta(seconds=conf.reservation_ttl_seconds)
    if not isinstance(ttl, timedelta) or ttl <= timedelta(0) or ttl > timedelta(days=30):
        raise InvalidArgument("A reservation lasts more than nothing and at most 30 days.")
    try:
        reservation = _reserve_quickly(reference, requested, ttl)
    except _Taken:
        existing = selectors.reservation_with_lines(reference)
        if existing is None:  # pragma: no cover - taken, then gone: reservations are never deleted
            return _reserve_under_locks(reference, requested, ttl)
        return _same_request(existing, requested)
    except _LongWay:
        return _reserve_under_locks(reference, requested, ttl)
    metrics.reservation_made("ok")
    return reservation


def _refuse(result: domain.AllocationResult) -> NoReturn:
    metrics.reservation_made("insufficient_stock")
    raise InsufficientStock(
        shortfalls=tuple(Shortfall(sku=s.sku, requested=s.requested, available=s.available) for s in result.shortages)
    )


def _allocate(
    requested: Mapping[str, int], warehouses: Mapping[int, Warehouse], levels: Iterable[StockLevel | Level]
) -> domain.AllocationResult:
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
    return domain.allocate(requested, stock)


def _after(levels: Iterable[Level], warehouses: Mapping[int, Warehouse]) -> dict[str, int]:
    """Each SKU's availability over active warehouses, as ``selectors.available_by_sku`` would count it."""
    totals: dict[str, int] = defaultdict(int)
    for level in levels:
        if warehouses[level.warehouse_id].active:
            totals[level.sku] += level.available
    return {sku: max(total, 0) for sku, total in totals.items()}


def _undone(level: Level, changes: Mapping[statements.Key, statements.Change]) -> Level:
    """The level as it was before ``changes``."""
    on_hand, reserved, allocated = changes.get(level.key, (0, 0, 0))
    return dataclasses.replace(
        level,
        on_hand=level.on_hand - on_hand,
        reserved=level.reserved - reserved,
        allocated=level.allocated - allocated,
    )


def _reserve_quickly(reference: str, requested: Mapping[str, int], ttl: timedelta) -> Reservation:
    quick = statements.on_postgresql()
    now = timezone.now()
    expires_at = now + ttl
    with atomic_in(CONTEXT):
        if not quick:
            # SQLite: the reservation first, which takes the database's one write lock, so what is read
            # next stays true until COMMIT and the allocation needs no second look.
            inserted = statements.insert_reservation(reference=reference, created_at=now, expires_at=expires_at)
            if inserted is None:
                raise _Taken
        warehouses, levels = statements.read_levels(requested, share_warehouses=quick)
        result = _allocate(requested, warehouses, levels)
        if not result.ok:
            if (
                quick
                and statements.insert_reservation(reference=reference, created_at=now, expires_at=expires_at) is None
            ):
                raise _Taken  # a retry of a reservation that holds the stock: its answer, not a refusal
            _refuse(result)
        by_code = {warehouse.code: warehouse for warehouse in warehouses.values()}
        allocated = [(a.sku, by_code[a.warehouse_code].pk, a.quantity) for a in result.allocations]
        if quick:
            inserted = statements.insert_reservation(
                reference=reference, created_at=now, expires_at=expires_at, lines=allocated
            )
            if inserted is None:
                raise _Taken
            reservation_id, line_ids = inserted
        else:
            reservation_id, _ = inserted
            line_ids = [
                line.pk
                for line in ReservationLine.objects.bulk_create(
                    ReservationLine(
                        reservation_id=reservation_id, sku=sku, warehouse_id=warehouse_id, quantity=quantity
                    )
                    for sku, warehouse_id, quantity in allocated
                )
            ]
        changes = {(sku, warehouse_id): (0, quantity, 0) for sku, warehouse_id, quantity in allocated}
        after, applied = statements.change_levels(changes, now=now, whole_skus=True)
        if applied != set(changes) or any(level.warehouse_id not in warehouses for level in after):
            raise _LongWay  # stock moved since the read (or a level appeared in a new warehouse)
        before = [_undone(level, changes) for level in after]
        if _allocate(requested, warehouses, before) != result:
            raise _LongWay  # still enough, but the rules would now choose other warehouses
        watch = _AvailabilityWatch(before, warehouses, requested)
        publish_many(
            [
                events.StockReserved(
                    reference=reference,
                    lines=tuple(
                        events.ReservedLine(sku=a.sku, warehouse_code=a.warehouse_code, quantity=a.quantity)
                        for a in result.allocations
                    ),
                ),
                *watch.news(_after(after, warehouses), always=False),
            ]
        )
    reservation = Reservation(
        id=reservation_id, reference=reference, status=Reservation.Status.ACTIVE, created_at=now, expires_at=expires_at
    )
    return statements.with_lines(
        reservation,
        [
            ReservationLine(
                id=line_id, reservation_id=reservation_id, sku=sku, warehouse_id=warehouse_id, quantity=quantity
            )
            for line_id, (sku, warehouse_id, quantity) in zip(line_ids, allocated, strict=True)
        ],
        warehouses,
    )


def _reserve_under_locks(reference: str, requested: Mapping[str, int], ttl: timedelta) -> Reservation:
    """The reservation decided under row locks: every level of the SKUs locked before allocating."""
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
        result = _allocate(requested, warehouses, levels)
        if not result.ok:
            _refuse(result)
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


def _lock_reservation_with_lines(reference: str) -> Reservation:
    """The reservation locked, with its lines and their warehouses in hand: one statement.

    :raises ReservationNotFound: no reservation has this reference.
    """
    lines = list(
        ReservationLine.objects.select_related("reservation", "warehouse")
        .select_for_update(of=("self", "reservation"))
        .filter(reservation__reference=reference)
        .order_by("sku", "warehouse_id")
    )
    if not lines:
        return _lock_reservation(reference)  # unknown (it raises), or a reservation without lines
    return statements.with_lines(lines[0].reservation, lines, {line.warehouse_id: line.warehouse for line in lines})


def _held_or_refuse(changes: Mapping[statements.Key, statements.Change], applied: set[statements.Key]) -> None:
    """Refuse (rather than oversell) if a locked level could not take its change."""
    missing = sorted(set(changes) - applied)
    if missing:  # pragma: no cover - only without row locks (never on PostgreSQL)
        sku, _ = missing[0]
        raise InsufficientStock(shortfalls=(Shortfall(sku=sku, requested=abs(sum(changes[missing[0]])), available=0),))


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
        reservation = _lock_reservation_with_lines(reference)
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
            # One conditional UPDATE of the levels, locked in (sku, warehouse id) order: no warehouse
            # lock, as moving stock from reserved to allocated changes no availability.
            changes: dict[statements.Key, statements.Change] = {}
            for line in reservation.lines.all():
                _, reserved, allocated = changes.get((line.sku, line.warehouse_id), (0, 0, 0))
                changes[(line.sku, line.warehouse_id)] = (0, reserved - line.quantity, allocated + line.quantity)
            # On PostgreSQL the reservation's own UPDATE rides in the same statement (``also``).
            also = (
                statements.commit_reservation_statement(reservation.pk, committed_at=now)
                if statements.on_postgresql()
                else None
            )
            _, applied = statements.change_levels(changes, now=timezone.now(), whole_skus=False, also=also)
            _held_or_refuse(changes, applied)
            reservation.status = Reservation.Status.COMMITTED
            reservation.committed_at = now
            if also is None:
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
    try:
        return _close_in_one_go(reference, reason, committed_too=committed_too, quick=True)
    except _LongWay:
        return _close_in_one_go(reference, reason, committed_too=committed_too, quick=False)


def _close_in_one_go(reference: str, reason: str, *, committed_too: bool, quick: bool) -> Reservation | None:
    """Close a reservation in one transaction.

    ``quick``: six statements on PostgreSQL for an active reservation however many lines (BEGIN; the
    reservation locked with its lines, and every warehouse holding its SKUs share-locked; one
    ``UPDATE`` of the levels, locked in (sku, warehouse id) order, and of the reservation's status;
    the outbox's two inserts; COMMIT). Otherwise, or when a level appeared in a warehouse the first
    statement did not lock, ``_release_locked`` under ``_lock_stock``'s locks.
    """
    with atomic_in(CONTEXT):
        found = statements.read_for_release(reference) if quick else None
        if found is None:
            reservation = Reservation.objects.select_for_update().filter(reference=reference).first()
            if reservation is None:
                return None
        else:
            reservation, warehouses = found
        if reservation.status in (Reservation.Status.RELEASED, Reservation.Status.EXPIRED):
            return reservation
        if reservation.status == Reservation.Status.COMMITTED and not committed_too:
            raise ReservationCommitted(
                f"Reservation {reference!r} is committed to an order; cancel_reservation gives its stock back."
            )
        if found is None:
            _release_locked(reservation, reason=reason, status=Reservation.Status.RELEASED)
        else:
            _release_quickly(reservation, warehouses, reason=reason)
    return reservation


def _release_quickly(reservation: Reservation, warehouses: Mapping[int, Warehouse], *, reason: str) -> None:
    """Give back what a locked reservation holds (reserved stock, or allocated stock not yet shipped), in
    one ``UPDATE`` (two on SQLite) and one publish."""
    committed = reservation.status == Reservation.Status.COMMITTED
    to_release = [(line, line.unshipped if committed else line.quantity) for line in reservation.lines.all()]
    to_release = [(line, quantity) for line, quantity in to_release if quantity > 0]
    if committed and not to_release:
        return  # everything was shipped: nothing is held any more
    changes: dict[statements.Key, statements.Change] = {}
    for line, quantity in to_release:
        _, reserved, allocated = changes.get((line.sku, line.warehouse_id), (0, 0, 0))
        if committed:
            changes[(line.sku, line.warehouse_id)] = (0, reserved, allocated - quantity)
        else:
            changes[(line.sku, line.warehouse_id)] = (0, reserved - quantity, allocated)
    now = timezone.now()
    status = Reservation.Status.RELEASED
    also = None
    if statements.on_postgresql():
        also = statements.close_reservation(reservation.pk, status=status, closed_at=now)
    after, applied = statements.change_levels(changes, now=now, whole_skus=True, also=also)
    if any(level.warehouse_id not in warehouses for level in after):
        raise _LongWay  # a level appeared in a warehouse the read did not lock
    _held_or_refuse(changes, applied)
    reservation.status = status
    reservation.closed_at = now
    if also is None:
        reservation.save(update_fields=["status", "closed_at"])
    metrics.reservation_made(status)
    before = [_undone(level, changes) for level in after]
    watch = _AvailabilityWatch(before, warehouses, {line.sku for line, _ in to_release})
    publish_many(
        [
            events.StockReleased(
                reference=reservation.reference,
                lines=tuple(
                    events.ReleasedLine(sku=line.sku, warehouse_code=line.warehouse.code, quantity=quantity)
                    for line, quantity in to_release
                ),
                reason=reason,
            ),
            *watch.news(_after(after, warehouses), always=False),
        ]
    )


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

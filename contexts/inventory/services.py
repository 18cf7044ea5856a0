"""Writes of the inventory context: atomic on its own database, publish events last.

Concurrency: every write that touches stock levels locks *all* warehouse rows of the SKUs involved
through ``_lock_levels``, which always locks in (sku, warehouse id) order, so two baskets holding the
same SKUs in different orders queue behind each other instead of deadlocking. Reservation rows are
locked before stock rows, everywhere. Counters then change by conditional ``UPDATE ... SET x = x + n
WHERE <still enough>``, and the table's check constraints refuse an oversell as a last line of defence.
"""

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta

from django.db import IntegrityError
from django.db.models import F, Q
from django.utils import timezone

from commerce.database import atomic_in
from commerce.eventbus import publish
from contexts.inventory import domain, events, selectors
from contexts.inventory.conf import inventory_settings
from contexts.inventory.exceptions import (
    InsufficientStock,
    InvalidQuantity,
    InvalidSku,
    InvalidWarehouse,
    InventoryError,
    OverReturn,
    OverShipment,
    ReservationClosed,
    ReservationConflict,
    ReservationExpired,
    ReservationNotCommitted,
    ReservationNotFound,
    ShipmentNotFound,
    Shortfall,
    UnknownSku,
    UnknownWarehouse,
)
from contexts.inventory.models import (
    Reservation,
    ReservationLine,
    Shipment,
    ShipmentLine,
    StockLevel,
    StockMovement,
    Warehouse,
)

CONTEXT = "inventory"
MAX_ON_HAND = 1_000_000_000
MAX_REFERENCE_LENGTH = 128


# --- Validation ----------------------------------------------------------------------------------


def _clean_sku(sku: object) -> str:
    if not isinstance(sku, str) or not sku.strip():
        raise InvalidSku("A SKU must be a non-empty string.")
    sku = sku.strip()
    if len(sku) > 64:
        raise InvalidSku("A SKU is at most 64 characters long.")
    return sku


def _clean_reference(reference: object) -> str:
    if not isinstance(reference, str) or not reference.strip():
        raise InventoryError("A reference must be a non-empty string.")
    if len(reference) > MAX_REFERENCE_LENGTH:
        raise InventoryError(f"A reference is at most {MAX_REFERENCE_LENGTH} characters long.")
    return reference.strip()


def _clean_quantity(quantity: object, *, what: str = "quantity", maximum: int | None = None) -> int:
    if isinstance(quantity, bool) or not isinstance(quantity, int):
        raise InvalidQuantity(f"The {what} must be a whole number.")
    if quantity < 1:
        raise InvalidQuantity(f"The {what} must be at least 1.")
    if maximum is not None and quantity > maximum:
        raise InvalidQuantity(f"The {what} must be at most {maximum}.")
    return quantity


def _clean_lines(lines: Iterable[object], *, maximum: int | None) -> dict[str, int]:
    """``{sku: quantity}`` from line objects with ``sku`` and ``quantity``; repeated SKUs add up."""
    merged: dict[str, int] = defaultdict(int)
    for line in lines:
        sku = _clean_sku(getattr(line, "sku", None))
        merged[sku] += _clean_quantity(getattr(line, "quantity", None), maximum=maximum)
    if not merged:
        raise InvalidQuantity("At least one line is required.")
    for sku, quantity in merged.items():
        if maximum is not None and quantity > maximum:
            raise InvalidQuantity(f"The quantity of {sku} must be at most {maximum}.")
    return dict(merged)


def _warehouse(code: object) -> Warehouse:
    if not isinstance(code, str) or not code.strip():
        raise UnknownWarehouse("A warehouse code is required.")
    warehouse = selectors.warehouse_by_code(code.strip())
    if warehouse is None:
        raise UnknownWarehouse(warehouse_code=code)
    return warehouse


# --- Locking and counters ------------------------------------------------------------------------


def _lock_levels(skus: Iterable[str]) -> list[StockLevel]:
    """Lock every warehouse row of these SKUs, always in (sku, warehouse id) order: the one place
    stock rows are locked, so lock order is the same in every transaction and deadlocks cannot form."""
    return list(
        StockLevel.objects.select_for_update().filter(sku__in=sorted(set(skus))).order_by("sku", "warehouse_id")
    )


def _change_level(level: StockLevel, *, on_hand: int = 0, reserved: int = 0, allocated: int = 0) -> None:
    """Conditional update of a locked row: refuses (rather than oversells) if the row changed under us."""
    net = on_hand - reserved - allocated
    updated = StockLevel.objects.filter(
        Q(on_hand__gte=-on_hand),
        Q(on_hand__gte=F("reserved") + F("allocated") - net),
        pk=level.pk,
        reserved__gte=-reserved,
        allocated__gte=-allocated,
    ).update(
        on_hand=F("on_hand") + on_hand,
        reserved=F("reserved") + reserved,
        allocated=F("allocated") + allocated,
        updated_at=timezone.now(),
    )
    if updated != 1:  # pragma: no cover - only without row locks (never on PostgreSQL)
        raise InsufficientStock(
            shortfalls=(Shortfall(sku=level.sku, requested=max(-net, 0), available=level.available),)
        )
    level.on_hand += on_hand
    level.reserved += reserved
    level.allocated += allocated


def _record_movement(
    level: StockLevel, *, kind: str, quantity: int, reason: str, reference: str, actor: str
) -> StockMovement:
    return StockMovement.objects.create(
        sku=level.sku,
        warehouse_id=level.warehouse_id,
        kind=kind,
        quantity=quantity,
        on_hand_after=level.on_hand,
        reason=reason[:200],
        reference=reference[:128],
        actor=actor[:200],
    )


class _AvailabilityWatch:
    """Collects a transaction's availability changes and publishes one ``StockLevelChanged`` per SKU.

    ``before`` comes from the rows just locked (all warehouses of each SKU), ``after`` from one
    aggregate query at the end, so the event carries the new totals exactly as committed.
    """

    def __init__(self, levels: Sequence[StockLevel], warehouses: Mapping[int, Warehouse], skus: Iterable[str]) -> None:
        self.before: dict[str, int] = dict.fromkeys(skus, 0)
        for level in levels:
            warehouse = warehouses.get(level.warehouse_id)
            if warehouse is not None and warehouse.active:
                self.before[level.sku] = self.before.get(level.sku, 0) + max(level.available, 0)

    def publish(self, *, always: bool) -> None:
        conf = inventory_settings()
        after = selectors.available_by_sku(self.before)
        for sku in sorted(self.before):
            new = after.get(sku, 0)
            old = self.before[sku]
            if old == new:
                continue
            if always or domain.level_change_is_news(
                before=old, after=new, low_stock_threshold=conf.low_stock_threshold, step=conf.level_event_step
            ):
                publish(events.StockLevelChanged(sku=sku, available=new, in_stock=new > 0))


# --- Warehouses and on-hand stock ----------------------------------------------------------------


def ensure_warehouse(*, code: str, name: str | None = None, priority: int | None = None) -> Warehouse:
    if not isinstance(code, str) or not code.strip() or len(code.strip()) > 32:
        raise InvalidWarehouse("A warehouse code is a non-empty string of at most 32 characters.")
    code = code.strip()
    if name is not None and (not isinstance(name, str) or not name.strip() or len(name) > 200):
        raise InvalidWarehouse("A warehouse name is a non-empty string of at most 200 characters.")
    if priority is not None and (isinstance(priority, bool) or not isinstance(priority, int) or abs(priority) > 10**6):
        raise InvalidWarehouse("A warehouse priority is a whole number.")
    with atomic_in(CONTEXT):
        warehouse, created = Warehouse.objects.get_or_create(
            code=code, defaults={"name": (name or code).strip(), "priority": priority or 0}
        )
        if not created:
            changed = []
            if name is not None and warehouse.name != name.strip():
                warehouse.name = name.strip()
                changed.append("name")
            if priority is not None and warehouse.priority != priority:
                warehouse.priority = priority
                changed.append("priority")
            if changed:
                warehouse.save(update_fields=changed)
    return warehouse


def _change_on_hand(
    *,
    sku: str,
    warehouse: Warehouse,
    delta: int,
    kind: str,
    reason: str,
    reference: str,
    actor: str,
    create: bool,
    always_publish: bool,
    target: int | None = None,
) -> StockLevel:
    """Change one level's on hand by ``delta`` (or to ``target``) with its ledger movement."""
    with atomic_in(CONTEXT):
        if create:
            StockLevel.objects.bulk_create([StockLevel(sku=sku, warehouse=warehouse)], ignore_conflicts=True)
        levels = _lock_levels([sku])
        watch = _AvailabilityWatch(levels, selectors.warehouses_by_id(), [sku])
        level = next((lv for lv in levels if lv.warehouse_id == warehouse.pk), None)
        if level is None:
            raise UnknownSku(f"No stock of {sku!r} is held in warehouse {warehouse.code!r}.", sku=sku)
        if target is not None:
            delta = target - level.on_hand
            if delta == 0:
                return level
        if level.on_hand + delta > MAX_ON_HAND:
            raise InvalidQuantity(f"On hand cannot exceed {MAX_ON_HAND}.")
        if delta < 0 and level.available < -delta:
            raise InsufficientStock(
                f"Only {level.available} of {sku} can be taken out of {warehouse.code}: the rest is held for orders.",
                shortfalls=(Shortfall(sku=sku, requested=-delta, available=level.available),),
            )
        _change_level(level, on_hand=delta)
        _record_movement(level, kind=kind, quantity=delta, reason=reason, reference=reference, actor=actor)
        watch.publish(always=always_publish)
    level.warehouse = warehouse
    return level


def set_stock_level(
    *, sku: str, warehouse_code: str, on_hand: int, reference: str, reason: str = "import", actor: str = "import"
) -> StockLevel:
    sku = _clean_sku(sku)
    if isinstance(on_hand, bool) or not isinstance(on_hand, int) or on_hand < 0 or on_hand > MAX_ON_HAND:
        raise InvalidQuantity(f"On hand must be a whole number from 0 to {MAX_ON_HAND}.")
    warehouse = _warehouse(warehouse_code)
    current = selectors.level(sku, warehouse.code)
    if (current is None and on_hand == 0) or (current is not None and current.on_hand == on_hand):
        return current or StockLevel(sku=sku, warehouse=warehouse)  # nothing to write, nothing to publish
    return _change_on_hand(
        sku=sku,
        warehouse=warehouse,
        delta=0,
        target=on_hand,
        kind=StockMovement.Kind.ADJUSTMENT,
        reason=reason or "import",
        reference=_clean_reference(reference),
        actor=actor,
        create=True,
        always_publish=True,
    )


def receive_stock(*, sku: str, warehouse_code: str, quantity: int, reference: str, actor: str = "system") -> StockLevel:
    sku = _clean_sku(sku)
    quantity = _clean_quantity(quantity, maximum=MAX_ON_HAND)
    return _change_on_hand(
        sku=sku,
        warehouse=_warehouse(warehouse_code),
        delta=quantity,
        kind=StockMovement.Kind.RECEIPT,
        reason="receipt",
        reference=_clean_reference(reference),
        actor=actor,
        create=True,
        always_publish=True,
    )


def adjust_stock(*, sku: str, warehouse_code: str, delta: int, reason: str, reference: str, actor: str) -> StockLevel:
    sku = _clean_sku(sku)
    if isinstance(delta, bool) or not isinstance(delta, int) or delta == 0 or abs(delta) > MAX_ON_HAND:
        raise InvalidQuantity("An adjustment is a non-zero whole number.")
    if not isinstance(reason, str) or not reason.strip():
        raise InventoryError("An adjustment needs a reason.")
    if not isinstance(actor, str) or not actor.strip():
        raise InventoryError("An adjustment needs to say who made it.")
    return _change_on_hand(
        sku=sku,
        warehouse=_warehouse(warehouse_code),
        delta=delta,
        kind=StockMovement.Kind.ADJUSTMENT,
        reason=reason.strip(),
        reference=reference.strip() if isinstance(reference, str) else "",
        actor=actor.strip(),
        create=False,
        always_publish=True,
    )


# --- Reservations --------------------------------------------------------------------------------


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
        raise InventoryError("A reservation lasts more than nothing and at most 30 days.")
    existing = Reservation.objects.filter(reference=reference).first()
    if existing is not None:
        return _same_request(existing, requested)
    with atomic_in(CONTEXT):
        try:
            with atomic_in(CONTEXT):  # savepoint: a concurrent twin may win the unique reference
                reservation = Reservation.objects.create(reference=reference, expires_at=timezone.now() + ttl)
        except IntegrityError:
            return _same_request(Reservation.objects.get(reference=reference), requested)
        levels = _lock_levels(requested)
        warehouses = selectors.warehouses_by_id()
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
    warehouses = selectors.warehouses_by_id()
    levels = _lock_levels({line.sku for line, _ in to_release})
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
            levels = {(lv.sku, lv.warehouse_id): lv for lv in _lock_levels({line.sku for line in lines})}
            for line in lines:
                _change_level(levels[(line.sku, line.warehouse_id)], reserved=-line.quantity, allocated=line.quantity)
            reservation.status = Reservation.Status.COMMITTED
            reservation.committed_at = now
            reservation.save(update_fields=["status", "committed_at"])
    if expired:
        raise ReservationExpired(f"Reservation {reference!r} expired; its stock went back on sale.")
    return reservation


def release_reservation(*, reference: str, reason: str = "released") -> Reservation | None:
    reference = _clean_reference(reference)
    with atomic_in(CONTEXT):
        reservation = Reservation.objects.select_for_update().filter(reference=reference).first()
        if reservation is None:
            return None
        if reservation.status in (Reservation.Status.RELEASED, Reservation.Status.EXPIRED):
            return reservation
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


# --- Shipments and returns -----------------------------------------------------------------------


def create_shipment(*, reference: str, lines: Sequence[object] | None = None, actor: str = "system") -> Shipment:
    reference = _clean_reference(reference)
    requested = None if lines is None else _clean_lines(lines, maximum=None)
    with atomic_in(CONTEXT):
        reservation = _lock_reservation(reference)
        if reservation.status == Reservation.Status.ACTIVE:
            raise ReservationNotCommitted(f"Reservation {reference!r} is not committed yet.")
        if reservation.status == Reservation.Status.RELEASED:
            raise ReservationClosed(f"Reservation {reference!r} was released.")
        if reservation.status == Reservation.Status.EXPIRED:
            raise ReservationExpired(f"Reservation {reference!r} expired.")
        warehouses = selectors.warehouses_by_id()
        allocations = sorted(
            reservation.lines.all(),
            key=lambda line: (-warehouses[line.warehouse_id].priority, warehouses[line.warehouse_id].code),
        )
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
        levels = {(lv.sku, lv.warehouse_id): lv for lv in _lock_levels(requested)}
        shipment = Shipment.objects.create(reference=reference)
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
    *, reference: str, lines: Sequence[object], warehouse_code: str | None = None, actor: str = "system"
) -> None:
    """Put returned units back on hand, in the warehouse they left from unless another is named."""
    reference = _clean_reference(reference)
    requested = _clean_lines(lines, maximum=None)
    target = _warehouse(warehouse_code) if warehouse_code is not None else None
    with atomic_in(CONTEXT):
        _lock_reservation(reference)  # serialises returns of one reference: no double return
        warehouses = selectors.warehouses_by_id()
        shipped: dict[str, int] = defaultdict(int)
        source: dict[str, Warehouse] = {}
        for line in ShipmentLine.objects.filter(shipment__reference=reference, sku__in=requested).order_by("id"):
            shipped[line.sku] += line.quantity
            source.setdefault(line.sku, warehouses[line.warehouse_id])
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
        destination = {sku: target or source[sku] for sku in requested}
        StockLevel.objects.bulk_create(
            [StockLevel(sku=sku, warehouse=warehouse) for sku, warehouse in destination.items()], ignore_conflicts=True
        )
        levels = _lock_levels(requested)
        watch = _AvailabilityWatch(levels, warehouses, requested)
        by_key = {(level.sku, level.warehouse_id): level for level in levels}
        for sku, quantity in sorted(requested.items()):
            level = by_key[(sku, destination[sku].pk)]
            _change_level(level, on_hand=quantity)
            _record_movement(
                level,
                kind=StockMovement.Kind.RETURN,
                quantity=quantity,
                reason="return",
                reference=reference,
                actor=actor,
            )
        watch.publish(always=False)

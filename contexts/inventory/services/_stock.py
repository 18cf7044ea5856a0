"""Warehouses and on-hand stock: receipts, staff adjustments and absolute levels (imports)."""

from commerce.database import atomic_in
from contexts.inventory import selectors
from contexts.inventory.exceptions import (
    InsufficientStock,
    InvalidArgument,
    InvalidQuantity,
    InvalidWarehouse,
    ReferenceConflict,
    Shortfall,
    UnknownSku,
)
from contexts.inventory.models import StockLevel, StockMovement, Warehouse
from contexts.inventory.services._locking import (
    _AvailabilityWatch,
    _change_level,
    _lock_levels,
    _lock_stock,
    _record_movement,
)
from contexts.inventory.services._validation import (
    CONTEXT,
    MAX_ACTOR_LENGTH,
    MAX_ON_HAND,
    MAX_REASON_LENGTH,
    _clean_actor,
    _clean_optional_reference,
    _clean_quantity,
    _clean_reason,
    _clean_reference,
    _clean_sku,
    _clean_text_or,
    _has_control_character,
    _warehouse,
)

MAX_PRIORITY = 1_000_000


def _check_priority(priority: object) -> None:
    if priority is not None and (
        isinstance(priority, bool) or not isinstance(priority, int) or abs(priority) > MAX_PRIORITY
    ):
        raise InvalidWarehouse(f"A warehouse priority is a whole number from -{MAX_PRIORITY} to {MAX_PRIORITY}.")


def check_warehouse(*, code: object, name: object = None, priority: object = None) -> str:
    """The cleaned code, or the refusal ``ensure_warehouse`` would raise for these fields (forms ask first)."""
    if not isinstance(code, str) or not code.strip() or len(code.strip()) > 32 or _has_control_character(code):
        raise InvalidWarehouse(
            "A warehouse code is a non-empty string of at most 32 characters, without control characters."
        )
    if name is not None and (
        not isinstance(name, str) or not name.strip() or len(name) > 200 or _has_control_character(name)
    ):
        raise InvalidWarehouse(
            "A warehouse name is a non-empty string of at most 200 characters, without control characters."
        )
    _check_priority(priority)
    return code.strip()


def ensure_warehouse(*, code: str, name: str | None = None, priority: int | None = None) -> Warehouse:
    code = check_warehouse(code=code, name=name, priority=priority)
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


def set_warehouse_status(*, code: str, active: bool | None = None, priority: int | None = None) -> Warehouse:
    """Switch a warehouse on or off and/or change its priority (``None`` leaves a field alone).

    Switching a warehouse off takes its stock out of every SKU's availability (on, back in): the
    levels of all its SKUs are locked like any stock write and one ``StockLevelChanged`` per SKU
    whose availability moved is published (always, as a staff change). A priority only changes
    which warehouse allocates first, not availability, so it publishes nothing.
    """
    if active is not None and not isinstance(active, bool):
        raise InvalidWarehouse("A warehouse is active (true) or not (false).")
    _check_priority(priority)
    found = _warehouse(code)
    with atomic_in(CONTEXT):
        # The warehouse first: this waits for every stock write under way (each holds all warehouses
        # shared) and holds back new ones, so the SKUs listed next include every level a write
        # created, even one it had not committed when this call began.
        warehouse = Warehouse.objects.select_for_update().get(pk=found.pk)
        skus = list(StockLevel.objects.filter(warehouse_id=warehouse.pk).values_list("sku", flat=True))
        levels = _lock_levels(skus)
        watch = _AvailabilityWatch(levels, selectors.warehouses_by_id(), skus)
        changed = []
        if active is not None and warehouse.active != active:
            warehouse.active = active
            changed.append("active")
        if priority is not None and warehouse.priority != priority:
            warehouse.priority = priority
            changed.append("priority")
        if changed:
            warehouse.save(update_fields=changed)
            watch.publish(always=True)
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
    operation: str = "",
) -> StockLevel:
    """Change one level's on hand by ``delta`` (or to ``target``) with its ledger movement.

    With an ``operation`` (the write's idempotency key) the change is made once: a retry finds the
    movement the first call wrote (under the same row locks, so a concurrent twin waits and then
    finds it) and returns the level as it is, writing and publishing nothing; the same key for a
    different change is refused.
    """
    with atomic_in(CONTEXT):
        warehouses, levels = _lock_stock([sku], create=[(sku, warehouse.pk)] if create else ())
        watch = _AvailabilityWatch(levels, warehouses, [sku])
        level = next((lv for lv in levels if lv.warehouse_id == warehouse.pk), None)
        if operation:
            done = StockMovement.objects.filter(operation=operation, sku=sku, warehouse_id=warehouse.pk).first()
            if done is not None:
                if done.kind != kind or done.quantity != delta:
                    raise ReferenceConflict(
                        f"Reference {reference!r} already booked a {done.kind} of {done.quantity:+d} {sku} in "
                        f"{warehouse.code}; a second {kind} of {sku} there needs its own reference.",
                        reference=reference,
                    )
                assert level is not None  # the movement's level exists: levels are never deleted
                level.warehouse = warehouse
                return level
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
        _record_movement(
            level, kind=kind, quantity=delta, reason=reason, reference=reference, actor=actor, operation=operation
        )
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
    reference = _clean_reference(reference)
    reason = _clean_text_or(reason, default="import", what="reason", maximum=MAX_REASON_LENGTH)
    actor = _clean_text_or(actor, default="import", what="actor", maximum=MAX_ACTOR_LENGTH)
    current = selectors.level(sku, warehouse.code)
    if (current is None and on_hand == 0) or (current is not None and current.on_hand == on_hand):
        return current or StockLevel(sku=sku, warehouse=warehouse)  # nothing to write, nothing to publish
    return _change_on_hand(
        sku=sku,
        warehouse=warehouse,
        delta=0,
        target=on_hand,
        kind=StockMovement.Kind.ADJUSTMENT,
        reason=reason,
        reference=reference,
        actor=actor,
        create=True,
        always_publish=True,
    )


def receive_stock(*, sku: str, warehouse_code: str, quantity: int, reference: str, actor: str = "system") -> StockLevel:
    """Book a receipt once per (reference, SKU, warehouse): a retry returns the level, changing nothing."""
    sku = _clean_sku(sku)
    quantity = _clean_quantity(quantity, maximum=MAX_ON_HAND)
    warehouse = _warehouse(warehouse_code)
    reference = _clean_reference(reference)
    return _change_on_hand(
        sku=sku,
        warehouse=warehouse,
        delta=quantity,
        kind=StockMovement.Kind.RECEIPT,
        reason="receipt",
        reference=reference,
        actor=_clean_actor(actor),
        create=True,
        always_publish=True,
        operation=f"receipt:{reference}",
    )


def adjust_stock(*, sku: str, warehouse_code: str, delta: int, reason: str, reference: str, actor: str) -> StockLevel:
    """A staff correction; with a reference it is made once per (reference, SKU, warehouse), so a
    resubmitted form or a retried call does not take the units out twice."""
    sku = _clean_sku(sku)
    if isinstance(delta, bool) or not isinstance(delta, int) or delta == 0 or abs(delta) > MAX_ON_HAND:
        raise InvalidQuantity("An adjustment is a non-zero whole number.")
    if not isinstance(reason, str) or not reason.strip():
        raise InvalidArgument("An adjustment needs a reason.")
    reason = _clean_reason(reason)
    if not isinstance(actor, str) or not actor.strip():
        raise InvalidArgument("An adjustment needs to say who made it.")
    actor = _clean_actor(actor)
    warehouse = _warehouse(warehouse_code)
    reference = _clean_optional_reference(reference)
    return _change_on_hand(
        sku=sku,
        warehouse=warehouse,
        delta=delta,
        kind=StockMovement.Kind.ADJUSTMENT,
        reason=reason,
        reference=reference,
        actor=actor,
        create=False,
        always_publish=True,
        operation=f"adjustment:{reference}" if reference else "",
    )

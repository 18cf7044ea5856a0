"""Absolute stock levels for many (SKU, warehouse) pairs at once: the catalogue import's write path.

``set_stock_level`` costs a transaction, a lock, a ledger row and an event per pair; an import of
20 000 rows then takes minutes. ``set_stock_levels`` does the same work for a whole batch in one
transaction with a fixed number of statements: one read, one bulk insert of missing levels, one
lock of every row of the batch's SKUs (``_lock_stock``, the usual order), one conditional bulk
UPDATE, one bulk insert of ledger movements, and the coalesced ``StockLevelChanged`` events (one per
SKU whose availability changed; the event bus writes each event's outbox row itself).
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from django.db import connections
from django.utils import timezone

from commerce.database import atomic_in, database_for
from contexts.inventory import selectors
from contexts.inventory.exceptions import (
    DuplicateStockLevel,
    InsufficientStock,
    InvalidQuantity,
    Shortfall,
    UnknownWarehouse,
)
from contexts.inventory.models import StockLevel, StockMovement, Warehouse
from contexts.inventory.services._locking import _AvailabilityWatch, _lock_stock
from contexts.inventory.services._validation import (
    CONTEXT,
    MAX_ACTOR_LENGTH,
    MAX_ON_HAND,
    MAX_REASON_LENGTH,
    _clean_reference,
    _clean_sku,
    _clean_text_or,
    _clean_warehouse_code,
)

MAX_LEVELS_PER_CALL = 5_000


@dataclass(frozen=True, slots=True, kw_only=True)
class LevelTarget:
    """One validated item: set ``on_hand`` of ``sku`` in ``warehouse``."""

    sku: str
    warehouse: Warehouse
    on_hand: int

    @property
    def key(self) -> tuple[str, int]:
        return (self.sku, self.warehouse.pk)


@dataclass(frozen=True, slots=True, kw_only=True)
class BatchCounts:
    created: int
    changed: int
    unchanged: int


def _clean_targets(levels: object) -> list[LevelTarget]:
    """Every item checked before anything is read or written: the first bad one raises."""
    if isinstance(levels, str | bytes) or not isinstance(levels, Iterable):
        raise InvalidQuantity("Stock levels come as a sequence of items.")
    items = list(levels)
    if len(items) > MAX_LEVELS_PER_CALL:
        raise InvalidQuantity(
            f"At most {MAX_LEVELS_PER_CALL} stock levels per call ({len(items)} given); send them in chunks."
        )
    by_code = {warehouse.code: warehouse for warehouse in selectors.warehouses_by_id().values()} if items else {}
    targets: list[LevelTarget] = []
    seen: set[tuple[str, int]] = set()
    for item in items:
        sku = _clean_sku(getattr(item, "sku", None))
        code = _clean_warehouse_code(getattr(item, "warehouse_code", None))
        warehouse = by_code.get(code)
        if warehouse is None:
            raise UnknownWarehouse(warehouse_code=code)
        on_hand = getattr(item, "on_hand", None)
        if isinstance(on_hand, bool) or not isinstance(on_hand, int) or on_hand < 0 or on_hand > MAX_ON_HAND:
            raise InvalidQuantity(
                f"On hand of {sku!r} in {warehouse.code!r} must be a whole number from 0 to {MAX_ON_HAND}."
            )
        target = LevelTarget(sku=sku, warehouse=warehouse, on_hand=on_hand)
        if target.key in seen:
            raise DuplicateStockLevel(sku=sku, warehouse_code=warehouse.code)
        seen.add(target.key)
        targets.append(target)
    return targets


def _shortfalls(targets: Sequence[LevelTarget], levels: Iterable[StockLevel]) -> list[Shortfall]:
    """Items that would set on hand below what is reserved or allocated on the given rows."""
    by_key = {(level.sku, level.warehouse_id): level for level in levels}
    short = []
    for target in targets:
        level = by_key.get(target.key)
        if level is not None and target.on_hand < level.on_hand and target.on_hand < level.reserved + level.allocated:
            short.append(
                Shortfall(sku=target.sku, requested=level.on_hand - target.on_hand, available=max(level.available, 0))
            )
    return short


def _refuse(shortfalls: Sequence[Shortfall], targets: Sequence[LevelTarget]) -> None:
    if shortfalls:
        raise InsufficientStock(
            f"{len(shortfalls)} of {len(targets)} stock levels would fall below what is held for orders: "
            + ", ".join(f"{s.sku} (taking out {s.requested}, available {s.available})" for s in shortfalls[:20]),
            shortfalls=tuple(shortfalls),
        )


def _stored(targets: Sequence[LevelTarget]) -> list[StockLevel]:
    """The stored rows of the batch's (SKU, warehouse) pairs, in one query (no lock)."""
    keys = {target.key for target in targets}
    rows = StockLevel.objects.filter(sku__in=sorted({target.sku for target in targets})).only(
        "sku", "warehouse_id", "on_hand", "reserved", "allocated"
    )
    return [row for row in rows if (row.sku, row.warehouse_id) in keys]


def check_stock_levels(*, levels: Sequence[object]) -> None:
    """Validate a batch as ``set_stock_levels`` would, against the stored state, without writing."""
    targets = _clean_targets(levels)
    if targets:
        _refuse(_shortfalls(targets, _stored(targets)), targets)


def _apply_on_hand(changes: Sequence[tuple[StockLevel, int]]) -> None:
    """Set on hand of locked rows in one conditional UPDATE; refuse if any row moved under us.

    Each row is updated only if its on hand is still what was read under the lock and the new figure
    still covers reserved + allocated (the check constraint is the backstop behind this).
    """
    connection = connections[database_for(CONTEXT)]
    quote = connection.ops.quote_name
    table = quote(StockLevel._meta.db_table)
    column = {
        name: quote(StockLevel._meta.get_field(name).column)
        for name in ("id", "on_hand", "reserved", "allocated", "updated_at")
    }
    rows = ", ".join(["(%s, %s, %s)"] * len(changes))
    params: list[object] = []
    for level, target in changes:
        params += [level.pk, level.on_hand, target]
    sql = (
        f"UPDATE {table} SET {column['on_hand']} = wanted.new_on_hand, {column['updated_at']} = %s "
        # Plain VALUES columns are column1..3 on both PostgreSQL and SQLite; a leading WITH would hide
        # the row count from Python's sqlite3.
        "FROM (SELECT column1 AS id, column2 AS old_on_hand, column3 AS new_on_hand "
        f"FROM (VALUES {rows}) AS v) AS wanted WHERE {table}.{column['id']} = wanted.id AND {table}.{column['on_hand']} = wanted.old_on_hand "
        f"AND wanted.new_on_hand >= {table}.{column['reserved']} + {table}.{column['allocated']}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [timezone.now(), *params])
        updated = cursor.rowcount
    if updated != len(changes):  # pragma: no cover - only without row locks (never on PostgreSQL)
        raise InsufficientStock("Stock levels changed while the batch was being written; nothing was written.")


def set_stock_levels(
    *, levels: Sequence[object], reference: str, reason: str = "import", actor: str = "import"
) -> BatchCounts:
    targets = _clean_targets(levels)
    reference = _clean_reference(reference)
    reason = _clean_text_or(reason, default="import", what="reason", maximum=MAX_REASON_LENGTH)
    actor = _clean_text_or(actor, default="import", what="actor", maximum=MAX_ACTOR_LENGTH)
    if not targets:
        return BatchCounts(created=0, changed=0, unchanged=0)
    stored = {(level.sku, level.warehouse_id): level.on_hand for level in _stored(targets)}
    if all(stored.get(target.key, 0) == target.on_hand for target in targets):
        return BatchCounts(created=0, changed=0, unchanged=len(targets))  # nothing to write, nothing to publish
    missing = sorted(
        (target for target in targets if target.key not in stored and target.on_hand != 0), key=lambda t: t.key
    )
    skus = {target.sku for target in targets}
    with atomic_in(CONTEXT):
        # Sorted inserts: two batches creating the same new rows wait on each other in one order.
        warehouses, locked = _lock_stock(skus, create=[t.key for t in missing])
        watch = _AvailabilityWatch(locked, warehouses, skus)
        by_key = {(level.sku, level.warehouse_id): level for level in locked}
        _refuse(_shortfalls(targets, locked), targets)
        changes = [
            (by_key[target.key], target.on_hand)
            for target in targets
            if target.key in by_key and by_key[target.key].on_hand != target.on_hand
        ]
        if changes:
            _apply_on_hand(changes)
            StockMovement.objects.bulk_create(
                [
                    StockMovement(
                        sku=level.sku,
                        warehouse_id=level.warehouse_id,
                        kind=StockMovement.Kind.ADJUSTMENT,
                        quantity=target - level.on_hand,
                        on_hand_after=target,
                        reason=reason[:200],
                        reference=reference[:128],
                        actor=actor[:200],
                    )
                    for level, target in changes
                ]
            )
            watch.publish(always=True)
    created = sum(1 for level, _ in changes if (level.sku, level.warehouse_id) not in stored)
    return BatchCounts(created=created, changed=len(changes) - created, unchanged=len(targets) - len(changes))

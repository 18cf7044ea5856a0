"""Row locks, conditional counter updates, ledger rows and coalesced ``StockLevelChanged`` events.

Every write that touches stock levels goes through ``_lock_stock`` (one lock order everywhere) and
changes counters with ``_change_level`` (a conditional UPDATE).

Lock order: reservation row, then every warehouse row *shared* (PostgreSQL ``FOR SHARE``), then the
level rows of the SKUs involved in (sku, warehouse id) order. A warehouse's ``active`` flag decides
what is available, so a write that announces availability must read it under a lock that switching
the warehouse waits for: ``set_warehouse_status`` takes its warehouse ``FOR UPDATE`` *first*, which
waits for every write holding the share lock and holds back new ones; it then lists the warehouse's
SKUs, which now include every level a finished write created. Writers share the lock among
themselves, so they never queue behind each other for it. Writers take it before any level lock or
insert (an insert's foreign-key check takes a key-share lock on the warehouse), so a switch holding
its warehouse and waiting for level rows never waits on a writer that waits on the switch.

The checkout's reservation calls (``_statements``) keep this order in fewer statements: their first
statement share-locks the warehouses that hold their SKUs (not every warehouse), and their one level
``UPDATE`` locks the levels in (sku, warehouse id) order before changing any. A commit announces no
availability and takes no warehouse lock.
"""

from collections.abc import Iterable, Mapping, Sequence

from django.db import connections
from django.db.models import F, Q
from django.utils import timezone

from commerce.database import database_for
from commerce.eventbus import publish_many
from contexts.inventory import domain, events, selectors
from contexts.inventory.conf import inventory_settings
from contexts.inventory.exceptions import InsufficientStock, Shortfall
from contexts.inventory.models import StockLevel, StockMovement, Warehouse
from contexts.inventory.services._statements import Level
from contexts.inventory.services._validation import CONTEXT


def _share_warehouses() -> dict[int, Warehouse]:
    """Every warehouse by id, share-locked on PostgreSQL until the transaction ends (see the module's lock order).

    Other databases serialise writers anyway (SQLite), so a plain read is enough there.
    """
    database = database_for(CONTEXT)
    connection = connections[database]
    if connection.vendor != "postgresql":
        return selectors.warehouses_by_id()
    table = connection.ops.quote_name(Warehouse._meta.db_table)
    return {w.pk: w for w in Warehouse.objects.using(database).raw(f"SELECT * FROM {table} ORDER BY id FOR SHARE")}


def _lock_stock(
    skus: Iterable[str], *, create: Iterable[tuple[str, int]] = ()
) -> tuple[dict[int, Warehouse], list[StockLevel]]:
    """The warehouses (share-locked) and every level row of these SKUs (locked), creating the missing
    ``(sku, warehouse id)`` levels of ``create`` in between: the one way a write locks stock."""
    warehouses = _share_warehouses()
    missing = sorted(set(create))  # sorted inserts: two writes creating the same rows wait in one order
    if missing:
        StockLevel.objects.bulk_create(
            [StockLevel(sku=sku, warehouse_id=warehouse_id) for sku, warehouse_id in missing], ignore_conflicts=True
        )
    return warehouses, _lock_levels(skus)


def _lock_levels(skus: Iterable[str]) -> list[StockLevel]:
    """Lock every warehouse row of these SKUs, always in (sku, warehouse id) order: the one place
    stock rows are locked, so lock order is the same in every transaction and deadlocks cannot form.
    Writes call it through ``_lock_stock``; only ``set_warehouse_status`` (which holds its warehouse
    exclusively instead) calls it directly."""
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
    level: StockLevel, *, kind: str, quantity: int, reason: str, reference: str, actor: str, operation: str = ""
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
        operation=operation,
    )


class _AvailabilityWatch:
    """Collects a transaction's availability changes and publishes one ``StockLevelChanged`` per SKU.

    ``before`` comes from the rows just locked (all warehouses of each SKU), ``after`` from one
    aggregate query at the end, so the event carries the new totals exactly as committed.
    """

    def __init__(
        self, levels: Sequence[StockLevel | Level], warehouses: Mapping[int, Warehouse], skus: Iterable[str]
    ) -> None:
        self.before: dict[str, int] = dict.fromkeys(skus, 0)
        for level in levels:
            warehouse = warehouses.get(level.warehouse_id)
            if warehouse is not None and warehouse.active:
                self.before[level.sku] = self.before.get(level.sku, 0) + max(level.available, 0)

    def publish(self, *, always: bool) -> None:
        publish_many(self.news(selectors.available_by_sku(self.before), always=always))

    def news(self, after: Mapping[str, int], *, always: bool) -> list[events.StockLevelChanged]:
        """The events worth publishing, given each SKU's availability ``after`` the change (absent: none)."""
        conf = inventory_settings()
        changed = []
        for sku in sorted(self.before):
            new = after.get(sku, 0)
            old = self.before[sku]
            if old == new:
                continue
            if always or domain.level_change_is_news(
                before=old, after=new, low_stock_threshold=conf.low_stock_threshold, step=conf.level_event_step
            ):
                changed.append(events.StockLevelChanged(sku=sku, available=new, in_stock=new > 0))
        return changed  # published with publish_many: two inserts however many SKUs changed

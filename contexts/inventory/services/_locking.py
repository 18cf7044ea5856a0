"""Row locks, conditional counter updates, ledger rows and coalesced ``StockLevelChanged`` events.

Every write that touches stock levels goes through ``_lock_levels`` (one lock order everywhere) and
changes counters with ``_change_level`` (a conditional UPDATE).
"""

from collections.abc import Iterable, Mapping, Sequence

from django.db.models import F, Q
from django.utils import timezone

from commerce.eventbus import publish_many
from contexts.inventory import domain, events, selectors
from contexts.inventory.conf import inventory_settings
from contexts.inventory.exceptions import InsufficientStock, Shortfall
from contexts.inventory.models import StockLevel, StockMovement, Warehouse


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

    def __init__(self, levels: Sequence[StockLevel], warehouses: Mapping[int, Warehouse], skus: Iterable[str]) -> None:
        self.before: dict[str, int] = dict.fromkeys(skus, 0)
        for level in levels:
            warehouse = warehouses.get(level.warehouse_id)
            if warehouse is not None and warehouse.active:
                self.before[level.sku] = self.before.get(level.sku, 0) + max(level.available, 0)

    def publish(self, *, always: bool) -> None:
        conf = inventory_settings()
        after = selectors.available_by_sku(self.before)
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
        publish_many(changed)  # two inserts however many SKUs changed (a batch of thousands)

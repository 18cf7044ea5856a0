"""Writes of the inventory context: atomic on its own database, publish events last.

Concurrency: every write that touches stock levels locks *all* warehouse rows of the SKUs involved
through ``_lock_stock``, which always locks in (sku, warehouse id) order, so two baskets holding the
same SKUs in different orders queue behind each other instead of deadlocking. Reservation rows are
locked before stock rows, everywhere. Counters then change by conditional ``UPDATE ... SET x = x + n
WHERE <still enough>``, and the table's check constraints refuse an oversell as a last line of defence.

The private modules: ``_validation`` (input cleaning), ``_locking`` (row locks, counters, ledger rows,
coalesced level events), ``_stock`` (warehouses and on-hand stock), ``_batch`` (many absolute
levels in one transaction, for imports), ``_reservations`` (with ``_statements``, the few statements of the
checkout's reservation calls) and ``_shipments``. Callers use the names re-exported here.
"""

from contexts.inventory.services._batch import (
    MAX_LEVELS_PER_CALL,
    BatchCounts,
    check_stock_levels,
    set_stock_levels,
)
from contexts.inventory.services._reservations import (
    cancel_reservation,
    commit_reservation,
    expire_reservations,
    release_reservation,
    reserve_stock,
)
from contexts.inventory.services._shipments import create_shipment, dispatch_shipment, return_stock
from contexts.inventory.services._stock import (
    adjust_stock,
    check_warehouse,
    ensure_warehouse,
    receive_stock,
    set_stock_level,
    set_warehouse_status,
)
from contexts.inventory.services._validation import (
    MAX_ON_HAND,
    MAX_REFERENCE_LENGTH,
    clean_reference,
    clean_sku_list,
)

__all__ = [
    "MAX_LEVELS_PER_CALL",
    "MAX_ON_HAND",
    "MAX_REFERENCE_LENGTH",
    "BatchCounts",
    "adjust_stock",
    "cancel_reservation",
    "check_stock_levels",
    "check_warehouse",
    "clean_reference",
    "clean_sku_list",
    "commit_reservation",
    "create_shipment",
    "dispatch_shipment",
    "ensure_warehouse",
    "expire_reservations",
    "receive_stock",
    "release_reservation",
    "reserve_stock",
    "return_stock",
    "set_stock_level",
    "set_stock_levels",
    "set_warehouse_status",
]

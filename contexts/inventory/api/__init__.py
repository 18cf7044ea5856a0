"""The published interface of the inventory context: warehouses, stock levels, reservations, shipments and the stock ledger.

Other contexts import this module and ``events`` and nothing else of this context.

``reference`` is an opaque string chosen by the caller (orders passes the order id): a reservation,
its allocation, its shipments and its returns are all found by it. Every write is idempotent by it, so
a call retried after a lost answer (the checkout saga's retries, its recovery job) never doubles an
effect:

- ``reserve_stock``, ``commit_reservation``, ``release_reservation``, ``cancel_reservation``: one
  reservation per reference; repeating a call returns it as it is.
- ``create_shipment``, ``return_stock``: once per (reference, ``key``). Without a ``key`` one is
  derived from the request (the same lines make the same shipment or return), so a caller that
  makes two identical partial shipments or returns of one reference gives each its own ``key``
  (orders: the return's id).
- ``receive_stock``: once per (reference, SKU, warehouse); ``adjust_stock`` the same when it has a
  reference. ``set_stock_level(s)`` set absolute figures, which repeat harmlessly.
- ``dispatch_shipment``: once per shipment; ``ShipmentDispatched`` is published once.

The same reference (and key) sent again for a *different* request is refused with
``ReferenceConflict`` (``ReservationConflict`` for reservations), never silently merged.

Text arguments (SKUs, references, keys, warehouse codes, reasons, actors) are strings without control
characters (NUL included); anything else is refused with this context's typed errors, writing nothing.
Quantities are whole units. Warehouses with a higher ``priority`` are preferred when stock is
allocated; inactive warehouses are neither counted nor allocated from.

The private modules: ``_stock`` (warehouses and stock levels), ``_reservations`` and ``_shipments``
(shipments and returns); callers use the names re-exported here.
"""

from contexts.inventory import services
from contexts.inventory.api._reservations import (
    AllocatedLine,
    Reservation,
    ReservationLine,
    cancel_reservation,
    commit_reservation,
    get_reservation,
    release_reservation,
    reserve_stock,
)
from contexts.inventory.api._shipments import (
    ReturnLine,
    Shipment,
    ShipmentLine,
    ShippedLine,
    create_shipment,
    dispatch_shipment,
    list_shipments,
    return_stock,
)
from contexts.inventory.api._stock import (
    Availability,
    StockBatchResult,
    StockLevel,
    StockLevelInput,
    Warehouse,
    adjust_stock,
    check_stock_levels,
    ensure_warehouse,
    get_availability,
    get_stock_levels,
    levels_announced_exactly_up_to,
    list_warehouses,
    receive_stock,
    set_stock_level,
    set_stock_levels,
    set_warehouse_status,
)
from contexts.inventory.exceptions import (
    DuplicateStockLevel,
    InsufficientStock,
    InvalidArgument,
    InvalidQuantity,
    InvalidSku,
    InvalidWarehouse,
    InventoryError,
    OverReturn,
    OverShipment,
    ReferenceConflict,
    ReservationClosed,
    ReservationCommitted,
    ReservationConflict,
    ReservationExpired,
    ReservationNotCommitted,
    ReservationNotFound,
    ShipmentNotFound,
    Shortfall,
    UnknownSku,
    UnknownWarehouse,
)

__all__ = [
    "MAX_STOCK_LEVELS_PER_CALL",
    "AllocatedLine",
    "Availability",
    "DuplicateStockLevel",
    "InsufficientStock",
    "InvalidArgument",
    "InvalidQuantity",
    "InvalidSku",
    "InvalidWarehouse",
    "InventoryError",
    "OverReturn",
    "OverShipment",
    "ReferenceConflict",
    "Reservation",
    "ReservationClosed",
    "ReservationCommitted",
    "ReservationConflict",
    "ReservationExpired",
    "ReservationLine",
    "ReservationNotCommitted",
    "ReservationNotFound",
    "ReturnLine",
    "Shipment",
    "ShipmentLine",
    "ShipmentNotFound",
    "ShippedLine",
    "Shortfall",
    "StockBatchResult",
    "StockLevel",
    "StockLevelInput",
    "UnknownSku",
    "UnknownWarehouse",
    "Warehouse",
    "adjust_stock",
    "cancel_reservation",
    "check_stock_levels",
    "commit_reservation",
    "create_shipment",
    "dispatch_shipment",
    "ensure_warehouse",
    "get_availability",
    "get_reservation",
    "get_stock_levels",
    "levels_announced_exactly_up_to",
    "list_shipments",
    "list_warehouses",
    "receive_stock",
    "release_reservation",
    "reserve_stock",
    "return_stock",
    "set_stock_level",
    "set_stock_levels",
    "set_warehouse_status",
]

MAX_STOCK_LEVELS_PER_CALL = services.MAX_LEVELS_PER_CALL
"""The most items ``set_stock_levels`` and ``check_stock_levels`` take in one call; callers chunk."""

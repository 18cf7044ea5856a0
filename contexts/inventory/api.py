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
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from contexts.inventory import models, selectors, services
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


# --- DTOs ----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class Warehouse:
    code: str
    name: str
    priority: int
    active: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class StockLevel:
    sku: str
    warehouse_code: str
    on_hand: int
    reserved: int
    allocated: int
    available: int


@dataclass(frozen=True, slots=True, kw_only=True)
class StockLevelInput:
    """An absolute on-hand figure for one SKU in one warehouse (an import row)."""

    sku: str
    warehouse_code: str
    on_hand: int


@dataclass(frozen=True, slots=True, kw_only=True)
class StockBatchResult:
    """What ``set_stock_levels`` did: levels created (no row before), changed, and left as they were."""

    created: int
    changed: int
    unchanged: int


@dataclass(frozen=True, slots=True, kw_only=True)
class Availability:
    sku: str
    available: int
    in_stock: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class ReservationLine:
    """A line to reserve: ``quantity`` units of ``sku``, from whichever warehouses can serve it."""

    sku: str
    quantity: int


@dataclass(frozen=True, slots=True, kw_only=True)
class AllocatedLine:
    """Units of a SKU held in one warehouse for a reservation, and how many of them have shipped."""

    sku: str
    warehouse_code: str
    quantity: int
    shipped: int


@dataclass(frozen=True, slots=True, kw_only=True)
class Reservation:
    reference: str
    status: str  # "active" | "committed" | "released" | "expired"
    expires_at: datetime
    created_at: datetime
    committed_at: datetime | None
    lines: tuple[AllocatedLine, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class ShipmentLine:
    """A line to ship: ``quantity`` units of ``sku`` out of what is allocated to the reference."""

    sku: str
    quantity: int


@dataclass(frozen=True, slots=True, kw_only=True)
class ShippedLine:
    sku: str
    warehouse_code: str
    quantity: int


@dataclass(frozen=True, slots=True, kw_only=True)
class Shipment:
    id: int
    reference: str
    status: str  # "created" | "dispatched"
    created_at: datetime
    dispatched_at: datetime | None
    lines: tuple[ShippedLine, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class ReturnLine:
    sku: str
    quantity: int


# --- Mapping -------------------------------------------------------------------------------------


def _warehouse(warehouse: models.Warehouse) -> Warehouse:
    return Warehouse(code=warehouse.code, name=warehouse.name, priority=warehouse.priority, active=warehouse.active)


def _level(level: models.StockLevel) -> StockLevel:
    return StockLevel(
        sku=level.sku,
        warehouse_code=level.warehouse.code,
        on_hand=level.on_hand,
        reserved=level.reserved,
        allocated=level.allocated,
        available=max(level.available, 0),
    )


def _reservation(reference: str) -> Reservation:
    reservation = selectors.reservation_with_lines(reference)
    if reservation is None:  # pragma: no cover - callers just wrote it
        raise ReservationNotFound(f"No reservation {reference!r}.")
    return Reservation(
        reference=reservation.reference,
        status=reservation.status,
        expires_at=reservation.expires_at,
        created_at=reservation.created_at,
        committed_at=reservation.committed_at,
        lines=tuple(
            AllocatedLine(
                sku=line.sku, warehouse_code=line.warehouse.code, quantity=line.quantity, shipped=line.shipped
            )
            for line in reservation.lines.all()
        ),
    )


def _shipment(shipment: models.Shipment) -> Shipment:
    return Shipment(
        id=shipment.pk,
        reference=shipment.reference,
        status=shipment.status,
        created_at=shipment.created_at,
        dispatched_at=shipment.dispatched_at,
        lines=tuple(
            ShippedLine(sku=line.sku, warehouse_code=line.warehouse.code, quantity=line.quantity)
            for line in shipment.lines.all()
        ),
    )


# --- Warehouses and stock ------------------------------------------------------------------------


def ensure_warehouse(*, code: str, name: str | None = None, priority: int | None = None) -> Warehouse:
    """The warehouse with this code, created when first named; a given name or priority is updated.

    :raises InvalidWarehouse: empty or overlong code or name, or a priority that is not a whole number.
    """
    return _warehouse(services.ensure_warehouse(code=code, name=name, priority=priority))


def list_warehouses(*, active: bool | None = None) -> tuple[Warehouse, ...]:
    """Every warehouse, most preferred first (highest priority, then code); ``active`` keeps only those on or off.

    :raises InvalidWarehouse: ``active`` is neither a bool nor ``None``.
    """
    if active is not None and not isinstance(active, bool):
        raise InvalidWarehouse("Filter warehouses by active (true), inactive (false) or neither (None).")
    return tuple(_warehouse(warehouse) for warehouse in selectors.list_warehouses(active=active))


def set_warehouse_status(*, code: str, active: bool | None = None, priority: int | None = None) -> Warehouse:
    """Switch a warehouse on or off and/or change its priority (``None`` leaves a field as it is).

    Stock in an inactive warehouse is not available. Switching one off or on waits for the stock
    writes under way (a receipt creating a new level in it included), locks the levels of its SKUs
    and publishes ``StockLevelChanged`` for every SKU whose availability moved, so the last
    announcement of every SKU tells the truth; a priority change (which warehouse allocates first)
    publishes nothing. Setting what is already set does nothing.

    :raises UnknownWarehouse: no warehouse has this code.
    :raises InvalidWarehouse: ``active`` is not a bool, or ``priority`` not a whole number within ±1 000 000.
    """
    return _warehouse(services.set_warehouse_status(code=code, active=active, priority=priority))


def set_stock_level(
    *, sku: str, warehouse_code: str, on_hand: int, reference: str, reason: str = "import", actor: str = "import"
) -> StockLevel:
    """Set on hand to an absolute figure by writing an adjustment movement of the difference.

    A no-op (no write, no event) when on hand already equals ``on_hand``.

    :raises InvalidQuantity: ``on_hand`` is negative or not a whole number.
    :raises InvalidSku: the SKU is empty or too long.
    :raises UnknownWarehouse: no warehouse has this code.
    :raises InsufficientStock: lowering on hand below what is reserved or allocated.
    :raises InvalidArgument: the reference, reason or actor is too long or holds a control character.
    """
    return _level(
        services.set_stock_level(
            sku=sku, warehouse_code=warehouse_code, on_hand=on_hand, reference=reference, reason=reason, actor=actor
        )
    )


def set_stock_levels(
    *, levels: Sequence[StockLevelInput], reference: str, reason: str = "import", actor: str = "import"
) -> StockBatchResult:
    """Set on hand of many (SKU, warehouse) pairs to absolute figures, all or nothing, in one transaction.

    Every item is validated before anything is written; then the rows of the batch's SKUs are locked
    (the same lock order as reservations), missing levels are created, each changed level gets an
    adjustment movement of its difference, and one ``StockLevelChanged`` is published per SKU whose
    availability changed. Items already at their figure (or 0 for a level that does not exist) write
    and publish nothing, so re-running an import is free. At most ``MAX_STOCK_LEVELS_PER_CALL`` items
    per call; warehouses must exist (``ensure_warehouse`` them first).

    :raises InvalidQuantity: an ``on_hand`` is negative, above the maximum or not a whole number, or
        the batch has more than ``MAX_STOCK_LEVELS_PER_CALL`` items.
    :raises InvalidSku: a SKU is empty or too long.
    :raises UnknownWarehouse: an item names a warehouse that does not exist.
    :raises DuplicateStockLevel: the same SKU and warehouse appear twice in the batch.
    :raises InsufficientStock: some level would fall below what is reserved or allocated;
        ``.shortfalls`` lists every such item. Nothing of the batch is written.
    :raises InvalidArgument: the reference is empty or too long.
    """
    counts = services.set_stock_levels(levels=levels, reference=reference, reason=reason, actor=actor)
    return StockBatchResult(created=counts.created, changed=counts.changed, unchanged=counts.unchanged)


def check_stock_levels(*, levels: Sequence[StockLevelInput]) -> None:
    """Validate a batch exactly as ``set_stock_levels`` would, against the stored state, writing nothing.

    For an importer that must know every write will be accepted before it writes anything anywhere.
    A concurrent reservation may still make ``set_stock_levels`` refuse later.

    :raises InvalidQuantity: an ``on_hand`` is negative, above the maximum or not a whole number, or
        the batch has more than ``MAX_STOCK_LEVELS_PER_CALL`` items.
    :raises InvalidSku: a SKU is empty or too long.
    :raises UnknownWarehouse: an item names a warehouse that does not exist.
    :raises DuplicateStockLevel: the same SKU and warehouse appear twice in the batch.
    :raises InsufficientStock: some level would fall below what is reserved or allocated now.
    """
    services.check_stock_levels(levels=levels)


def receive_stock(*, sku: str, warehouse_code: str, quantity: int, reference: str, actor: str = "system") -> StockLevel:
    """Book a receipt of goods: on hand grows by ``quantity`` with a receipt movement.

    Once per (``reference``, SKU, warehouse): a retry returns the level and changes nothing. A second
    delivery of the same SKU into the same warehouse takes a reference of its own.

    :raises InvalidQuantity: ``quantity`` is not a whole number of at least 1.
    :raises InvalidSku: the SKU is empty, too long or holds a control character.
    :raises UnknownWarehouse: no warehouse has this code.
    :raises InvalidWarehouse: the warehouse code holds a control character.
    :raises ReferenceConflict: this reference already booked another quantity of this SKU here.
    :raises InvalidArgument: the reference or actor is empty, too long or holds a control character.
    """
    return _level(
        services.receive_stock(
            sku=sku, warehouse_code=warehouse_code, quantity=quantity, reference=reference, actor=actor
        )
    )


def adjust_stock(*, sku: str, warehouse_code: str, delta: int, reason: str, reference: str, actor: str) -> StockLevel:
    """A staff correction of on hand (stock take, damage, loss), with its reason in the ledger.

    With a non-empty ``reference`` it is made once per (reference, SKU, warehouse): a resubmitted
    form or a retried call changes nothing. Without one, every call is a new adjustment.

    :raises ReferenceConflict: this reference already adjusted this level by another amount.
    :raises InvalidQuantity: ``delta`` is zero or not a whole number.
    :raises UnknownSku: this warehouse holds no stock level for the SKU.
    :raises UnknownWarehouse: no warehouse has this code.
    :raises InsufficientStock: taking out more than is available (the rest is held for orders).
    :raises InvalidArgument: no reason or no actor given, or one holding a control character.
    """
    return _level(
        services.adjust_stock(
            sku=sku, warehouse_code=warehouse_code, delta=delta, reason=reason, reference=reference, actor=actor
        )
    )


def get_availability(*, skus: Sequence[str]) -> dict[str, Availability]:
    """Available quantity and in-stock flag for each SKU, in one query; unknown SKUs are 0 / not in stock.

    :raises InvalidSku: ``skus`` is not a list of SKUs (a bare string is refused, not read per character).
    """
    wanted = services.clean_sku_list(skus)
    totals = selectors.available_by_sku(wanted)
    return {sku: Availability(sku=sku, available=totals.get(sku, 0), in_stock=totals.get(sku, 0) > 0) for sku in wanted}


def get_stock_levels(*, skus: Sequence[str]) -> tuple[StockLevel, ...]:
    """Every warehouse's level of these SKUs (for staff screens and reports).

    :raises InvalidSku: ``skus`` is not a list of SKUs.
    """
    return tuple(_level(level) for level in selectors.levels_for_skus(services.clean_sku_list(skus)))


# --- Reservations --------------------------------------------------------------------------------


def reserve_stock(*, reference: str, lines: Sequence[ReservationLine], ttl: timedelta | None = None) -> Reservation:
    """Hold stock for every line, all or nothing, until ``ttl`` (default INVENTORY_RESERVATION_TTL_SECONDS).

    Idempotent by reference: calling again returns the same reservation, whatever its status.

    :raises InsufficientStock: some line cannot be met; ``.shortfalls`` says which and by how much.
    :raises InvalidQuantity: a quantity below 1 or above INVENTORY_MAX_LINE_QUANTITY, no lines, or ``lines`` not a list.
    :raises InvalidSku: a SKU is empty or too long.
    :raises ReservationConflict: this reference is already reserved for other lines.
    :raises InvalidArgument: the reference is empty, too long or holds a control character, or the TTL is
        not between nothing and 30 days.
    """
    services.reserve_stock(reference=reference, lines=lines, ttl=ttl)
    return _reservation(reference.strip())


def commit_reservation(*, reference: str) -> Reservation:
    """Turn a reservation into an allocation for an order (idempotent).

    :raises ReservationNotFound: no reservation has this reference.
    :raises ReservationExpired: it expired (its stock is back on sale).
    :raises ReservationClosed: it was released.
    :raises InvalidArgument: the reference is empty, too long or holds a control character.
    """
    services.commit_reservation(reference=reference)
    return _reservation(reference.strip())


def release_reservation(*, reference: str, reason: str = "released") -> Reservation | None:
    """Give back the stock an active reservation holds: the checkout saga's compensation; idempotent.

    Returns ``None`` when nothing was ever reserved under this reference, and the reservation as it
    is when it was already released or expired, so a compensation can always call it. A committed
    reservation is refused, not released: a late or repeated compensation must never hand a
    confirmed order's stock back (cancelling an order is ``cancel_reservation``).

    :raises ReservationCommitted: the reservation is committed to an order.
    :raises InvalidArgument: the reference or reason is empty, too long or holds a control character.
    """
    reservation = services.release_reservation(reference=reference, reason=reason)
    return None if reservation is None else _reservation(reservation.reference)


def cancel_reservation(*, reference: str, reason: str = "cancelled") -> Reservation | None:
    """Give back everything a reservation still holds, committed or not: an order's cancellation; idempotent.

    Reserved stock and allocated stock not yet shipped go back on sale (``StockReleased`` with this
    reason); what already shipped stays shipped (returns are ``return_stock``). Returns ``None`` when
    nothing was ever reserved under this reference; the status is then ``released`` (or ``committed``
    when everything had shipped and nothing was held).

    :raises InvalidArgument: the reference or reason is empty, too long or holds a control character.
    """
    reservation = services.cancel_reservation(reference=reference, reason=reason)
    return None if reservation is None else _reservation(reservation.reference)


def get_reservation(*, reference: str) -> Reservation:
    """The reservation with this reference.

    :raises ReservationNotFound: no reservation has this reference.
    :raises InvalidArgument: the reference holds a control character or is too long.
    """
    if not isinstance(reference, str) or selectors.reservation_with_lines(services.clean_reference(reference)) is None:
        raise ReservationNotFound(f"No reservation {reference!r}.")
    return _reservation(reference.strip())


# --- Shipments and returns -----------------------------------------------------------------------


def create_shipment(*, reference: str, lines: Sequence[ShipmentLine] | None = None, key: str | None = None) -> Shipment:
    """Ship allocated stock: on hand and allocated decrease, with shipment movements in the ledger.

    ``lines=None`` ships everything still allocated to ``reference``. Idempotent by (reference,
    ``key``): a retry returns the shipment the first call made (whatever has happened to it since),
    never a second one. Without a ``key`` it is derived from the request: ``lines=None`` is one
    shipment, each distinct set of lines another; give a ``key`` to make two identical partial
    shipments of one reference.

    :raises ReservationNotFound: nothing was reserved under this reference.
    :raises ReservationNotCommitted: the reservation is not committed yet.
    :raises ReservationClosed: it was released.
    :raises ReservationExpired: it expired.
    :raises OverShipment: more than is allocated and unshipped, or nothing left to ship.
    :raises InvalidQuantity: a quantity below 1.
    :raises ReferenceConflict: this ``key`` already made a shipment of other lines.
    :raises InvalidArgument: the reference or key is empty, too long or holds a control character.
    """
    shipment = services.create_shipment(reference=reference, lines=lines, key=key)
    return _shipment(selectors.shipment_with_lines(shipment.pk))


def dispatch_shipment(*, shipment_id: int) -> Shipment:
    """Mark a shipment as handed to the carrier and publish ``ShipmentDispatched`` (idempotent: once).

    The event carries the shipment id, the ``reference`` (orders: the order id) and its lines
    (SKU, warehouse, quantity).

    :raises ShipmentNotFound: no shipment has this id.
    """
    shipment = services.dispatch_shipment(shipment_id=shipment_id)
    return _shipment(selectors.shipment_with_lines(shipment.pk))


def list_shipments(*, reference: str) -> tuple[Shipment, ...]:
    """The shipments made for this reference, oldest first.

    :raises InvalidArgument: the reference is empty, too long or holds a control character.
    """
    return tuple(
        _shipment(shipment) for shipment in selectors.shipments_for_reference(services.clean_reference(reference))
    )


def return_stock(
    *,
    reference: str,
    lines: Sequence[ReturnLine],
    warehouse_code: str | None = None,
    actor: str = "system",
    key: str | None = None,
) -> None:
    """Put returned units of dispatched shipments back on hand (return movements), in the warehouse they shipped from unless
    ``warehouse_code`` names another.

    Idempotent by (reference, ``key``): a retry puts nothing back a second time. Without a ``key``
    it is derived from the lines and ``warehouse_code``, so two returns of the same lines of one
    reference (a customer sending a second unit back later) need their own keys: orders passes the
    return's id.

    :raises ReservationNotFound: nothing was reserved under this reference.
    :raises OverReturn: more than was dispatched minus what already came back (a shipment not yet
        dispatched never left, so nothing of it can be returned).
    :raises UnknownWarehouse: ``warehouse_code`` names no warehouse.
    :raises InvalidQuantity: a quantity below 1.
    :raises ReferenceConflict: this ``key`` already returned other lines.
    :raises InvalidArgument: the reference, key or actor is empty, too long or holds a control character.
    """
    services.return_stock(reference=reference, lines=lines, warehouse_code=warehouse_code, actor=actor, key=key)

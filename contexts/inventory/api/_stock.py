"""Warehouses and stock levels: set, receive, adjust and read what is on hand and available."""

from collections.abc import Sequence
from dataclasses import dataclass

from contexts.inventory import models, selectors, services
from contexts.inventory.conf import inventory_settings
from contexts.inventory.exceptions import InvalidWarehouse

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


def levels_announced_exactly_up_to() -> int:
    """The availability at or under which every change of a SKU's figure publishes ``StockLevelChanged``
    (the low-stock threshold, ``INVENTORY_LOW_STOCK_THRESHOLD``).

    A read model that follows the events knows a figure up to it exactly. Above it, customer-driven changes
    are announced only when availability crosses a multiple of ``INVENTORY_LEVEL_EVENT_STEP``: the figure
    last heard may be off by up to that step, so it is not one to show a customer as a count.
    """
    return inventory_settings().low_stock_threshold


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

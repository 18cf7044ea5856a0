"""Pure inventory rules, no ORM: how a basket is allocated to warehouses, when a level change is news.

Warehouse preference: a higher ``priority`` number is preferred; equal priorities fall back to the
warehouse code, so the result is deterministic.
"""

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True, kw_only=True)
class WarehouseStock:
    """What one warehouse can give of one SKU right now."""

    sku: str
    warehouse_code: str
    priority: int
    available: int


@dataclass(frozen=True, slots=True, kw_only=True)
class Allocation:
    sku: str
    warehouse_code: str
    quantity: int


@dataclass(frozen=True, slots=True, kw_only=True)
class Shortage:
    sku: str
    requested: int
    available: int


@dataclass(frozen=True, slots=True, kw_only=True)
class AllocationResult:
    allocations: tuple[Allocation, ...]
    shortages: tuple[Shortage, ...]

    @property
    def ok(self) -> bool:
        return not self.shortages


def preference_order(stock: Iterable[WarehouseStock]) -> list[WarehouseStock]:
    return sorted(stock, key=lambda s: (-s.priority, s.warehouse_code))


def allocate(requested: Mapping[str, int], stock: Sequence[WarehouseStock]) -> AllocationResult:
    """Allocate each requested SKU to warehouses, all or nothing.

    For each line, the most preferred warehouse that can serve the whole line takes it (one parcel
    beats two); when none can, the line is split across warehouses in order of preference, taking
    nothing from a warehouse that has nothing. If any line cannot be met, nothing is allocated and
    every short line is reported with what is available. Every allocation holds at least one unit.
    """
    by_sku: dict[str, list[WarehouseStock]] = {}
    for entry in stock:
        if entry.available > 0:
            by_sku.setdefault(entry.sku, []).append(entry)
    allocations: list[Allocation] = []
    shortages: list[Shortage] = []
    for sku in sorted(requested):
        quantity = requested[sku]
        if quantity <= 0:
            continue  # nothing asked, nothing held: never a zero-quantity allocation
        candidates = preference_order(by_sku.get(sku, ()))
        total = sum(c.available for c in candidates)
        if total < quantity:
            shortages.append(Shortage(sku=sku, requested=quantity, available=total))
            continue
        whole = next((c for c in candidates if c.available >= quantity), None)
        if whole is not None:
            allocations.append(Allocation(sku=sku, warehouse_code=whole.warehouse_code, quantity=quantity))
            continue
        remaining = quantity
        for candidate in candidates:
            take = min(candidate.available, remaining)
            allocations.append(Allocation(sku=sku, warehouse_code=candidate.warehouse_code, quantity=take))
            remaining -= take
            if remaining == 0:
                break
    if shortages:
        return AllocationResult(allocations=(), shortages=tuple(shortages))
    return AllocationResult(allocations=tuple(allocations), shortages=())


def level_change_is_news(*, before: int, after: int, low_stock_threshold: int, step: int) -> bool:
    """Whether a change of a SKU's availability is worth an event for a read model.

    Always when the in-stock flag flips, and for every change at or below the low-stock threshold
    (where "only 3 left" matters). Above it, only when availability crosses a multiple of ``step``,
    so a flash sale of 1 000 single-unit reservations makes ~100 events, not 1 000.
    """
    if before == after:
        return False
    if (before > 0) != (after > 0):
        return True
    if min(before, after) <= low_stock_threshold:
        return True
    step = max(step, 1)
    return before // step != after // step

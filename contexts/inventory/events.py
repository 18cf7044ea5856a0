"""Events published by the inventory context.

``StockLevelChanged`` is coalesced: one event per SKU per service transaction, carrying the new
total availability across active warehouses, and for customer-driven changes (reservations, releases,
expiries, returns) only when the change is news (``domain.level_change_is_news``: the in-stock flag
flips, the SKU is at or near the low-stock threshold, or availability crosses a multiple of
``INVENTORY_LEVEL_EVENT_STEP``). Staff changes (receipts, adjustments, imports) always publish. A
subscriber that needs the exact figure at a given moment calls ``api.get_availability``.
"""

from dataclasses import dataclass

from commerce.eventbus import Event, domain_event


@dataclass(frozen=True, slots=True, kw_only=True)
class ReservedLine:
    sku: str
    warehouse_code: str
    quantity: int


@dataclass(frozen=True, slots=True, kw_only=True)
class ReleasedLine:
    sku: str
    warehouse_code: str
    quantity: int


@dataclass(frozen=True, slots=True, kw_only=True)
class DispatchedLine:
    sku: str
    warehouse_code: str
    quantity: int


@domain_event("inventory.StockReserved", version=1)
@dataclass(frozen=True, slots=True, kw_only=True)
class StockReserved(Event):
    reference: str
    lines: tuple[ReservedLine, ...]


@domain_event("inventory.StockReleased", version=1)
@dataclass(frozen=True, slots=True, kw_only=True)
class StockReleased(Event):
    """Stock held for ``reference`` went back on sale; ``reason`` is "released" or "expired"."""

    reference: str
    lines: tuple[ReleasedLine, ...]
    reason: str


@domain_event("inventory.StockLevelChanged", version=1)
@dataclass(frozen=True, slots=True, kw_only=True)
class StockLevelChanged(Event):
    sku: str
    available: int
    in_stock: bool


@domain_event("inventory.ShipmentDispatched", version=1, aggregate="reference")
@dataclass(frozen=True, slots=True, kw_only=True)
class ShipmentDispatched(Event):
    shipment_id: int
    reference: str
    lines: tuple[DispatchedLine, ...]

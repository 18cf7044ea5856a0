"""The inventory context's exceptions, re-exported from ``api``.

Each carries the machine code and HTTP status of the public contract (API.md); ``extra()`` adds the
structured fields a caller needs to react (which SKUs fell short and by how much).
"""

from dataclasses import asdict, dataclass
from typing import Any

from commerce.errors import DomainError


@dataclass(frozen=True, slots=True, kw_only=True)
class Shortfall:
    """One SKU a request could not be served for: how much was asked, how much there is."""

    sku: str
    requested: int
    available: int


class InventoryError(DomainError):
    """An inventory rule refused the request."""


class InvalidArgument(InventoryError):
    """A reference, key, reason, actor or TTL is not acceptable (empty, too long, a control character)."""

    code = "invalid"
    http_status = 400


class InvalidQuantity(InventoryError):
    """The quantity is not acceptable."""

    code = "invalid"
    http_status = 400


class InvalidSku(InventoryError):
    """The SKU is not a valid stock keeping unit code."""

    code = "invalid"
    http_status = 400


class UnknownSku(InventoryError):
    """No stock is held for this SKU."""

    code = "unknown_sku"
    http_status = 400

    def __init__(self, detail: str | None = None, *, sku: str = "") -> None:
        self.sku = sku
        super().__init__(detail or (f"No stock is held for SKU {sku!r}." if sku else None))

    def extra(self) -> dict[str, Any]:
        return {"sku": self.sku} if self.sku else {}


class InvalidWarehouse(InventoryError):
    """The warehouse code, name or priority is not acceptable."""

    code = "invalid"
    http_status = 400


class UnknownWarehouse(InventoryError):
    """No such warehouse."""

    code = "unknown_warehouse"
    http_status = 400

    def __init__(self, detail: str | None = None, *, warehouse_code: str = "") -> None:
        self.warehouse_code = warehouse_code
        super().__init__(detail or (f"No warehouse {warehouse_code!r}." if warehouse_code else None))


class InsufficientStock(InventoryError):
    """Not enough stock to serve the request."""

    code = "insufficient_stock"
    http_status = 409

    def __init__(self, detail: str | None = None, *, shortfalls: tuple[Shortfall, ...] = ()) -> None:
        self.shortfalls = tuple(shortfalls)
        if detail is None and self.shortfalls:
            detail = "Not enough stock for " + ", ".join(
                f"{s.sku} (requested {s.requested}, available {s.available})" for s in self.shortfalls
            )
        super().__init__(detail)

    @property
    def available(self) -> int | None:
        """The available quantity when one SKU fell short (the cart's ``{"available": N}``)."""
        return self.shortfalls[0].available if len(self.shortfalls) == 1 else None

    def extra(self) -> dict[str, Any]:
        body: dict[str, Any] = {"lines": [asdict(s) for s in self.shortfalls]}
        if self.available is not None:
            body["available"] = self.available
        return body


class ReservationNotFound(InventoryError):
    """No reservation with this reference."""

    code = "not_found"
    http_status = 404


class ReservationExpired(InventoryError):
    """The reservation expired and its stock went back on sale."""

    code = "reservation_expired"
    http_status = 409


class ReservationClosed(InventoryError):
    """The reservation was released; it can no longer be committed or shipped."""

    code = "reservation_closed"
    http_status = 409


class ReservationNotCommitted(InventoryError):
    """The reservation is not committed yet; only allocated stock can be shipped."""

    code = "reservation_not_committed"
    http_status = 409


class ReservationConflict(InventoryError):
    """A reservation with this reference already exists for different lines."""

    code = "reservation_conflict"
    http_status = 409


class ReservationCommitted(InventoryError):
    """The reservation is committed to an order: releasing it is a cancellation (``cancel_reservation``)."""

    code = "reservation_committed"
    http_status = 409


class ReferenceConflict(InventoryError):
    """This reference (and key) was already used for a different write: a retry must repeat the same request."""

    code = "reference_conflict"
    http_status = 409

    def __init__(self, detail: str | None = None, *, reference: str = "") -> None:
        self.reference = reference
        super().__init__(detail)

    def extra(self) -> dict[str, Any]:
        return {"reference": self.reference} if self.reference else {}


class OverShipment(InventoryError):
    """More was asked to ship than is allocated to this reference."""

    code = "over_shipment"
    http_status = 400

    def __init__(self, detail: str | None = None, *, shortfalls: tuple[Shortfall, ...] = ()) -> None:
        self.shortfalls = tuple(shortfalls)
        super().__init__(detail)

    def extra(self) -> dict[str, Any]:
        return {"lines": [asdict(s) for s in self.shortfalls]} if self.shortfalls else {}


class OverReturn(InventoryError):
    """More was returned than was shipped (minus what already came back) for this reference."""

    code = "over_return"
    http_status = 400

    def __init__(self, detail: str | None = None, *, shortfalls: tuple[Shortfall, ...] = ()) -> None:
        self.shortfalls = tuple(shortfalls)
        super().__init__(detail)

    def extra(self) -> dict[str, Any]:
        return {"lines": [asdict(s) for s in self.shortfalls]} if self.shortfalls else {}


class ShipmentNotFound(InventoryError):
    """No such shipment."""

    code = "not_found"
    http_status = 404


class DuplicateStockLevel(InventoryError):
    """The same SKU and warehouse appear twice in one batch of stock levels."""

    code = "invalid"
    http_status = 400

    def __init__(self, detail: str | None = None, *, sku: str = "", warehouse_code: str = "") -> None:
        self.sku = sku
        self.warehouse_code = warehouse_code
        super().__init__(detail or f"{sku!r} in warehouse {warehouse_code!r} appears more than once.")

    def extra(self) -> dict[str, Any]:
        return {"sku": self.sku, "warehouse_code": self.warehouse_code}

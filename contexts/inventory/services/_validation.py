"""Input cleaning shared by every write: SKUs, references, quantities, lines and warehouse codes."""

from collections import defaultdict
from collections.abc import Iterable, Mapping

from contexts.inventory import selectors
from contexts.inventory.exceptions import InvalidQuantity, InvalidSku, InventoryError, UnknownWarehouse
from contexts.inventory.models import Warehouse

CONTEXT = "inventory"

MAX_ON_HAND = 1_000_000_000
MAX_REFERENCE_LENGTH = 128


def _clean_sku(sku: object) -> str:
    if not isinstance(sku, str) or not sku.strip():
        raise InvalidSku("A SKU must be a non-empty string.")
    sku = sku.strip()
    if len(sku) > 64:
        raise InvalidSku("A SKU is at most 64 characters long.")
    return sku


def _is_list(value: object) -> bool:
    """A list of items: not None, not a bare string (which would be read character by character)."""
    return isinstance(value, Iterable) and not isinstance(value, str | bytes | bytearray | Mapping)


def clean_sku_list(skus: object) -> list[str]:
    """The SKUs of a read (availability, levels), in order without repeats; refuses what is not a list of SKUs."""
    if not _is_list(skus):
        raise InvalidSku("Give a list of SKUs.")
    return list(dict.fromkeys(_clean_sku(sku) for sku in skus))  # type: ignore[union-attr]


def _clean_reference(reference: object) -> str:
    if not isinstance(reference, str) or not reference.strip():
        raise InventoryError("A reference must be a non-empty string.")
    if len(reference) > MAX_REFERENCE_LENGTH:
        raise InventoryError(f"A reference is at most {MAX_REFERENCE_LENGTH} characters long.")
    return reference.strip()


def _clean_quantity(quantity: object, *, what: str = "quantity", maximum: int | None = None) -> int:
    if isinstance(quantity, bool) or not isinstance(quantity, int):
        raise InvalidQuantity(f"The {what} must be a whole number.")
    if quantity < 1:
        raise InvalidQuantity(f"The {what} must be at least 1.")
    if maximum is not None and quantity > maximum:
        raise InvalidQuantity(f"The {what} must be at most {maximum}.")
    return quantity


def _clean_lines(lines: Iterable[object], *, maximum: int | None) -> dict[str, int]:
    """``{sku: quantity}`` from line objects with ``sku`` and ``quantity``; repeated SKUs add up."""
    if not _is_list(lines):
        raise InvalidQuantity("Give a list of lines, each with a SKU and a quantity.")
    merged: dict[str, int] = defaultdict(int)
    for line in lines:
        sku = _clean_sku(getattr(line, "sku", None))
        merged[sku] += _clean_quantity(getattr(line, "quantity", None), maximum=maximum)
    if not merged:
        raise InvalidQuantity("At least one line is required.")
    for sku, quantity in merged.items():
        if maximum is not None and quantity > maximum:
            raise InvalidQuantity(f"The quantity of {sku} must be at most {maximum}.")
    return dict(merged)


def _warehouse(code: object) -> Warehouse:
    if not isinstance(code, str) or not code.strip():
        raise UnknownWarehouse("A warehouse code is required.")
    warehouse = selectors.warehouse_by_code(code.strip())
    if warehouse is None:
        raise UnknownWarehouse(warehouse_code=code)
    return warehouse

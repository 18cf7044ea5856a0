"""Input cleaning shared by every write: SKUs, references, quantities, lines and warehouse codes."""

from collections import defaultdict
from collections.abc import Iterable, Mapping

from contexts.inventory import selectors
from contexts.inventory.exceptions import (
    InvalidArgument,
    InvalidQuantity,
    InvalidSku,
    InvalidWarehouse,
    InventoryError,
    UnknownWarehouse,
)
from contexts.inventory.models import Warehouse

CONTEXT = "inventory"

MAX_ON_HAND = 1_000_000_000
MAX_REFERENCE_LENGTH = 128
MAX_KEY_LENGTH = 128
MAX_ACTOR_LENGTH = 200
MAX_REASON_LENGTH = 200


def _has_control_character(text: str, *, prose: bool = False) -> bool:
    """NUL (which PostgreSQL refuses in text), escape, DEL and the C1 range; prose may hold tab and line breaks."""
    allowed = "\t\n\r" if prose else ""
    return any((ord(c) < 32 or 127 <= ord(c) < 160) and c not in allowed for c in text)


def _clean_text(value: object, *, what: str, maximum: int, error: type[InventoryError] = InvalidArgument) -> str:
    """A required free-text argument (reason, actor): a non-empty string, no control character, not overlong."""
    if not isinstance(value, str) or not value.strip():
        raise error(f"The {what} must be a non-empty string.")
    if _has_control_character(value, prose=True):
        raise error(f"The {what} must not hold a control character such as NUL.")
    value = value.strip()
    if len(value) > maximum:
        raise error(f"The {what} is at most {maximum} characters long.")
    return value


def _clean_text_or(value: object, *, default: str, what: str, maximum: int) -> str:
    """A free-text argument that falls back to ``default`` when left empty (an import's reason and actor)."""
    if isinstance(value, str) and not value.strip():
        return default
    return _clean_text(value, what=what, maximum=maximum)


def _clean_actor(actor: object) -> str:
    return _clean_text(actor, what="actor", maximum=MAX_ACTOR_LENGTH)


def _clean_reason(reason: object) -> str:
    return _clean_text(reason, what="reason", maximum=MAX_REASON_LENGTH)


def _clean_sku(sku: object) -> str:
    if not isinstance(sku, str) or not sku.strip():
        raise InvalidSku("A SKU must be a non-empty string.")
    if _has_control_character(sku):
        raise InvalidSku("A SKU must not hold a control character such as NUL.")
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


def _clean_reference(reference: object, *, what: str = "reference", maximum: int = MAX_REFERENCE_LENGTH) -> str:
    if not isinstance(reference, str) or not reference.strip():
        raise InvalidArgument(f"A {what} must be a non-empty string.")
    if _has_control_character(reference):
        raise InvalidArgument(f"A {what} must not hold a control character such as NUL.")
    if len(reference) > maximum:
        raise InvalidArgument(f"A {what} is at most {maximum} characters long.")
    return reference.strip()


def clean_reference(reference: object) -> str:
    """The reference of a read (a reservation, a reference's shipments), refused as a write would refuse it."""
    return _clean_reference(reference)


def _clean_optional_reference(reference: object) -> str:
    """A reference that may be left empty (a staff adjustment's note); ``None`` counts as empty."""
    if reference is None or (isinstance(reference, str) and not reference.strip()):
        return ""
    return _clean_reference(reference)


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


def _clean_warehouse_code(code: object) -> str:
    if not isinstance(code, str) or not code.strip():
        raise UnknownWarehouse("A warehouse code is required.")
    if _has_control_character(code):
        raise InvalidWarehouse("A warehouse code must not hold a control character such as NUL.")
    return code.strip()


def _warehouse(code: object) -> Warehouse:
    code = _clean_warehouse_code(code)
    warehouse = selectors.warehouse_by_code(code)
    if warehouse is None:
        raise UnknownWarehouse(warehouse_code=code)
    return warehouse

"""The cart's DTOs and pure rules (no ORM): what ``api`` publishes and services compute.

A cart holds no pricing or stock rule of its own: its figures are the pricing context's quote of its
lines, vouchers and delivery choice at the moment it is shown; its names come from the catalogue.
"""

import unicodedata
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from uuid import UUID

MAX_SKU_LENGTH = 64
MAX_VOUCHER_CODE_LENGTH = 64


# --- DTOs ----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class CartLine:
    id: int
    sku: str
    name: str  # the catalogue's product and variant name, now
    product_slug: str | None  # None when the catalogue no longer has the SKU
    quantity: int
    unit_price: Decimal  # effective unit price (sale applied), before promotions and vouchers
    base_unit_price: Decimal
    subtotal: Decimal  # unit_price * quantity
    discount: Decimal  # promotions plus this line's share of basket promotions and vouchers
    line_total: Decimal  # subtotal - discount
    tax_rate: Decimal | None  # percent, e.g. 19.00; None until pricing works tax out
    tax: Decimal
    purchasable: bool  # False when the SKU is no longer published or priced: checkout will refuse it


@dataclass(frozen=True, slots=True, kw_only=True)
class RefusedVoucher:
    """A voucher kept in the cart that the quote does not apply now (e.g. min spend no longer reached)."""

    code: str
    reason: str  # unknown | expired | exhausted | not_applicable | min_spend
    detail: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Cart:
    id: UUID
    customer_id: int | None
    status: str  # "open" | "checked_out"
    currency: str
    lines: tuple[CartLine, ...]
    vouchers: tuple[str, ...]  # every code the customer applied, in order
    refused_vouchers: tuple[RefusedVoucher, ...]  # those of ``vouchers`` the quote does not apply now
    country: str | None
    shipping_method: str | None
    shipping_available: bool  # False when the chosen method no longer serves the country (not priced)
    subtotal: Decimal
    discount_total: Decimal
    shipping_total: Decimal
    tax_total: Decimal
    total: Decimal
    prices_include_tax: bool
    item_count: int
    order_id: UUID | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class OpenedCart:
    """``create_cart``'s answer: the cart and whether it was created now (or already open)."""

    cart: Cart
    created: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class CheckoutLine:
    sku: str
    quantity: int


@dataclass(frozen=True, slots=True, kw_only=True)
class CheckoutCart:
    """What checkout needs of a cart: its content and choices, no figures (checkout quotes them itself)."""

    id: UUID
    customer_id: int | None
    status: str  # "open" | "checked_out"
    currency: str
    lines: tuple[CheckoutLine, ...]
    voucher_codes: tuple[str, ...]
    country: str | None
    shipping_method: str | None
    order_id: UUID | None
    checkout_order_id: UUID | None = None  # the order whose checkout holds the cart now
    version: int = 0  # bumped by every change: the claim checks the cart is still as it was read


@dataclass(frozen=True, slots=True, kw_only=True)
class ShippingOption:
    code: str
    name: str
    price: Decimal
    currency: str
    delivery_days: int
    free_over: Decimal | None


# --- Pure rules ----------------------------------------------------------------------------------


def quantity_error(value: object, *, minimum: int, maximum: int) -> str | None:
    """A quantity is a JSON whole number (not a bool, a string or a float) within bounds."""
    if isinstance(value, bool) or not isinstance(value, int):
        return "A quantity is a whole number."
    if value < minimum:
        return f"A quantity is at least {minimum}."
    if value > maximum:
        return f"A line holds at most {maximum} units."
    return None


def has_control_characters(text: str) -> bool:
    return any(unicodedata.category(char) == "Cc" for char in text)


def sku_error(value: object) -> str | None:
    if not isinstance(value, str) or not value.strip():
        return "A SKU is a non-empty text."
    if len(value) > MAX_SKU_LENGTH:
        return f"A SKU has at most {MAX_SKU_LENGTH} characters."
    if has_control_characters(value):
        return "A SKU holds no control characters."
    return None


def normalize_voucher_code(value: object) -> str:
    """Voucher codes are compared case-insensitively, surrounding spaces ignored (as pricing does)."""
    return value.strip().upper() if isinstance(value, str) else ""


def voucher_code_error(value: object) -> str | None:
    if not isinstance(value, str) or not value.strip():
        return "A voucher code is a non-empty text."
    if len(value.strip()) > MAX_VOUCHER_CODE_LENGTH:
        return f"A voucher code has at most {MAX_VOUCHER_CODE_LENGTH} characters."
    if has_control_characters(value):
        return "A voucher code holds no control characters."
    return None


def parse_cart_id(value: object) -> UUID | None:
    """The cart id as a UUID, or None when it cannot be one (which answers 404, like an unknown id)."""
    if isinstance(value, UUID):
        return value
    if not isinstance(value, str) or len(value) > 64:
        return None
    try:
        return UUID(value)
    except ValueError:
        return None


def display_name(product_name: str, variant_name: str) -> str:
    """``Blue Shirt — Medium``; a product's only, unnamed variant adds nothing."""
    variant_name = variant_name.strip()
    if not variant_name or variant_name.lower() in {"default", product_name.lower()}:
        return product_name
    return f"{product_name} — {variant_name}"

"""Lines: add a SKU, change a quantity, remove a line. SKU validity from the catalogue and pricing,
availability from inventory, asked before the cart's transaction opens."""

from contexts.cart import domain, selectors
from contexts.cart.conf import cart_settings
from contexts.cart.exceptions import (
    CartFull,
    InsufficientStock,
    InvalidCartInput,
    LineNotFound,
    QuantityTooLarge,
    UnknownSku,
)
from contexts.cart.selectors import CartState
from contexts.cart.services._writes import Change, LineWrite, commit, ensure_open
from contexts.catalogue import api as catalogue_api
from contexts.inventory import api as inventory_api


def _clean_quantity(quantity: object, *, minimum: int) -> int:
    conf = cart_settings()
    if message := domain.quantity_error(quantity, minimum=minimum, maximum=conf.max_line_quantity):
        if isinstance(quantity, int) and not isinstance(quantity, bool) and quantity > conf.max_line_quantity:
            raise QuantityTooLarge(max_quantity=conf.max_line_quantity)
        raise InvalidCartInput({"quantity": [message]})
    return quantity  # type: ignore[return-value]


def _clean_sku(sku: object) -> str:
    if message := domain.sku_error(sku):
        raise InvalidCartInput({"sku": [message]})
    return sku.strip()  # type: ignore[union-attr]


def _available(sku: str) -> int:
    return inventory_api.get_availability(skus=[sku])[sku].available


def _check_stock(sku: str, wanted: int, available: int) -> None:
    if wanted > available:
        raise InsufficientStock(sku=sku, requested=wanted, available=available)


def add_line(*, cart_id: object, customer_id: int | None, sku: object, quantity: object) -> domain.Cart:
    """Add ``quantity`` units of ``sku``; a SKU already in the cart adds to its line."""
    conf = cart_settings()
    quantity = _clean_quantity(quantity, minimum=1)
    sku = _clean_sku(sku)
    state = selectors.cart_for(cart_id, customer_id)
    ensure_open(state)
    line = state.line_for(sku)
    in_cart = line.quantity if line else 0
    if in_cart + quantity > conf.max_line_quantity:
        raise QuantityTooLarge(max_quantity=conf.max_line_quantity, in_cart=in_cart)
    if line is None and len(state.lines) >= conf.max_lines:
        raise CartFull(max_lines=conf.max_lines)
    variants = catalogue_api.get_variants(skus=[*(line.sku for line in state.lines), sku])
    if sku not in variants or not variants[sku].published:
        raise UnknownSku(sku=sku)
    available = _available(sku)
    _check_stock(sku, in_cart + quantity, available)
    prospective = state.with_quantity(sku, in_cart + quantity)
    view = selectors.priced(prospective, variants)
    if sku not in {line.sku for line in view.lines if line.purchasable}:
        raise UnknownSku(sku=sku)  # the catalogue has it, but it has no price in the cart's currency

    def write(current: CartState) -> LineWrite:
        existing = current.line_for(sku)
        total = (existing.quantity if existing else 0) + quantity
        if total > conf.max_line_quantity:
            raise QuantityTooLarge(max_quantity=conf.max_line_quantity, in_cart=total - quantity)
        if existing is None and len(current.lines) >= conf.max_lines:
            raise CartFull(max_lines=conf.max_lines)
        _check_stock(sku, total, available)
        return LineWrite(line=existing, sku=sku, quantity=total)

    return commit(state, Change(line=write), view)


def _line_id(line_id: object) -> int:
    if isinstance(line_id, str) and line_id.isascii() and line_id.isdigit() and len(line_id) < 19:
        line_id = int(line_id)
    if isinstance(line_id, bool) or not isinstance(line_id, int) or not 0 < line_id < 2**63:
        raise LineNotFound()
    return line_id


def set_line_quantity(*, cart_id: object, customer_id: int | None, line_id: object, quantity: object) -> domain.Cart:
    """Set a line's quantity (0 removes the line). Raising it is checked against availability."""
    quantity = _clean_quantity(quantity, minimum=0)
    line_id = _line_id(line_id)
    state = selectors.cart_for(cart_id, customer_id)
    ensure_open(state)
    line = state.line_by_id(line_id)
    if line is None:
        raise LineNotFound()
    available = None
    if quantity > line.quantity:
        available = _available(line.sku)
        _check_stock(line.sku, quantity, available)
    view = selectors.priced(state.with_quantity(line.sku, quantity))

    def write(current: CartState) -> LineWrite:
        existing = current.line_by_id(line_id)
        if existing is None:
            raise LineNotFound()
        if available is not None:
            _check_stock(existing.sku, quantity, available)
        return LineWrite(line=existing, sku=existing.sku, quantity=quantity)

    return commit(state, Change(line=write), view)


def remove_line(*, cart_id: object, customer_id: int | None, line_id: object) -> domain.Cart:
    """Remove a line."""
    line_id = _line_id(line_id)
    state = selectors.cart_for(cart_id, customer_id)
    ensure_open(state)
    line = state.line_by_id(line_id)
    if line is None:
        raise LineNotFound()
    view = selectors.priced(state.with_quantity(line.sku, 0))

    def write(current: CartState) -> LineWrite:
        existing = current.line_by_id(line_id)
        if existing is None:
            raise LineNotFound()
        return LineWrite(line=existing, sku=existing.sku, quantity=0)

    return commit(state, Change(line=write), view)

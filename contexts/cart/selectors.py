"""Reads inside the cart context, and the priced view of a cart (quoted by pricing, named by the catalogue).

Nothing here holds a transaction or a lock while it asks another context.
"""

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from uuid import UUID

from django.db import connections
from django.db.models import QuerySet

from commerce.database import database_for, select_rows
from contexts.cart import domain
from contexts.cart.exceptions import CartNotFound
from contexts.cart.models import Cart, CartLine, CartStatus
from contexts.catalogue import api as catalogue_api
from contexts.pricing import api as pricing_api

ZERO = Decimal("0")


@dataclass(frozen=True, slots=True, kw_only=True)
class LineState:
    id: int | None  # None for a line about to be created
    sku: str
    quantity: int


@dataclass(frozen=True, slots=True, kw_only=True)
class CartState:
    """A cart as stored, at one ``version``: what a write is judged against and what gets priced."""

    id: UUID
    customer_id: int | None
    status: str
    currency: str
    version: int
    lines: tuple[LineState, ...]
    voucher_codes: tuple[str, ...]
    country: str | None
    shipping_method: str | None
    order_id: UUID | None
    merged_into: UUID | None
    created_at: datetime
    checkout_order_id: UUID | None = None  # the checkout holding the cart
    updated_at: datetime

    def line_for(self, sku: str) -> LineState | None:
        return next((line for line in self.lines if line.sku == sku), None)

    def line_by_id(self, line_id: int) -> LineState | None:
        return next((line for line in self.lines if line.id == line_id), None)

    def with_quantity(self, sku: str, quantity: int) -> "CartState":
        """This cart with ``sku`` at ``quantity`` (0 drops the line; a new SKU is appended)."""
        lines = []
        found = False
        for line in self.lines:
            if line.sku == sku:
                found = True
                if quantity > 0:
                    lines.append(replace(line, quantity=quantity))
            else:
                lines.append(line)
        if not found and quantity > 0:
            lines.append(LineState(id=None, sku=sku, quantity=quantity))
        return replace(self, lines=tuple(lines))


def state_of(cart: Cart, lines: list[CartLine] | None = None) -> CartState:
    rows = lines if lines is not None else list(cart.lines.all())
    return _state(cart, tuple(LineState(id=line.pk, sku=line.sku, quantity=line.quantity) for line in rows))


def _state(cart: Cart, lines: tuple[LineState, ...]) -> CartState:
    return CartState(
        id=cart.id,
        customer_id=cart.customer_id,
        status=cart.status,
        currency=cart.currency,
        version=cart.version,
        lines=lines,
        voucher_codes=tuple(cart.voucher_codes or ()),
        country=cart.country,
        shipping_method=cart.shipping_method,
        order_id=cart.order_id,
        merged_into=cart.merged_into,
        checkout_order_id=cart.checkout_order_id,
        created_at=cart.created_at,
        updated_at=cart.updated_at,
    )


def carts() -> QuerySet[Cart]:
    return Cart.objects.using(database_for("cart"))


def cart_lines() -> QuerySet[CartLine]:
    return CartLine.objects.using(database_for("cart"))


# The cart and its lines in one query: one row per line (the cart's columns repeated), or one row
# with NULL line columns for an empty cart.
_CART_WITH_LINES = """
    SELECT {cart_columns}, line.id AS line_id, line.sku AS line_sku, line.quantity AS line_quantity
    FROM {cart_table} cart LEFT JOIN {line_table} line ON line.cart_id = cart.id
    WHERE {where} ORDER BY line.id"""


def _cart_with_lines(where: str, params: list[object]) -> CartState | None:
    """The cart matching ``where`` (on ``cart.``'s columns) and its lines, in one query, or None."""
    alias = database_for("cart")
    quote = connections[alias].ops.quote_name
    fields = Cart._meta.concrete_fields
    sql = _CART_WITH_LINES.format(
        cart_columns=", ".join(f"cart.{quote(field.column)}" for field in fields),
        cart_table=quote(Cart._meta.db_table),
        line_table=quote(CartLine._meta.db_table),
        where=where,
    )
    # A plain cursor (the cart's columns converted as the ORM would): cheaper than a RawQuerySet's
    # column mapping, on every cart request.
    rows = select_rows(sql, params, using=alias, fields=fields)
    if not rows:
        return None
    n = len(fields)
    cart = Cart.from_db(alias, [field.attname for field in fields], rows[0][:n])
    lines = tuple(LineState(id=row[n], sku=row[n + 1], quantity=row[n + 2]) for row in rows if row[n] is not None)
    return _state(cart, lines)


def state_from_rows(rows: list[Cart]) -> CartState | None:
    """The cart of rows carrying its columns and ``line_id``, ``line_sku``, ``line_quantity`` (one row
    per line, or one row with NULL line columns for an empty cart), or None when there is no row."""
    if not rows:
        return None
    lines = [
        LineState(id=row.line_id, sku=row.line_sku, quantity=row.line_quantity)
        for row in rows
        if row.line_id is not None
    ]
    return _state(rows[0], tuple(lines))


def load_cart(cart_id: object) -> CartState | None:
    """The stored cart and its lines (one query), or None."""
    parsed = domain.parse_cart_id(cart_id)
    if parsed is None:
        return None
    connection = connections[database_for("cart")]
    return _cart_with_lines("cart.id = %s", [Cart._meta.pk.get_db_prep_value(parsed, connection)])


def visible_to(state: CartState | None, customer_id: int | None) -> bool:
    """A customer's cart is reachable by that customer only; an anonymous cart by anyone holding its id.
    A cart merged into another one is gone for everyone."""
    if state is None or state.status == CartStatus.MERGED:
        return False
    return state.customer_id is None or state.customer_id == customer_id


def cart_for(cart_id: object, customer_id: int | None) -> CartState:
    """The caller's view of a cart.

    :raises CartNotFound: unknown, malformed, merged away, or another customer's cart.
    """
    state = load_cart(cart_id)
    if not visible_to(state, customer_id):
        raise CartNotFound()
    return state  # type: ignore[return-value]


def open_cart_of(customer_id: int) -> CartState | None:
    """The customer's open cart and its lines (one query), or None."""
    return _cart_with_lines("cart.customer_id = %s AND cart.status = %s", [customer_id, CartStatus.OPEN.value])


# --- The priced view -----------------------------------------------------------------------------


def _quote(
    state: CartState, lines: list[LineState], variants: Mapping[str, catalogue_api.VariantInfo]
) -> pricing_api.Quote:
    return pricing_api.quote(
        lines=[
            pricing_api.QuoteLineRequest(
                sku=line.sku,
                quantity=line.quantity,
                category_ids=variants[line.sku].category_ids if line.sku in variants else (),
            )
            for line in lines
        ],
        currency=state.currency,
        voucher_codes=state.voucher_codes,
        customer_id=state.customer_id,
        country=state.country,
        shipping_method=state.shipping_method if state.country else None,
    )


def quote_state(
    state: CartState, variants: Mapping[str, catalogue_api.VariantInfo]
) -> tuple[pricing_api.Quote | None, frozenset[str], bool]:
    """Pricing's quote of the cart, the SKUs it could not price (left out of the quote), and whether
    the chosen shipping method still serves the cart's country.

    A SKU whose price was removed after it went into the cart, or a shipping method switched off
    since it was chosen, does not break the cart: the line is shown as not purchasable, the method
    as unavailable, and the rest is priced.
    """
    lines = list(state.lines)
    unpriced: set[str] = set()
    shipping_ok = True
    while True:
        try:
            return _quote(state, lines, variants), frozenset(unpriced), shipping_ok
        except pricing_api.UnknownSku as error:
            missing = (set(error.skus) & {line.sku for line in lines}) or {line.sku for line in lines}
            unpriced |= missing
            lines = [line for line in lines if line.sku not in missing]
            if not lines:
                return None, frozenset(unpriced), shipping_ok
        except pricing_api.ShippingUnavailable:
            if not state.shipping_method:
                raise
            shipping_ok = False
            state = replace(state, shipping_method=None)


def priced(state: CartState, variants: Mapping[str, catalogue_api.VariantInfo] | None = None) -> domain.Cart:
    """The cart as a customer sees it: every figure from one pricing quote, every name from the catalogue.

    A fixed number of queries whatever the number of lines: one for the names, those of one quote.
    """
    if variants is None:
        variants = catalogue_api.get_variants(skus=[line.sku for line in state.lines]) if state.lines else {}
    quote, unpriced, shipping_ok = quote_state(state, variants) if state.lines else (None, frozenset(), True)
    quoted = {line.sku: line for line in quote.lines} if quote else {}
    lines = []
    for line in state.lines:
        variant = variants.get(line.sku)
        q = quoted.get(line.sku)
        lines.append(
            domain.CartLine(
                id=line.id or 0,
                sku=line.sku,
                name=domain.display_name(variant.product_name, variant.variant_name) if variant else line.sku,
                product_slug=variant.product_slug if variant else None,
                quantity=line.quantity,
                unit_price=q.unit_price if q else ZERO,
                base_unit_price=q.base_unit_price if q else ZERO,
                subtotal=q.subtotal if q else ZERO,
                discount=q.discount if q else ZERO,
                line_total=q.total if q else ZERO,
                tax_rate=q.tax_rate if q else None,
                tax=q.tax if q else ZERO,
                purchasable=bool(q and variant and variant.published and line.sku not in unpriced),
            )
        )
    refused = (
        tuple(domain.RefusedVoucher(code=r.code, reason=r.reason, detail=r.detail) for r in quote.refused_vouchers)
        if quote
        else ()
    )
    return domain.Cart(
        id=state.id,
        customer_id=state.customer_id,
        status=state.status,
        currency=state.currency,
        lines=tuple(lines),
        vouchers=state.voucher_codes,
        refused_vouchers=refused,
        country=state.country,
        shipping_method=state.shipping_method,
        shipping_available=shipping_ok,
        subtotal=quote.subtotal if quote else ZERO,
        discount_total=quote.discount_total if quote else ZERO,
        shipping_total=quote.shipping_total if quote else ZERO,
        tax_total=quote.tax_total if quote else ZERO,
        prices_include_tax=quote.prices_include_tax if quote else True,
        total=quote.total if quote else ZERO,
        item_count=sum(line.quantity for line in state.lines),
        order_id=state.order_id,
        created_at=state.created_at,
        updated_at=state.updated_at,
    )


def checkout_view(state: CartState) -> domain.CheckoutCart:
    return domain.CheckoutCart(
        id=state.id,
        customer_id=state.customer_id,
        status=state.status,
        currency=state.currency,
        lines=tuple(domain.CheckoutLine(sku=line.sku, quantity=line.quantity) for line in state.lines),
        voucher_codes=state.voucher_codes,
        country=state.country,
        shipping_method=state.shipping_method,
        order_id=state.order_id,
        checkout_order_id=state.checkout_order_id,
        version=state.version,
    )

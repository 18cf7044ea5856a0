"""The published interface of the cart context: baskets, lines and applied vouchers, for anonymous and signed-in customers.

Other contexts import this module and ``events`` and nothing else of this context.

A cart is identified by its UUID, which is a bearer secret for an anonymous cart (``customer_id``
None): anyone holding it may use the cart. A cart opened by a signed-in customer belongs to them and
is ``CartNotFound`` for everyone else. ``customer_id`` below is always the caller (None when
anonymous). The cart holds SKUs, quantities, voucher codes and the delivery choice; every figure of a
``Cart`` is pricing's quote at the moment it is read, every name the catalogue's.
"""

from typing import Any
from uuid import UUID

from commerce import metrics
from contexts.cart import selectors, services
from contexts.cart.domain import (
    Cart,
    CartLine,
    CheckoutCart,
    CheckoutLine,
    OpenedCart,
    RefusedVoucher,
    ShippingOption,
)
from contexts.cart.exceptions import (
    CartChanged,
    CartClosed,
    CartError,
    CartFull,
    CartNotAnonymous,
    CartNotFound,
    CheckoutInProgress,
    CountryRequired,
    InsufficientStock,
    InvalidCartInput,
    LineNotFound,
    QuantityTooLarge,
    ShippingUnavailable,
    UnknownSku,
    VoucherInvalid,
)

UNSET: Any = services.UNSET
"""Default of ``set_delivery``'s arguments: leave that choice as it is (None clears it)."""

__all__ = [
    "UNSET",
    "Cart",
    "CartChanged",
    "CartClosed",
    "CartError",
    "CartFull",
    "CartLine",
    "CartNotAnonymous",
    "CartNotFound",
    "CheckoutCart",
    "CheckoutInProgress",
    "CheckoutLine",
    "CountryRequired",
    "InsufficientStock",
    "InvalidCartInput",
    "LineNotFound",
    "OpenedCart",
    "QuantityTooLarge",
    "RefusedVoucher",
    "ShippingOption",
    "ShippingUnavailable",
    "UnknownSku",
    "VoucherInvalid",
    "add_line",
    "add_voucher",
    "assign_cart",
    "close_cart",
    "create_cart",
    "discard_customer_carts",
    "get_cart",
    "get_cart_for_checkout",
    "list_shipping_methods",
    "remove_line",
    "remove_voucher",
    "set_delivery",
    "set_line_quantity",
]


# --- For checkout (orders) and account erasure (identity) ----------------------------------------


def get_cart_for_checkout(*, cart_id: UUID, customer_id: int | None) -> CheckoutCart:
    """The cart's lines, vouchers and delivery choice, for ``customer_id`` (None: a guest), open or
    already checked out (``status``, ``order_id``) so a retried checkout can tell. No figures: checkout
    quotes them itself.

    :raises CartNotFound: unknown or malformed id, or another customer's cart (an anonymous cart is
        reachable by anyone holding its id).
    """
    return selectors.checkout_view(services.checkout_cart(cart_id=cart_id, customer_id=customer_id))


def close_cart(*, cart_id: UUID, order_id: UUID) -> CheckoutCart:
    """Mark the cart checked out by ``order_id``; from then on it refuses changes (``CartClosed``).

    Idempotent: closing again with the same ``order_id`` returns the same closed cart.

    :raises CartNotFound: no such cart.
    :raises CartClosed: the cart was already checked out by another order (409 ``cart_closed``).
    :raises InvalidCartInput: ``order_id`` is not a UUID.
    """
    closed = selectors.checkout_view(services.close_cart(cart_id=cart_id, order_id=order_id))
    metrics.cart_operation("close")
    return closed


def claim_cart_for_checkout(*, cart_id: UUID, order_id: UUID, version: int | None = None) -> CheckoutCart:
    """Hold the open cart for ``order_id``'s checkout, before any stock or money moves: until it is
    closed or released, the cart refuses changes and other checkouts (409 ``checkout_in_progress``).

    Idempotent for the same ``order_id`` (a conditional update: of two checkouts at once, one wins).
    With ``version`` (the cart's as the order was priced from it), a cart changed since is refused:
    the change would otherwise be accepted and missing from the order.

    :raises CartNotFound: no such cart.
    :raises CheckoutInProgress: another order's checkout holds the cart.
    :raises CartClosed: the cart was checked out by another order.
    :raises CartChanged: ``version`` given and the cart changed since (409 ``cart_changed``).
    :raises InvalidCartInput: ``order_id`` is not a UUID.
    """
    return selectors.checkout_view(services.claim_for_checkout(cart_id=cart_id, order_id=order_id, version=version))


def release_cart_claim(*, cart_id: UUID, order_id: UUID) -> None:
    """Let go of the cart held for ``order_id`` (its checkout failed): it can change and be checked
    out again. Idempotent; does nothing when another order holds the cart or it is closed.

    :raises InvalidCartInput: ``order_id`` is not a UUID.
    """
    services.release_checkout_claim(cart_id=cart_id, order_id=order_id)


def discard_customer_carts(*, customer_id: int) -> int:
    """Delete every cart of ``customer_id`` (account erasure); returns how many. Idempotent.

    :raises InvalidCartInput: ``customer_id`` is not a whole number.
    """
    return services.discard_customer_carts(customer_id=customer_id)


# --- For the storefront (the REST layer) ----------------------------------------------------------


def create_cart(*, customer_id: int | None, currency: str | None = None) -> OpenedCart:
    """Open a cart in ``currency`` (the shop's default when None). A customer who already has an open
    cart gets it back (``created`` False): a customer has at most one open cart.

    :raises InvalidCartInput: a currency the shop does not sell in.
    """
    state, created = services.create_cart(customer_id=customer_id, currency=currency)
    if created:
        metrics.cart_operation("create")
    return OpenedCart(cart=selectors.priced(state), created=created)


def get_cart(*, cart_id: UUID | str, customer_id: int | None) -> Cart:
    """The cart priced now. A fixed number of queries whatever its size.

    :raises CartNotFound: unknown, malformed, or another customer's cart.
    """
    return selectors.priced(selectors.cart_for(cart_id, customer_id))


def add_line(*, cart_id: UUID | str, customer_id: int | None, sku: str, quantity: int) -> Cart:
    """Put ``quantity`` units of ``sku`` in the cart; a SKU already there adds to its line.

    Never more than is available now (checkout re-checks and reserves); parallel adds lose nothing.

    :raises CartNotFound:
    :raises CartClosed: checked out.
    :raises InvalidCartInput: quantity not a whole number from 1 (``QuantityTooLarge`` above
        ``CART_MAX_LINE_QUANTITY``, counting what the line holds); SKU not a text.
    :raises CartFull: a new line beyond ``CART_MAX_LINES``.
    :raises UnknownSku: not in the catalogue, not published, or not priced in the cart's currency.
    :raises InsufficientStock: more than is available (``available``).
    """
    cart = services.add_line(cart_id=cart_id, customer_id=customer_id, sku=sku, quantity=quantity)
    metrics.cart_operation("add_line")
    return cart


def set_line_quantity(*, cart_id: UUID | str, customer_id: int | None, line_id: int, quantity: int) -> Cart:
    """Set a line's quantity; 0 removes it. Raising it is checked against availability.

    :raises CartNotFound, LineNotFound, CartClosed, InvalidCartInput, QuantityTooLarge, InsufficientStock:
    """
    cart = services.set_line_quantity(cart_id=cart_id, customer_id=customer_id, line_id=line_id, quantity=quantity)
    metrics.cart_operation("set_line_quantity")
    return cart


def remove_line(*, cart_id: UUID | str, customer_id: int | None, line_id: int) -> Cart:
    """Remove a line.

    :raises CartNotFound, LineNotFound, CartClosed:
    """
    cart = services.remove_line(cart_id=cart_id, customer_id=customer_id, line_id=line_id)
    metrics.cart_operation("remove_line")
    return cart


def add_voucher(*, cart_id: UUID | str, customer_id: int | None, code: str) -> Cart:
    """Apply a voucher code (case-insensitive) when pricing would apply it to this cart now; applying
    one already in the cart changes nothing. A voucher kept in the cart that stops applying (the cart
    fell below its minimum spend) is listed in ``refused_vouchers``.

    :raises VoucherInvalid: ``reason`` unknown / expired / exhausted / not_applicable / min_spend.
    :raises InvalidCartInput: not a text, or longer than 64 characters.
    :raises CartNotFound, CartClosed:
    """
    cart = services.add_voucher(cart_id=cart_id, customer_id=customer_id, code=code)
    metrics.cart_operation("add_voucher")
    return cart


def remove_voucher(*, cart_id: UUID | str, customer_id: int | None, code: str) -> Cart:
    """Take a voucher code out of the cart; one that is not there changes nothing.

    :raises CartNotFound, CartClosed:
    """
    cart = services.remove_voucher(cart_id=cart_id, customer_id=customer_id, code=code)
    metrics.cart_operation("remove_voucher")
    return cart


def assign_cart(*, cart_id: UUID | str, customer_id: int) -> Cart:
    """Give the anonymous cart to the signed-in customer: it becomes theirs, or is merged into their
    open cart (quantities add up, capped at the per-line maximum; its vouchers carried over when still
    valid; its delivery choice wins) and that cart is returned. A retry returns the same cart.

    :raises CartNotFound: unknown, or another customer's cart.
    :raises CartNotAnonymous: the cart already belongs to the caller.
    :raises CartClosed: the anonymous cart was checked out.
    """
    cart = selectors.priced(services.assign_cart(cart_id=cart_id, customer_id=customer_id))
    metrics.cart_operation("assign")
    return cart


def set_delivery(
    *, cart_id: UUID | str, customer_id: int | None, country: str | None = UNSET, shipping_method: str | None = UNSET
) -> Cart:
    """Choose the destination country (ISO 3166-1 alpha-2) and/or the shipping method; None clears a
    choice, an argument left out keeps it. Shipping and tax are then worked out by pricing for that
    country. Changing only the country drops a method that does not deliver there.

    :raises InvalidCartInput: an unknown country (``errors.country``) or a malformed method.
    :raises CountryRequired: a method chosen while the cart has no country (409).
    :raises ShippingUnavailable: the method is unknown or does not deliver to the country (409).
    :raises CartNotFound, CartClosed:
    """
    cart = services.set_delivery(
        cart_id=cart_id, customer_id=customer_id, country=country, shipping_method=shipping_method
    )
    metrics.cart_operation("set_delivery")
    return cart


def list_shipping_methods(
    *, cart_id: UUID | str, customer_id: int | None, country: str | None = None
) -> tuple[ShippingOption, ...]:
    """The methods that deliver to ``country`` (the cart's when None), priced for this cart (its
    discounted subtotal, free-shipping thresholds applied), cheapest first.

    :raises CountryRequired: no country given and none chosen on the cart.
    :raises InvalidCartInput: an unknown country.
    :raises CartNotFound:
    """
    return services.shipping_options(cart_id=cart_id, customer_id=customer_id, country=country)

"""Checkout: turn a cart into a pending order priced by pricing's quote, then run the saga.

Everything that can be refused without side effects is refused before the order exists (an empty
cart, no shipping method, a method that does not serve the country, a voucher that stopped being
valid): such a request leaves nothing behind. From the moment the order exists, every outcome is an
order: ``confirmed``, or ``failed`` with every step compensated.
"""

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from decimal import Decimal
from uuid import UUID

from django.db import IntegrityError
from django.utils import timezone

from commerce import metrics
from commerce.database import atomic_in
from commerce.errors import DomainError
from contexts.cart import api as cart_api
from contexts.catalogue import api as catalogue_api
from contexts.orders.domain import Address, OrderStatus
from contexts.orders.exceptions import (
    AccountClosed,
    CartAlreadyCheckedOut,
    CartEmpty,
    CheckoutInProgress,
    CheckoutInterrupted,
    CheckoutStalled,
    CheckoutVoucherInvalid,
    InvalidOrderInput,
    RequestInProgress,
    ShippingMethodRequired,
)
from contexts.orders.models import CheckoutSaga, Order, OrderLine, OrderStatusChange, Payment
from contexts.orders.services import _saga
from contexts.orders.services import gateway as gateways
from contexts.orders.services._checkout_steps import InFlight
from contexts.orders.services._orders import db, lock_customer
from contexts.pricing import api as pricing_api


@dataclass(frozen=True, slots=True, kw_only=True)
class CheckoutRequest:
    cart_id: UUID
    customer_id: int | None
    email: str | None
    shipping_address: Address | None
    shipping_method: str | None
    payment_token: str
    # The Idempotency-Key claim this checkout runs under (``commerce.idempotency``): its order is
    # found by it, so a retry under the same claim heals that order, and a key used again after its
    # record was pruned (a new claim) starts a new checkout instead of answering the old order.
    idempotency_claim: UUID
    address_id: int | None = None
    # False when the claim is new (``Claim.taken_over``): no order can exist under it yet, so none is
    # looked for. True (the safe default) looks for the order an earlier request made under it.
    claim_taken_over: bool = True


@dataclass(frozen=True, slots=True)
class PlacedOrder:
    """A confirmed order: as this request's run wrote it (``written``: answered without reading it
    back), or only its id when another run confirmed it (a retry healing it): then it is read."""

    id: UUID
    written: InFlight | None = None


AddressBook = Callable[[int, int], Address | None]
_address_book: list[AddressBook] = []


def register_address_book(resolver: AddressBook) -> None:
    """``resolver(customer_id, address_id)``: that customer's saved address, or ``None``. Lent by
    identity (see ``contexts/wiring.py``)."""
    _address_book[:] = [resolver]


def _shipping_address(request: CheckoutRequest) -> Address:
    if request.address_id is None:
        if request.shipping_address is None:
            raise InvalidOrderInput(errors={"shipping_address": ["This field is required."]})
        return request.shipping_address
    if request.shipping_address is not None:
        raise InvalidOrderInput(errors={"address_id": ["Give shipping_address or address_id, not both."]})
    if request.customer_id is None:
        raise InvalidOrderInput(errors={"address_id": ["Sign in to use a saved address."]})
    found = _address_book[0](request.customer_id, request.address_id) if _address_book else None
    if found is None:
        raise InvalidOrderInput(errors={"address_id": ["You have no saved address with this id."]})
    return found


def checkout_key(claim: UUID) -> str:
    return f"claim:{claim}"


def checkout(request: CheckoutRequest) -> UUID:
    """Place an order from the cart; returns the confirmed order's id (see ``place_order``)."""
    return place_order(request).id


def place_order(request: CheckoutRequest) -> PlacedOrder:
    """Place an order from the cart; returns the confirmed order.

    A retry of a request whose process died (the same Idempotency-Key claim) finds the order it
    created and heals its saga instead of starting another.

    :raises CartNotFound: (cart's) unknown cart or another customer's.
    :raises CartAlreadyCheckedOut: the cart was checked out by another order.
    :raises CartEmpty, ShippingMethodRequired, InvalidOrderInput:
    :raises UnknownCountry, ShippingUnavailable, UnknownSku: (pricing's) as the quote refuses.
    :raises CheckoutVoucherInvalid: a voucher stopped being valid.
    :raises CheckoutFailed: (and its kinds: insufficient_stock, payment_declined, payment_error, …)
        the order exists and ended ``failed``: no stock held, no voucher used, no money taken.
    """
    key = checkout_key(request.idempotency_claim)
    if request.claim_taken_over:
        existing = Order.objects.using(db()).filter(checkout_key=key).first()
        if existing is not None:
            return _healed(existing.pk)
    try:
        request, cart, quote, variants = _accepted(request)
    except DomainError as refusal:
        metrics.checkout_finished("refused", reason=refusal.code)
        raise
    holder = uuid.uuid4().hex
    began, leased_at = timezone.now(), time.monotonic()
    with metrics.saga_step("create_order"):
        created = _create_order(request, cart, quote, variants, key, holder)
    if not isinstance(created, InFlight):  # a retry racing the first request: that one's order
        return _healed(created)
    _saga.checkpoint(created.order.pk, "create_order")
    return _ran(created, _saga.start(created, holder=holder, leased_at=leased_at, created_at=began))


# The shop's own failures among the 4xx answers of a checkout: the saga was interrupted (a crash, a lost
# lease) and undone, or this request's own run left it pending (``CheckoutStalled``: 409 request_in_progress). Every other 4xx is the customer's own answer (a declined card, an empty cart, stock
# sold out, an invalid request), which the checkout objective leaves out (docs/slo.md).
SHOP_FAILURE_CODES = frozenset({CheckoutInterrupted.code})


def whose_failure(error: BaseException) -> str:
    """``error`` (the shop's) for a 5xx, an unexpected exception, an interrupted saga or one this request
    left pending; ``refused`` (the customer's own) for any other refusal, and a checkout still running
    elsewhere (``RequestInProgress``: nobody failed)."""
    status = getattr(error, "http_status", None) or getattr(error, "status_code", None) or 500  # DRF's errors
    if status >= 500 or getattr(error, "code", "") in SHOP_FAILURE_CODES or getattr(error, "shops_failure", False):
        return "error"
    return "refused"


def checkout_result(status: int, code: str, error: BaseException | None) -> str:
    """What the checkout objective counts a checkout request's answer as (docs/slo.md): the error it was
    raised with says whose failure it was; an answer without one (a refusal the Idempotency-Key store
    kept, a replay) goes by its status and error code."""
    if error is not None:
        return whose_failure(error)
    if status < 400:
        return "placed"
    if status >= 500 or code in SHOP_FAILURE_CODES:
        return "error"
    return "refused"


def _accepted(request: CheckoutRequest) -> tuple[CheckoutRequest, object, object, dict]:
    """What can be refused with no side effects, refused; otherwise the request with its address, the
    cart, pricing's quote and the catalogue's variants the order is made of."""
    if not gateways.gateway().validate_token(request.payment_token):
        raise InvalidOrderInput(errors={"payment": ["Unknown payment token."]})
    cart = cart_api.get_cart_for_checkout(cart_id=request.cart_id, customer_id=request.customer_id)
    # the cart first: a request for a cart that is not the caller's is a 404 whatever else it says
    if not request.email:
        raise InvalidOrderInput(errors={"email": ["A guest checkout needs an email address."]})
    address = _shipping_address(request)
    request = replace(request, shipping_address=address)
    if cart.status != "open":
        raise CartAlreadyCheckedOut()
    if cart.checkout_order_id is not None:  # the saga's claim decides; this spares an order in the common case
        raise CheckoutInProgress()
    if not cart.lines:
        raise CartEmpty()
    method = request.shipping_method or cart.shipping_method
    if not method:
        raise ShippingMethodRequired()
    skus = [line.sku for line in cart.lines]
    variants = catalogue_api.get_variants(skus=skus)
    quote = pricing_api.quote(
        lines=[
            pricing_api.QuoteLineRequest(
                sku=line.sku,
                quantity=line.quantity,
                category_ids=tuple(variants[line.sku].category_ids) if line.sku in variants else (),
            )
            for line in cart.lines
        ],
        currency=cart.currency,
        voucher_codes=cart.voucher_codes,
        customer_id=request.customer_id,
        country=request.shipping_address.country,
        shipping_method=method,
    )
    if quote.refused_vouchers:
        refused = quote.refused_vouchers[0]
        raise CheckoutVoucherInvalid(refused.detail, reason=refused.reason, voucher_code=refused.code)
    return request, cart, quote, variants


def _name(variants: dict, sku: str) -> str:
    variant = variants.get(sku)
    if variant is None:
        return sku
    return f"{variant.product_name} — {variant.variant_name}" if variant.variant_name else variant.product_name


def _create_order(request: CheckoutRequest, cart, quote, variants: dict, key: str, holder: str) -> InFlight | UUID:
    """The order, its lines, payment, first history entry and saga row (its lease held by ``holder``)
    in one transaction; the id of the order already made under ``key`` if a retry raced this one."""
    address = request.shipping_address
    try:
        with atomic_in("orders"):
            if request.customer_id is not None and lock_customer(request.customer_id).erased_at is not None:
                raise AccountClosed()  # closed while this request was on its way
            order = Order.objects.using(db()).create(
                status=OrderStatus.PENDING,
                customer_id=request.customer_id,
                cart_id=cart.id,
                cart_version=cart.version,
                checkout_key=key,
                email=request.email,
                currency=quote.currency,
                subtotal=quote.subtotal,
                discount_total=quote.discount_total,
                shipping_method=quote.shipping_method or "",
                shipping_total=quote.shipping_total,
                shipping_tax=quote.shipping_tax,
                tax_total=quote.tax_total,
                total=quote.total,
                prices_include_tax=quote.prices_include_tax,
                vouchers=[{"code": voucher.code, "amount": str(voucher.amount)} for voucher in quote.vouchers],
                ship_full_name=address.full_name,
                ship_line1=address.line1,
                ship_line2=address.line2,
                ship_city=address.city,
                ship_postal_code=address.postal_code,
                ship_country=quote.country or address.country,
                ship_phone=address.phone,
                payment_token=request.payment_token,
            )
            lines = OrderLine.objects.using(db()).bulk_create(
                OrderLine(
                    order=order,
                    position=position,
                    sku=line.sku,
                    name=_name(variants, line.sku)[:300],
                    quantity=line.quantity,
                    unit_price=line.unit_price,
                    discount=line.discount,
                    tax_rate=line.tax_rate,
                    tax=line.tax,
                    line_total=line.total,
                )
                for position, line in enumerate(quote.lines)
            )
            payment = Payment.objects.using(db()).create(
                order=order,
                gateway=gateways.gateway().name,
                idempotency_key=f"order:{order.pk}",
                amount=quote.total,
                currency=quote.currency,
                captured=Decimal("0.00"),  # as the database gives them back: the answer is built from these
                refunded=Decimal("0.00"),
            )
            entry = OrderStatusChange.objects.using(db()).create(
                order=order, to_status=OrderStatus.PENDING, actor="checkout"
            )
            CheckoutSaga.objects.using(db()).create(order=order, position="create_order", **_saga.new_lease(holder))
    except IntegrityError:
        # the same caller's same key created its order a moment ago (a retry racing the first)
        existing = Order.objects.using(db()).filter(checkout_key=key).first()
        if existing is None:
            raise
        return existing.pk
    return InFlight(order=order, lines=list(lines), payment=payment, history=[entry])


def _ran(run: InFlight, outcome) -> PlacedOrder:
    """The answer of the run this request made: the order as written when confirmed; the failure
    its saga recorded when compensated; pending when it lost its lease or stopped after the point of
    no return (a step must be retried)."""
    confirmed_here = bool(run.history) and run.history[-1].to_status == OrderStatus.CONFIRMED
    if outcome is not None and outcome.state == "completed" and confirmed_here:
        return PlacedOrder(id=run.order.pk, written=run)
    if outcome is not None and outcome.state == "compensated":
        raise _saga.failure_of_run(run)
    return _answer(run.order.pk, ran=True)


def _healed(order_id: UUID) -> PlacedOrder:
    ran = _saga.heal(order_id)  # False: another runner (the first request, the recovery job) holds it
    return _answer(order_id, ran=ran)


def _answer(order_id: UUID, *, ran: bool) -> PlacedOrder:
    order = Order.objects.using(db()).get(pk=order_id)
    if order.status == OrderStatus.FAILED:
        raise _saga.failure_of(order)
    if order.status == OrderStatus.PENDING:  # another runner holds the saga, or a step must be retried
        raise (CheckoutStalled if ran else RequestInProgress)(retry_after=_saga.lease_seconds())
    return PlacedOrder(id=order.pk)

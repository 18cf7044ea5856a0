"""The checkout saga's steps and compensations, each a local transaction in the context that owns
it, idempotent by the order id; ``_saga.CHECKOUT`` puts them side by side in one table.

A step that cannot be done raises the runner's ``StepFailed`` with the error the customer is given.
"""

from dataclasses import asdict, dataclass, field
from decimal import Decimal

from django.utils import timezone

from commerce import metrics
from commerce.database import atomic_in
from commerce.eventbus import publish
from contexts.cart import api as cart_api
from contexts.inventory import api as inventory_api
from contexts.orders import domain, events
from contexts.orders.domain import OrderStatus
from contexts.orders.exceptions import (
    AccountClosed,
    CartAlreadyCheckedOut,
    CheckoutInProgress,
    CheckoutVoucherInvalid,
    InvalidTransition,
    PaymentDeclined,
    PaymentError,
)
from contexts.orders.models import CustomerErasure, Order, OrderLine, OrderStatusChange, Payment, Refund
from contexts.orders.saga_runner import StepFailed
from contexts.orders.services import gateway as gateways
from contexts.orders.services._orders import db, next_order_number
from contexts.pricing import api as pricing_api


@dataclass(slots=True, kw_only=True)
class InFlight:
    """The order a saga run works on, with the rows of it this run wrote or read: no step reads back
    what the order's creation or an earlier step wrote (each read is a round trip, and one over the
    network once a context is lifted out), and the confirmed order is answered from here."""

    order: Order
    lines: list[OrderLine]
    payment: Payment
    history: list[OrderStatusChange] = field(default_factory=list)
    failure: object = None  # the error the saga recorded when it started compensating (a DomainError)

    @classmethod
    def load(cls, order_id) -> "InFlight":
        """An order left behind, read back for a run that did not create it (a retry, the recovery job)."""
        order = Order.objects.using(db()).select_related("payment").get(pk=order_id)
        return cls(
            order=order,
            lines=list(order.lines.all()),
            payment=order.payment,
            history=list(order.history.all()),
        )


def _reference(run: InFlight) -> str:
    return str(run.order.pk)


def reserve_stock(run: InFlight) -> None:
    lines = [inventory_api.ReservationLine(sku=line.sku, quantity=line.quantity) for line in run.lines]
    try:
        inventory_api.reserve_stock(reference=_reference(run), lines=lines)
    except inventory_api.InsufficientStock as exc:
        raise StepFailed(exc) from exc


def redeem_vouchers(run: InFlight) -> None:
    order = run.order
    for voucher in order.vouchers:
        try:
            pricing_api.redeem_voucher(
                code=voucher["code"],
                order_id=order.pk,
                customer_id=order.customer_id,
                amount=Decimal(voucher["amount"]),
                currency=order.currency,
            )
        except pricing_api.VoucherInvalid as exc:
            raise StepFailed(
                CheckoutVoucherInvalid(exc.detail, reason=exc.reason, voucher_code=voucher["code"])
            ) from exc


def _set_payment(payment: Payment, **fields) -> None:
    """Write these fields of the payment row, and keep the run's copy the same."""
    Payment.objects.using(db()).filter(pk=payment.pk).update(**fields)
    for name, value in fields.items():
        setattr(payment, name, value)


def authorize(run: InFlight) -> None:
    """Take the money, unless the customer was erased since the order was created: that order was
    anonymised with their others (no name, address or email left to ship to), so it fails before any
    money moves.

    The charge's id is kept in the run, not written: the capture writes it with its own outcome (one
    write instead of two), and whoever heals the order finds the charge by our key at the gateway."""
    order = run.order
    if order.customer_id is not None and (
        CustomerErasure.objects.using(db()).filter(pk=order.customer_id, erased_at__isnull=False).exists()
    ):
        raise StepFailed(AccountClosed())
    payment = run.payment
    gateway = gateways.gateway()
    try:
        charge = gateway.authorize(
            idempotency_key=payment.idempotency_key,
            token=order.payment_token,
            amount=payment.amount,
            currency=payment.currency,
        )
    except gateways.GatewayDeclined as exc:
        _set_payment(payment, status=Payment.Status.DECLINED)
        raise StepFailed(PaymentDeclined(order_id=order.pk)) from exc
    except gateways.GatewayTimeout:
        charge = gateway.find_charge(idempotency_key=payment.idempotency_key)
        if charge is None or charge.status == "declined":
            _set_payment(payment, status=Payment.Status.FAILED)
            raise StepFailed(PaymentError(order_id=order.pk)) from None
    except gateways.GatewayFailure as exc:
        _set_payment(payment, status=Payment.Status.FAILED)
        raise StepFailed(PaymentError(order_id=order.pk)) from exc
    payment.charge_id = charge.id


def capture(run: InFlight) -> None:
    order, payment = run.order, run.payment
    gateway = gateways.gateway()
    charge_id = payment.charge_id
    if not charge_id:  # authorized by a run that is gone: the gateway knows the charge by our key
        found = gateway.find_charge(idempotency_key=payment.idempotency_key)
        if found is None:
            raise StepFailed(PaymentError(order_id=order.pk))
        charge_id = found.id
    try:
        charge = gateway.capture(charge_id=charge_id, amount=payment.amount)
    except gateways.GatewayTimeout:
        # the answer was lost: the provider's record by our key says whether the money was taken
        charge = gateway.find_charge(idempotency_key=payment.idempotency_key)
        if charge is None or charge.status != "captured":
            raise StepFailed(PaymentError(order_id=order.pk)) from None
    except gateways.GatewayFailure as exc:
        raise StepFailed(PaymentError(order_id=order.pk)) from exc
    _set_payment(payment, status=Payment.Status.CAPTURED, captured=charge.captured, charge_id=charge.id)


def commit_reservation(run: InFlight) -> None:
    try:
        inventory_api.commit_reservation(reference=_reference(run))
    except (
        inventory_api.ReservationExpired,
        inventory_api.ReservationClosed,
        inventory_api.ReservationNotFound,
    ) as exc:
        raise StepFailed(exc) from exc


def claim_cart(run: InFlight) -> None:
    """Hold the cart for this order before any stock or money moves: edits and other checkouts of it
    are refused (``checkout_in_progress``) until it is closed or released."""
    order = run.order
    if order.cart_id is None:
        return
    try:
        cart_api.claim_cart_for_checkout(cart_id=order.cart_id, order_id=order.pk, version=order.cart_version)
    except cart_api.CheckoutInProgress as exc:
        raise StepFailed(CheckoutInProgress()) from exc
    except cart_api.CartChanged as exc:  # changed after it was priced: the order would miss the change
        raise StepFailed(exc) from exc
    except (cart_api.CartClosed, cart_api.CartNotFound) as exc:
        raise StepFailed(CartAlreadyCheckedOut(exc.detail)) from exc


def release_cart(run: InFlight) -> None:
    order = run.order
    if order.cart_id is not None:
        cart_api.release_cart_claim(cart_id=order.cart_id, order_id=order.pk)


def close_cart(run: InFlight) -> None:
    order = run.order
    if order.cart_id is None:
        return
    try:
        cart_api.close_cart(cart_id=order.cart_id, order_id=order.pk)
    except cart_api.CartNotFound:  # erased meanwhile with its customer's account: nothing to close
        return
    except cart_api.CartClosed as exc:  # cannot happen while this order holds the cart's claim
        raise StepFailed(exc) from exc


def confirm(run: InFlight) -> None:
    """The order gets its number here, not when it is created: failed attempts use none.

    One short transaction, no read: the number, a conditional update of the order (pending → confirmed:
    a run that finds it confirmed already changes nothing), its history entry and the event."""
    order = run.order
    now = timezone.now()
    try:
        with atomic_in("orders"):
            number = next_order_number()
            if (
                not Order.objects.using(db())
                .filter(pk=order.pk, status=OrderStatus.PENDING)
                .update(status=OrderStatus.CONFIRMED, number=number, updated_at=now)
            ):
                raise _AlreadyConfirmed  # gives the number back with the rest of the transaction
            entry = OrderStatusChange.objects.using(db()).create(
                order=order, from_status=OrderStatus.PENDING, to_status=OrderStatus.CONFIRMED, actor="checkout"
            )
            order.status, order.number, order.updated_at = OrderStatus.CONFIRMED, number, now
            publish(order_placed(order, run.lines))
    except _AlreadyConfirmed:
        _confirmed_elsewhere(run)
        return
    run.history.append(entry)
    metrics.checkout_finished("placed")  # once: a later run finds it confirmed and returns above


class _AlreadyConfirmed(Exception):
    """The order is not pending any more: another run confirmed it (or it is not ours to confirm)."""


def _confirmed_elsewhere(run: InFlight) -> None:
    row = Order.objects.using(db()).get(pk=run.order.pk)
    if row.status != OrderStatus.CONFIRMED and not domain.can_transition(row.status, OrderStatus.CONFIRMED):
        raise InvalidTransition(f"An order that is {row.status} cannot become {OrderStatus.CONFIRMED}.")
    run.order = row


def order_placed(row: Order, lines: list[OrderLine]) -> events.OrderPlaced:
    return events.OrderPlaced(
        order_id=row.pk,
        number=row.number,
        customer_id=row.customer_id,
        email=row.email,
        currency=row.currency,
        lines=tuple(
            events.OrderLineSnapshot(
                sku=line.sku,
                name=line.name,
                quantity=line.quantity,
                unit_price=line.unit_price,
                discount=line.discount,
                tax_rate=line.tax_rate,
                line_total=line.line_total,
            )
            for line in lines
        ),
        vouchers=tuple(voucher["code"] for voucher in row.vouchers),
        subtotal=row.subtotal,
        discount_total=row.discount_total,
        shipping_method=row.shipping_method,
        shipping_total=row.shipping_total,
        tax_total=row.tax_total,
        total=row.total,
        shipping_address=events.AddressSnapshot(**asdict(row.shipping_address)),
    )


# --- Compensations -------------------------------------------------------------------------------


def give_money_back(run: InFlight) -> None:
    """Void the hold or refund the capture, whatever the shop's own record says: the gateway's
    record (found by our key) is the truth after a lost answer."""
    order, payment = run.order, run.payment
    gateway = gateways.gateway()
    charge = gateway.find_charge(idempotency_key=payment.idempotency_key)
    if charge is None or charge.status in ("declined", "voided"):
        if payment.status in (Payment.Status.PENDING,):
            _set_payment(payment, status=Payment.Status.FAILED)
        return
    if charge.status == "authorized":
        gateway.void(charge_id=charge.id)
        _set_payment(payment, status=Payment.Status.VOIDED, charge_id=charge.id)
        return
    owed = charge.captured - charge.refunded
    key = f"order:{order.pk}:compensation"
    if owed > 0 or Refund.objects.using(db()).filter(idempotency_key=key).exists():
        if owed > 0:
            gateway.refund(idempotency_key=key, charge_id=charge.id, amount=owed)
        with atomic_in("orders"):
            Refund.objects.using(db()).get_or_create(
                idempotency_key=key,
                defaults={"order": order, "amount": owed, "reason": Refund.Reason.COMPENSATION, "completed": True},
            )
            _set_payment(
                payment,
                status=Payment.Status.REFUNDED,
                charge_id=charge.id,
                captured=charge.captured,
                refunded=charge.captured,
            )


def give_voucher_back(run: InFlight) -> None:
    if run.order.vouchers:
        pricing_api.unredeem_voucher(order_id=run.order.pk)


def release_stock(run: InFlight) -> None:
    try:
        inventory_api.release_reservation(reference=_reference(run), reason="checkout failed")
    except inventory_api.ReservationCommitted:
        # committed by a step after which the saga failed (the cart was closed by another order, a
        # step nobody planned for): this order is being failed, never confirmed, so its stock goes back
        inventory_api.cancel_reservation(reference=_reference(run), reason="checkout failed")

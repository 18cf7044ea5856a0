"""The checkout saga's steps and compensations, each a local transaction in the context that owns
it, idempotent by the order id; ``_saga.CHECKOUT`` puts them side by side in one table.

A step that cannot be done raises the runner's ``StepFailed`` with the error the customer is given.
"""

from dataclasses import asdict
from decimal import Decimal

from commerce import metrics
from commerce.database import atomic_in
from commerce.eventbus import publish
from contexts.cart import api as cart_api
from contexts.inventory import api as inventory_api
from contexts.orders import events
from contexts.orders.domain import OrderStatus
from contexts.orders.exceptions import (
    AccountClosed,
    CartAlreadyCheckedOut,
    CheckoutInProgress,
    CheckoutVoucherInvalid,
    PaymentDeclined,
    PaymentError,
)
from contexts.orders.models import CustomerErasure, Order, Payment, Refund
from contexts.orders.saga_runner import StepFailed
from contexts.orders.services import gateway as gateways
from contexts.orders.services._orders import db, next_order_number, transition
from contexts.pricing import api as pricing_api


def _reference(order: Order) -> str:
    return str(order.pk)


def reserve_stock(order: Order) -> None:
    lines = [inventory_api.ReservationLine(sku=line.sku, quantity=line.quantity) for line in order.lines.all()]
    try:
        inventory_api.reserve_stock(reference=_reference(order), lines=lines)
    except inventory_api.InsufficientStock as exc:
        raise StepFailed(exc) from exc


def redeem_vouchers(order: Order) -> None:
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


def payment_of(order: Order) -> Payment:
    return Payment.objects.using(db()).get(order=order)


def authorize(order: Order) -> None:
    """Take the money, unless the customer was erased since the order was created: that order was
    anonymised with their others (no name, address or email left to ship to), so it fails before any
    money moves."""
    if order.customer_id is not None and (
        CustomerErasure.objects.using(db()).filter(pk=order.customer_id, erased_at__isnull=False).exists()
    ):
        raise StepFailed(AccountClosed())
    payment = payment_of(order)
    gateway = gateways.gateway()
    try:
        charge = gateway.authorize(
            idempotency_key=payment.idempotency_key,
            token=order.payment_token,
            amount=payment.amount,
            currency=payment.currency,
        )
    except gateways.GatewayDeclined as exc:
        Payment.objects.using(db()).filter(pk=payment.pk).update(status=Payment.Status.DECLINED)
        raise StepFailed(PaymentDeclined(order_id=order.pk)) from exc
    except gateways.GatewayTimeout:
        charge = gateway.find_charge(idempotency_key=payment.idempotency_key)
        if charge is None or charge.status == "declined":
            Payment.objects.using(db()).filter(pk=payment.pk).update(status=Payment.Status.FAILED)
            raise StepFailed(PaymentError(order_id=order.pk)) from None
    except gateways.GatewayFailure as exc:
        Payment.objects.using(db()).filter(pk=payment.pk).update(status=Payment.Status.FAILED)
        raise StepFailed(PaymentError(order_id=order.pk)) from exc
    Payment.objects.using(db()).filter(pk=payment.pk).update(charge_id=charge.id)


def capture(order: Order) -> None:
    payment = payment_of(order)
    gateway = gateways.gateway()
    try:
        charge = gateway.capture(charge_id=payment.charge_id, amount=payment.amount)
    except gateways.GatewayTimeout:
        # the answer was lost: the provider's record by our key says whether the money was taken
        charge = gateway.find_charge(idempotency_key=payment.idempotency_key)
        if charge is None or charge.status != "captured":
            raise StepFailed(PaymentError(order_id=order.pk)) from None
    except gateways.GatewayFailure as exc:
        raise StepFailed(PaymentError(order_id=order.pk)) from exc
    Payment.objects.using(db()).filter(pk=payment.pk).update(status=Payment.Status.CAPTURED, captured=charge.captured)


def commit_reservation(order: Order) -> None:
    try:
        inventory_api.commit_reservation(reference=_reference(order))
    except (
        inventory_api.ReservationExpired,
        inventory_api.ReservationClosed,
        inventory_api.ReservationNotFound,
    ) as exc:
        raise StepFailed(exc) from exc


def claim_cart(order: Order) -> None:
    """Hold the cart for this order before any stock or money moves: edits and other checkouts of it
    are refused (``checkout_in_progress``) until it is closed or released."""
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


def release_cart(order: Order) -> None:
    if order.cart_id is not None:
        cart_api.release_cart_claim(cart_id=order.cart_id, order_id=order.pk)


def close_cart(order: Order) -> None:
    if order.cart_id is None:
        return
    try:
        cart_api.close_cart(cart_id=order.cart_id, order_id=order.pk)
    except cart_api.CartNotFound:  # erased meanwhile with its customer's account: nothing to close
        return
    except cart_api.CartClosed as exc:  # cannot happen while this order holds the cart's claim
        raise StepFailed(exc) from exc


def confirm(order: Order) -> None:
    """The order gets its number here, not when it is created: failed attempts use none."""
    with atomic_in("orders"):
        row = Order.objects.using(db()).select_for_update().get(pk=order.pk)
        if row.status == OrderStatus.CONFIRMED:
            return
        row.number = next_order_number()
        transition(row, OrderStatus.CONFIRMED, actor="checkout", also_save=("number",))
        publish(order_placed(row))
    metrics.checkout_finished("placed")  # once: a later run finds it confirmed and returns above


def order_placed(row: Order) -> events.OrderPlaced:
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
            for line in row.lines.all()
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


def give_money_back(order: Order) -> None:
    """Void the hold or refund the capture, whatever the shop's own record says: the gateway's
    record (found by our key) is the truth after a lost answer."""
    payment = payment_of(order)
    gateway = gateways.gateway()
    charge = gateway.find_charge(idempotency_key=payment.idempotency_key)
    if charge is None or charge.status in ("declined", "voided"):
        if payment.status in (Payment.Status.PENDING,):
            Payment.objects.using(db()).filter(pk=payment.pk).update(status=Payment.Status.FAILED)
        return
    if charge.status == "authorized":
        gateway.void(charge_id=charge.id)
        Payment.objects.using(db()).filter(pk=payment.pk).update(status=Payment.Status.VOIDED, charge_id=charge.id)
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
            Payment.objects.using(db()).filter(pk=payment.pk).update(
                status=Payment.Status.REFUNDED, charge_id=charge.id, captured=charge.captured, refunded=charge.captured
            )


def give_voucher_back(order: Order) -> None:
    if order.vouchers:
        pricing_api.unredeem_voucher(order_id=order.pk)


def release_stock(order: Order) -> None:
    try:
        inventory_api.release_reservation(reference=_reference(order), reason="checkout failed")
    except inventory_api.ReservationCommitted:
        # committed by a step after which the saga failed (the cart was closed by another order, a
        # step nobody planned for): this order is being failed, never confirmed, so its stock goes back
        inventory_api.cancel_reservation(reference=_reference(order), reason="checkout failed")

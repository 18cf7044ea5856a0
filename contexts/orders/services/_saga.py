"""The checkout saga (DESIGN.md): orchestrated here, one local transaction per step in the context that
owns it, each idempotent by the order id, each with its compensation.

| step                | owner     | compensation                         |
|---------------------|-----------|--------------------------------------|
| create_order        | orders    | mark the order ``failed``            |
| reserve_stock       | inventory | release_reservation                  |
| redeem_voucher      | pricing   | unredeem_voucher                     |
| authorize_payment   | gateway   | void                                 |
| capture_payment     | gateway   | refund in full                       |
| commit_reservation  | inventory | (release_reservation, as above)      |
| close_cart          | cart      | —                                    |
| confirm_order       | orders    | —                                    |

No step runs while this context holds a transaction or a row lock: each orders write is its own
short transaction, and other contexts are called between them. Every step and compensation is
logged as a ``SagaStep`` (time, duration, outcome, error).

Whoever runs a saga holds its *lease* (a holder id and an expiry on the order row, taken by a
conditional update, not a lock): the request that started it, or later the recovery job once the
lease has run out. The rule that heals a saga left behind is simple and safe: if the gateway holds
captured money for the order, go forward (commit the stock, close the cart, confirm); if anything on
that road fails, or no money was captured, go back (refund or void, give the voucher back, release
the stock, mark ``failed``). So an order is either confirmed with its money, or failed with none.
"""

import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

from django.db.models import Q
from django.utils import timezone

from commerce import metrics
from commerce.database import atomic_in
from commerce.errors import DomainError
from commerce.eventbus import publish
from contexts.cart import api as cart_api
from contexts.inventory import api as inventory_api
from contexts.orders import events
from contexts.orders.conf import orders_settings
from contexts.orders.domain import OrderStatus
from contexts.orders.exceptions import (
    CheckoutInterrupted,
    CheckoutVoucherInvalid,
    OrdersError,
    PaymentDeclined,
    PaymentError,
)
from contexts.orders.models import Order, Payment, Refund, SagaStep
from contexts.orders.services import gateway as gateways
from contexts.orders.services._orders import db, transition
from contexts.pricing import api as pricing_api

logger = logging.getLogger(__name__)


def lease_seconds() -> int:
    """How long a runner holds a saga (``ORDERS_SAGA_LEASE_SECONDS``, 30 by default)."""
    return orders_settings().saga_lease_seconds


class CheckoutFailed(OrdersError):
    """A checkout that ended ``failed`` (replayed for a retried request with the same key)."""

    def __init__(self, *, code: str, status: int, detail: str, extra: dict[str, Any]) -> None:
        self.code = code  # type: ignore[misc]  # per instance: the error the first attempt gave
        self.http_status = status  # type: ignore[misc]
        self._extra = extra
        super().__init__(detail)

    def extra(self) -> dict[str, Any]:
        return self._extra


class StepFailed(Exception):
    """A forward step failed: the saga compensates and the order ends with this error."""

    def __init__(self, error: DomainError) -> None:
        self.error = error
        self.code = error.code  # what the step's duration is recorded under
        super().__init__(str(error))


class LeaseLost(Exception):
    """Another runner took this saga over; this one stops without touching it."""


def checkpoint(order_id: UUID, step: str) -> None:
    """Called after every step; tests replace it to inject a crash exactly there."""


# --- Lease and log -------------------------------------------------------------------------------


_HELD: dict[tuple[UUID, str], float] = {}  # (order, holder) → monotonic time until which this process holds it


def claim_lease(order_id: UUID, holder: str, *, seconds: int | None = None) -> bool:
    seconds = seconds or lease_seconds()
    now = timezone.now()
    claimed = (
        Order.objects.using(db())
        .filter(pk=order_id, saga_state="running")
        .filter(Q(saga_lease_holder=holder) | Q(saga_lease_until__isnull=True) | Q(saga_lease_until__lt=now))
        .update(saga_lease_holder=holder, saga_lease_until=now + timedelta(seconds=seconds), updated_at=now)
    )
    if claimed:
        _HELD[(order_id, holder)] = time.monotonic() + seconds
    return bool(claimed)


def _renew(order_id: UUID, holder: str) -> None:
    """Keep the lease before a step: nobody can take it before it ends, so it is renewed in the
    database only once half of it is used (a checkout's steps then cost no extra write each)."""
    if time.monotonic() < _HELD.get((order_id, holder), 0) - lease_seconds() / 2:
        return
    if not claim_lease(order_id, holder):
        raise LeaseLost(str(order_id))


def _let_go(order_id: UUID, holder: str) -> None:
    _HELD.pop((order_id, holder), None)


def _log(order_id: UUID, name: str, *, compensation: bool, outcome: str, error: str, started: float, at) -> None:
    SagaStep.objects.using(db()).create(
        order_id=order_id,
        name=name,
        compensation=compensation,
        outcome=outcome,
        error=error[:2000],
        started_at=at,
        duration_ms=round((time.perf_counter() - started) * 1000, 3),
    )


def _run_step(order: Order, holder: str, name: str, action: Callable[[], Any], *, compensation: bool = False) -> Any:
    _renew(order.pk, holder)
    at, started = timezone.now(), time.perf_counter()
    try:
        with metrics.saga_step(name):
            result = action()
    except StepFailed as failure:
        _log(
            order.pk,
            name,
            compensation=compensation,
            outcome="failed",
            error=str(failure.error),
            started=started,
            at=at,
        )
        raise
    except Exception as exc:
        _log(order.pk, name, compensation=compensation, outcome="failed", error=repr(exc), started=started, at=at)
        raise
    _log(order.pk, name, compensation=compensation, outcome="done", error="", started=started, at=at)
    checkpoint(order.pk, name)
    return result


# --- The steps -----------------------------------------------------------------------------------


def _reference(order: Order) -> str:
    return str(order.pk)


def _payment_key(order: Order) -> str:
    return f"order:{order.pk}"


def _reserve_stock(order: Order) -> None:
    lines = [inventory_api.ReservationLine(sku=line.sku, quantity=line.quantity) for line in order.lines.all()]
    try:
        inventory_api.reserve_stock(reference=_reference(order), lines=lines)
    except inventory_api.InsufficientStock as exc:
        raise StepFailed(exc) from exc


def _redeem_vouchers(order: Order) -> None:
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


def _payment(order: Order) -> Payment:
    return Payment.objects.using(db()).get(order=order)


def _authorize(order: Order) -> None:
    payment = _payment(order)
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


def _capture(order: Order) -> None:
    payment = _payment(order)
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


def _commit_reservation(order: Order) -> None:
    try:
        inventory_api.commit_reservation(reference=_reference(order))
    except (
        inventory_api.ReservationExpired,
        inventory_api.ReservationClosed,
        inventory_api.ReservationNotFound,
    ) as exc:
        raise StepFailed(exc) from exc


def _close_cart(order: Order) -> None:
    if order.cart_id is None:
        return
    try:
        cart_api.close_cart(cart_id=order.cart_id, order_id=order.pk)
    except cart_api.CartClosed as exc:  # another order checked this cart out first
        raise StepFailed(exc) from exc


def _confirm(order: Order) -> None:
    with atomic_in("orders"):
        row = Order.objects.using(db()).select_for_update().get(pk=order.pk)
        if row.status == OrderStatus.CONFIRMED:
            return
        row.saga_state = "completed"
        row.saga_lease_holder = ""
        row.saga_lease_until = None
        transition(
            row,
            OrderStatus.CONFIRMED,
            actor="checkout",
            also_save=("saga_state", "saga_lease_holder", "saga_lease_until"),
        )
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
        shipping_address=events.AddressSnapshot(
            full_name=row.ship_full_name,
            line1=row.ship_line1,
            line2=row.ship_line2,
            city=row.ship_city,
            postal_code=row.ship_postal_code,
            country=row.ship_country,
            phone=row.ship_phone,
        ),
    )


# --- Compensations -------------------------------------------------------------------------------


def _give_money_back(order: Order) -> None:
    """Void the hold or refund the capture, whatever the shop's own record says: the gateway's
    record (found by our key) is the truth after a lost answer."""
    payment = _payment(order)
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


def _give_voucher_back(order: Order) -> None:
    if order.vouchers:
        pricing_api.unredeem_voucher(order_id=order.pk)


def _release_stock(order: Order) -> None:
    try:
        inventory_api.release_reservation(reference=_reference(order), reason="checkout failed")
    except inventory_api.ReservationCommitted:
        # committed by a step after which the saga failed (the cart was closed by another order, a
        # step nobody planned for): this order is being failed, never confirmed, so its stock goes back
        inventory_api.cancel_reservation(reference=_reference(order), reason="checkout failed")


def _mark_failed(order: Order, error: DomainError) -> None:
    with atomic_in("orders"):
        row = Order.objects.using(db()).select_for_update().get(pk=order.pk)
        if row.status == OrderStatus.FAILED:
            return
        transition(row, OrderStatus.FAILED, actor="checkout", note=error.code)
        row.failure_code = error.code
        row.failure_detail = error.detail
        row.failure_extra = {"http_status": error.http_status, **error.extra()}
        row.saga_state = "compensated"
        row.saga_lease_holder = ""
        row.saga_lease_until = None
        row.save(
            update_fields=[
                "failure_code",
                "failure_detail",
                "failure_extra",
                "saga_state",
                "saga_lease_holder",
                "saga_lease_until",
                "updated_at",
            ]
        )
        publish(
            events.OrderFailed(
                order_id=row.pk, number=row.number, customer_id=row.customer_id, email=row.email, reason=error.code
            )
        )
    metrics.checkout_finished("failed", reason=error.code)


def _compensate(order: Order, holder: str, error: DomainError) -> None:
    _run_step(order, holder, "refund_or_void_payment", lambda: _give_money_back(order), compensation=True)
    _run_step(order, holder, "unredeem_voucher", lambda: _give_voucher_back(order), compensation=True)
    _run_step(order, holder, "release_stock", lambda: _release_stock(order), compensation=True)
    _run_step(order, holder, "mark_failed", lambda: _mark_failed(order, error), compensation=True)


# --- Running -------------------------------------------------------------------------------------

FORWARD: tuple[tuple[str, Callable[[Order], None]], ...] = (
    ("reserve_stock", _reserve_stock),
    ("redeem_voucher", _redeem_vouchers),
    ("authorize_payment", _authorize),
    ("capture_payment", _capture),
    ("commit_reservation", _commit_reservation),
    ("close_cart", _close_cart),
    ("confirm_order", _confirm),
)
AFTER_CAPTURE = FORWARD[4:]


@dataclass(frozen=True, slots=True)
class SagaOutcome:
    order_id: UUID
    status: str


def _forward(order: Order, holder: str, steps) -> None:
    try:
        for name, action in steps:
            _run_step(order, holder, name, lambda action=action: action(order))
    except StepFailed as failure:
        _compensate(order, holder, failure.error)
    except DomainError as error:  # a refusal nobody planned for: undo now rather than leave it to recovery
        _compensate(order, holder, error)


def run(order_id: UUID, *, holder: str | None = None) -> None:
    """Run a freshly created order's saga to its end (confirmed, or failed and compensated)."""
    holder = holder or uuid.uuid4().hex
    if not claim_lease(order_id, holder):
        return
    order = Order.objects.using(db()).get(pk=order_id)
    try:
        _forward(order, holder, FORWARD)
    except LeaseLost:
        logger.warning("checkout saga of order %s was taken over by another runner", order_id)
    finally:
        _let_go(order_id, holder)


def heal(order_id: UUID, *, holder: str | None = None) -> bool:
    """Finish or compensate a saga left behind (a crash, a lost answer); False if another runner holds it.

    Forward when the gateway holds captured money for the order, back otherwise (see the module doc).
    """
    holder = holder or uuid.uuid4().hex
    if not claim_lease(order_id, holder):
        return False
    order = Order.objects.using(db()).get(pk=order_id)
    Order.objects.using(db()).filter(pk=order_id).update(saga_attempts=order.saga_attempts + 1)
    try:
        charge = gateways.gateway().find_charge(idempotency_key=_payment(order).idempotency_key)
        if charge is not None and charge.status == "captured" and charge.refunded == 0:
            Payment.objects.using(db()).filter(order=order).update(
                status=Payment.Status.CAPTURED, captured=charge.captured, charge_id=charge.id
            )
            _forward(order, holder, AFTER_CAPTURE)
        else:
            _compensate(order, holder, CheckoutInterrupted(order_id=order.pk))
    except LeaseLost:
        return False
    finally:
        _let_go(order_id, holder)
    return True


def stuck_orders(*, older_than: timedelta | None = None, limit: int | None = None) -> list[UUID]:
    """Sagas still running whose last sign of life is older than the timeout (and whose lease ran out)."""
    conf = orders_settings()
    cutoff = timezone.now() - (older_than if older_than is not None else timedelta(seconds=conf.saga_timeout_seconds))
    now = timezone.now()
    return list(
        Order.objects.using(db())
        .filter(saga_state="running", updated_at__lt=cutoff)
        .filter(Q(saga_lease_until__isnull=True) | Q(saga_lease_until__lt=now))
        .order_by("updated_at")
        .values_list("pk", flat=True)[: limit or conf.recovery_batch_size]
    )


def recover_stuck_checkouts(*, older_than: timedelta | None = None) -> int:
    """The periodic job: heal every saga left behind; returns how many were healed."""
    healed = 0
    for order_id in stuck_orders(older_than=older_than):
        try:
            healed += heal(order_id)
        except Exception:  # one order's trouble must not stop the others; it is retried next run
            logger.exception("could not heal the checkout saga of order %s", order_id)
    return healed


def failure_of(order: Order) -> CheckoutFailed:
    extra = dict(order.failure_extra)
    status = int(extra.pop("http_status", 409))
    return CheckoutFailed(code=order.failure_code, status=status, detail=order.failure_detail, extra=extra)

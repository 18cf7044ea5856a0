"""The checkout saga (DESIGN.md), declared as one table: ``CHECKOUT`` below, each step with its
action and its compensation side by side, run by the generic runner in ``contexts/orders/saga_runner.py``.

Each step is one local transaction in the context that owns it, idempotent by the order id. No step
runs while this context holds a transaction or a row lock: each orders write is its own short
transaction, and other contexts are called between them. Every step and compensation is logged as a
``SagaStep`` under the order's ``CheckoutSaga`` row (time, duration, outcome, error); the same row
holds the saga's state, its position (the last step completed), its lease and its failure.

What a run costs (issue 24): the saga row is created with the order, its lease already held by the
run that created it; the forward steps' log is kept in memory and written in one insert when the saga
ends or starts compensating (each step's own row, in its own context, is what says it happened: the
cart's claim, the reservation, the voucher's use, the gateway's charge by our key); the steps work
on ``InFlight``, the rows the run wrote, and never read them back. A run that dies takes its unwritten
log with it: whoever heals the saga then does not know how far it got, so before the capture it
compensates every step up to the payment (each compensation does nothing where its step left
nothing), and from the capture on it goes forward (each step is idempotent).

Whoever runs a saga holds its *lease* (a holder id and an expiry on the saga row, taken by a
conditional update, not a lock): the request that started it, or later the recovery job once the
lease has run out. The point of no return is ``commit_reservation``: until it has completed, a step
that fails undoes the completed ones, the most recent first; after it, the saga only goes forward.
Healing a saga left behind runs the steps after its last completed one when the money was captured
(the gateway's record by our key says so even when the log missed it); before that, it compensates
every step that may have completed. A saga that crashed while compensating finishes compensating and ends with the
error its failing step gave (a declined card stays ``payment_declined``). So an order is either
confirmed with its money, or failed with none.

``tools/saga_table.py`` writes the documentation's table from ``CHECKOUT``.
"""

import logging
import time
import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any
from uuid import UUID

from django.db.models import Q
from django.utils import timezone

from commerce import metrics
from commerce.database import atomic_in, insert_rows
from commerce.errors import DomainError
from commerce.eventbus import publish
from contexts.orders import events
from contexts.orders import saga_runner as runner
from contexts.orders.conf import orders_settings
from contexts.orders.domain import OrderStatus
from contexts.orders.exceptions import (
    CheckoutInProgress,
    CheckoutInterrupted,
    OrdersError,
)
from contexts.orders.models import CheckoutSaga, Order, OrderStatusChange, Payment, SagaStep
from contexts.orders.saga_runner import Step, StepFailed
from contexts.orders.services import gateway as gateways
from contexts.orders.services._checkout_steps import (
    InFlight,
    authorize,
    capture,
    claim_cart,
    close_cart,
    commit_reservation,
    confirm,
    give_money_back,
    give_voucher_back,
    redeem_vouchers,
    release_cart,
    release_stock,
    reserve_stock,
)
from contexts.orders.services._orders import db, transition

logger = logging.getLogger(__name__)

State = CheckoutSaga.State


def lease_seconds() -> int:
    """How long a runner holds a saga (``ORDERS_SAGA_LEASE_SECONDS``, 30 by default)."""
    return orders_settings().saga_lease_seconds


class CheckoutFailed(OrdersError):
    """A checkout that ended ``failed`` (replayed for a retried request with the same key)."""

    def __init__(self, *, code: str, status: int, detail: str, extra: dict[str, Any]) -> None:
        self.code = code  # type: ignore[misc]  # per instance: the error the first attempt gave
        self.http_status = status  # type: ignore[misc]
        self._extra = extra
        if code == CheckoutInProgress.code:  # lost the race for the cart: an answer for now, as before the order
            self.retry_after = CheckoutInProgress.retry_after
            self.forget_key = True
        super().__init__(detail)

    def extra(self) -> dict[str, Any]:
        return self._extra


class LeaseLost(Exception):
    """Another runner took this saga over; this one stops without touching it."""


def checkpoint(order_id: UUID, step: str) -> None:
    """Called after every step; tests replace it to inject a crash exactly there."""


# --- Lease ---------------------------------------------------------------------------------------


def _sagas():
    return CheckoutSaga.objects.using(db())


def new_lease(holder: str) -> dict:
    """The lease fields of a saga row created already held by ``holder`` (the run that creates it)."""
    return {"lease_holder": holder, "lease_until": timezone.now() + timedelta(seconds=lease_seconds())}


def claim_lease(order_id: UUID, holder: str, *, seconds: int | None = None) -> bool:
    seconds = seconds or lease_seconds()
    now = timezone.now()
    claimed = (
        _sagas()
        .filter(pk=order_id, state__in=(State.RUNNING, State.COMPENSATING))
        .filter(Q(lease_holder=holder) | Q(lease_until__isnull=True) | Q(lease_until__lt=now))
        .update(lease_holder=holder, lease_until=now + timedelta(seconds=seconds), updated_at=now)
    )
    return bool(claimed)


# --- The steps -----------------------------------------------------------------------------------


def _order_created(run: InFlight) -> None:
    """Done by ``checkout()`` before the saga runs: the order, its lines, payment and saga rows in one
    transaction of this context (the runner starts after it)."""


def _failure_of_run(run: InFlight) -> CheckoutFailed:
    """The failure this run recorded (kept in memory when it recorded it), or the saga row's."""
    error = run.failure
    if error is None:
        return _failure(run.order.pk)
    return CheckoutFailed(code=error.code, status=error.http_status, detail=error.detail, extra=dict(error.extra()))


def _failure(order_id: UUID) -> CheckoutFailed:
    saga = _sagas().get(pk=order_id)
    return CheckoutFailed(
        code=saga.failure_code,
        status=saga.failure_status or 409,
        detail=saga.failure_detail,
        extra=dict(saga.failure_extra),
    )


def _mark_failed(run: InFlight) -> None:
    """Fail the order with the error its saga recorded when the failing step gave it: a conditional
    update of a pending order (no read first); anything else is settled under the row's lock."""
    order = run.order
    error = _failure_of_run(run)
    with atomic_in("orders"):
        if (
            Order.objects.using(db())
            .filter(pk=order.pk, status=OrderStatus.PENDING)
            .update(status=OrderStatus.FAILED, updated_at=timezone.now())
        ):
            OrderStatusChange.objects.using(db()).create(
                order=order,
                from_status=OrderStatus.PENDING,
                to_status=OrderStatus.FAILED,
                actor="checkout",
                note=error.code,
            )
            order.status = OrderStatus.FAILED
        else:
            row = Order.objects.using(db()).select_for_update().get(pk=order.pk)
            if row.status == OrderStatus.FAILED:
                return
            transition(row, OrderStatus.FAILED, actor="checkout", note=error.code)
            order = run.order = row
        publish(
            events.OrderFailed(
                order_id=order.pk,
                number=order.number,
                customer_id=order.customer_id,
                email=order.email,
                reason=error.code,
            )
        )
    metrics.checkout_finished("failed", reason=error.code)


# --- The table -----------------------------------------------------------------------------------

CHECKOUT: runner.Saga[InFlight] = runner.Saga(
    steps=(
        Step(
            "create_order",
            "orders",
            _order_created,
            _mark_failed,
            "mark_failed",
            does="create the order `pending` (priced by pricing's quote: lines, discounts, shipping, tax)",
            undoes="mark it `failed` with the failing step's error",
        ),
        Step(
            "claim_cart",
            "cart",
            claim_cart,
            release_cart,
            "release_cart",
            does="hold the cart for this order: edits and other checkouts of it get `409 checkout_in_progress`",
            undoes="let go of the cart: it can change and be checked out again",
        ),
        Step(
            "reserve_stock",
            "inventory",
            reserve_stock,
            release_stock,
            "release_stock",
            does="reserve the stock (with a TTL)",
            undoes="release the reservation",
        ),
        Step(
            "redeem_voucher",
            "pricing",
            redeem_vouchers,
            give_voucher_back,
            "unredeem_voucher",
            does="redeem the vouchers",
            undoes="give the uses back",
        ),
        Step(
            "authorize_payment",
            "payment gateway",
            authorize,
            give_money_back,
            "refund_or_void_payment",
            undo_if_failed=True,
            does="authorize the payment",
            undoes="void it, or refund in full what was captured: the gateway's record by our key decides (also when this step failed: its answer may have been lost)",
        ),
        Step(
            "capture_payment",
            "payment gateway",
            capture,
            None,
            does="capture the payment",
            undoes="— (`refund_or_void_payment` above refunds it in full)",
        ),
        Step(
            "commit_reservation",
            "inventory",
            commit_reservation,
            None,
            does="commit the reservation: **the point of no return**",
            undoes="— (until it completes, `release_stock` gives the stock back)",
        ),
        Step("close_cart", "cart", close_cart, None, does="close the cart", undoes="—"),
        Step(
            "confirm_order",
            "orders",
            confirm,
            None,
            does="give the order its number, confirm it, publish `orders.OrderPlaced`",
            undoes="—",
        ),
    ),
    point_of_no_return="commit_reservation",
    resume_after="capture_payment",
)


# --- The journal: what the runner's steps leave in this context -----------------------------------


class _Journal:
    """Persists one run of one order's saga: its log, position, failure and end; renews its lease.

    Per run, never shared: the time until which this run holds the lease is kept here, and so is the
    log until the saga ends (written in one insert). A run that dies while compensating loses its log:
    the saga row says it was compensating, with its failure, and whoever heals it runs the compensations
    again (each is idempotent).
    """

    def __init__(self, run: InFlight, holder: str, *, position: int, leased_at: float) -> None:
        self.run = run
        self.order_id = run.order.pk  # the run's order row may be replaced (read again); its id stays
        self.holder = holder
        self.held_until = leased_at + lease_seconds()  # counted from when the lease was written
        self.position = position
        self.unwritten: list[SagaStep] = []

    def _renew(self) -> None:
        """Keep the lease before a step: nobody can take it before it ends, so it is renewed in the
        database only once a quarter of it is used (a checkout's steps, milliseconds each, then cost no
        extra write), and every step starts with at least three quarters of a lease in hand."""
        if time.monotonic() < self.held_until - lease_seconds() * 3 / 4:
            return
        if not claim_lease(self.order_id, self.holder):
            raise LeaseLost(str(self.order_id))
        self.held_until = time.monotonic() + lease_seconds()

    def call(self, name: str, fn: Callable[[], None], *, compensation: bool) -> None:
        self._renew()
        at, started = timezone.now(), time.perf_counter()
        try:
            with metrics.saga_step(name):
                try:
                    fn()
                except DomainError as error:
                    if compensation:
                        raise
                    raise StepFailed(error) from error  # a refusal nobody planned for: undo now
        except StepFailed as failure:
            self.log(name, compensation, "failed", str(failure.error), started, at)
            raise
        except Exception as exc:
            self.log(name, compensation, "failed", repr(exc), started, at)
            self.write_log()  # what was done before the surprise, for whoever looks at it
            raise
        self.log(name, compensation, "done", "", started, at)
        checkpoint(self.order_id, name)

    def log(self, name: str, compensation: bool, outcome: str, error: str, started: float, at) -> None:
        self.unwritten.append(
            SagaStep(
                saga_id=self.order_id,
                name=name,
                compensation=compensation,
                outcome=outcome,
                error=error[:2000],
                started_at=at,
                duration_ms=round((time.perf_counter() - started) * 1000, 3),
            )
        )

    def write_log(self) -> None:
        if self.unwritten:
            insert_rows(SagaStep, self.unwritten, using=db())  # one INSERT, no BEGIN/COMMIT around it
            self.unwritten = []

    def _update(self, **fields) -> None:
        _sagas().filter(pk=self.order_id).update(**fields, updated_at=timezone.now())

    def _position(self) -> str:
        return CHECKOUT.steps[self.position].name if self.position >= 0 else ""

    def advanced(self, position: int) -> None:
        """Kept here, not written: the step's own row (in the context that did it) says it happened,
        and the saga row's ``position`` is written whenever its state changes."""
        self.position = position

    def failing(self, error: DomainError) -> None:
        self.run.failure = error  # the log waits for the end: the saga row says it is compensating, and why
        self._update(
            state=State.COMPENSATING,
            position=self._position(),
            failure_code=error.code,
            failure_status=error.http_status,
            failure_detail=error.detail,
            failure_extra=error.extra(),
        )

    def finished(self, state: str, error: DomainError | None) -> None:
        self.write_log()
        self._update(state=state, position=self._position(), lease_holder="", lease_until=None)


def _position(saga: CheckoutSaga) -> int:
    """The last forward step completed: the saga row's, or the log's when it says more (the row is
    written when the state changes, the log after every step)."""
    done = set(
        SagaStep.objects.using(db())
        .filter(saga=saga, compensation=False, outcome="done")
        .values_list("name", flat=True)
    )
    logged = max((CHECKOUT.index(name) for name in done if name in CHECKOUT.names), default=-1)
    return max(logged, CHECKOUT.index(saga.position) if saga.position else -1)


# --- Running -------------------------------------------------------------------------------------


def start(run: InFlight, *, holder: str, leased_at: float, created_at=None) -> runner.Outcome | None:
    """Run the saga of the order ``run`` has just created, whose lease ``holder`` took with it
    (``leased_at``: ``time.monotonic()`` before it was written); its creation is logged as the first
    step (``created_at``: when it began). None: the lease was lost."""
    created = CHECKOUT.index("create_order")  # what ``checkout()`` did before the saga runs
    journal = _Journal(run, holder, position=created, leased_at=leased_at)
    if created_at is not None:
        journal.unwritten.append(
            SagaStep(
                saga_id=run.order.pk,
                name="create_order",
                outcome="done",
                started_at=created_at,
                duration_ms=round((timezone.now() - created_at).total_seconds() * 1000, 3),
            )
        )
    try:
        outcome = runner.forward(CHECKOUT, run, journal, position=created)
    except LeaseLost:
        journal.write_log()
        logger.warning("checkout saga of order %s was taken over by another runner", run.order.pk)
        return None
    journal.write_log()  # stopped after the point of no return (a later run goes on): its log so far
    return outcome


def heal(order_id: UUID, *, holder: str | None = None) -> bool:
    """Finish or compensate a saga left behind (a crash, a lost answer); False if another runner holds it.

    Forward from its last completed step when the money was captured, back otherwise; a saga that
    was compensating goes on compensating with the failure it recorded (see the module doc).
    """
    holder = holder or uuid.uuid4().hex
    leased_at = time.monotonic()
    if not claim_lease(order_id, holder):
        return False
    run = InFlight.load(order_id)
    saga = _sagas().get(pk=order_id)
    _sagas().filter(pk=order_id).update(attempts=saga.attempts + 1)
    position = _position(saga)
    captured = CHECKOUT.index("capture_payment")
    if saga.state == State.RUNNING and run.order.status not in (OrderStatus.PENDING, OrderStatus.FAILED):
        # confirmed (its own row says so) though the run died before the saga's end was written: whatever
        # happened to the order since (a cancellation, a refund) is the order's, and the saga only ends
        position = len(CHECKOUT.steps) - 1
    elif saga.state == State.RUNNING and position < captured:
        payment = run.payment
        charge = gateways.gateway().find_charge(idempotency_key=payment.idempotency_key)
        if charge is not None and charge.status == "captured" and charge.refunded == 0:
            # the capture happened though its answer (or its log) was lost: the money decides
            Payment.objects.using(db()).filter(pk=payment.pk).update(
                status=Payment.Status.CAPTURED, captured=charge.captured, charge_id=charge.id
            )
            payment.status, payment.captured, payment.charge_id = Payment.Status.CAPTURED, charge.captured, charge.id
            position = captured
        else:
            # the run's log went with it: any step up to the payment may have completed, and each
            # compensation does nothing where its step left nothing
            position = max(position, captured - 1)
    _sagas().filter(pk=order_id).update(position=CHECKOUT.steps[position].name if position >= 0 else "")
    error = _failure(order_id) if saga.state == State.COMPENSATING else CheckoutInterrupted(order_id=order_id)
    journal = _Journal(run, holder, position=position, leased_at=leased_at)
    try:
        runner.heal(CHECKOUT, run, journal, state=saga.state, position=position, error=error)
    except LeaseLost:
        journal.write_log()
        return False
    journal.write_log()
    return True


def stuck_orders(*, older_than: timedelta | None = None, limit: int | None = None) -> list[UUID]:
    """Sagas not finished whose last sign of life is older than the timeout (and whose lease ran out)."""
    conf = orders_settings()
    cutoff = timezone.now() - (older_than if older_than is not None else timedelta(seconds=conf.saga_timeout_seconds))
    now = timezone.now()
    return list(
        _sagas()
        .filter(state__in=(State.RUNNING, State.COMPENSATING), updated_at__lt=cutoff)
        .filter(Q(lease_until__isnull=True) | Q(lease_until__lt=now))
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
    return _failure(order.pk)


def failure_of_run(run: InFlight) -> CheckoutFailed:
    return _failure_of_run(run)

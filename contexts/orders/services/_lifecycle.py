"""After checkout: cancelling, shipping, delivery, returns and refunds.

An operation that calls other contexts first *claims* the order (a conditional update of its
``operation`` field, no lock held across the calls), so a customer cancelling while staff ship the
same order ends with exactly one of the two done: the other is refused. Each remote step is
idempotent (keyed by the order id, the return id, the refund key), so an operation interrupted by a
crash is finished by running it again: the recovery job does that for claims left behind.
"""

import contextlib
import logging
from collections import defaultdict
from collections.abc import Callable, Iterable
from datetime import timedelta
from decimal import Decimal
from functools import partial
from uuid import UUID

from django.db.models import F, Q, Sum
from django.utils import timezone

from commerce import metrics
from commerce.database import atomic_in
from commerce.eventbus import publish
from contexts.inventory import api as inventory_api
from contexts.orders import domain, events
from contexts.orders.conf import orders_settings
from contexts.orders.domain import OrderStatus
from contexts.orders.exceptions import (
    InvalidOrderInput,
    NotCancellable,
    NotReturnable,
    NotShippable,
    OrderNotFound,
    ReturnAlreadyReceived,
    ReturnNotFound,
)
from contexts.orders.models import Order, Payment, Refund, Return, ReturnLine, Shipment
from contexts.orders.services import gateway as gateways
from contexts.orders.services._orders import db, transition
from contexts.pricing import api as pricing_api

CANCELLING = "cancelling"
SHIPPING = "shipping"
RECEIVING = "receiving"  # a return (claimed on the return, not the order)

logger = logging.getLogger(__name__)


def _orders():
    return Order.objects.using(db())


def _visible_order(order_id: UUID, customer_id: int | None) -> Order:
    order = _orders().filter(pk=order_id).first()
    if order is None or (customer_id is not None and order.customer_id != customer_id):
        raise OrderNotFound()
    return order


def _claim(order_id: UUID, operation: str, statuses: Iterable[str]) -> bool:
    """Take the order for ``operation`` if it is in one of ``statuses`` and no other operation holds it
    (the same operation may be taken again: that is how an interrupted one is finished)."""
    now = timezone.now()
    return bool(
        _orders()
        .filter(pk=order_id, status__in=list(statuses))
        .filter(Q(operation="") | Q(operation=operation))
        .update(operation=operation, operation_since=now, updated_at=now)
    )


def _release_claim(order: Order) -> None:
    order.operation = ""
    order.operation_since = None
    order.save(update_fields=["operation", "operation_since", "updated_at"])


# --- Refunds -------------------------------------------------------------------------------------


def _refund(
    order: Order,
    *,
    key: str,
    amount: Decimal,
    reason: str,
) -> Refund | None:
    """Send ``amount`` back through the gateway once per ``key``; record it and announce it."""
    if amount <= 0:
        return None
    with atomic_in("orders"):
        refund, _ = Refund.objects.using(db()).get_or_create(
            idempotency_key=key, defaults={"order": order, "amount": amount, "reason": reason}
        )
    return _send_refund(order, refund)


def _send_refund(order: Order, refund: Refund, *, lines: tuple[events.ReturnedLine, ...] = ()) -> Refund:
    """Send a recorded refund through the gateway (keyed by its idempotency key, so once), then mark it
    completed, add it to the payment and announce it, unless another runner did."""
    if refund.completed:
        return refund
    alias = db()
    payment = Payment.objects.using(alias).get(order=order)
    gateways.gateway().refund(idempotency_key=refund.idempotency_key, charge_id=payment.charge_id, amount=refund.amount)
    with atomic_in("orders"):
        if not Refund.objects.using(alias).filter(pk=refund.pk, completed=False).update(completed=True):
            return refund  # another runner finished it
        Payment.objects.using(alias).filter(pk=payment.pk).update(refunded=F("refunded") + refund.amount)
        payment.refresh_from_db()
        payment.status = (
            Payment.Status.REFUNDED if payment.refunded >= payment.captured else Payment.Status.PARTIALLY_REFUNDED
        )
        payment.save(update_fields=["status", "updated_at"])
        publish(
            events.RefundIssued(
                refund_id=refund.pk,
                order_id=order.pk,
                number=order.number,
                customer_id=order.customer_id,
                email=order.email,
                currency=order.currency,
                amount=refund.amount,
                reason="return" if refund.reason == Refund.Reason.RETURN else "cancellation",
                lines=lines,
            )
        )
    refund.completed = True
    return refund


# --- Cancelling ----------------------------------------------------------------------------------


def cancel_order(*, order_id: UUID, customer_id: int | None = None, actor: str = "customer") -> Order:
    """Cancel a confirmed order: its stock released, its voucher use given back, its money refunded.

    Cancelling a cancelled order again changes nothing.

    :raises OrderNotFound: no such order, or it belongs to someone else.
    :raises NotCancellable: it shipped (or is being shipped), failed, or is still being checked out.
    """
    order = _visible_order(order_id, customer_id)
    if order.status == OrderStatus.CANCELLED:
        return order
    if not _claim(order.pk, CANCELLING, domain.CANCELLABLE):
        order.refresh_from_db()
        if order.status == OrderStatus.CANCELLED:
            return order
        raise NotCancellable(f"An order that is {order.get_status_display().lower()} cannot be cancelled.")
    return _finish_cancel(order.pk, actor=actor)


def _finish_cancel(order_id: UUID, *, actor: str) -> Order:
    order = _orders().get(pk=order_id)
    inventory_api.cancel_reservation(reference=str(order.pk), reason="order cancelled")
    if order.vouchers:
        pricing_api.unredeem_voucher(order_id=order.pk)
    payment = Payment.objects.using(db()).get(order=order)
    owed = domain.refund_on_cancel(captured=payment.captured, refunded=payment.refunded)
    refund = _refund(order, key=f"order:{order.pk}:cancel", amount=owed, reason=Refund.Reason.CANCELLATION)
    with atomic_in("orders"):
        row = _orders().select_for_update().get(pk=order.pk)
        if row.status != OrderStatus.CANCELLED:
            transition(row, OrderStatus.CANCELLED, actor=actor)
            publish(
                events.OrderCancelled(
                    order_id=row.pk,
                    number=row.number,
                    customer_id=row.customer_id,
                    email=row.email,
                    currency=row.currency,
                    total=row.total,
                    refunded=refund.amount if refund else Decimal(0),
                    cancelled_by="staff" if actor != "customer" else "customer",
                )
            )
        _release_claim(row)
    return row


# --- Shipping ------------------------------------------------------------------------------------


def ship_order(*, order_id: UUID, actor: str = "staff") -> Order:
    """Ship every line not shipped yet: a shipment in inventory, dispatched to the carrier.

    :raises OrderNotFound: no such order.
    :raises NotShippable: not confirmed (or partially shipped), or being cancelled.
    """
    order = _visible_order(order_id, None)
    if not _claim(order.pk, SHIPPING, domain.SHIPPABLE):
        order.refresh_from_db()
        raise NotShippable(f"Order {order.number} is {order.get_status_display().lower()}: nothing to ship.")
    return _finish_shipping(order.pk, actor=actor)


def _finish_shipping(order_id: UUID, *, actor: str) -> Order:
    reference = str(order_id)
    # OverShipment: everything allocated has a shipment already (a retry after a crash)
    with contextlib.suppress(inventory_api.OverShipment):
        inventory_api.create_shipment(reference=reference, lines=None)
    for shipment in inventory_api.list_shipments(reference=reference):
        if shipment.status != "dispatched":
            shipment = inventory_api.dispatch_shipment(shipment_id=shipment.id)
        record_shipment(
            order_id=order_id,
            shipment_id=shipment.id,
            lines=[(line.sku, line.quantity) for line in shipment.lines],
            dispatched_at=shipment.dispatched_at,
            actor=actor,
        )
    with atomic_in("orders"):
        row = _orders().select_for_update().get(pk=order_id)
        _release_claim(row)
    return row


def record_shipment(
    *, order_id: UUID, shipment_id: int, lines: Iterable[tuple[str, int]], dispatched_at, actor: str = "inventory"
) -> None:
    """Keep the order's copy of a dispatched shipment and move its status with it (idempotent).

    Called by staff's shipping and by the ``inventory.ShipmentDispatched`` subscription alike.
    """
    merged: dict[str, int] = defaultdict(int)
    for sku, quantity in lines:
        merged[sku] += quantity
    with atomic_in("orders"):
        order = _orders().select_for_update().filter(pk=order_id).first()
        if order is None:
            return
        Shipment.objects.using(db()).update_or_create(
            shipment_id=shipment_id,
            defaults={
                "order": order,
                "status": "dispatched",
                "lines": [{"sku": sku, "quantity": quantity} for sku, quantity in sorted(merged.items())],
                "dispatched_at": dispatched_at or timezone.now(),
            },
        )
        if order.status not in domain.SHIPPABLE:
            return
        shipped = _shipped_quantities(order)
        everything = all(shipped.get(line.sku, 0) >= line.quantity for line in order.lines.all())
        target = OrderStatus.SHIPPED if everything else OrderStatus.PARTIALLY_SHIPPED
        if order.status != target:
            transition(order, target, actor=actor)


def _shipped_quantities(order: Order) -> dict[str, int]:
    shipped: dict[str, int] = defaultdict(int)
    for shipment in Shipment.objects.using(db()).filter(order=order, status="dispatched"):
        for item in shipment.lines:
            shipped[item["sku"]] += int(item["quantity"])
    return shipped


def mark_delivered(*, order_id: UUID, actor: str = "staff") -> Order:
    """The carrier delivered a shipped order.

    :raises OrderNotFound:
    :raises InvalidTransition: it has not shipped (or was returned).
    """
    with atomic_in("orders"):
        order = _orders().select_for_update().filter(pk=order_id).first()
        if order is None:
            raise OrderNotFound()
        transition(order, OrderStatus.DELIVERED, actor=actor)
    return order


# --- Returns -------------------------------------------------------------------------------------


def request_return(*, order_id: UUID, customer_id: int, lines: list[tuple[str, int]], reason: str) -> Return:
    """Ask to send back shipped units: at most what shipped minus what was already asked back.

    :raises OrderNotFound: no such order, or another customer's.
    :raises NotReturnable: nothing of it has shipped.
    :raises InvalidOrderInput: no lines, a SKU not in the order, a quantity below 1, or more than can
        still be returned (``errors`` says which).
    """
    if not lines:
        raise InvalidOrderInput(errors={"lines": ["Name at least one line to return."]})
    wanted: dict[str, int] = defaultdict(int)
    for sku, quantity in lines:
        wanted[sku] += quantity
    with atomic_in("orders"):
        order = _orders().select_for_update().filter(pk=order_id, customer_id=customer_id).first()
        if order is None:
            raise OrderNotFound()
        if order.status not in domain.RETURNABLE:
            raise NotReturnable(f"Order {order.number} is {order.get_status_display().lower()}: nothing to return.")
        bought = {line.sku: line.quantity for line in order.lines.all()}
        shipped = _shipped_quantities(order)
        asked = _returned_quantities(order, statuses=None)
        problems = {}
        for sku, quantity in wanted.items():
            if sku not in bought:
                problems[sku] = "This SKU is not part of the order."
            elif quantity > shipped.get(sku, 0) - asked.get(sku, 0):
                problems[sku] = (
                    f"At most {max(shipped.get(sku, 0) - asked.get(sku, 0), 0)} can be returned "
                    f"({shipped.get(sku, 0)} shipped, {asked.get(sku, 0)} already returned)."
                )
        if problems:
            raise InvalidOrderInput(
                f"Cannot return {', '.join(sorted(problems))}: {next(iter(problems.values()))}",
                errors={"lines": [f"{sku}: {message}" for sku, message in sorted(problems.items())]},
            )
        ret = Return.objects.using(db()).create(order=order, reason=reason[:500])
        ReturnLine.objects.using(db()).bulk_create(
            ReturnLine(ret=ret, sku=sku, quantity=quantity) for sku, quantity in sorted(wanted.items())
        )
    return ret


def _returned_quantities(order: Order, *, statuses: Iterable[str] | None) -> dict[str, int]:
    lines = ReturnLine.objects.using(db()).filter(ret__order=order)
    if statuses is not None:
        lines = lines.filter(ret__status__in=list(statuses))
    return {row["sku"]: row["total"] for row in lines.values("sku").annotate(total=Sum("quantity"))}


def receive_return(*, return_id: UUID, actor: str = "staff") -> Return:
    """Staff received the goods: stock back on hand, the returned lines' share of what was paid
    refunded (see ``domain``), the order ``returned`` or ``partially_returned``.

    Receipts of one order take their shares one after another (``_take_return``), so two staff
    receiving two returns of one order at once refund exactly what was paid between them, the
    shipping with whichever came second.

    :raises ReturnNotFound:
    :raises ReturnAlreadyReceived:
    """
    alias = db()
    ret, refund = _take_return(return_id)
    order = ret.order
    returning = {line.sku: line.quantity for line in ret.lines.all()}
    inventory_api.return_stock(
        reference=str(order.pk),
        lines=[inventory_api.ReturnLine(sku=sku, quantity=quantity) for sku, quantity in sorted(returning.items())],
        key=f"return:{ret.pk}",
        actor=actor,
    )
    returned_lines = tuple(events.ReturnedLine(sku=sku, quantity=qty) for sku, qty in sorted(returning.items()))
    _send_refund(order, refund, lines=returned_lines)
    with atomic_in("orders"):
        row = _orders().select_for_update().get(pk=order.pk)
        if (
            not Return.objects.using(alias)
            .filter(pk=ret.pk, status=Return.Status.RECEIVING)
            .update(status=Return.Status.RECEIVED, received_at=timezone.now(), received_by=actor[:200])
        ):
            return Return.objects.using(alias).get(pk=ret.pk)
        back = _returned_quantities(row, statuses=[Return.Status.RECEIVED])
        everything = all(back.get(line.sku, 0) >= line.quantity for line in row.lines.all())
        transition(row, OrderStatus.RETURNED if everything else OrderStatus.PARTIALLY_RETURNED, actor=actor)
        publish(
            events.ReturnReceived(
                return_id=ret.pk,
                order_id=row.pk,
                number=row.number,
                customer_id=row.customer_id,
                email=row.email,
                lines=returned_lines,
            )
        )
    return Return.objects.using(alias).get(pk=ret.pk)


def _take_return(return_id: UUID) -> tuple[Return, Refund]:
    """Claim the return for receiving and fix its refund: its share of what the returns before it left.

    The order's row is locked for this short transaction only, and no other context is called in it
    (stock and money move after, each keyed by the return), so the receipts of one order take their
    shares one after another. The share is recorded as the return's ``Refund`` (completed at once when
    nothing is owed) before any money moves, so a receipt finished again after a crash refunds the same.
    """
    alias = db()
    with atomic_in("orders"):
        order_id = Return.objects.using(alias).filter(pk=return_id).values_list("order_id", flat=True).first()
        if order_id is None:
            raise ReturnNotFound()
        order = _orders().select_for_update().get(pk=order_id)
        claimed = (
            Return.objects.using(alias)
            .filter(pk=return_id, status__in=[Return.Status.REQUESTED, Return.Status.RECEIVING])
            .update(status=Return.Status.RECEIVING, receiving_since=timezone.now())
        )
        if not claimed:
            raise ReturnAlreadyReceived()
        ret = Return.objects.using(alias).select_related("order").get(pk=return_id)
        refund = Refund.objects.using(alias).filter(ret=ret).first()
        if refund is None:
            share = return_share(order, ret)
            refund = Refund.objects.using(alias).create(
                order=order,
                ret=ret,
                idempotency_key=f"return:{ret.pk}",
                amount=share.amount,
                shipping=share.shipping,
                tax=share.tax,
                reason=Refund.Reason.RETURN,
                completed=share.amount <= 0,
            )
    return ret, refund


def return_share(order: Order, ret: Return) -> domain.RefundShare:
    """What receiving ``ret`` refunds: its lines' share of what was paid, after the returns whose refund
    is already worked out (the domain's rule). Reads only; ``_take_return`` records it under the order's lock."""
    return domain.refund_for_return(
        lines=[
            domain.PaidLine(
                sku=line.sku,
                quantity=line.quantity,
                paid=line.line_total + (Decimal(0) if order.prices_include_tax else line.tax),
                tax=line.tax,
            )
            for line in order.lines.all()
        ],
        returned_before=_shared_quantities(order),
        returning={line.sku: line.quantity for line in ret.lines.all()},
        shipping_paid=order.shipping_total + (Decimal(0) if order.prices_include_tax else order.shipping_tax),
        shipping_tax=order.shipping_tax,
    )


def _shared_quantities(order: Order) -> dict[str, int]:
    """Units of returns whose refund is already worked out (received, or being received)."""
    lines = ReturnLine.objects.using(db()).filter(
        Q(ret__status=Return.Status.RECEIVED) | Q(ret__refund__isnull=False), ret__order=order
    )
    return {row["sku"]: row["total"] for row in lines.values("sku").annotate(total=Sum("quantity"))}


# --- Recovery of interrupted operations ---------------------------------------------------------


def finish_interrupted_operations(*, older_than: timedelta | None = None) -> int:
    """Run again cancellations, shipments and return receipts a crash left half done (each step is
    idempotent, so finishing is running them again); returns how many were finished.

    Each order is finished on its own: one whose recovery fails (another context down, a bug) is
    logged with its id, counted (``commerce_orders_recoveries_total{outcome="failed"}``) and left for
    the next run, and the orders behind it go on.
    """
    conf = orders_settings()
    cutoff = timezone.now() - (older_than if older_than is not None else timedelta(seconds=conf.saga_timeout_seconds))
    done = 0
    for order_id, operation in (
        _orders()
        .filter(operation__in=[CANCELLING, SHIPPING], operation_since__lt=cutoff)
        .values_list("pk", "operation")
    )[: conf.recovery_batch_size]:
        finish = _finish_cancel if operation == CANCELLING else _finish_shipping
        done += _recovered(operation, order_id, partial(finish, order_id, actor="recovery"))
    for return_id, order_id in (
        Return.objects.using(db())
        .filter(status=Return.Status.RECEIVING, receiving_since__lt=cutoff)
        .values_list("pk", "order_id")[: conf.recovery_batch_size]
    ):
        done += _recovered(RECEIVING, order_id, partial(receive_return, return_id=return_id, actor="recovery"))
    return done


def _recovered(operation: str, order_id: UUID, finish: Callable[[], object]) -> bool:
    """Finish one interrupted operation; a failure is logged and counted, never raised."""
    try:
        finish()
    except ReturnAlreadyReceived:  # someone finished it meanwhile
        return False
    except Exception:
        logger.exception(
            "Could not finish the interrupted %s of order %s; the next run tries again", operation, order_id
        )
        metrics.order_operation_recovered("failed")
        return False
    metrics.order_operation_recovered("finished")
    return True

"""What staff do to orders, one table for the lists' actions and the order page's buttons: the
service each runs, who may run it, and what the confirmation page tells them before they do."""

from collections.abc import Callable
from dataclasses import dataclass

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from commerce.errors import DomainError
from contexts.orders import services
from contexts.orders.services.gateway import GatewayFailure


@dataclass(frozen=True, slots=True, kw_only=True)
class Transition:
    name: str
    button: str  # the button's label
    permission: str  # the Django permission a user needs (``manage.py setup_roles`` grants them)
    explain: str  # what happens, on the confirmation page
    done: str  # the message's prefix, with how many went through
    run: Callable[..., object]  # run(order_id=..., actor=...)
    dangerous: bool = False


TRANSITIONS: dict[str, Transition] = {
    "ship": Transition(
        name="ship",
        button="Ship",
        permission="orders.change_order",
        explain="Every line not shipped yet goes into one shipment in inventory, dispatched to the carrier; "
        "the customer is told it is on its way.",
        done="Orders shipped",
        run=services.ship_order,
    ),
    "deliver": Transition(
        name="deliver",
        button="Mark delivered",
        permission="orders.change_order",
        explain="The carrier delivered the order: its status becomes delivered.",
        done="Orders marked delivered",
        run=services.mark_delivered,
    ),
    "cancel": Transition(
        name="cancel",
        button="Cancel and refund",
        permission="orders.cancel_order",
        explain="The order is cancelled: its reserved stock is released, its vouchers' uses given back and "
        "everything captured refunded to the customer. This cannot be undone.",
        done="Orders cancelled",
        run=services.cancel_order,
        dangerous=True,
    ),
}

RECEIVE_RETURN = Transition(
    name="receive",
    button="Receive return and refund",
    permission="orders.change_return",
    explain="The returned units go back on hand in their warehouse, and the customer is refunded their "
    "share of what was paid for them.",
    done="Returns received",
    run=services.receive_return,
)


def actor(request: HttpRequest) -> str:
    return f"staff:{request.user.get_username()}"


def attempt(model_admin: admin.ModelAdmin, request: HttpRequest, run: Callable[[], object], label: str) -> bool:
    """Run one transition; a refusal (the order moved on, the gateway failed) becomes a warning."""
    try:
        run()
    except (DomainError, GatewayFailure) as exc:
        model_admin.message_user(request, f"{label}: {exc}", level=messages.WARNING)
        return False
    return True


def apply(
    model_admin: admin.ModelAdmin,
    request: HttpRequest,
    rows: QuerySet,
    run: Callable[[object], object],
    *,
    label: Callable[[object], str],
    done: str,
) -> None:
    succeeded = sum(attempt(model_admin, request, lambda row=row: run(row), label(row)) for row in rows)
    if succeeded:
        model_admin.message_user(request, f"{done}: {succeeded}.", level=messages.SUCCESS)

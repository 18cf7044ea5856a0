"""Personal data: the export of everything the shop holds about a customer, and closing an account.

Closing an account erases the person everywhere a copy of them is kept. Identity sits above the
contexts that keep copies, so it calls down into their ``api``; each step is idempotent and recorded
on the ``Erasure`` row, so an interrupted erasure is finished by running it again (the periodic job
``identity.resume_erasures`` does, and ``manage.py unfinished_erasures`` lists what is left). Identity's
own step runs first, in one transaction that also closes the account, so the person can no longer log
in whatever happens to the steps after it; no other context is called while that transaction is open.

The customer's messages are notifications', which sits above identity (it listens to identity's
events), so identity cannot call it: the same transaction publishes ``identity.AccountClosed``, and
notifications erases its copy when it gets the event (in process, or in its own service). The export
reads the messages through a reader notifications lends identity at start-up (``contexts/wiring.py``).
"""

import dataclasses
import logging
from collections import defaultdict
from collections.abc import Callable, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from django.utils import timezone

from commerce.database import atomic_in
from commerce.eventbus import publish
from contexts.cart import api as cart_api
from contexts.identity.events import AccountClosed
from contexts.identity.exceptions import CustomerNotFound, WrongPassword
from contexts.identity.models import Address, Erasure, User
from contexts.identity.services.accounts import revoke_refresh_tokens
from contexts.orders import api as orders_api

logger = logging.getLogger(__name__)

ERASED_DOMAIN = "erased.invalid"

# A customer's messages as notifications holds them (frozen dataclasses), lent by notifications at
# start-up (``contexts/wiring.py``); none lent (notifications not installed): the export has none.
MessageHistory = Callable[[int], Sequence[Any]]
_message_history: MessageHistory | None = None


def register_message_history(reader: MessageHistory | None) -> None:
    global _message_history
    _message_history = reader


def _messages(user_id: int) -> list[dict[str, Any]]:
    return [_plain(message) for message in _message_history(user_id)] if _message_history else []


# --- export --------------------------------------------------------------------------------------


def _plain(value: Any) -> Any:
    """DTOs and values as JSON: money and ids as strings, never floats."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {field.name: _plain(getattr(value, field.name)) for field in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    if isinstance(value, Decimal | UUID):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def export_personal_data(*, user_id: int) -> dict[str, Any]:
    """Everything the shop holds about this customer, as one JSON-ready document.

    :raises CustomerNotFound: no such (open) account.
    """
    user = User.objects.filter(pk=user_id, closed_at__isnull=True).first()
    if user is None:
        raise CustomerNotFound()
    addresses = Address.objects.filter(user_id=user_id).order_by("id")
    return {
        "exported_at": timezone.now().isoformat(),
        "profile": {
            "id": user.pk,
            "email": user.email,
            "first_name": user.first_name,
            "last_name": user.last_name,
            "joined_at": user.date_joined.isoformat(),
            "last_login": user.last_login.isoformat() if user.last_login else None,
        },
        "addresses": [
            {
                "id": a.pk,
                "full_name": a.full_name,
                "line1": a.line1,
                "line2": a.line2,
                "city": a.city,
                "postal_code": a.postal_code,
                "country": str(a.country),
                "phone": a.phone,
                "created_at": a.created_at.isoformat(),
            }
            for a in addresses
        ],
        "orders": _orders(user_id),
        "notifications": _messages(user_id),
    }


def _orders(user_id: int) -> list[dict[str, Any]]:
    """Each order with its returns (lines, status) and the refunds that went back for it."""
    returns: dict[UUID, list] = defaultdict(list)
    for ret in orders_api.list_customer_returns(customer_id=user_id):
        returns[ret.order_id].append(
            {
                **_plain(ret),
                "lines": [{"sku": sku, "quantity": quantity} for sku, quantity in ret.lines],
            }
        )
    refunds: dict[UUID, list] = defaultdict(list)
    for refund in orders_api.list_customer_refunds(customer_id=user_id):
        refunds[refund.order_id].append(_plain(refund))
    return [
        {**_plain(order), "returns": returns[order.id], "refunds": refunds[order.id]}
        for order in orders_api.list_customer_orders(customer_id=user_id)
    ]


# --- erasure -------------------------------------------------------------------------------------


def close_account(*, user_id: int, password: str) -> Erasure:
    """Close the account and erase the person: here at once, in the other contexts right after.

    Returns the erasure record; ``completed_at`` is empty if a step in another context failed (it is
    retried by the periodic job and listed by ``manage.py unfinished_erasures``).

    :raises WrongPassword: the password does not match (nothing changes).
    :raises CustomerNotFound: no such open account.
    """
    user = User.objects.filter(pk=user_id, closed_at__isnull=True).first()
    if user is None:
        raise CustomerNotFound()
    if not user.check_password(password):
        raise WrongPassword()
    with atomic_in("identity"):
        user = User.objects.select_for_update().get(pk=user_id)
        erasure, _ = Erasure.objects.get_or_create(customer_id=user.pk)
        _erase_identity(user)
        erasure.identity_done_at = timezone.now()
        erasure.save(update_fields=["identity_done_at"])
    return finish_erasure(customer_id=user_id)


def _erase_identity(user: User) -> None:
    """Idempotent: the account is closed and holds nothing personal; copies kept here lose the person."""
    now = timezone.now()
    old_email = user.email
    if user.closed_at is None:
        user.closed_at = now
    user.is_active = False
    user.email = f"closed-{user.pk}@{ERASED_DOMAIN}"
    user.first_name = user.last_name = ""
    user.set_unusable_password()
    user.save()
    user.groups.clear()
    user.user_permissions.clear()
    Address.objects.filter(user_id=user.pk).delete()
    if not old_email.endswith(f"@{ERASED_DOMAIN}"):  # once: a second run knows the address no more
        publish(AccountClosed(customer_id=user.pk, email=old_email))
    revoke_refresh_tokens(user_id=user.pk)


def _orders_step(customer_id: int) -> None:
    orders_api.anonymise_customer_orders(customer_id=customer_id)


def _carts_step(customer_id: int) -> None:
    cart_api.discard_customer_carts(customer_id=customer_id)


# Each step: the Erasure field that records it, and the call (idempotent) that performs it.
DOWNSTREAM_STEPS: tuple[tuple[str, Callable[[int], None]], ...] = (
    ("orders_done_at", _orders_step),
    ("carts_done_at", _carts_step),
)


def finish_erasure(*, customer_id: int) -> Erasure:
    """Run every step of this erasure that has not succeeded yet; safe to run any number of times."""
    erasure = Erasure.objects.get(customer_id=customer_id)
    if erasure.identity_done_at is None:  # interrupted before identity's own step committed
        with atomic_in("identity"):
            user = User.objects.select_for_update().get(pk=customer_id)
            _erase_identity(user)
            Erasure.objects.filter(pk=erasure.pk).update(identity_done_at=timezone.now())
        erasure.refresh_from_db()
    errors: list[str] = []
    for field, step in DOWNSTREAM_STEPS:
        if getattr(erasure, field) is not None:
            continue
        try:
            step(customer_id)  # no transaction of ours is open here
        except Exception as exc:
            logger.exception("Erasure of customer %s: step %s failed", customer_id, field)
            errors.append(f"{field.removesuffix('_done_at')}: {type(exc).__name__}: {exc}")
            continue
        setattr(erasure, field, timezone.now())
        Erasure.objects.filter(pk=erasure.pk).update(**{field: getattr(erasure, field)})
    erasure.attempts += 1
    erasure.last_error = "\n".join(errors)[:4000]
    if not errors:
        erasure.completed_at = timezone.now()
    Erasure.objects.filter(pk=erasure.pk).update(
        attempts=erasure.attempts, last_error=erasure.last_error, completed_at=erasure.completed_at
    )
    return erasure


def unfinished_erasures() -> list[Erasure]:
    return list(Erasure.objects.filter(completed_at__isnull=True).order_by("requested_at"))


def resume_erasures(*, limit: int = 100) -> int:
    """Finish erasures a crash or a failing context left behind; how many completed now."""
    done = 0
    for erasure in unfinished_erasures()[:limit]:
        done += finish_erasure(customer_id=erasure.customer_id).completed_at is not None
    return done

"""The published interface of the notifications context.

Notifications depends on no other context's ``api`` (it listens to their events only), and it sits
above identity in the DAG, so identity cannot call this module: what identity's personal-data export
reads here is lent to it at start-up (``contexts/wiring.py``).

Where it reads depends on the topology (settings, nothing else): from the deployable that sends, in process
from its own tables when notifications runs embedded, or, once it is lifted out (at any share), from the
service through its client (``contexts.notifications.client``), with the same functions, the same DTOs and the
same exceptions.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from contexts.notifications import client, conf, selectors
from contexts.notifications.exceptions import NotificationsError, NotificationsUnavailable

__all__ = ["CustomerMessage", "NotificationsError", "NotificationsUnavailable", "customer_messages"]


@dataclass(frozen=True, slots=True, kw_only=True)
class CustomerMessage:
    """One message as the customer's data export holds it. A secret one (a reset link) has no body. ``id`` is
    its public id (as ``/me/notifications`` shows it), ``created_at`` when its event occurred; ``status`` and
    ``sent_at`` are the sender's."""

    id: UUID
    kind: str
    subject: str
    recipient: str
    order_id: UUID | None
    status: str
    created_at: datetime
    sent_at: datetime | None
    body_text: str


def customer_messages(
    *, customer_id: int, access_token: Callable[[], str] | None = None
) -> tuple[CustomerMessage, ...]:
    """Every message this customer was sent (or is to be sent), oldest first.

    ``access_token`` gives an access token identity issued for this customer: asked for only when the
    messages are read from the notifications service (``conf.reads_from_service``), which knows customers
    by their tokens alone. They are read from whichever deployable sends: here when notifications runs
    embedded, from the service once it is lifted, at any share (this process's record-only copy does not
    know whether or when a message was sent).

    :raises NotificationsUnavailable: the service holds them and cannot be reached (or no token was given).
    """
    if not conf.reads_from_service():
        return messages_here(customer_id=customer_id)
    if access_token is None:
        raise NotificationsUnavailable("The customer's messages are held by the notifications service.")
    return tuple(_from_service(item) for item in client.customer_messages(access_token=access_token()))


def _from_service(item: dict[str, Any]) -> CustomerMessage:
    return CustomerMessage(
        id=UUID(item["id"]),
        kind=item["kind"],
        subject=item["subject"],
        recipient=item["recipient"],
        order_id=UUID(item["order_id"]) if item.get("order_id") else None,
        status=item["status"],
        created_at=datetime.fromisoformat(item["created_at"]),
        sent_at=datetime.fromisoformat(item["sent_at"]) if item.get("sent_at") else None,
        body_text=item["body_text"],
    )


def messages_here(*, customer_id: int) -> tuple[CustomerMessage, ...]:
    """The customer's messages in this deployable's own tables, oldest first (what the service's export
    endpoint answers, and the embedded monolith's export)."""
    return tuple(
        CustomerMessage(
            id=message.public_id,
            kind=message.kind,
            subject=message.subject,
            recipient=message.recipient,
            order_id=message.order_id,
            status=message.status,
            created_at=message.occurred_at,
            sent_at=message.sent_at,
            body_text="" if message.secret else message.body_text,
        )
        for message in selectors.messages_of(customer_id).order_by("occurred_at", "public_id")
    )

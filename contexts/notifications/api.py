"""The published interface of the notifications context.

Notifications depends on no other context's ``api`` (it listens to their events only), and it sits
above identity in the DAG, so identity cannot call this module: what identity's personal-data export
reads here is lent to it at start-up (``contexts/wiring.py``).
"""

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from contexts.notifications import selectors

__all__ = ["CustomerMessage", "customer_messages"]


@dataclass(frozen=True, slots=True, kw_only=True)
class CustomerMessage:
    """One message as the customer's data export holds it. A secret one (a reset link) has no body."""

    id: int
    kind: str
    subject: str
    recipient: str
    order_id: UUID | None
    status: str
    created_at: datetime
    sent_at: datetime | None
    body_text: str


def customer_messages(*, customer_id: int) -> tuple[CustomerMessage, ...]:
    """Every message this customer was sent (or is to be sent), oldest first."""
    return tuple(
        CustomerMessage(
            id=message.pk,
            kind=message.kind,
            subject=message.subject,
            recipient=message.recipient,
            order_id=message.order_id,
            status=message.status,
            created_at=message.created_at,
            sent_at=message.sent_at,
            body_text="" if message.secret else message.body_text,
        )
        for message in selectors.messages_of(customer_id).order_by("created_at", "id")
    )

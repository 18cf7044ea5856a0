"""Reads inside the notifications context."""

from uuid import UUID

from django.db.models import QuerySet

from contexts.notifications.models import Message, OrderContact


def messages_of(customer_id: int) -> QuerySet[Message]:
    """A customer's own messages, newest first (guest orders placed before the account are not theirs): by
    what every deployable holding them knows alike (the event's time, then the public id), so the monolith
    and the service page through the same list the same way."""
    return Message.objects.filter(customer_id=customer_id).order_by("-occurred_at", "-public_id")


def order_contact(order_id: UUID) -> OrderContact | None:
    """Whom an order belongs to, as projected from ``orders.OrderPlaced``."""
    return OrderContact.objects.filter(order_id=order_id).first()

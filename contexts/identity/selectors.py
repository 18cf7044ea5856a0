"""Reads inside the identity context."""

from uuid import UUID

from django.db.models import QuerySet

from contexts.identity.models import Address, Notification, OrderContact, User


def customer_by_id(customer_id: int) -> User | None:
    return User.objects.filter(pk=customer_id).first()


def addresses_of(user_id: int) -> QuerySet[Address]:
    return Address.objects.filter(user_id=user_id).order_by("id")


MAX_ID = 2**63 - 1


def address_of(user_id: int, address_id: int) -> Address | None:
    if not 0 < address_id <= MAX_ID:
        return None
    return Address.objects.filter(user_id=user_id, pk=address_id).first()


def notifications_of(customer_id: int) -> QuerySet[Notification]:
    """A customer's own messages, newest first (guest orders placed before the account are not theirs)."""
    return Notification.objects.filter(customer_id=customer_id).order_by("-created_at", "-id")


def order_contact(order_id: UUID) -> OrderContact | None:
    """Whom an order belongs to, as projected from ``orders.OrderPlaced``."""
    return OrderContact.objects.filter(order_id=order_id).first()

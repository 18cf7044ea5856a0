"""Reads inside the identity context."""

from contexts.identity.models import User


def customer_by_id(customer_id: int) -> User | None:
    return User.objects.filter(pk=customer_id).first()

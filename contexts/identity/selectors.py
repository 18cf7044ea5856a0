"""Reads inside the identity context."""

from django.db.models import QuerySet

from contexts.identity.models import Address, User


def customer_by_id(customer_id: int) -> User | None:
    return User.objects.filter(pk=customer_id).first()


def addresses_of(user_id: int) -> QuerySet[Address]:
    return Address.objects.filter(user_id=user_id).order_by("id")


MAX_ID = 2**63 - 1


def address_of(user_id: int, address_id: int) -> Address | None:
    if not 0 < address_id <= MAX_ID:
        return None
    return Address.objects.filter(user_id=user_id, pk=address_id).first()

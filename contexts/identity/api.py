"""The published interface of the identity context: customers, staff roles and authentication.

Other contexts import this module and ``events`` and nothing else of this context.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from contexts.identity import selectors
from contexts.identity.exceptions import CustomerNotFound, EmailAlreadyRegistered, IdentityError, WeakPassword
from contexts.identity.services import accounts, personal_data, sessions
from contexts.orders import api as orders_api

__all__ = [
    "Customer",
    "CustomerNotFound",
    "EmailAlreadyRegistered",
    "IdentityError",
    "ServiceAccessToken",
    "WeakPassword",
    "ensure_demo_customer",
    "get_customer",
    "issue_access_token",
    "register_message_history",
    "saved_address_for_checkout",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class Customer:
    id: int
    email: str
    first_name: str
    last_name: str
    joined_at: datetime
    is_active: bool


def _customer(user) -> Customer:
    return Customer(
        id=user.pk,
        email=user.email,
        first_name=user.first_name,
        last_name=user.last_name,
        joined_at=user.date_joined,
        is_active=user.is_active,
    )


def ensure_demo_customer(*, email: str, first_name: str, last_name: str) -> Customer:
    """Demo data only (``manage.py seed_demo_orders``): the customer with this email, created without a
    usable password when missing."""
    return _customer(accounts.ensure_demo_customer(email=email, first_name=first_name, last_name=last_name))


def get_customer(*, customer_id: int) -> Customer:
    """The customer with this id.

    :raises CustomerNotFound: no such customer.
    """
    user = selectors.customer_by_id(customer_id)
    if user is None:
        raise CustomerNotFound()
    return _customer(user)


@dataclass(frozen=True, slots=True, kw_only=True)
class ServiceAccessToken:
    """An access token identity issued for a customer, for one call to a service on their behalf."""

    token: str
    expires_at: datetime


def issue_access_token(*, customer_id: int, lifetime_seconds: int = 60) -> ServiceAccessToken:
    """A short-lived access token for this customer, signed by identity (RS256, with its key's ``kid``), which a
    lifted service verifies with identity's public keys as it verifies the customer's own: how the monolith
    calls a service for a customer (``contexts/wiring.py``: their messages, for their export).

    :raises CustomerNotFound: no such open account.
    """
    token, expires_at = sessions.access_token_for_call(
        user_id=customer_id, lifetime=timedelta(seconds=lifetime_seconds)
    )
    return ServiceAccessToken(token=token, expires_at=expires_at)


def saved_address_for_checkout(*, customer_id: int, address_id: int) -> orders_api.Address | None:
    """The customer's saved address as orders takes it at checkout (``address_id``); ``None`` when this
    customer has no such address. Lent to orders at start-up (``orders.api.register_address_book``):
    orders sits below identity and cannot call it."""
    address = selectors.address_of(customer_id, address_id)
    if address is None:
        return None
    return orders_api.Address(
        full_name=address.full_name,
        line1=address.line1,
        line2=address.line2,
        city=address.city,
        postal_code=address.postal_code,
        country=str(address.country),
        phone=address.phone,
    )


def register_message_history(*, reader: Callable[[int], Sequence[Any]] | None) -> None:
    """Lend identity's personal-data export the customer's messages: ``reader(customer_id)`` returns
    them as frozen dataclasses, oldest first. Lent by notifications at start-up (``contexts/wiring.py``):
    notifications sits above identity (it listens to identity's events) and identity cannot call it."""
    personal_data.register_message_history(reader)

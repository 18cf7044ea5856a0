"""The published interface of the identity context: customers, staff roles and authentication.

Other contexts import this module and ``events`` and nothing else of this context.
"""

from dataclasses import dataclass
from datetime import datetime

from contexts.identity import selectors
from contexts.identity.exceptions import CustomerNotFound, EmailAlreadyRegistered, IdentityError, WeakPassword

__all__ = [
    "Customer",
    "CustomerNotFound",
    "EmailAlreadyRegistered",
    "IdentityError",
    "WeakPassword",
    "get_customer",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class Customer:
    id: int
    email: str
    first_name: str
    last_name: str
    joined_at: datetime
    is_active: bool


def get_customer(*, customer_id: int) -> Customer:
    """The customer with this id.

    :raises CustomerNotFound: no such customer.
    """
    user = selectors.customer_by_id(customer_id)
    if user is None:
        raise CustomerNotFound()
    return Customer(
        id=user.pk,
        email=user.email,
        first_name=user.first_name,
        last_name=user.last_name,
        joined_at=user.date_joined,
        is_active=user.is_active,
    )

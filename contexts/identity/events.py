"""Events published by the identity context."""

from dataclasses import dataclass

from commerce.eventbus import Event, domain_event


@domain_event("identity.CustomerRegistered", version=1, aggregate="customer_id")
@dataclass(frozen=True, slots=True, kw_only=True)
class CustomerRegistered(Event):
    customer_id: int
    email: str


@domain_event("identity.PasswordResetRequested", version=1, secret=("reset_url", "token"), aggregate="customer_id")
@dataclass(frozen=True, slots=True, kw_only=True)
class PasswordResetRequested(Event):
    """A customer asked for a password reset: what the reset mail needs. ``reset_url`` and ``token``
    are secrets (whoever holds them sets the password): the admin masks them, and the outbox blanks
    them once every subscriber has the event."""

    customer_id: int
    email: str
    first_name: str = ""
    uid: str
    token: str
    reset_url: str = ""  # empty: no storefront page to link to, the mail spells out the API call


@domain_event("identity.AccountClosed", version=1, secret=("email",), aggregate="customer_id")
@dataclass(frozen=True, slots=True, kw_only=True)
class AccountClosed(Event):
    """A customer closed their account: every context keeping a copy of them erases it. ``email`` is
    the address the account had (guest orders placed with it are the person's too); it is blanked in
    the outbox once delivered, like a secret, since the person asked to be forgotten."""

    customer_id: int
    email: str

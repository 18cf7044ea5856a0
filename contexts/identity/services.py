"""Writes of the identity context: atomic on its own database, publish events last."""

from dataclasses import dataclass

from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError

from commerce.database import atomic_in
from commerce.eventbus import publish
from contexts.identity.events import CustomerRegistered
from contexts.identity.exceptions import EmailAlreadyRegistered, WeakPassword
from contexts.identity.models import User, normalize_email


@dataclass(frozen=True, slots=True, kw_only=True)
class ProfileChanges:
    first_name: str | None = None
    last_name: str | None = None


def register_customer(*, email: str, password: str, first_name: str = "", last_name: str = "") -> User:
    """Create a customer account; the email is unique whatever its letter case.

    :raises EmailAlreadyRegistered: an account with this email exists.
    :raises WeakPassword: the password fails the configured validators.
    """
    email = normalize_email(email)
    candidate = User(email=email, first_name=first_name, last_name=last_name)
    try:
        password_validation.validate_password(password, user=candidate)
    except DjangoValidationError as exc:
        raise WeakPassword(messages=tuple(exc.messages)) from None
    if User.objects.filter(email=email).exists():
        raise EmailAlreadyRegistered()
    candidate.set_password(password)
    try:
        with atomic_in("identity"):
            candidate.save()
            publish(CustomerRegistered(customer_id=candidate.pk, email=candidate.email))
    except IntegrityError:  # a concurrent registration won the race for this email
        raise EmailAlreadyRegistered() from None
    return candidate


def update_profile(*, user_id: int, changes: ProfileChanges) -> User:
    with atomic_in("identity"):
        user = User.objects.select_for_update().get(pk=user_id)
        if changes.first_name is not None:
            user.first_name = changes.first_name
        if changes.last_name is not None:
            user.last_name = changes.last_name
        user.save(update_fields=["first_name", "last_name"])
    return user

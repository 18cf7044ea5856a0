"""Accounts: registration, profile, password reset. Atomic on identity's database, publish events last."""

from dataclasses import dataclass

from django.contrib.auth import password_validation
from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError
from django.utils.encoding import force_bytes, force_str
from django.utils.http import urlsafe_base64_decode, urlsafe_base64_encode

from commerce.database import atomic_in
from commerce.eventbus import publish
from contexts.identity.conf import identity_settings
from contexts.identity.events import CustomerRegistered, PasswordResetRequested
from contexts.identity.exceptions import EmailAlreadyRegistered, InvalidResetToken, WeakPassword
from contexts.identity.models import User, normalize_email
from contexts.identity.services.sessions import (
    end_every_session,
    revoke_refresh_tokens,  # noqa: F401 (erasure imports it from here)
)


@dataclass(frozen=True, slots=True, kw_only=True)
class ProfileChanges:
    first_name: str | None = None
    last_name: str | None = None


def _validate_password(password: str, user: User, *, field: str = "password") -> None:
    try:
        password_validation.validate_password(password, user=user)
    except DjangoValidationError as exc:
        raise WeakPassword(messages=tuple(exc.messages), field=field) from None


def register_customer(*, email: str, password: str, first_name: str = "", last_name: str = "") -> User:
    """Create a customer account; the email is unique whatever its letter case.

    :raises EmailAlreadyRegistered: an account with this email exists.
    :raises WeakPassword: the password fails the configured validators (too short, too common, too
        close to the email or name).
    """
    email = normalize_email(email)
    candidate = User(email=email, first_name=first_name, last_name=last_name)
    _validate_password(password, candidate)
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


def ensure_demo_customer(*, email: str, first_name: str, last_name: str) -> User:
    """Demo data only (``manage.py seed_demo_orders``): the customer with this email, registered (as
    ``register_customer`` does, ``CustomerRegistered`` published) when missing, with no usable password:
    a demo buyer is never signed in to."""
    email = normalize_email(email)
    existing = User.objects.filter(email=email).first()
    if existing is not None:
        return existing
    candidate = User(email=email, first_name=first_name, last_name=last_name)
    candidate.set_unusable_password()
    with atomic_in("identity"):
        candidate.save()
        publish(CustomerRegistered(customer_id=candidate.pk, email=candidate.email))
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


def request_password_reset(*, email: str) -> None:
    """Have a reset link mailed to the account with this email, if there is one; say nothing either way.

    The token is Django's: signed with ``SECRET_KEY``, expiring after ``PASSWORD_RESET_TIMEOUT``, and
    single-use because it hashes the password and last login, which the reset changes. Identity sends
    no mail: it publishes ``PasswordResetRequested`` with what the mail needs, and notifications sends
    it. The link and token are the event's secret fields: masked in the admin, and blanked in the
    outbox once delivered (a stored reset link would be a stored password).
    """
    user = User.objects.filter(email=normalize_email(email), is_active=True, closed_at__isnull=True).first()
    if user is None or not user.has_usable_password():
        return
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    token = default_token_generator.make_token(user)
    config = identity_settings()
    with atomic_in("identity"):
        publish(
            PasswordResetRequested(
                customer_id=user.pk,
                email=user.email,
                first_name=user.first_name,
                uid=uid,
                token=token,
                reset_url=config.password_reset_url.format(uid=uid, token=token) if config.password_reset_url else "",
            )
        )


def _user_from_uid(uid: str) -> User | None:
    try:
        pk = int(force_str(urlsafe_base64_decode(uid)))
    except (TypeError, ValueError, OverflowError, UnicodeDecodeError):
        return None
    return User.objects.filter(pk=pk, is_active=True, closed_at__isnull=True).first()


def confirm_password_reset(*, uid: str, token: str, new_password: str) -> None:
    """Set a new password with a reset link's ``uid`` and ``token``, and log out every session.

    :raises InvalidResetToken: the link is forged, expired, already used, or its account is closed.
    :raises WeakPassword: the new password fails the configured validators.
    """
    user = _user_from_uid(uid)
    if user is None or not default_token_generator.check_token(user, token):
        raise InvalidResetToken()
    _validate_password(new_password, user, field="new_password")
    with atomic_in("identity"):
        user = User.objects.select_for_update().get(pk=user.pk)
        if not default_token_generator.check_token(user, token):  # a concurrent reset used it first
            raise InvalidResetToken()
        user.set_password(new_password)
        user.save(update_fields=["password"])
        end_every_session(user_id=user.pk)  # whoever knew the old password holds no token either

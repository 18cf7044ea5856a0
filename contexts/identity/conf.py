"""The identity context's settings, read from ``settings.IDENTITY_*`` on each call."""

from dataclasses import dataclass

from django.conf import settings


@dataclass(frozen=True, slots=True, kw_only=True)
class IdentitySettings:
    password_reset_url: str  # empty: no page to link to (the mail spells out the API call instead)


def identity_settings() -> IdentitySettings:
    """Read on each call (cheap) so ``override_settings`` in tests takes effect."""
    return IdentitySettings(
        # Where the storefront shows its "choose a new password" form; {uid} and {token} are filled in.
        password_reset_url=_password_reset_url(),
    )


def _password_reset_url() -> str:
    """``IDENTITY_PASSWORD_RESET_URL`` if set, else the storefront's ``/reset-password`` page (``STOREFRONT_URL``),
    else none: an address made up here would send a customer to a page that does not exist."""
    explicit = getattr(settings, "IDENTITY_PASSWORD_RESET_URL", "")
    if explicit:
        return str(explicit)
    storefront = str(getattr(settings, "STOREFRONT_URL", "") or "").rstrip("/")
    return f"{storefront}/reset-password?uid={{uid}}&token={{token}}" if storefront else ""

"""The notifications context's settings, read from ``settings.NOTIFICATIONS_*`` on each call (cheap), so
``override_settings`` in tests takes effect."""

from dataclasses import dataclass

from django.conf import settings


@dataclass(frozen=True, slots=True, kw_only=True)
class NotificationsSettings:
    sends: bool  # False: record only (the monolith once notifications is lifted: the service sends)
    max_attempts: int
    backoff_seconds: float
    sending_lease_seconds: float
    shop_name: str


def _setting(name: str, default: object) -> object:
    """``NOTIFICATIONS_<name>``, else the ``IDENTITY_NOTIFICATION_<name>`` it was called while identity
    sent the mail (an upgraded installation's environment keeps working), else the default."""
    return getattr(settings, f"NOTIFICATIONS_{name}", getattr(settings, f"IDENTITY_NOTIFICATION_{name}", default))


def sends() -> bool:
    """Whether this process sends mail. ``NOTIFICATIONS_SENDS`` when set (the service sets it); else
    yes, unless notifications is in ``LIFTED``: then the service sends, and the monolith only records
    (DESIGN.md "Lifting a context out": while moving both may record, exactly one sends)."""
    explicit = getattr(settings, "NOTIFICATIONS_SENDS", None)
    if explicit is not None:
        return bool(explicit)
    return "notifications" not in getattr(settings, "LIFTED", frozenset())


def notifications_settings() -> NotificationsSettings:
    return NotificationsSettings(
        sends=sends(),
        # A message the mail server keeps refusing is given up after this many attempts (visible in the
        # admin's message log, where staff can resend it).
        max_attempts=int(_setting("MAX_ATTEMPTS", 8)),
        backoff_seconds=float(_setting("BACKOFF_SECONDS", 30)),
        # A message claimed for sending longer ago than this lost its worker mid-send.
        sending_lease_seconds=float(_setting("SENDING_LEASE_SECONDS", 600)),
        shop_name=str(getattr(settings, "SHOP_NAME", "Commerce")),
    )


def reads_from_service() -> bool:
    """Whether this process reads customers' messages (their export) from the notifications service rather
    than its own tables: whenever it does not send itself. Once notifications is lifted the service is the
    sender, at any share: the monolith's record-only copy, while a share under 100 keeps it recording, has
    every message but neither whether nor when it was sent, and at 100 it stops recording at all."""
    return not sends()


def service_url() -> str:
    """Where the notifications service answers (``NOTIFICATIONS_SERVICE_URL``), without a trailing slash."""
    return str(getattr(settings, "NOTIFICATIONS_SERVICE_URL", "http://127.0.0.1:8002")).rstrip("/")


def service_timeout_seconds() -> float:
    """The deadline of one call to the service, retries included (``NOTIFICATIONS_SERVICE_TIMEOUT_SECONDS``)."""
    return float(getattr(settings, "NOTIFICATIONS_SERVICE_TIMEOUT_SECONDS", 5))

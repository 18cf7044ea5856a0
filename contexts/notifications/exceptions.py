"""The notifications context's exceptions."""

from commerce.errors import DomainError
from commerce.eventbus import Deferred


class NotificationsError(DomainError):
    """A notifications rule refused the request."""


class NotificationDeferred(NotificationsError, Deferred):
    """The message cannot be addressed yet; the event is retried later.

    The order it is about is not known here yet (its ``OrderPlaced`` is still on its way). A
    ``Deferred``: the bus retries it for days (``EVENTBUS["DEFER_FOR_SECONDS"]``) without counting it
    as a failure, so a dispatch whose order's events are held up (an outage of orders' outbox, a
    relay down) is still told once they come.
    """

    code = "notification_deferred"
    http_status = 503


class NotificationsUnavailable(NotificationsError):
    """The notifications service cannot be reached right now; retry shortly."""

    code = "service_unavailable"
    http_status = 503
    retry_after = 5

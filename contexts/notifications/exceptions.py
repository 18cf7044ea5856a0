"""The notifications context's exceptions."""

from commerce.errors import DomainError


class NotificationsError(DomainError):
    """A notifications rule refused the request."""


class NotificationDeferred(NotificationsError):
    """The message cannot be addressed yet; the event is retried later.

    The order it is about is not known here yet (its ``OrderPlaced`` is still on its way).
    """

    code = "notification_deferred"
    http_status = 503


class NotificationsUnavailable(NotificationsError):
    """The notifications service cannot be reached right now; retry shortly."""

    code = "service_unavailable"
    http_status = 503
    retry_after = 5

"""The orders context's exceptions, re-exported from ``api``."""

from commerce.errors import DomainError


class OrdersError(DomainError):
    """A orders rule refused the request."""

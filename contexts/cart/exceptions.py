"""The cart context's exceptions, re-exported from ``api``."""

from commerce.errors import DomainError


class CartError(DomainError):
    """A cart rule refused the request."""

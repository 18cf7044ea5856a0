"""The inventory context's exceptions, re-exported from ``api``."""

from commerce.errors import DomainError


class InventoryError(DomainError):
    """A inventory rule refused the request."""

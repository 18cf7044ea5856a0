"""The pricing context's exceptions, re-exported from ``api``."""

from commerce.errors import DomainError


class PricingError(DomainError):
    """A pricing rule refused the request."""

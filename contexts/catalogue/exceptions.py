"""The catalogue context's exceptions, re-exported from ``api``."""

from commerce.errors import DomainError


class CatalogueError(DomainError):
    """A catalogue rule refused the request."""

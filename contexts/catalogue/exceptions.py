"""The catalogue context's exceptions, re-exported from ``api``."""

from typing import Any

from commerce.errors import DomainError


class CatalogueError(DomainError):
    """A catalogue rule refused the request."""


class ProductNotFound(CatalogueError):
    """No published product has this slug."""

    code = "not_found"
    http_status = 404


class CategoryNotFound(CatalogueError):
    """No category has this slug."""

    code = "not_found"
    http_status = 404


class UnknownSku(CatalogueError):
    """The catalogue has no variant with this SKU."""

    code = "unknown_sku"
    http_status = 400

    def __init__(self, detail: str | None = None, *, skus: tuple[str, ...] = ()) -> None:
        self.skus = skus
        super().__init__(detail or (f"Unknown SKU: {', '.join(skus)}." if skus else None))

    def extra(self) -> dict[str, Any]:
        return {"skus": list(self.skus)} if self.skus else {}


class InvalidQuery(CatalogueError):
    """The listing query is not valid."""

    code = "invalid"
    http_status = 400

    def __init__(self, errors: dict[str, list[str]]) -> None:
        self.errors = errors
        field, messages = next(iter(errors.items()))
        super().__init__(f"{field}: {messages[0]}")

    def extra(self) -> dict[str, Any]:
        return {"errors": self.errors}


class DuplicateSku(CatalogueError):
    """Another variant already has this SKU."""

    code = "duplicate_sku"
    http_status = 409


class InvalidAttributes(CatalogueError):
    """Attributes are not a JSON object of text to text within bounds."""

    code = "invalid"
    http_status = 400

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__(" ".join(problems))

    def extra(self) -> dict[str, Any]:
        return {"errors": {"attributes": self.problems}}

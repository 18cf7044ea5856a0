"""The identity context's exceptions, re-exported from ``api``."""

from typing import Any

from commerce.errors import DomainError


class IdentityError(DomainError):
    """An identity rule refused the request."""


class EmailAlreadyRegistered(IdentityError):
    """An account with this email already exists."""

    code = "invalid"

    def extra(self) -> dict[str, Any]:
        return {"errors": {"email": [self.detail]}}


class WeakPassword(IdentityError):
    """The password is too weak."""

    code = "invalid"

    def __init__(self, *, messages: tuple[str, ...]) -> None:
        self.messages = messages
        super().__init__(" ".join(messages))

    def extra(self) -> dict[str, Any]:
        return {"errors": {"password": list(self.messages)}}


class CustomerNotFound(IdentityError):
    """No such customer."""

    code = "not_found"
    http_status = 404

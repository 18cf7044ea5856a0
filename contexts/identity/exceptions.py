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

    def __init__(self, *, messages: tuple[str, ...], field: str = "password") -> None:
        self.messages = messages
        self.field = field
        super().__init__(" ".join(messages))

    def extra(self) -> dict[str, Any]:
        return {"errors": {self.field: list(self.messages)}}


class CustomerNotFound(IdentityError):
    """No such customer."""

    code = "not_found"
    http_status = 404


class InvalidResetToken(IdentityError):
    """This password-reset link is invalid, expired or already used."""

    code = "invalid_token"

    def extra(self) -> dict[str, Any]:
        return {"errors": {"token": [self.detail]}}


class InvalidRefreshToken(IdentityError):
    """This is not a refresh token this shop issued to you."""

    code = "invalid_token"

    def extra(self) -> dict[str, Any]:
        return {"errors": {"refresh": [self.detail]}}


class AddressNotFound(IdentityError):
    """No such address."""

    code = "not_found"
    http_status = 404


class WrongPassword(IdentityError):
    """The password is not correct.

    A failed re-authentication (403, with ``/auth/token``'s code), not a malformed request: the body was
    well-formed, the caller just could not prove who they are. (The first line of a ``DomainError``'s
    docstring is its ``detail``: a sentence of its own.)
    """

    code = "invalid_credentials"
    http_status = 403

    def extra(self) -> dict[str, Any]:
        return {"errors": {"password": [self.detail]}}

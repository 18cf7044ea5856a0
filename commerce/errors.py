"""One error shape for the whole API: ``{"code": ..., "detail": ..., **extra}``.

Each context has one exception base deriving from ``DomainError`` and specific exceptions carrying
structured data. The code and HTTP status are part of the published contract of an error (API.md
names both), so they live on the exception class; the REST layers never translate by hand.
"""

import logging
from typing import Any, ClassVar

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.http import Http404, JsonResponse
from rest_framework import exceptions as drf
from rest_framework.response import Response
from rest_framework.views import set_rollback

logger = logging.getLogger(__name__)


class DomainError(Exception):
    """A business rule refused a request. Subclasses set ``code`` and ``http_status``."""

    code: ClassVar[str] = "error"
    http_status: ClassVar[int] = 400

    def __init__(self, detail: str | None = None) -> None:
        self.detail = detail or self.default_detail()
        super().__init__(self.detail)

    def default_detail(self) -> str:
        return self.__doc__.strip().splitlines()[0] if self.__doc__ else self.code.replace("_", " ")

    def extra(self) -> dict[str, Any]:
        """Machine-readable fields added to the error body (``available``, ``lines``, ``reason``)."""
        return {}


def error_body(code: str, detail: str, **extra: Any) -> dict[str, Any]:
    return {"code": code, "detail": detail, **extra}


def json_error(status: int, code: str, detail: str, **extra: Any) -> JsonResponse:
    return JsonResponse(error_body(code, detail, **extra), status=status)


_STATUS_CODES = {
    400: "bad_request",
    401: "not_authenticated",
    403: "permission_denied",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    413: "request_too_large",
    415: "unsupported_media_type",
    429: "throttled",
    500: "server_error",
    502: "bad_gateway",
    503: "service_unavailable",
}


# DRF's own codes the contract names otherwise (docs/API.md "Error codes"): a body DRF cannot parse
# (malformed JSON, nested too deep) is ``bad_request``.
_DRF_CODES = {"parse_error": "bad_request"}


def code_for_status(status: int) -> str:
    return _STATUS_CODES.get(status, "error")


# A database that refuses or drops connections (a restart, a failover, a full connection limit) is a
# moment's unavailability, not a bug: the API answers 503 with Retry-After, and the next request
# opens a fresh connection (Django discards one that failed when the request ends).
DATABASE_RETRY_AFTER_SECONDS = 5


def is_database_unavailable(exc: BaseException) -> bool:
    from django.db import InterfaceError, OperationalError

    return isinstance(exc, OperationalError | InterfaceError)


def database_unavailable() -> JsonResponse:
    response = json_error(
        503, "service_unavailable", "The service is briefly unavailable (its database is not answering); retry shortly."
    )
    response["Retry-After"] = str(DATABASE_RETRY_AFTER_SECONDS)
    return response


def _flatten(detail: Any) -> Any:
    if isinstance(detail, dict):
        return {key: _flatten(value) for key, value in detail.items()}
    if isinstance(detail, list):
        return [_flatten(item) for item in detail]
    return str(detail)


def _first_message(errors: Any) -> str:
    if isinstance(errors, dict):
        for key, value in errors.items():
            message = _first_message(value)
            return message if key == "non_field_errors" else f"{key}: {message}"
    if isinstance(errors, list) and errors:
        return _first_message(errors[0])
    return str(errors) if errors else "Invalid input."


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's exception handler: every error raised under ``/api/`` leaves in the contract's shape."""
    headers: dict[str, str] = {}
    if isinstance(exc, DomainError):
        set_rollback()
        if getattr(exc, "retry_after", None):  # e.g. request_in_progress: when to try again
            headers["Retry-After"] = str(exc.retry_after)
        return Response(error_body(exc.code, exc.detail, **exc.extra()), status=exc.http_status, headers=headers)
    if isinstance(exc, RequestDataTooBig):
        return Response(error_body("request_too_large", "The request body is too large."), status=413)
    if isinstance(exc, Http404):
        exc = drf.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = drf.PermissionDenied()
    elif isinstance(exc, SuspiciousOperation):
        exc = drf.ParseError(str(exc) or "Bad request.")
    if not isinstance(exc, drf.APIException):
        return None  # unexpected: ApiErrorMiddleware logs it and answers a JSON 500
    if getattr(exc, "auth_header", None):
        headers["WWW-Authenticate"] = exc.auth_header
    if getattr(exc, "wait", None):
        headers["Retry-After"] = str(int(exc.wait))
    set_rollback()
    if isinstance(exc, drf.ValidationError):
        errors = _flatten(exc.detail)
        if not isinstance(errors, dict):
            errors = {"non_field_errors": errors if isinstance(errors, list) else [errors]}
        return Response(error_body("invalid", _first_message(errors), errors=errors), status=400, headers=headers)
    detail = exc.detail
    code = exc.get_codes() if isinstance(exc.get_codes(), str) else code_for_status(exc.status_code)
    code = _DRF_CODES.get(code, code)
    if isinstance(detail, dict):
        code = str(detail.get("code", code))
        message = str(detail.get("detail", "")) or code.replace("_", " ")
        # ``messages`` is simplejwt's account of which token class refused which token: internal.
        extra = {k: _flatten(v) for k, v in detail.items() if k not in {"code", "detail", "messages"}}
        return Response(error_body(code, message, **extra), status=exc.status_code, headers=headers)
    if isinstance(exc, drf.NotFound):
        code = "not_found"
    return Response(error_body(code, str(detail)), status=exc.status_code, headers=headers)

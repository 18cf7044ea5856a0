"""HTTP plumbing shared by every context: request ids, the API's error shape, optional slashes."""

import logging
import re
import uuid
from collections.abc import Callable

import django_prometheus.middleware
from django.core.signals import request_finished
from django.http import HttpRequest, HttpResponse

from commerce import correlation
from commerce.errors import code_for_status, database_unavailable, is_database_unavailable, json_error

logger = logging.getLogger("commerce.request")

API_PREFIX = "/api/"
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")

Handler = Callable[[HttpRequest], HttpResponse]


class RequestIdMiddleware:
    """Honour an incoming ``X-Request-ID`` (or make one), echo it, and bind it to every log line.

    The request id also starts the correlation chain: events published while serving the request
    carry it as ``correlation_id`` and ``causation_id``.
    """

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        incoming = request.headers.get("X-Request-ID", "")
        request_id = incoming if _REQUEST_ID.match(incoming) else uuid.uuid4().hex
        request.request_id = request_id
        # Not a ``with`` block: Django logs the response ("Not Found: ...") after the middleware
        # chain returns, and that line must carry the id too. ``request_finished`` clears it.
        correlation.begin_request(request_id)
        response = self.get_response(request)
        response["X-Request-ID"] = request_id
        return response


def _forget_request_ids(**_: object) -> None:
    correlation.end_request()


request_finished.connect(_forget_request_ids, dispatch_uid="commerce.forget_request_ids")


class ApiErrorMiddleware:
    """Under ``/api/`` no HTML error page and no stack trace ever leaves, whatever the input."""

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if not request.path.startswith(API_PREFIX) or response.status_code < 400:
            return response
        if response.get("Content-Type", "").startswith("application/json"):
            return response
        status = response.status_code
        detail = {404: "Not found.", 405: "Method not allowed."}.get(status, "The request could not be served.")
        replacement = json_error(status, code_for_status(status), detail)
        for header in ("Allow", "Retry-After", "WWW-Authenticate"):
            if header in response:
                replacement[header] = response[header]
        return replacement

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not request.path.startswith(API_PREFIX):
            return None
        if is_database_unavailable(exception):
            logger.warning("Database unavailable serving %s %s: %s", request.method, request.path, exception)
            return database_unavailable()
        logger.exception("Unhandled error serving %s %s", request.method, request.path)
        return json_error(500, "server_error", "An unexpected error occurred; it has been logged.")


class OptionalTrailingSlashMiddleware:
    """``/api/v1/products`` and ``/api/v1/products/`` are the same resource; no redirect, even on POST.

    URL patterns are declared without a trailing slash; this strips one from the request path first.
    """

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path_info.startswith(API_PREFIX) and len(request.path_info) > len(API_PREFIX):
            request.path_info = request.path_info.rstrip("/") or "/"
        return self.get_response(request)


class ServedByMiddleware:
    """``X-Served-By: <SERVED_BY>`` on every answer: which deployable served it (``monolith``,
    ``notifications``), so an operator sees where the gateway sent a request. First in ``MIDDLEWARE``,
    so no answer escapes it (a CORS preflight, a locked-out admin, an error page)."""

    def __init__(self, get_response: Handler) -> None:
        from django.conf import settings

        self.get_response = get_response
        self.served_by = settings.SERVED_BY

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response["X-Served-By"] = self.served_by
        return response


class PrometheusAfterMiddleware(django_prometheus.middleware.PrometheusAfterMiddleware):
    """django-prometheus' request metrics, each labelled series looked up once per process.

    Its middleware asks ``metric.labels(...)`` seven times a request (by method, view, status, ...); each
    call checks the label names, converts every value to text and takes the metric's lock. The children
    are kept here by their label values instead: the same objects ``labels`` answers (it never replaces
    one), so the same series count. Label values are the few methods, views, statuses and charsets the
    shop answers with, as many as the series themselves.
    """

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self._children: dict[tuple, object] = {}

    def label_metric(self, metric, request, response=None, **labels):  # type: ignore[no-untyped-def]
        if not labels:
            return metric
        key = (id(metric), *labels.items())
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = metric.labels(**labels)
        return child

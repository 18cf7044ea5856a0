"""``GET /api/v1/``: a JSON index of the API's entry points, read from the URL configuration, so an
endpoint a context adds appears here without anyone editing this module."""

import re

from django.http import HttpRequest, JsonResponse
from django.urls import URLPattern, URLResolver, get_resolver

API_ROOT = "api/v1/"
_CONVERTER = re.compile(r"<(?:[^>:]+:)?([^>]+)>")


def _routes(patterns: list, prefix: str = "") -> list[str]:
    routes: list[str] = []
    for pattern in patterns:
        route = prefix + _CONVERTER.sub(r"{\1}", str(pattern.pattern))
        if isinstance(pattern, URLResolver):
            routes += _routes(pattern.url_patterns, route)
        elif isinstance(pattern, URLPattern) and route:
            routes.append(route)
    return routes


def endpoints() -> list[str]:
    """Every path under ``/api/v1/``, parameters written ``{name}`` as in the OpenAPI schema."""
    for pattern in get_resolver().url_patterns:
        if isinstance(pattern, URLResolver) and str(pattern.pattern) == API_ROOT:
            return sorted(dict.fromkeys(_routes(pattern.url_patterns)))
    return []


def _path(name: str) -> str:
    """The path of a top-level URL by its name, as ``reverse`` would give it. Not ``reverse`` itself: its first
    call builds the reverse map of every URLconf included, the admin's too, which would load the admin's pages
    into an API worker (``commerce.admin_site``)."""
    for pattern in get_resolver().url_patterns:
        if isinstance(pattern, URLPattern) and pattern.name == name:
            return f"/{pattern.pattern}"
    raise LookupError(name)


def index(request: HttpRequest) -> JsonResponse:
    base = request.build_absolute_uri(f"/{API_ROOT}")
    return JsonResponse(
        {
            "version": "v1",
            "endpoints": {route: base + route for route in endpoints()},
            "schema": request.build_absolute_uri(_path("schema")),
            "docs": request.build_absolute_uri(_path("swagger-ui")),
        }
    )

"""The deployable's URLs. Contexts' REST modules are included by dotted string, so the kernel
imports no context."""

import functools
from collections.abc import Callable

from django.contrib import admin
from django.http import HttpRequest, HttpResponseBase
from django.urls import include, path, re_path
from django.utils.module_loading import import_string

from commerce import api_index, health, monitoring


def _on_first_use(dotted: str, **initkwargs: object) -> Callable[..., HttpResponseBase]:
    """A view imported when it is first asked for: the API docs' stack (the schema generator, its
    renderers and assets) stays out of a worker that never serves /api/schema or /api/docs."""

    @functools.cache
    def view() -> Callable[..., HttpResponseBase]:
        return import_string(dotted).as_view(**initkwargs)

    def lazy(request: HttpRequest, *args: object, **kwargs: object) -> HttpResponseBase:
        return view()(request, *args, **kwargs)

    lazy.csrf_exempt = True  # as every DRF view is
    return lazy


api_v1 = [
    path("", include("contexts.identity.rest.urls")),
    path("", include("contexts.catalogue.rest.urls")),
    path("", include("contexts.pricing.rest.urls")),
    path("", include("contexts.inventory.rest.urls")),
    path("", include("contexts.cart.rest.urls")),
    path("", include("contexts.orders.rest.urls")),
    path("", include("contexts.notifications.rest.urls")),
]

urlpatterns = [
    # ``admin.site.urls`` as (URLconf, app name, namespace), its URLconf named rather than built: the resolver
    # imports it on the first request under /admin/, so an API worker never loads the admin's pages.
    path("admin/", ("commerce.admin_urls", "admin", admin.site.name)),
    path("api/v1", api_index.index, name="api-index"),  # also /api/v1/ (OptionalTrailingSlashMiddleware)
    path("api/v1/", include(api_v1)),
    # Where JWKS clients look by convention (RFC 8615); the same document as /api/v1/.well-known/jwks.json.
    path(".well-known/jwks.json", _on_first_use("contexts.identity.rest.views.JwksView"), name="jwks"),
    path("api/schema", _on_first_use("drf_spectacular.views.SpectacularAPIView"), name="schema"),
    path(
        "api/docs", _on_first_use("drf_spectacular.views.SpectacularSwaggerView", url_name="schema"), name="swagger-ui"
    ),
    path("api/redoc", _on_first_use("drf_spectacular.views.SpectacularRedocView", url_name="schema"), name="redoc"),
    re_path(r"^health/live/?$", health.live, name="health-live"),
    re_path(r"^health/ready/?$", health.ready, name="health-ready"),
    path("metrics", monitoring.metrics_view, name="metrics"),
]

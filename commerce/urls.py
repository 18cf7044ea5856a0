"""The deployable's URLs. Contexts' REST modules are included by dotted string, so the kernel
imports no context."""

from django.contrib import admin
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from commerce import api_index, health, monitoring

api_v1 = [
    path("", include("contexts.identity.rest.urls")),
    path("", include("contexts.catalogue.rest.urls")),
    path("", include("contexts.pricing.rest.urls")),
    path("", include("contexts.inventory.rest.urls")),
    path("", include("contexts.cart.rest.urls")),
    path("", include("contexts.orders.rest.urls")),
]

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1", api_index.index, name="api-index"),  # also /api/v1/ (OptionalTrailingSlashMiddleware)
    path("api/v1/", include(api_v1)),
    path("api/schema", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs", SpectacularSwaggerView.as_view(url_name="schema"), name="swagger-ui"),
    path("api/redoc", SpectacularRedocView.as_view(url_name="schema"), name="redoc"),
    re_path(r"^health/live/?$", health.live, name="health-live"),
    re_path(r"^health/ready/?$", health.ready, name="health-ready"),
    path("metrics", monitoring.metrics_view, name="metrics"),
]

"""The notifications service's URLs: the context's API under /api/v1/, health and metrics. The context's
REST module is included by dotted string, as the monolith's URLconf does."""

from django.urls import include, path, re_path

from commerce import health, monitoring

urlpatterns = [
    path("api/v1/", include("contexts.notifications.rest.urls")),
    re_path(r"^health/live/?$", health.live, name="health-live"),
    re_path(r"^health/ready/?$", health.ready, name="health-ready"),
    path("metrics", monitoring.metrics_view, name="metrics"),
]

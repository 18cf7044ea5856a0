"""The shop's URLs plus two probes for the error-shape tests: a view that crashes, one that logs."""

import logging

from django.urls import path
from rest_framework.decorators import api_view
from rest_framework.response import Response

from commerce.urls import urlpatterns as shop_urlpatterns

logger = logging.getLogger("tests.http")


def crash(request):
    raise ZeroDivisionError("a bug deep in a service")


@api_view(["GET"])
def crash_in_drf(request):
    raise KeyError("a bug in a DRF view")


@api_view(["GET"])
def log_something(request):
    logger.warning("serving the probe")
    return Response({"ok": True})


urlpatterns = [
    path("api/v1/test/crash", crash),
    path("api/v1/test/crash-drf", crash_in_drf),
    path("api/v1/test/log", log_something),
    *shop_urlpatterns,
]

"""The shop's URLs plus two probes for the error-shape tests: a view that crashes, one that logs."""

import logging

from django.urls import path
from rest_framework.decorators import api_view
from rest_framework.generics import ListAPIView
from rest_framework.response import Response

from commerce.pagination import StandardPagination
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


class Numbers(ListAPIView):
    """0 … 249, paginated as every list of the API."""

    pagination_class = StandardPagination

    def get_queryset(self):
        return list(range(250))

    def list(self, request, *args, **kwargs):
        return self.get_paginated_response(self.paginate_queryset(self.get_queryset()))


urlpatterns = [
    path("api/v1/test/numbers", Numbers.as_view()),
    path("api/v1/test/crash", crash),
    path("api/v1/test/crash-drf", crash_in_drf),
    path("api/v1/test/log", log_something),
    *shop_urlpatterns,
]

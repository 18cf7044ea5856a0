"""``GET /metrics``: the Prometheus exposition, protected, correct under several worker processes.

Who may read it:

- ``METRICS_TOKEN`` set: only a request with ``Authorization: Bearer <METRICS_TOKEN>`` (compared in
  constant time); anything else answers ``401``. This is how Prometheus scrapes in production
  (``bearer_token_file`` / the ``authorization`` block of a scrape config).
- ``METRICS_TOKEN`` unset: in the development profile, requests from this machine only (loopback);
  in production ``/metrics`` is off and answers ``404``.

What it shows, besides django-prometheus' request, response and database series and the counters of
``commerce.metrics``: the event bus's state per database, read at scrape time from the outbox
tables, so it is right whichever process delivered — ``commerce_outbox_backlog`` (deliveries owed),
``commerce_outbox_oldest_undelivered_age_seconds`` and ``commerce_eventbus_dead_letters``.
"""

import logging
import os
from collections.abc import Iterator

from django.conf import settings
from django.db import DatabaseError
from django.db.models import Count, Min, Q
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from commerce import metrics
from commerce.errors import json_error

logger = logging.getLogger(__name__)

LOOPBACK = {"127.0.0.1", "::1"}


class OutboxCollector(Collector):
    """The outbox's backlog, its oldest undelivered delivery and its dead letters, per database."""

    def collect(self) -> Iterator[GaugeMetricFamily]:
        from commerce.database import context_aliases
        from commerce.eventbus.models import Delivery

        backlog = GaugeMetricFamily(
            "commerce_outbox_backlog",
            "Deliveries owed (pending or failed, to be retried), by database.",
            labels=["database"],
        )
        oldest = GaugeMetricFamily(
            "commerce_outbox_oldest_undelivered_age_seconds",
            "Age of the oldest delivery still owed, by database (0 when none is).",
            labels=["database"],
        )
        dead = GaugeMetricFamily(
            "commerce_eventbus_dead_letters",
            "Deliveries dead-lettered and not retried, by database.",
            labels=["database"],
        )
        up = GaugeMetricFamily(
            "commerce_outbox_scrape_ok", "1 when the outbox of this database could be read.", labels=["database"]
        )
        now = timezone.now()
        for alias in sorted(set(context_aliases())):
            try:
                row = Delivery.objects.using(alias).aggregate(
                    owed=Count("pk", filter=Q(status__in=[Delivery.Status.PENDING, Delivery.Status.FAILED])),
                    oldest=Min("created_at", filter=Q(status__in=[Delivery.Status.PENDING, Delivery.Status.FAILED])),
                    dead=Count("pk", filter=Q(status=Delivery.Status.DEAD)),
                )
            except DatabaseError:
                logger.warning("The outbox of database %s could not be read for /metrics", alias, exc_info=True)
                up.add_metric([alias], 0)
                continue
            up.add_metric([alias], 1)
            backlog.add_metric([alias], row["owed"])
            oldest.add_metric([alias], (now - row["oldest"]).total_seconds() if row["oldest"] else 0.0)
            dead.add_metric([alias], row["dead"])
        yield from (backlog, oldest, dead, up)


def _registry() -> CollectorRegistry:
    registry = metrics.registry()
    registry.register(OutboxCollector())
    return registry


def _allowed(request: HttpRequest) -> HttpResponse | None:
    token = os.environ.get("METRICS_TOKEN", "")
    if token:
        if metrics.bearer_matches(request.headers.get("Authorization", ""), token):
            return None
        response = json_error(401, "not_authenticated", "GET /metrics needs Authorization: Bearer <METRICS_TOKEN>.")
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    if settings.PRODUCTION:
        return json_error(404, "not_found", "Not found.")
    if request.META.get("REMOTE_ADDR") in LOOPBACK:
        return None
    return json_error(403, "permission_denied", "Without METRICS_TOKEN, /metrics answers this machine only.")


def metrics_view(request: HttpRequest) -> HttpResponse:
    refused = _allowed(request)
    if refused is not None:
        return refused
    return HttpResponse(generate_latest(_registry()), content_type=CONTENT_TYPE_LATEST)

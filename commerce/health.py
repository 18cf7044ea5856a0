"""Liveness and readiness for load balancers and orchestrators."""

import logging

from django.conf import settings
from django.db import connections
from django.http import HttpRequest, JsonResponse

logger = logging.getLogger(__name__)


def live(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


def _database_ok(alias: str) -> bool:
    try:
        with connections[alias].cursor() as cursor:
            cursor.execute("SELECT 1")
            return cursor.fetchone() == (1,)
    except Exception:
        logger.warning("Database %s is not answering", alias, exc_info=True)
        return False


def _broker_ok() -> bool:
    from kombu import Connection

    try:
        with Connection(settings.CELERY_BROKER_URL, connect_timeout=2) as connection:
            connection.ensure_connection(max_retries=1, timeout=2)
        return True
    except Exception:
        logger.warning("Broker is not answering", exc_info=True)
        return False


def ready(request: HttpRequest) -> JsonResponse:
    checks = {f"database:{alias}": _database_ok(alias) for alias in settings.DATABASES}
    if getattr(settings, "CELERY_BROKER_URL", ""):  # a lifted service has no Celery broker
        checks["broker"] = _broker_ok()
    healthy = all(checks.values())
    body = {"status": "ok" if healthy else "unavailable", "checks": checks}
    if not healthy:
        body["code"] = "service_unavailable"
        body["detail"] = "A dependency is not answering."
    return JsonResponse(body, status=200 if healthy else 503)

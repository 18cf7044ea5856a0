"""Resilience tests with real processes (issue 16 item 3): gunicorn, Celery workers, one-shot
management commands and a private redis-server, on the PostgreSQL test database.

They need PostgreSQL (the default SQLite run skips them with the reason; under CI,
``REQUIRE_POSTGRESQL=1`` makes a missing PostgreSQL or redis-server a failure) and run in the
single-database layout (the split layout is covered by the rest of the suite).
"""

import os
import shutil

import pytest
from django.conf import settings

from tests.resilience.support import DatabaseProxy, PrivateRedis, Processes, scratch_directory, subprocess_database_url


def _missing(reason: str) -> None:
    if os.environ.get("REQUIRE_POSTGRESQL") == "1":
        pytest.fail(f"{reason}, and REQUIRE_POSTGRESQL=1 is set (CI).")
    pytest.skip(reason)


@pytest.fixture(autouse=True)
def _prerequisites(request):
    if settings.DATABASES["default"]["ENGINE"].split(".")[-1] != "postgresql":
        _missing("resilience tests need PostgreSQL (set DATABASE_URL)")
    if settings.DATABASE_SPLIT:
        pytest.skip("resilience tests run in the single-database layout")
    if request.node.get_closest_marker("celery") and not shutil.which("redis-server"):
        _missing("resilience tests with a broker need redis-server on PATH")


@pytest.fixture
def scratch():
    path = scratch_directory()
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def processes(transactional_db, scratch):
    """Subprocesses on the test database (settings ``tests.settings``); all killed before the
    test's tables are emptied."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(("DATABASE_", "CELERY_", "EVENTBUS_"))}
    env.pop("COMMERCE_USE_TEST_DATABASES", None)
    env.pop("DEBUG", None)
    env.update(
        DJANGO_SETTINGS_MODULE="tests.settings",
        DATABASE_URL=subprocess_database_url(),
        EVENTBUS_DISPATCH="inline",
        COMMERCE_VAR_DIR=str(scratch / "var"),
        RESILIENCE_FAULTS_DIR=str(scratch / "faults"),
        PYTHONUNBUFFERED="1",
    )
    group = Processes(scratch, env)
    try:
        yield group
    finally:
        group.stop_all()
        from django.db import connections

        for connection in connections.all():
            connection.close()


@pytest.fixture
def private_redis(scratch):
    redis = PrivateRedis(scratch)
    redis.start()
    try:
        yield redis
    finally:
        redis.stop()


@pytest.fixture
def database_proxy():
    config = settings.DATABASES["default"]
    proxy = DatabaseProxy((config.get("HOST") or "127.0.0.1", int(config.get("PORT") or 5432)))
    proxy.start()
    try:
        yield proxy
    finally:
        proxy.stop()


@pytest.fixture
def celery_processes(processes, private_redis):
    """Subprocesses that dispatch events through a Celery worker on the test's private Redis."""
    processes.env.update(
        EVENTBUS_DISPATCH="celery",
        CELERY_BROKER_URL=private_redis.url,
        EVENTBUS_SWEEP_GRACE_SECONDS="1",  # a delivery nobody finished is the sweep's after a second
    )
    return processes

"""Settings for the test-suite: the shop's own, plus a probe app the event-bus tests publish to.

The probe publishes as context ``probe`` and subscribes as context ``probe_sink``; in split mode the
two live on different databases, so the bus is tested across databases exactly as contexts use it.
A Celery worker started by the tests uses this module too, so it knows the probe's subscriptions,
and so do the other processes the tests start against the test databases (gunicorn, manage.py).
"""

import os

from commerce.settings import *  # noqa: F403
from commerce.settings import (
    CACHE_URL,
    CONTEXT_DATABASES,
    DATABASE_SPLIT,
    DATABASES,
    EVENTBUS,
    INSTALLED_APPS,
    env_bool,
)

INSTALLED_APPS = [*INSTALLED_APPS, "tests.probe_sink"]
CONTEXT_DATABASES = {
    **CONTEXT_DATABASES,
    "probe": "pricing" if DATABASE_SPLIT else "default",
    "probe_sink": "default",
}
# Retries in milliseconds rather than minutes, so dead-lettering is observable within a test.
EVENTBUS = {**EVENTBUS, "MAX_ATTEMPTS": 3, "BACKOFF_BASE_SECONDS": 0.05, "BACKOFF_MAX_SECONDS": 0.2}
# A deferred message waits in its context's wait queue for a second rather than half a minute.
EVENTS_DEFER_RETRY_SECONDS = 1
# Passwords hashed fast in tests; production keeps Argon2 first.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher", *PASSWORD_HASHERS]  # noqa: F405
# Static files found in the apps' folders, under their plain names: the suite does not collect them
# first. tests/ops collects them and checks the production storage (hashed, compressed) on its own.
STORAGES = {**STORAGES, "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}  # noqa: F405
WHITENOISE_USE_FINDERS = True
# Each test process counts throttles and caches listings in its own memory, emptied before every test
# (conftest's ``_fresh_cache``): the shop's default, files shared by every process of the machine, would
# let parallel test processes count each other's requests. (With a Redis CACHE_URL the suite uses it.)
if not CACHE_URL.startswith(("redis://", "rediss://")):
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# --- Processes the tests start, and pytest-xdist ---------------------------------------------------
# A process started by a test (the Celery worker of tests/support/worker.py, a gunicorn, manage.py)
# with COMMERCE_USE_TEST_DATABASES=1 uses the databases pytest-django created for the test run.
# Under pytest-xdist each test process (gw0, gw1, …) has its own: pytest-django adds the process's id
# to every test database's name (``test_commerce_gw1``), and the processes a test starts inherit
# PYTEST_XDIST_WORKER from it. In celery mode each test process also starts its own Celery worker;
# the queue is named after the test process as well, so a worker never takes a task that another test
# process queued for its own databases.
XDIST_WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")
if env_bool("COMMERCE_USE_TEST_DATABASES"):
    for _config in DATABASES.values():
        _config["NAME"] = _config.get("TEST", {}).get("NAME") or f"test_{_config['NAME']}"
        if XDIST_WORKER:
            _config["NAME"] = f"{_config['NAME']}_{XDIST_WORKER}"
if XDIST_WORKER:
    CELERY_TASK_DEFAULT_QUEUE = f"commerce-tests-{XDIST_WORKER}"

"""Settings for the test-suite: the shop's own, plus a probe app the event-bus tests publish to.

The probe publishes as context ``probe`` and subscribes as context ``probe_sink``; in split mode the
two live on different databases, so the bus is tested across databases exactly as contexts use it.
A Celery worker started by the tests uses this module too, so it knows the probe's subscriptions.
"""

from commerce.settings import *  # noqa: F403
from commerce.settings import CONTEXT_DATABASES, DATABASE_SPLIT, EVENTBUS, INSTALLED_APPS

INSTALLED_APPS = [*INSTALLED_APPS, "tests.probe_sink"]
CONTEXT_DATABASES = {
    **CONTEXT_DATABASES,
    "probe": "pricing" if DATABASE_SPLIT else "default",
    "probe_sink": "default",
}
# Retries in milliseconds rather than minutes, so dead-lettering is observable within a test.
EVENTBUS = {**EVENTBUS, "MAX_ATTEMPTS": 3, "BACKOFF_BASE_SECONDS": 0.05, "BACKOFF_MAX_SECONDS": 0.2}
# Passwords hashed fast in tests; production keeps Argon2 first.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher", *PASSWORD_HASHERS]  # noqa: F405
# Static files found in the apps' folders, under their plain names: the suite does not collect them
# first. tests/ops collects them and checks the production storage (hashed, compressed) on its own.
STORAGES = {**STORAGES, "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}  # noqa: F405
WHITENOISE_USE_FINDERS = True

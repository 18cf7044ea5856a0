"""Settings of the notifications service: the kernel and ``contexts.notifications``, nothing else.

What the monolith and this service share (profile, cache, CORS, the event bus and topology, mail,
metrics, logs) comes from ``commerce.kernel_settings``; what is the service's own is here:

- its apps: Django's minimum for the REST framework (no admin, sessions, auth or other contexts: the
  service has no accounts; ``commerce.authentication`` verifies identity's tokens with its public keys);
- its own database: ``SERVICE_DATABASE_URL`` when set, otherwise derived from ``DATABASE_URL`` as
  ``<name>_notifications_service`` on PostgreSQL (``migrate_all`` creates it) and
  ``var/notifications-service.sqlite3`` on SQLite;
- ``SERVED_BY = "notifications"``, in every answer's ``X-Served-By``.
"""

import os

from commerce.kernel_settings import *  # noqa: F403
from commerce.kernel_settings import DATABASE_URL, EVENTBUS, database_config, derived_database_url, env_int

CONTEXT = "notifications"
SERVED_BY = CONTEXT
# Nothing is lifted out of this deployable: it is where notifications run, so it records and sends.
LIFTED = frozenset()
BUSINESS_CONTEXTS = (CONTEXT,)
# Events reach it through its queue (``consume_events``); what it publishes itself is delivered in process.
EVENTBUS = {**EVENTBUS, "DISPATCH": "inline"}

INSTALLED_APPS = [
    "corsheaders",
    "rest_framework",
    "django_prometheus",
    "commerce",  # the kernel's checks and tracing of the context's api
    "commerce.eventbus",  # its outbox, inbox and deliveries; migrate_all, consume_events
    f"contexts.{CONTEXT}",
]

MIDDLEWARE = [
    "commerce.middleware.ServedByMiddleware",  # outermost: every answer names the deployable that gave it
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    "commerce.middleware.RequestIdMiddleware",
    "commerce.middleware.ApiErrorMiddleware",
    "commerce.middleware.OptionalTrailingSlashMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django_prometheus.middleware.PrometheusAfterMiddleware",
]

ROOT_URLCONF = "services.notifications.urls"
WSGI_APPLICATION = "services.notifications.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,  # the context's mail templates
        "OPTIONS": {"context_processors": []},
    },
]

# --- Its own database -----------------------------------------------------------------------------
SERVICE_DATABASE_URL = os.environ.get("SERVICE_DATABASE_URL") or derived_database_url(
    DATABASE_URL, f"{CONTEXT}_service", sqlite_file=f"{CONTEXT}-service.sqlite3"
)
DATABASES = {"default": database_config(SERVICE_DATABASE_URL)}
CONTEXT_DATABASES = {CONTEXT: "default"}

# --- REST API -------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["commerce.authentication.PublicKeyAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.AllowAny"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["commerce.parsers.SafeJSONParser"],
    "DEFAULT_PAGINATION_CLASS": "commerce.pagination.StandardPagination",
    "PAGE_SIZE": 24,
    "DEFAULT_FILTER_BACKENDS": [],
    "DEFAULT_SCHEMA_CLASS": "commerce.openapi.schema.AutoSchema",
    "EXCEPTION_HANDLER": "commerce.errors.api_exception_handler",
    "NUM_PROXIES": env_int("THROTTLE_NUM_PROXIES", 0),
    "UNAUTHENTICATED_USER": "commerce.authentication.AnonymousCaller",
}

# --- Tracing --------------------------------------------------------------------------------------
TRACED_API_MODULES = [f"contexts.{CONTEXT}.api"]

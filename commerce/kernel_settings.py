"""Settings every deployable of the shop shares: the monolith (``commerce.settings``) and each lifted
service (``services.<context>.settings``).

What the kernel needs wherever it runs: the profile and its hardening, databases and cache, CORS and
request limits, the event bus and the topology, mail, metrics and logs. A deployable's settings start
with ``from commerce.kernel_settings import *`` and add their apps, middleware, URLs and databases;
nothing here imports a context. docs/configuration.md lists every variable read here.
"""

import os
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("COMMERCE_VAR_DIR", BASE_DIR / "var"))
VAR_DIR.mkdir(parents=True, exist_ok=True)


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value not in (None, "") else default


def env_list(name: str, default: list[str]) -> list[str]:
    value = os.environ.get(name)
    if value is None:
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


# --- Profile -------------------------------------------------------------------------------------
# ``COMMERCE_PROFILE=production`` turns on every hardening that ``check --deploy`` asks for and
# refuses to start without a real secret key.
PROFILE = os.environ.get("COMMERCE_PROFILE", "development")
PRODUCTION = PROFILE == "production"
DEBUG = env_bool("DEBUG", False)

_INSECURE_KEY = "django-insecure-development-only-key-do-not-use-in-production-0123456789"
SECRET_KEY = os.environ.get("SECRET_KEY", "" if PRODUCTION else _INSECURE_KEY)
if PRODUCTION and (not SECRET_KEY or SECRET_KEY == _INSECURE_KEY):
    raise ImproperlyConfigured("SECRET_KEY must be set to a real secret in the production profile.")

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", [] if PRODUCTION else ["*"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

# --- Databases -----------------------------------------------------------------------------------
# ``DATABASE_URL`` picks the default database (SQLite under var/ when unset); each deployable derives
# the others it needs from it (the monolith's per-context ones in split mode, a service's own).
DATABASE_URL = os.environ.get("DATABASE_URL") or f"sqlite:///{VAR_DIR / 'commerce.sqlite3'}"

# django-prometheus' backends are Django's own, counting queries, errors and their durations per alias
# (commerce.backends: theirs, with each labelled series looked up once per connection).
_MEASURED_ENGINES = {
    "django.db.backends.postgresql": "commerce.backends.postgresql",
    "django.db.backends.sqlite3": "commerce.backends.sqlite3",
}


def database_config(url: str) -> dict:
    """Django's configuration of the database at ``url``, measured, with the shop's connection policy."""
    # With persistent connections, Django checks the inherited connection (``SELECT 1``) before a
    # request first uses it: a worker idle through a database restart reconnects instead of answering
    # its next request with a 503 for a database that is up again.
    config = dj_database_url.parse(url, conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 0), conn_health_checks=True)
    config["ENGINE"] = _MEASURED_ENGINES.get(config["ENGINE"], config["ENGINE"])
    if config["ENGINE"].endswith(".sqlite3"):
        # Writers wait for each other instead of failing at once with "database is locked".
        config.setdefault("OPTIONS", {})["timeout"] = 20
        config["OPTIONS"]["transaction_mode"] = "IMMEDIATE"
        name = Path(config["NAME"])
        config["TEST"] = {"NAME": str(name.with_name(f"test_{name.name}"))}
    config["ATOMIC_REQUESTS"] = False  # DESIGN rule 3: services open their own transactions.
    return config


def derived_database_url(url: str, suffix: str, *, sqlite_file: str) -> str:
    """The URL of a database of its own beside the one at ``url``: on PostgreSQL the same server with
    ``<name>_<suffix>`` (``migrate_all`` creates it), on SQLite the file ``sqlite_file`` under ``VAR_DIR``."""
    parsed = dj_database_url.parse(url)
    if parsed["ENGINE"].endswith(".sqlite3"):
        return f"sqlite:///{VAR_DIR / sqlite_file}"
    base, _, name = url.partition("?")[0].rpartition("/")
    query = url.partition("?")[2]
    return f"{base}/{name}_{suffix}" + (f"?{query}" if query else "")


DATABASE_ROUTERS = ["commerce.database.ContextRouter"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
APPEND_SLASH = False

# --- Internationalisation ------------------------------------------------------------------------
LANGUAGE_CODE = "en"
# The shop's day: "today" and the days of the admin's sales chart start at midnight here (an IANA name,
# e.g. ``Europe/Berlin``). Times are stored in UTC whatever it says.
TIME_ZONE = os.environ.get("TIME_ZONE") or "UTC"
try:
    ZoneInfo(TIME_ZONE)
except (ZoneInfoNotFoundError, ValueError):
    raise ImproperlyConfigured(
        f"TIME_ZONE={TIME_ZONE!r} is not a time zone this machine knows (an IANA name such as Europe/Berlin)."
    ) from None
USE_I18N = True
USE_TZ = True

# --- CORS ----------------------------------------------------------------------------------------
# Browser storefronts on other origins may call the API (and nothing else). Allowed origins come
# from ``CORS_ALLOWED_ORIGINS`` (comma-separated, e.g. ``https://shop.example.com``); none by default
# in production, any ``localhost`` port in development. Bearer tokens, not cookies: no credentials.
CORS_URLS_REGEX = r"^/api/.*$"
CORS_ALLOWED_ORIGINS = env_list("CORS_ALLOWED_ORIGINS", [])
CORS_ALLOWED_ORIGIN_REGEXES = (
    [] if PRODUCTION or "CORS_ALLOWED_ORIGINS" in os.environ else [r"^https?://(localhost|127\.0\.0\.1)(:\d+)?$"]
)
CORS_ALLOW_HEADERS = (
    "accept",
    "accept-language",
    "authorization",
    "content-type",
    "idempotency-key",
    "x-request-id",
)
CORS_EXPOSE_HEADERS = ("X-Request-ID", "Retry-After", "Location", "Idempotent-Replayed")
CORS_ALLOW_CREDENTIALS = False
CORS_PREFLIGHT_MAX_AGE = env_int("CORS_PREFLIGHT_MAX_AGE", 86400)

# --- Request limits ------------------------------------------------------------------------------
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("MAX_REQUEST_BODY_BYTES", 1024 * 1024)
DATA_UPLOAD_MAX_NUMBER_FIELDS = 1000

# --- Cache ---------------------------------------------------------------------------------------
# What the cache holds must be one for every process: the throttles' counts (a limit of 10 logins a
# minute must not become 10 per gunicorn worker) and the catalogue's listing pages. CACHE_URL picks it:
# ``redis://…`` (every machine), ``file:///path`` (every process of one machine), ``locmem://`` (each
# process its own: only where one process serves). Unset: files under var/cache, shared without Redis.
CACHE_URL = os.environ.get("CACHE_URL") or f"file://{VAR_DIR / 'cache'}"
if CACHE_URL.startswith(("redis://", "rediss://")):
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": CACHE_URL}}
elif CACHE_URL.startswith("file://"):
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": CACHE_URL.removeprefix("file://"),
        }
    }
elif CACHE_URL.startswith("locmem://"):
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
else:
    raise ImproperlyConfigured("CACHE_URL must start with redis://, rediss://, file:// or locmem://.")

# --- Event bus -----------------------------------------------------------------------------------
# ``inline``: delivered in process after commit (no broker needed). ``celery``: a worker delivers.
EVENTBUS = {
    "DISPATCH": os.environ.get("EVENTBUS_DISPATCH", "inline"),
    "MAX_ATTEMPTS": env_int("EVENTBUS_MAX_ATTEMPTS", 8),
    "BACKOFF_BASE_SECONDS": float(os.environ.get("EVENTBUS_BACKOFF_BASE_SECONDS", "2")),
    "BACKOFF_MAX_SECONDS": float(os.environ.get("EVENTBUS_BACKOFF_MAX_SECONDS", "3600")),
    "SWEEP_GRACE_SECONDS": float(os.environ.get("EVENTBUS_SWEEP_GRACE_SECONDS", "30")),
    "SWEEP_INTERVAL_SECONDS": float(os.environ.get("EVENTBUS_SWEEP_INTERVAL_SECONDS", "15")),
    "RETENTION_DAYS": env_int("EVENTBUS_RETENTION_DAYS", 7),
    # How long an event whose handler raises ``Deferred`` (it came before one it depends on) keeps
    # being retried, uncounted, before it is dead-lettered: since it occurred (in process), since its
    # first deferral (the lifted consumer). "Nothing expires unsent" within any outage shorter than this.
    "DEFER_FOR_SECONDS": float(os.environ.get("EVENTBUS_DEFER_FOR_SECONDS", str(3 * 24 * 3600))),
}
if EVENTBUS["DISPATCH"] not in {"inline", "celery"}:
    raise ImproperlyConfigured("EVENTBUS_DISPATCH must be 'inline' or 'celery'.")

# --- Topology: which contexts run as services of their own (DESIGN.md "Lifting a context out") ---
# Empty (the default): everything in this one process, no broker. ``LIFTED=notifications``: the
# notifications service does the sending, fed through RabbitMQ by the relay; the gateway sends
# ``NOTIFICATIONS_SHARE`` percent of its HTTP paths to it. While that share is under 100 the monolith
# still records (so either deployable answers correctly) but never sends.
LIFTABLE_CONTEXTS = ("notifications",)
LIFTED = frozenset(name for name in env_list("LIFTED", []) if name)
if LIFTED - set(LIFTABLE_CONTEXTS):
    raise ImproperlyConfigured(
        f"LIFTED names {sorted(LIFTED - set(LIFTABLE_CONTEXTS))}; contexts that can be lifted: {list(LIFTABLE_CONTEXTS)}."
    )
NOTIFICATIONS_SHARE = env_int("NOTIFICATIONS_SHARE", 100)
if not 0 <= NOTIFICATIONS_SHARE <= 100:
    raise ImproperlyConfigured("NOTIFICATIONS_SHARE is a percentage: 0 to 100.")
# The broker events leave through for lifted contexts, and the names the topology is declared under
# (a prefix keeps parallel test runs apart on one broker).
EVENTS_BROKER_URL = os.environ.get("EVENTS_BROKER_URL", "amqp://guest:guest@127.0.0.1:5672//")
EVENTS_TOPOLOGY_PREFIX = os.environ.get("EVENTS_TOPOLOGY_PREFIX", "commerce")
# Each consuming context's queue is split in this many partition queues (an aggregate's events always
# in the same one), so up to this many consumer processes share its work, each on the partitions it
# holds a lease on. The relay, the consumers and declare_topology must agree on it, and what is queued
# stays in the partition it was hashed to. To change it: stop the relay, let the consumers drain the
# partition and wait queues, change it everywhere, run declare_topology, start the consumers and the
# relay (docs/extraction.md, "Scaling the consumer").
EVENTS_PARTITIONS = env_int("EVENTS_PARTITIONS", 4)
if EVENTS_PARTITIONS < 1:
    raise ImproperlyConfigured("EVENTS_PARTITIONS is the number of partition queues per context: 1 or more.")
# A consumer's lease on a partition lasts this long unless renewed (every third of it): a consumer that
# died gives its partitions up to the others this long after its last heartbeat.
EVENTS_LEASE_SECONDS = float(os.environ.get("EVENTS_LEASE_SECONDS", "15"))
if EVENTS_LEASE_SECONDS <= 0:
    raise ImproperlyConfigured("EVENTS_LEASE_SECONDS must be positive.")
# A deferred message waits this long in its context's wait queue before it is tried again: the message's
# own ``expiration``, set by the consumer that parks it, so changing it needs only the consumers restarted
# (the wait queue has no TTL of its own: never delete it to change this, the deferred messages are in it).
EVENTS_DEFER_RETRY_SECONDS = env_int("EVENTS_DEFER_RETRY_SECONDS", 30)
# Which deployable this process is, named in every answer's ``X-Served-By``.
SERVED_BY = os.environ.get("SERVED_BY", "monolith")
# The shop's name, in the mails customers get and the admin's header: here, in what every deployable
# shares, so the monolith and the notifications service write the same subject for the same message.
SHOP_NAME = os.environ.get("SHOP_NAME", "Commerce")

# --- Email ---------------------------------------------------------------------------------------
# Production sends through SMTP: EMAIL_HOST (localhost when unset, e.g. a relay beside the shop),
# EMAIL_PORT, EMAIL_HOST_USER / EMAIL_HOST_PASSWORD, and EMAIL_USE_TLS (STARTTLS, port 587 by default)
# or EMAIL_USE_SSL (implicit TLS, 465). In development with no EMAIL_HOST each message is written as a
# file under var/mail/ (EMAIL_FILE_PATH) that a person can open; naming an EMAIL_HOST sends there instead.
# EMAIL_BACKEND overrides either choice. Links in mail lead to the storefront at STOREFRONT_URL.
_EMAIL_HOST = os.environ.get("EMAIL_HOST", "")
EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND") or (
    "django.core.mail.backends.smtp.EmailBackend"
    if PRODUCTION or _EMAIL_HOST
    else "django.core.mail.backends.filebased.EmailBackend"
)
EMAIL_HOST = _EMAIL_HOST or "localhost"
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", False)
if EMAIL_USE_TLS and EMAIL_USE_SSL:
    raise ImproperlyConfigured("EMAIL_USE_TLS and EMAIL_USE_SSL exclude each other: STARTTLS (587) or TLS (465).")
EMAIL_PORT = env_int("EMAIL_PORT", 465 if EMAIL_USE_SSL else 587 if EMAIL_USE_TLS else 25)
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 10)  # seconds; Django's default waits for ever on a silent server
EMAIL_FILE_PATH = os.environ.get("EMAIL_FILE_PATH") or str(VAR_DIR / "mail")
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "shop@example.com")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
STOREFRONT_URL = os.environ.get("STOREFRONT_URL", "")

# --- Metrics -------------------------------------------------------------------------------------
# ``/metrics`` (commerce.monitoring): ``Authorization: Bearer $METRICS_TOKEN`` when METRICS_TOKEN is
# set; without it, loopback only in development and off in production. Processes that share a
# ``PROMETHEUS_MULTIPROC_DIR`` (gunicorn's workers, set by commerce.gunicorn_conf; bin/shop's worker
# and scheduler too) are added up.
if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    Path(os.environ["PROMETHEUS_MULTIPROC_DIR"]).mkdir(parents=True, exist_ok=True)
PROMETHEUS_EXPORT_MIGRATIONS = False

# --- Logging -------------------------------------------------------------------------------------
LOG_FORMAT = os.environ.get("LOG_FORMAT", "text")
LOG_LEVEL = os.environ.get("LOG_LEVEL", "INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"correlation": {"()": "commerce.logging.CorrelationFilter"}},
    "formatters": {
        "text": {
            "format": "%(asctime)s %(levelname)s %(name)s [request_id=%(request_id)s "
            "correlation_id=%(correlation_id)s causation_id=%(causation_id)s] %(message)s"
        },
        "json": {"()": "commerce.logging.JsonFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "filters": ["correlation"],
            "formatter": "json" if LOG_FORMAT == "json" else "text",
        },
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "INFO"},
    },
}

# --- Production hardening ------------------------------------------------------------------------
if PRODUCTION:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 60 * 60 * 24 * 365)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_CONTENT_TYPE_NOSNIFF = True
    X_FRAME_OPTIONS = "DENY"

# --- Verifying identity's tokens elsewhere (commerce.authentication) --------------------------------
# A lifted service verifies customers' access tokens with identity's public keys, never calling it per
# request: from IDENTITY_JWKS_URL (identity's /.well-known/jwks.json, fetched once, again on an unknown key
# id at most every JWKS_REFRESH_SECONDS, and when older than JWKS_MAX_AGE_SECONDS) or JWT_PUBLIC_KEYS_FILE
# (the same JWKS document, or PEM public keys, read once). The monolith signs and verifies on its own.
IDENTITY_JWKS_URL = os.environ.get("IDENTITY_JWKS_URL", "")
JWT_PUBLIC_KEYS_FILE = os.environ.get("JWT_PUBLIC_KEYS_FILE", "")
JWKS_REFRESH_SECONDS = float(os.environ.get("JWKS_REFRESH_SECONDS") or 60)
JWKS_MAX_AGE_SECONDS = float(os.environ.get("JWKS_MAX_AGE_SECONDS") or 3600)
# Until a first read succeeds (identity not answering yet), the keys are asked for again after this delay.
JWKS_RETRY_SECONDS = float(os.environ.get("JWKS_RETRY_SECONDS") or 2)

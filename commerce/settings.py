"""Settings for the commerce deployable.

Everything comes from the environment with safe embedded defaults: with nothing set, the shop runs
on SQLite under ``var/`` with inline event dispatch and no broker. The README's configuration table
lists every variable read here.
"""

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from commerce.jwt_keys import ALGORITHM as JWT_ALGORITHM
from commerce.jwt_keys import signing_key_pem

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

# --- Applications --------------------------------------------------------------------------------
# The six business contexts, in dependency order (each may depend only on those before it).
BUSINESS_CONTEXTS = ("pricing", "inventory", "catalogue", "cart", "orders", "identity")

INSTALLED_APPS = [
    "commerce.admin_site.AdminConfig",  # Django's admin, its pages discovered on first use (commerce/admin_site.py)
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",  # the development server serves static files as gunicorn does
    "django.contrib.staticfiles",
    "corsheaders",
    "rest_framework",
    "rest_framework_simplejwt.token_blacklist",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI and ReDoc served from the installed package, never a CDN
    "django_prometheus",
    # Celery beat's schedule tables and admin pages exist where Celery runs the periodic jobs. Inline, the
    # embedded scheduler runs them from code (pausing one in those pages would do nothing), and leaving the
    # app out keeps Celery itself, which its models import, out of every web worker (~9 MB each).
    *(["django_celery_beat"] if os.environ.get("EVENTBUS_DISPATCH", "inline") == "celery" else []),
    "commerce",  # the kernel's management commands (ensure_superuser)
    "commerce.eventbus",
    "commerce.idempotency",
    "axes",
    *[f"contexts.{name}" for name in BUSINESS_CONTEXTS],
    "contexts.wiring.WiringConfig",  # last: what one context lends another (identity's address book to orders)
]

MIDDLEWARE = [
    "django_prometheus.middleware.PrometheusBeforeMiddleware",  # first and last: the whole request is timed
    "corsheaders.middleware.CorsMiddleware",  # first: a preflight is answered before anything else
    "commerce.middleware.RequestIdMiddleware",
    "commerce.middleware.ApiErrorMiddleware",
    "commerce.middleware.OptionalTrailingSlashMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",  # last but the metrics: answers a locked-out admin login
    "django_prometheus.middleware.PrometheusAfterMiddleware",
]

ROOT_URLCONF = "commerce.urls"
WSGI_APPLICATION = "commerce.wsgi.application"
ASGI_APPLICATION = "commerce.asgi.application"
APPEND_SLASH = False

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "commerce" / "templates"],  # before the apps': overrides of installed templates
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Databases -----------------------------------------------------------------------------------
# ``DATABASE_URL`` picks the default database (SQLite under var/ when unset). With
# ``DATABASE_SPLIT=1`` every business context except identity gets its own alias, named after the
# context: ``DATABASE_URL_<CONTEXT>`` when set, otherwise derived from the default (``<name>_<context>``
# on PostgreSQL, ``var/commerce_<context>.sqlite3`` on SQLite). Identity stays on ``default`` with
# Django's own apps, whose tables relate to its user model. ``commerce.database.ContextRouter`` does
# the routing; ``CONTEXT_DATABASES`` is what it reads.
DATABASE_URL = os.environ.get("DATABASE_URL") or f"sqlite:///{VAR_DIR / 'commerce.sqlite3'}"
DATABASE_SPLIT = env_bool("DATABASE_SPLIT", False)


# django-prometheus' backends are Django's own, counting queries, errors and their durations per alias.
_MEASURED_ENGINES = {
    "django.db.backends.postgresql": "django_prometheus.db.backends.postgresql",
    "django.db.backends.sqlite3": "django_prometheus.db.backends.sqlite3",
}


def _database(url: str) -> dict:
    # With persistent connections, Django checks the inherited connection (``SELECT 1``) before a
    # request first uses it: a worker idle through a database restart reconnects instead of answering
    # its next request with a 503 for a database that is up again.
    config = dj_database_url.parse(
        url, conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 0), conn_health_checks=True
    )
    config["ENGINE"] = _MEASURED_ENGINES.get(config["ENGINE"], config["ENGINE"])
    if config["ENGINE"].endswith(".sqlite3"):
        # Writers wait for each other instead of failing at once with "database is locked".
        config.setdefault("OPTIONS", {})["timeout"] = 20
        config["OPTIONS"]["transaction_mode"] = "IMMEDIATE"
        name = Path(config["NAME"])
        config["TEST"] = {"NAME": str(name.with_name(f"test_{name.name}"))}
    config["ATOMIC_REQUESTS"] = False  # DESIGN rule 3: services open their own transactions.
    return config


def _derived_url(context: str) -> str:
    explicit = os.environ.get(f"DATABASE_URL_{context.upper()}")
    if explicit:
        return explicit
    parsed = dj_database_url.parse(DATABASE_URL)
    if parsed["ENGINE"].endswith(".sqlite3"):
        return f"sqlite:///{VAR_DIR / f'commerce_{context}.sqlite3'}"
    base, _, name = DATABASE_URL.partition("?")[0].rpartition("/")
    query = DATABASE_URL.partition("?")[2]
    return f"{base}/{name}_{context}" + (f"?{query}" if query else "")


DATABASES = {"default": _database(DATABASE_URL)}
CONTEXT_DATABASES = {name: "default" for name in BUSINESS_CONTEXTS}
if DATABASE_SPLIT:
    for _context in BUSINESS_CONTEXTS:
        if _context == "identity":
            continue
        DATABASES[_context] = _database(_derived_url(_context))
        CONTEXT_DATABASES[_context] = _context
DATABASE_ROUTERS = ["commerce.database.ContextRouter"]

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Identity and passwords ----------------------------------------------------------------------
AUTH_USER_MODEL = "identity.User"
AUTHENTICATION_BACKENDS = [
    "commerce.security.AdminLockoutBackend",  # first: refuses a locked-out admin login before any check
    "contexts.identity.backends.EmailBackend",
]
# Admin login lock-out (django-axes): after AXES_FAILURE_LIMIT failed admin logins an account, and
# separately an address, is locked out of the admin for AXES_COOLOFF_HOURS. Only the admin site: failed
# logins elsewhere (the API's token endpoint, which has its own throttle) are neither checked
# (AXES_ONLY_ADMIN_SITE) nor recorded (the handler). Staff see the lock-outs in the admin (Axes >
# Access attempts); a superuser lifts one by deleting it (or ``manage.py axes_reset_username EMAIL``).
AXES_ENABLED = env_bool("AXES_ENABLED", True)
AXES_ONLY_ADMIN_SITE = True
AXES_HANDLER = "commerce.security.AdminLoginsOnlyHandler"
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = timedelta(hours=env_int("AXES_COOLOFF_HOURS", 1))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_RESET_ON_SUCCESS = True
AXES_USERNAME_FORM_FIELD = "username"  # the admin login form's field (it holds the email)
AXES_VERBOSE = False
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
    "django.contrib.auth.hashers.ScryptPasswordHasher",
]
# Password-reset links are signed with SECRET_KEY, single-use, and expire after this many seconds.
PASSWORD_RESET_TIMEOUT = env_int("PASSWORD_RESET_TIMEOUT", 3 * 24 * 3600)

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 8}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# --- Internationalisation ------------------------------------------------------------------------
LANGUAGE_CODE = "en"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Static files --------------------------------------------------------------------------------
# Collected into STATIC_ROOT (``manage.py collectstatic``, run by bin/shop and the container build)
# and served by WhiteNoise in every mode: compressed (gzip, and Brotli where installed) under
# content-hashed names that are cached for a year. With ``DEBUG`` on they are also found in the apps'
# folders and re-read on change.
STATIC_URL = "static/"
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", VAR_DIR / "static"))
if "STATIC_ROOT" not in os.environ:
    STATIC_ROOT.mkdir(exist_ok=True)  # WhiteNoise serves from it; bin/shop fills it (collectstatic)
MEDIA_URL = "media/"
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", VAR_DIR / "media"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = DEBUG
WHITENOISE_AUTOREFRESH = DEBUG

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

# --- REST API ------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "contexts.identity.authentication.AccessTokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.AllowAny"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["commerce.parsers.SafeJSONParser"],
    "DEFAULT_PAGINATION_CLASS": "commerce.pagination.StandardPagination",
    "PAGE_SIZE": 24,
    "DEFAULT_FILTER_BACKENDS": [],  # each list view parses its own query string with a serializer
    "DEFAULT_SCHEMA_CLASS": "commerce.openapi.schema.AutoSchema",
    "EXCEPTION_HANDLER": "commerce.errors.api_exception_handler",
    "DEFAULT_THROTTLE_RATES": {
        "auth_token": os.environ.get("THROTTLE_AUTH_TOKEN", "10/min"),
        "auth_register": os.environ.get("THROTTLE_AUTH_REGISTER", "20/hour"),
        "password_reset": os.environ.get("THROTTLE_PASSWORD_RESET", "5/hour"),
    },
    # Throttles count per client address. Behind N reverse proxies, the client is the N-th address from
    # the right of X-Forwarded-For; with 0 (the default) the header is ignored, so a client cannot
    # dodge the throttle by inventing one.
    "NUM_PROXIES": env_int("THROTTLE_NUM_PROXIES", 0),
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
if DEBUG:
    REST_FRAMEWORK["DEFAULT_RENDERER_CLASSES"].append("rest_framework.renderers.BrowsableAPIRenderer")

# Access tokens are signed with an RSA key (RS256, commerce.jwt_keys): JWT_PRIVATE_KEY (the PEM) or
# JWT_PRIVATE_KEY_FILE, required in production; in development one is generated once under var/.
# Identity publishes the public key at /.well-known/jwks.json, so any service verifies a token alone.
# The public key is derived from the private one where a token is first issued or verified (no
# VERIFYING_KEY here: deriving it loads cryptography, which a worker serving anonymous requests never
# needs); `manage.py check` checks the key.
# Logging out everywhere, a password reset or closing the account ends every token issued before it,
# access tokens included (identity's authentication checks the token against the account).
JWT_DEVELOPMENT_KEY_FILE = VAR_DIR / "jwt-signing-key.pem"
JWT_SIGNING_KEY = signing_key_pem(production=PRODUCTION, development_path=JWT_DEVELOPMENT_KEY_FILE)
SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=env_int("JWT_ACCESS_MINUTES", 15)),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=env_int("JWT_REFRESH_DAYS", 7)),
    "ROTATE_REFRESH_TOKENS": False,
    "ALGORITHM": JWT_ALGORITHM,
    "SIGNING_KEY": JWT_SIGNING_KEY,
    "AUTH_TOKEN_CLASSES": ("contexts.identity.tokens.AccessToken",),
    "AUTH_HEADER_TYPES": ("Bearer",),
    "USER_ID_FIELD": "id",
    "USER_ID_CLAIM": "user_id",
    "UPDATE_LAST_LOGIN": True,
}

SPECTACULAR_SETTINGS = {
    "DEFAULT_GENERATOR_CLASS": "commerce.openapi.schema.SchemaGenerator",  # loads the contexts' extensions
    "TITLE": "Commerce API",
    "DESCRIPTION": "The public contract of the commerce backend (see API.md).",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "commerce.openapi.schema.document_error_responses",
        "commerce.openapi.schema.document_links",
    ],
}

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
# Which deployable this process is, named in every answer's ``X-Served-By``.
SERVED_BY = os.environ.get("SERVED_BY", "monolith")

# --- Celery --------------------------------------------------------------------------------------
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "")
if EVENTBUS["DISPATCH"] == "celery" and not CELERY_BROKER_URL:
    raise ImproperlyConfigured("EVENTBUS_DISPATCH=celery needs CELERY_BROKER_URL.")
CELERY_RESULT_BACKEND = None
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_BEAT_SCHEDULER = "commerce.beat:PeriodicJobsScheduler"
CELERY_TIMEZONE = TIME_ZONE
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Queueing a delivery tries the broker once: kombu's default is to reconnect for up to the connection
# timeout (~6 s, three attempts), which a request would wait through for each event it publishes while the
# broker is down. What could not be queued waits in the outbox for the sweep. (Workers reconnect by
# their own policy, ``broker_connection_max_retries``; this one applies where a connection is taken to
# publish. A broker that accepts connections and never answers is not bounded by it: no socket timeouts
# are set, since the workers' connections share these options.)
CELERY_BROKER_TRANSPORT_OPTIONS = {"max_retries": 0}

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

# --- Shop ----------------------------------------------------------------------------------------
SHOP_CURRENCIES = tuple(env_list("SHOP_CURRENCIES", ["EUR", "USD", "GBP"]))
SHOP_DEFAULT_CURRENCY = os.environ.get("SHOP_DEFAULT_CURRENCY", SHOP_CURRENCIES[0])
# Prices contain the tax (as EU shops show them); off, tax is added on top (pricing.conf).
PRICES_INCLUDE_TAX = env_bool("PRICES_INCLUDE_TAX", True)

# --- Contexts' own settings -----------------------------------------------------------------------
# Each context reads its ``<CONTEXT>_*`` settings once, in its ``conf.py``, with its own defaults;
# any of these may be given in the environment.
_CONTEXT_SETTINGS: dict[str, type] = {
    "PRICING_MAX_LINE_QUANTITY": int,
    "PRICING_MAX_QUOTE_LINES": int,
    "PRICING_MAX_VOUCHERS_PER_ORDER": int,
    "PRICING_MAX_PRICE_BATCH": int,
    "PRICING_DEFAULT_COUNTRY": str,
    "INVENTORY_RESERVATION_TTL_SECONDS": int,
    "INVENTORY_MAX_LINE_QUANTITY": int,
    "INVENTORY_LOW_STOCK_THRESHOLD": int,
    "INVENTORY_LEVEL_EVENT_STEP": int,
    "INVENTORY_EXPIRY_BATCH_SIZE": int,
    "CART_MAX_LINE_QUANTITY": int,
    "CART_MAX_LINES": int,
    "CART_ANONYMOUS_RETENTION_DAYS": int,
    "CATALOGUE_SEARCH_CONFIG": str,
    "CATALOGUE_MAX_QUERY_LENGTH": int,
    "CATALOGUE_HTTP_MAX_AGE": int,
    "CATALOGUE_LISTING_REFRESH_SECONDS": float,
    "CATALOGUE_LISTING_DRAIN_SECONDS": float,
    "CATALOGUE_LISTING_BATCH_SIZE": int,
    "CATALOGUE_IMPORT_BATCH_SIZE": int,
    "CATALOGUE_IMPORT_CHUNK_SIZE": int,
    "ORDERS_PAYMENT_GATEWAY": str,
    "ORDERS_SAGA_TIMEOUT_SECONDS": int,
    "ORDERS_SAGA_LEASE_SECONDS": int,
    "ORDERS_IDEMPOTENCY_RETENTION_HOURS": int,
    "ORDERS_IDEMPOTENCY_LOCK_SECONDS": int,
    "ORDERS_FIRST_NUMBER": int,
    "ORDERS_CHECKOUT_THROTTLE": str,
    "IDENTITY_PASSWORD_RESET_URL": str,
    "IDENTITY_NOTIFICATION_MAX_ATTEMPTS": int,
    "IDENTITY_NOTIFICATION_BACKOFF_SECONDS": float,
    "IDENTITY_NOTIFICATION_SENDING_LEASE_SECONDS": float,
}
for _name, _type in _CONTEXT_SETTINGS.items():
    if os.environ.get(_name):
        globals()[_name] = _type(os.environ[_name])

# --- Metrics -------------------------------------------------------------------------------------
# ``/metrics`` (commerce.monitoring): ``Authorization: Bearer $METRICS_TOKEN`` when METRICS_TOKEN is
# set; without it, loopback only in development and off in production. Processes that share a
# ``PROMETHEUS_MULTIPROC_DIR`` (gunicorn's workers, set by commerce.gunicorn_conf; bin/shop's worker
# and scheduler too) are added up.
if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    Path(os.environ["PROMETHEUS_MULTIPROC_DIR"]).mkdir(parents=True, exist_ok=True)
PROMETHEUS_EXPORT_MIGRATIONS = False

# --- Tracing -------------------------------------------------------------------------------------
# Off unless OTEL_TRACES_EXPORTER is console or otlp (commerce.telemetry, which reads the standard
# OTEL_* variables). Each context's published api is traced, function by function, as
# ``<context>.<function>``; the modules are named here so the kernel imports no context.
TRACED_API_MODULES = [f"contexts.{name}.api" for name in BUSINESS_CONTEXTS]

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

# The user's email is unique through a case-insensitive constraint (``Lower("email")``) rather than
# ``unique=True``, which Django's check cannot see; the email backend looks it up case-insensitively.
SILENCED_SYSTEM_CHECKS = ["auth.W004"]

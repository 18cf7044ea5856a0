"""Settings for the commerce deployable.

Everything comes from the environment with safe embedded defaults: with nothing set, the shop runs
on SQLite under ``var/`` with inline event dispatch and no broker. The README's configuration table
lists every variable read here.
"""

import os
from datetime import timedelta
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

from commerce.jwt_keys import ALGORITHM as JWT_ALGORITHM
from commerce.jwt_keys import signing_key_pem
from commerce.kernel_settings import *  # noqa: F403 (what every deployable shares: profile, databases, bus, mail, logs)
from commerce.kernel_settings import (
    _INSECURE_KEY,  # noqa: F401 (the development key, refused in production)
    BASE_DIR,
    DATABASE_URL,
    DEBUG,
    EVENTBUS,
    PRODUCTION,
    TIME_ZONE,
    VAR_DIR,
    database_config,
    derived_database_url,
    env_bool,
    env_int,
    env_list,
)

# --- Applications --------------------------------------------------------------------------------
# The business contexts, in dependency order (each may depend only on those before it; notifications
# only on the others' events).
BUSINESS_CONTEXTS = ("pricing", "inventory", "catalogue", "cart", "orders", "identity", "notifications")

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
    "commerce.middleware.ServedByMiddleware",  # outermost: every answer names the deployable that gave it
    # Inline deliveries a request causes run once its response is sent, wherever in the chain it published.
    "commerce.eventbus.after_response.AfterResponseMiddleware",
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
    "commerce.middleware.PrometheusAfterMiddleware",  # django-prometheus' own, its labelled series kept
]

ROOT_URLCONF = "commerce.urls"
WSGI_APPLICATION = "commerce.wsgi.application"
ASGI_APPLICATION = "commerce.asgi.application"

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
# With ``DATABASE_SPLIT=1`` every business context except identity gets its own alias, named after the
# context: ``DATABASE_URL_<CONTEXT>`` when set, otherwise derived from the default (``<name>_<context>``
# on PostgreSQL, ``var/commerce_<context>.sqlite3`` on SQLite). Identity stays on ``default`` with
# Django's own apps, whose tables relate to its user model. ``commerce.database.ContextRouter`` does
# the routing; ``CONTEXT_DATABASES`` is what it reads.
DATABASE_SPLIT = env_bool("DATABASE_SPLIT", False)


def _derived_url(context: str) -> str:
    return os.environ.get(f"DATABASE_URL_{context.upper()}") or derived_database_url(
        DATABASE_URL, context, sqlite_file=f"commerce_{context}.sqlite3"
    )


DATABASES = {"default": database_config(DATABASE_URL)}
CONTEXT_DATABASES = {name: "default" for name in BUSINESS_CONTEXTS}
if DATABASE_SPLIT:
    for _context in BUSINESS_CONTEXTS:
        if _context == "identity":
            continue
        DATABASES[_context] = database_config(_derived_url(_context))
        CONTEXT_DATABASES[_context] = _context

# --- The staff's admin ---------------------------------------------------------------------------
# The shop's name (SHOP_NAME, kernel_settings: the mails name it too) in the admin's header and page
# titles; "View site" leads to SHOP_SITE_URL (the storefront, when there is one; the API's docs
# otherwise). The admin's index shows a dashboard built by ADMIN_DASHBOARD (a dotted path, imported on
# the first visit to the index: never in an API worker).
SHOP_SITE_URL = os.environ.get("SHOP_SITE_URL", "/api/docs")
ADMIN_DASHBOARD = "contexts.dashboard.dashboard_for"
# The demo shop's orders (``manage.py seed_demo_orders``): a function spanning the contexts, named here
# because the kernel, where the command lives, imports no context.
DEMO_ORDERS = "contexts.demo_orders.seed_demo_orders"
FORMAT_MODULE_PATH = ["commerce.formats"]  # dates as "7 Dec 2026, 10:55" in the admin's lists and pages

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
# The lock-out page: the admin's look, when the lock ends and who lifts it (commerce/security.py).
AXES_LOCKOUT_CALLABLE = "commerce.security.lockout_response"
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
    "IDENTITY_NOTIFICATION_MAX_ATTEMPTS": int,  # the NOTIFICATIONS_* below under their old names
    "IDENTITY_NOTIFICATION_BACKOFF_SECONDS": float,
    "IDENTITY_NOTIFICATION_SENDING_LEASE_SECONDS": float,
    "NOTIFICATIONS_MAX_ATTEMPTS": int,
    "NOTIFICATIONS_BACKOFF_SECONDS": float,
    "NOTIFICATIONS_SENDING_LEASE_SECONDS": float,
}
for _name, _type in _CONTEXT_SETTINGS.items():
    if os.environ.get(_name):
        globals()[_name] = _type(os.environ[_name])

# The notifications service, as the monolith calls it once notifications is lifted (at any share: the service
# sends, so it alone knows whether and when a message was sent): identity's export reads a customer's messages there. By default where bin/shop runs it (PORT + 2).
NOTIFICATIONS_SERVICE_URL = (
    os.environ.get("NOTIFICATIONS_SERVICE_URL") or f"http://127.0.0.1:{env_int('PORT', 8000) + 2}"
)
NOTIFICATIONS_SERVICE_TIMEOUT_SECONDS = float(os.environ.get("NOTIFICATIONS_SERVICE_TIMEOUT_SECONDS") or 5)

# --- Tracing -------------------------------------------------------------------------------------
# Off unless OTEL_TRACES_EXPORTER is console or otlp (commerce.telemetry, which reads the standard
# OTEL_* variables). Each context's published api is traced, function by function, as
# ``<context>.<function>``; the modules are named here so the kernel imports no context.
TRACED_API_MODULES = [f"contexts.{name}.api" for name in BUSINESS_CONTEXTS]

# The user's email is unique through a case-insensitive constraint (``Lower("email")``) rather than
# ``unique=True``, which Django's check cannot see; the email backend looks it up case-insensitively.
SILENCED_SYSTEM_CHECKS = ["auth.W004"]

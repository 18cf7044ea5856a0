"""A web worker loads what it serves, not the Celery app or the API docs' stack (issue 15, memory).

Each check runs in a fresh interpreter: what a gunicorn worker imports when it loads ``commerce.wsgi``.
"""

import json
from decimal import Decimal

import pytest

from contexts.catalogue.services import products
from contexts.identity import services
from contexts.pricing import api as pricing_api
from tests.catalogue.factories import CategoryFactory, ProductFactory
from tests.support.processes import run_python

PROBE = """
import json, sys
import commerce.wsgi  # loads the whole URLconf, as a gunicorn worker does at start-up
{extra}
print(json.dumps({{name: name in sys.modules for name in sys.argv[1:]}}))
"""


def _python(tmp_path, script: str, *args: str, **env: str) -> str:
    """Standard output of ``script`` run in a fresh interpreter on the shop's own settings."""
    result = run_python(script, *args, COMMERCE_VAR_DIR=str(tmp_path), STATIC_ROOT=str(tmp_path), **env)
    return result.stdout


def _loaded(tmp_path, *modules: str, extra: str = "", **env: str) -> dict[str, bool]:
    output = _python(tmp_path, PROBE.format(extra=extra), *modules, **env)
    return json.loads(output.strip().splitlines()[-1])


def test_an_inline_worker_loads_nothing_it_does_not_serve(tmp_path):
    """Inline, nothing in a web worker sends to or schedules with Celery: neither the app, nor Celery itself
    (django-celery-beat's models import it; ~9 MB a worker); nor the docs' views until someone asks for them;
    nor django-filter, which no view uses; nor OpenTelemetry while tracing is off."""
    modules = (
        "commerce.celery",
        "celery",
        "django_celery_beat",
        "drf_spectacular.views",
        "django_filters",
        "opentelemetry.trace",
        "opentelemetry.propagate",
    )
    loaded = _loaded(tmp_path, *modules, EVENTBUS_DISPATCH="inline")
    assert loaded == dict.fromkeys(modules, False)


def test_a_worker_loads_drf_spectacular_s_schema_class_with_the_views(tmp_path):
    """What a worker does load for the API's description, said as it is: the views' ``extend_schema``
    (drf-spectacular's) derives each annotated method's schema class from ``DEFAULT_SCHEMA_CLASS`` as the
    view is imported, which loads drf-spectacular's inspector and plumbing, and with them
    ``rest_framework.test`` and Django's test package (the test client, ``unittest``). That is the
    ecosystem's way; what it costs a worker against a bare DRF one is measured by ``bench/http``."""
    modules = ("drf_spectacular.openapi", "commerce.openapi.schema", "rest_framework.test", "django.test")
    assert _loaded(tmp_path, *modules, EVENTBUS_DISPATCH="inline") == dict.fromkeys(modules, True)


def test_with_tracing_on_a_worker_loads_opentelemetry_and_traces(tmp_path):
    extra = "from commerce import telemetry\nassert telemetry.tracer().start_span('probe').is_recording()\n"
    loaded = _loaded(
        tmp_path, "opentelemetry.trace", "opentelemetry.sdk.trace", extra=extra, OTEL_TRACES_EXPORTER="console"
    )
    assert loaded == {"opentelemetry.trace": True, "opentelemetry.sdk.trace": True}


def test_celery_beat_and_its_admin_pages_exist_only_where_celery_runs_the_periodic_jobs(tmp_path):
    """Inline, the embedded scheduler runs the jobs declared in code: pausing one in beat's admin pages would
    do nothing, so they are not there. With Celery dispatch, beat's tables and pages are."""
    probe = (
        "import django; django.setup()\nfrom django.apps import apps\nprint(apps.is_installed('django_celery_beat'))\n"
    )
    assert _python(tmp_path, probe, EVENTBUS_DISPATCH="inline").split() == ["False"]
    celery = {"EVENTBUS_DISPATCH": "celery", "CELERY_BROKER_URL": "redis://127.0.0.1:9/0"}
    assert _python(tmp_path, probe, **celery).split() == ["True"]


def test_the_docs_stack_is_loaded_by_the_first_schema_request(tmp_path):
    extra = (
        "from django.test import Client\n"
        "response = Client().get('/api/schema')\n"
        "assert response.status_code == 200 and b'/api/v1/products' in response.content, response.status_code\n"
    )
    assert _loaded(tmp_path, "drf_spectacular.views", extra=extra) == {"drf_spectacular.views": True}


def test_with_celery_dispatch_the_app_is_ours_from_the_start(tmp_path):
    extra = "from celery import current_app\nassert current_app.main == 'commerce', current_app.main\n"
    loaded = _loaded(
        tmp_path, "commerce.celery", extra=extra, EVENTBUS_DISPATCH="celery", CELERY_BROKER_URL="redis://127.0.0.1:9/0"
    )
    assert loaded == {"commerce.celery": True}


def test_celery_finds_the_app_by_the_package_name(tmp_path):
    script = (
        "from celery.app.utils import find_app\n"
        "import commerce\n"
        "app = find_app('commerce')\n"
        "assert app is commerce.celery_app and app.main == 'commerce', app\n"
        "import django; django.setup(); app.loader.import_default_modules()\n"
        "assert 'eventbus.deliver_events' in app.tasks and 'catalogue.refresh_listing_batch' in app.tasks\n"
    )
    _python(tmp_path, script)


def test_a_worker_s_views_carry_drf_spectacular_s_own_annotations_from_import(tmp_path):
    """Views use drf-spectacular's ``extend_schema`` (the ecosystem's convention, issue 22 item 15): the
    annotation is on the view method as soon as the views are imported, as drf-spectacular's documentation
    and every tool that reads it expect, not applied later by a wrapper of the shop's own."""
    extra = (
        "from commerce.openapi.schema import AutoSchema\n"
        "from contexts.cart.rest.views import CartCollectionView\n"
        "from contexts.catalogue.rest.views import ProductDetailView\n"
        "from contexts.identity.rest.views import MeView\n"
        "for method in (CartCollectionView.post, ProductDetailView.get, MeView.delete):\n"
        "    schema = method.kwargs.get('schema')\n"
        "    assert schema is not None and issubclass(schema, AutoSchema) and schema is not AutoSchema, method\n"
    )
    assert _loaded(tmp_path, "drf_spectacular.utils", extra=extra) == {"drf_spectacular.utils": True}


def test_django_s_test_package_is_loaded_the_ordinary_way():
    """No start-up loader of the shop's own puts ``django.test.signals`` in place before Django starts:
    simplejwt's import of it loads the package as Python loads any other."""
    import importlib.util

    assert importlib.util.find_spec("commerce.startup") is None


TOKEN_PROBE = """
import json, sys
import commerce.wsgi
from django.test import Client

def loaded():
    return sorted(name for name in ("jwt", "cryptography") if name in sys.modules)

listing = Client().get("/api/v1/products")
refused = Client().get("/api/v1/me")
anonymous = {"names": [product["name"] for product in listing.json()["results"]], "refused": refused.status_code,
             "challenge": refused.get("WWW-Authenticate"), "loaded": loaded()}
me = Client(headers={"authorization": "Bearer " + sys.argv[1]}).get("/api/v1/me")
print(json.dumps({"anonymous": anonymous, "me": me.json()["email"], "loaded": loaded()}))
"""


@pytest.mark.django_db(transaction=True)
def test_anonymous_requests_load_neither_pyjwt_nor_cryptography_and_the_first_token_loads_both(
    settings, settle_events, customer
):
    """PyJWT and cryptography (RS256 signing, ~12 MB a worker) load with the first request that carries a
    token (``contexts.identity.signing``): a worker serving the catalogue to anonymous buyers never needs
    them, and one that does verify a token still works."""
    pricing_api.set_base_price(sku="MUG-1", currency="EUR", amount=Decimal("9.50"))
    ProductFactory(slug="mug", name="Mug", category=CategoryFactory(name="Kitchen"),
                   variants=[products.VariantSpec(sku="MUG-1", name="Default", attributes={})])  # fmt: skip
    settle_events()
    access = services.issue_tokens(user=customer).access
    result = run_python(
        TOKEN_PROBE,
        access,
        DJANGO_SETTINGS_MODULE=settings.SETTINGS_MODULE,
        COMMERCE_USE_TEST_DATABASES="1",
        JWT_PRIVATE_KEY_FILE=str(settings.JWT_DEVELOPMENT_KEY_FILE),  # a key in place: making one needs cryptography
        LOG_LEVEL="WARNING",
    )
    outcome = json.loads(result.stdout.strip().splitlines()[-1])
    assert outcome["anonymous"] == {
        "names": ["Mug"],
        "refused": 401,
        "challenge": 'Bearer realm="api"',
        "loaded": [],
    }
    assert outcome["me"] == customer.email
    assert outcome["loaded"] == ["cryptography", "jwt"]


ADMIN_MODULES = (
    "contexts.orders.admin",
    "contexts.pricing.admin",
    "commerce.eventbus.admin",
    "django.contrib.auth.admin",
    "rest_framework_simplejwt.token_blacklist.admin",
)

ADMIN_PROBE = """
import json, sys
import commerce.wsgi
from django.test import Client

def loaded():
    return [name for name in sys.argv[1:] if name in sys.modules]

index = Client().get("/api/v1")
before = loaded()
admin = Client().get("/admin/")
print(json.dumps({"index": index.status_code, "before": before, "admin": [admin.status_code, admin.get("Location")],
                  "after": loaded()}))
"""


def test_a_worker_loads_the_admin_s_pages_with_the_first_request_for_one(tmp_path):
    """The admin's pages (every app's ``admin`` module, Django's auth admin, their URLs) load with
    the first request under /admin/: an API worker never needs them (~1.3 MB a worker, measured by
    ``bench/http``), and the first staff visit finds them all."""
    output = _python(tmp_path, ADMIN_PROBE, *ADMIN_MODULES, EVENTBUS_DISPATCH="inline")
    outcome = json.loads(output.strip().splitlines()[-1])
    assert outcome == {
        "index": 200,
        "before": [],
        "admin": [302, "/admin/login/?next=/admin/"],
        "after": list(ADMIN_MODULES),
    }


def test_the_admin_registry_is_complete_wherever_it_is_read_first(tmp_path):
    """Whoever reads the admin site first (a system check, ``reverse``, a test, a page) finds every app's
    ``ModelAdmin`` registered, as when Django discovers them at start-up."""
    probe = (
        "import django; django.setup()\n"
        "from django.apps import apps\n"
        "from django.contrib import admin\n"
        "from django.urls import reverse\n"
        "print(reverse('admin:orders_order_changelist'))\n"
        "print(admin.site.is_registered(apps.get_model('orders', 'Order')),"
        " admin.site.is_registered(apps.get_model('token_blacklist', 'OutstandingToken')))\n"
    )
    assert _python(tmp_path, probe, EVENTBUS_DISPATCH="inline").split() == ["/admin/orders/order/", "True", "True"]


def test_threads_reading_the_admin_registry_at_once_all_find_it_complete(tmp_path):
    """The development server and gthread workers serve requests in threads: the first admin requests of a
    process may read the registry together, and none may build the admin's URLs from half of it."""
    probe = (
        "import django, threading; django.setup()\n"
        "from django.contrib import admin\n"
        "barrier, counts = threading.Barrier(8), []\n"
        "def read():\n"
        "    barrier.wait()\n"
        "    counts.append(len(admin.site.get_urls()))\n"
        "threads = [threading.Thread(target=read) for _ in range(8)]\n"
        "for thread in threads: thread.start()\n"
        "for thread in threads: thread.join()\n"
        "print(len(set(counts)), counts[0] == len(admin.site.get_urls()), len(counts))\n"
    )
    assert _python(tmp_path, probe, EVENTBUS_DISPATCH="inline").split() == ["1", "True", "8"]


DASHBOARD_MODULES = ("contexts.dashboard", "commerce.eventbus.state")


def test_a_worker_loads_the_staff_dashboard_only_for_the_admin_s_index(tmp_path):
    """The dashboard (issue 27) reads every context for staff: the API's requests never load it, nor
    does the admin's login page; the index imports it (``ADMIN_DASHBOARD``) on its first visit."""
    output = _python(tmp_path, ADMIN_PROBE, *DASHBOARD_MODULES, EVENTBUS_DISPATCH="inline")
    outcome = json.loads(output.strip().splitlines()[-1])
    assert outcome["before"] == [] and outcome["after"] == []

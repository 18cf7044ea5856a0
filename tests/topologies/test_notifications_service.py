"""The notifications service as its own deployable (``services.notifications``): only the kernel and
``contexts.notifications`` installed, its own database, its own health, metrics and JSON logs, customers
known from identity's token alone, every answer named ``X-Served-By: notifications``.

The import check runs the service's code in a fresh interpreter, serves requests through its WSGI
application and loads its consumer, then reads ``sys.modules``: no module of another context but its
``events`` was ever imported.
"""

import json

import pytest

from tests.support.processes import get, run_python
from tests.topologies.keys import KeyPair, unsigned_token
from tests.topologies.support import SERVICE_SETTINGS, get_json, manage, running_deployable

OTHER_CONTEXTS = ("pricing", "inventory", "catalogue", "cart", "orders", "identity", "wiring")

PROBE = """
import json, sys
import django
from django.core.management import call_command, get_commands, load_command_class

django.setup()
call_command("migrate", verbosity=0)
from services.notifications.wsgi import application  # noqa: F401 (what gunicorn loads)
from django.test import Client

client = Client()
token = sys.argv[1]
answers = {}
for label, path, headers in [
    ("live", "/health/live", {}),
    ("ready", "/health/ready", {}),
    ("metrics", "/metrics", {}),
    ("anonymous", "/api/v1/me/notifications", {}),
    ("customer", "/api/v1/me/notifications", {"HTTP_AUTHORIZATION": f"Bearer {token}"}),
    ("page", "/api/v1/me/notifications?page=1&page_size=1", {"HTTP_AUTHORIZATION": f"Bearer {token}"}),
    ("forged", "/api/v1/me/notifications", {"HTTP_AUTHORIZATION": "Bearer forged"}),
    ("unknown", "/api/v1/nothing-here", {}),
]:
    response = client.get(path, **headers)
    answers[label] = [response.status_code, response["X-Served-By"]]
# The consumer's command, as `manage.py consume_events notifications` loads it.
load_command_class(get_commands()["consume_events"], "consume_events")
from django.apps import apps
print(json.dumps({
    "apps": [config.name for config in apps.get_app_configs()],
    "answers": answers,
    "modules": sorted(name for name in sys.modules if name.startswith("contexts")),
}))
"""


@pytest.fixture
def service_env(tmp_path):
    """The service's environment: its own SQLite database and identity's public key in a file."""
    key = KeyPair()
    keys = tmp_path / "jwks.json"
    keys.write_text(json.dumps(key.jwks()))
    env = {
        "DJANGO_SETTINGS_MODULE": SERVICE_SETTINGS,
        "COMMERCE_VAR_DIR": str(tmp_path / "var"),
        "SERVICE_DATABASE_URL": f"sqlite:///{tmp_path / 'service.sqlite3'}",
        "JWT_PUBLIC_KEYS_FILE": str(keys),
    }
    return key, env


def test_the_service_never_imports_another_context_s_code_beyond_its_events(service_env):
    key, env = service_env
    output = run_python(PROBE, key.token(42), **env).stdout
    seen = json.loads(output.strip().splitlines()[-1])

    assert seen["apps"] == [
        "corsheaders",
        "rest_framework",
        "django_prometheus",
        "commerce",
        "commerce.eventbus",
        "contexts.notifications",
    ]
    assert all(served_by == "notifications" for _, served_by in seen["answers"].values()), seen["answers"]
    statuses = {label: status for label, (status, _) in seen["answers"].items()}
    assert statuses == {
        "live": 200,
        "ready": 200,
        "metrics": 200,
        "anonymous": 401,
        "customer": 200,
        "page": 200,
        "forged": 401,
        "unknown": 404,
    }
    assert "contexts.notifications.rest" in {".".join(m.split(".")[:3]) for m in seen["modules"]}
    foreign = [
        module
        for module in seen["modules"]
        if module.split(".")[1:2] != ["notifications"]
        and module not in {"contexts", *(f"contexts.{name}" for name in OTHER_CONTEXTS)}
        and ".".join(module.split(".")[2:3]) != "events"
    ]
    assert foreign == [], f"the notifications service imported another context's code: {foreign}"


def test_the_service_database_is_its_own_derived_from_database_url(tmp_path):
    probe = "from django.conf import settings\nprint(settings.DATABASES['default']['NAME'])\n"
    common = {"DJANGO_SETTINGS_MODULE": SERVICE_SETTINGS, "COMMERCE_VAR_DIR": str(tmp_path), "SERVICE_DATABASE_URL": ""}
    on_postgresql = run_python(probe, DATABASE_URL="postgres://shop@db.example:5432/commerce?sslmode=require", **common)
    assert on_postgresql.stdout.split()[-1] == "commerce_notifications_service"
    on_sqlite = run_python(probe, DATABASE_URL=f"sqlite:///{tmp_path / 'commerce.sqlite3'}", **common)
    assert on_sqlite.stdout.split()[-1] == str(tmp_path / "notifications-service.sqlite3")


def test_the_service_process_answers_health_metrics_and_errors_in_the_contract_s_shape(service_env, tmp_path):
    key, env = service_env
    manage("migrate_all", **env)
    with running_deployable("services.notifications.wsgi", LOG_FORMAT="json", **env) as (base, log):
        status, headers, body = get_json(f"{base}/health/ready")
        assert (status, body["checks"], headers["X-Served-By"]) == (200, {"database:default": True}, "notifications")

        status, headers, body = get_json(
            f"{base}/api/v1/me/notifications", {"Authorization": f"Bearer {key.token(42)}"}
        )
        assert (status, headers["X-Served-By"], body["results"]) == (200, "notifications", [])

        for token in (KeyPair().token(42), unsigned_token(42, key.kid), key.token(42, token_type="refresh")):
            status, headers, body = get_json(f"{base}/api/v1/me/notifications", {"Authorization": f"Bearer {token}"})
            assert (status, body["code"], headers["X-Served-By"]) == (401, "token_not_valid", "notifications")
        status, _, body = get_json(f"{base}/api/v1/me/notifications")
        assert (status, body["code"]) == (401, "not_authenticated")
        status, _, body = get_json(f"{base}/api/v1/orders")
        assert (status, body["code"]) == (404, "not_found")  # the monolith's paths are not the service's

        status, headers, metrics = get(f"{base}/metrics")
        assert status == 200 and b"django_http_responses_total_by_status_total" in metrics

    logged = [line for line in log.read_text().splitlines() if line.startswith("{")]
    records = [json.loads(line) for line in logged]
    assert any(record["message"].startswith("Not Found: /api/v1/orders") for record in records), logged
    assert all(record["request_id"] for record in records)
    assert (tmp_path / "service.sqlite3").exists() and not (tmp_path / "var" / "commerce.sqlite3").exists()

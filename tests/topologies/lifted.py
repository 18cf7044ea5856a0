"""The lifted topology as the history and export tests set it up: the service's own database (SQLite, or on
PostgreSQL a database of its own beside the test run's, dropped at the end), the URL of the database the
monolith's notifications live in, and a look into the service's database from its own settings."""

import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from django.db import connections

from commerce.database import database_for
from tests.support.processes import run_python
from tests.topologies.support import SERVICE_SETTINGS


def database_url(settings_dict: dict) -> str:
    """The URL of a configured database (the tests' own: pytest-django renamed it)."""
    if settings_dict["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{settings_dict['NAME']}"
    user = settings_dict.get("USER") or ""
    password = f":{settings_dict['PASSWORD']}" if settings_dict.get("PASSWORD") else ""
    host = settings_dict.get("HOST") or "127.0.0.1"
    port = f":{settings_dict['PORT']}" if settings_dict.get("PORT") else ""
    return f"postgres://{user}{password}@{host}{port}/{settings_dict['NAME']}"


def monolith_notifications_url() -> str:
    """Where the monolith (the test run's databases) keeps its notifications."""
    return database_url(connections[database_for("notifications")].settings_dict)


@contextmanager
def service_database(tmp_path: Path) -> Iterator[str]:
    """The URL of an empty database for the service, on the engine the tests run on."""
    here = connections[database_for("notifications")]
    if here.vendor != "postgresql":
        yield f"sqlite:///{tmp_path / 'service.sqlite3'}"
        return
    name = f"{here.settings_dict['NAME']}_svc_{uuid.uuid4().hex[:8]}"
    try:
        yield database_url({**here.settings_dict, "NAME": name})
    finally:
        with here._nodb_cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


PROBE = """
import json, sys
import django
django.setup()
from contexts.notifications.models import Message, OrderContact
print(json.dumps({
    "messages": list(Message.objects.order_by("id").values(
        "id", "public_id", "event_id", "kind", "customer_id", "status", "subject", "body_text", "body_html",
        "recipient", "occurred_at", "created_at", "sent_at", "last_error")),
    "contacts": sorted(str(order_id) for order_id in OrderContact.objects.values_list("order_id", flat=True)),
}, default=str))
"""


def service_rows(**env: str) -> dict:
    """The messages and order contacts in the service's database, read with the service's settings."""
    output = run_python(PROBE, **{"DJANGO_SETTINGS_MODULE": SERVICE_SETTINGS, **env}).stdout
    return json.loads(output.strip().splitlines()[-1])


WRITE = """
import json, sys
import django
django.setup()
from contexts.notifications.models import Message
for row in json.loads(sys.argv[1]):
    Message.objects.create(**row)
"""


def service_records(rows: list[dict], **env: str) -> None:
    """Messages the service recorded itself (as its consumer would have)."""
    run_python(WRITE, json.dumps(rows, default=str), **{"DJANGO_SETTINGS_MODULE": SERVICE_SETTINGS, **env})

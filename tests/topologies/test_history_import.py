"""The history moves with the context: ``import_notification_history`` (run with the service's settings) copies
the monolith's messages and order contacts into the service's database, so that while the gateway splits
``/me/notifications`` between the two, a customer reads the same list whichever answers.

On the engine the tests run on: SQLite to SQLite by default, PostgreSQL to PostgreSQL with ``DATABASE_URL``
(the service's database is then one of its own beside the test run's).
"""

from datetime import timedelta
from uuid import UUID, uuid4

import pytest
from django.utils import timezone

from contexts.notifications.models import Message, OrderContact
from tests.identity.factories import PASSWORD, CustomerFactory
from tests.support.http import request
from tests.topologies.lifted import (
    monolith_notifications_url,
    service_database,
    service_records,
    service_rows,
)
from tests.topologies.support import SERVICE_SETTINGS, get_json, manage, running_deployable

pytestmark = pytest.mark.django_db(transaction=True)

KINDS = ("welcome", "order_confirmation", "order_dispatched", "order_cancelled", "refund_issued")


@pytest.fixture
def service_env(tmp_path):
    with service_database(tmp_path) as url:
        env = {
            "DJANGO_SETTINGS_MODULE": SERVICE_SETTINGS,
            "COMMERCE_VAR_DIR": str(tmp_path / "service-var"),
            "SERVICE_DATABASE_URL": url,
        }
        manage("migrate_all", **env)
        yield env


def same_page(page: dict) -> dict:
    """A page as the customer reads it through the gateway: its links name the gateway's host, not the deployable's."""
    links = {key: page[key] and page[key].split("/api/", 1)[1] for key in ("next", "previous") if key in page}
    return {**page, **links}


def import_history(env: dict, *args: str) -> str:
    return manage("import_notification_history", f"--source-url={monolith_notifications_url()}", *args, **env)


def message(customer, kind: str = "order_confirmation", *, days_ago: float = 0, **fields) -> Message:
    created = timezone.now() - timedelta(days=days_ago)
    defaults = {
        "event_id": uuid4(),
        "kind": kind,
        "customer_id": customer.pk,
        "recipient": customer.email,
        "subject": f"{kind} of {days_ago} days ago",
        "body_text": f"Dear {customer.first_name}",
        "status": "sent",
        "occurred_at": created - timedelta(seconds=1),
        "created_at": created,
        "sent_at": created + timedelta(seconds=3),
    }
    return Message.objects.create(**{**defaults, **fields})


def test_after_the_import_both_deployables_list_the_same_history_and_a_second_run_copies_nothing(
    settings, service_env, tmp_path
):
    ann, bo = CustomerFactory(), CustomerFactory()
    for number in range(30):  # more than a page (24) and than a batch (7)
        order_id = uuid4() if number % 5 else None
        message(ann, KINDS[number % 5], days_ago=30 - number, order_id=order_id, order_number=f"1000{number:02}")
        if order_id:
            OrderContact.objects.create(
                order_id=order_id, number=f"1000{number:02}", customer_id=ann.pk, email=ann.email
            )
    message(ann, "order_dispatched", status="failed", sent_at=None, attempts=2, last_error="421 try later")
    message(bo, "welcome", days_ago=1)

    first = import_history(service_env, "--batch-size=7")
    assert "32 messages copied" in first and "24 order contacts copied" in first, first
    again = import_history(service_env, "--batch-size=7")
    assert "0 messages copied (32 already here" in again and "0 order contacts copied" in again, again

    rows = service_rows(**service_env)
    assert len(rows["messages"]) == 32 and len({(m["event_id"], m["kind"]) for m in rows["messages"]}) == 32
    held = {
        m["event_id"]: m
        for m in Message.objects.values("event_id", "status", "occurred_at", "created_at", "sent_at", "public_id")
    }
    for copied in rows["messages"]:  # as they were: the same public id, dates and status
        original = held[UUID(copied["event_id"])]
        assert (copied["public_id"], copied["status"]) == (str(original["public_id"]), original["status"])
        assert (copied["occurred_at"], copied["created_at"]) == (
            str(original["occurred_at"]),
            str(original["created_at"]),
        )
        assert copied["sent_at"] == (str(original["sent_at"]) if original["sent_at"] else None)
    assert len(rows["contacts"]) == 24

    with running_deployable(
        "commerce.wsgi",
        COMMERCE_USE_TEST_DATABASES="1",
        DJANGO_SETTINGS_MODULE=settings.SETTINGS_MODULE,
        LIFTED="notifications",
        NOTIFICATIONS_SHARE="50",
    ) as (monolith, _):
        token = request("POST", f"{monolith}/api/v1/auth/token", {"email": ann.email, "password": PASSWORD})
        assert token.status == 200, token.body
        bearer = {"Authorization": f"Bearer {token.body['access']}"}
        with running_deployable(
            "services.notifications.wsgi", IDENTITY_JWKS_URL=f"{monolith}/.well-known/jwks.json", **service_env
        ) as (service, _):
            for query in ("", "?page=2", "?page_size=100"):
                status, headers, from_monolith = get_json(f"{monolith}/api/v1/me/notifications{query}", bearer)
                assert (status, headers["X-Served-By"]) == (200, "monolith")
                status, headers, from_service = get_json(f"{service}/api/v1/me/notifications{query}", bearer)
                assert (status, headers["X-Served-By"]) == (200, "notifications")
                assert same_page(from_service) == same_page(from_monolith), query
            assert from_monolith["count"] == 31 and from_monolith["results"][0]["kind"] == "order_dispatched"


def test_what_the_service_recorded_itself_wins_and_no_secret_or_erased_content_travels(service_env):
    ann, cy = CustomerFactory(), CustomerFactory()
    shadow = message(ann, "order_confirmation", status="recorded", sent_at=None, subject="shadow of the service's")
    both = message(ann, "order_dispatched", subject="the monolith's copy")
    link = "https://shop.example.com/reset-password?token=secret-1"
    pending_reset = message(ann, "password_reset", status="pending", sent_at=None, body_text=link, body_html=link)
    sending_reset = message(ann, "password_reset", status="sending", sent_at=None, body_text=link)
    refund = message(ann, "refund_issued", subject="the monolith's refund")
    closed = message(cy, "welcome", subject="Welcome, Cy", body_text="Dear Cy, at 1 Cy Street")
    contact = OrderContact.objects.create(order_id=uuid4(), number="100077", customer_id=ann.pk, email=ann.email)
    # What the service recorded from its own queue before the import (its row ids counted from 1, as the
    # monolith's were: the same numbers, other messages); and Cy,
    # whose account was closed, erased there.
    service_records(
        [
            {"event_id": both.event_id, "kind": both.kind, "customer_id": ann.pk, "subject": "the service's own",
             "status": "sent", "recipient": ann.email},
            {"event_id": uuid4(), "kind": "welcome", "customer_id": 999, "subject": "another's",
             "status": "sent"},
            {"event_id": uuid4(), "kind": "order_confirmation", "customer_id": cy.pk, "subject": "Erased",
             "recipient": "", "erased_at": timezone.now(), "status": "sent"},
        ],
        **service_env,
    )  # fmt: skip

    output = import_history(service_env)
    assert "4 messages copied (2 already here or only recorded there)" in output, output
    rows = service_rows(**service_env)
    by_subject = {row["subject"]: row for row in rows["messages"]}

    assert shadow.subject not in by_subject  # the service records and sends that one itself
    assert "the monolith's copy" not in by_subject and by_subject["the service's own"]["status"] == "sent"
    resets = [row for row in rows["messages"] if row["kind"] == "password_reset"]
    assert {(row["status"], row["body_text"], row["body_html"]) for row in resets} == {
        ("gave_up", "", ""),  # never sent from here, and without its link it cannot be: the customer asks again
        ("sending", "", ""),
    }
    assert link not in str(rows)
    assert {row["public_id"] for row in resets} == {str(pending_reset.public_id), str(sending_reset.public_id)}
    # Row ids are each database's own (never shown): a copy takes the service's next, and keeps its public id.
    moved = by_subject["the monolith's refund"]
    assert moved["public_id"] == str(refund.public_id)
    assert len({row["id"] for row in rows["messages"]}) == len(rows["messages"]) == 3 + 4
    welcome = by_subject[closed.subject]
    assert (welcome["recipient"], welcome["body_text"]) == ("", "")
    assert "Cy Street" not in str(rows)
    assert str(contact.order_id) in rows["contacts"]

    # The service goes on recording after the import: its ids pass every id copied.
    service_records([{"event_id": uuid4(), "kind": "welcome", "customer_id": 5, "subject": "later"}], **service_env)
    later = service_rows(**service_env)["messages"][-1]
    assert later["subject"] == "later" and later["id"] > max(row["id"] for row in rows["messages"])
    assert "0 messages copied" in import_history(service_env)


def test_the_import_refuses_to_copy_a_database_onto_itself(service_env, tmp_path):
    import subprocess
    import sys

    from tests.support.processes import ROOT, clean_environment

    own = service_env["SERVICE_DATABASE_URL"]
    result = subprocess.run(
        [sys.executable, "manage.py", "import_notification_history", f"--source-url={own}"],
        cwd=ROOT,
        env=clean_environment(**service_env),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0 and "own database" in result.stderr


DEFAULT_SOURCE = """
from django.conf import settings
import django
django.setup()
from contexts.notifications.management.commands.import_notification_history import monolith_notifications_url
print(monolith_notifications_url())
"""


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"DATABASE_URL": "postgres://shop@db.example:5432/commerce"}, "postgres://shop@db.example:5432/commerce"),
        (
            {"DATABASE_URL": "postgres://shop@db.example:5432/commerce?sslmode=require", "DATABASE_SPLIT": "1"},
            "postgres://shop@db.example:5432/commerce_notifications?sslmode=require",
        ),
        (
            {
                "DATABASE_URL": "postgres://shop@db/commerce",
                "DATABASE_SPLIT": "1",
                "DATABASE_URL_NOTIFICATIONS": "postgres://n/x",
            },
            "postgres://n/x",
        ),
        (
            {"DATABASE_URL": "sqlite:///{var}/commerce.sqlite3", "DATABASE_SPLIT": "1"},
            "sqlite:///{var}/commerce_notifications.sqlite3",
        ),
        ({"DATABASE_URL": ""}, "sqlite:///{var}/commerce.sqlite3"),
    ],
)
def test_by_default_the_history_is_read_where_the_monolith_keeps_its_notifications(env, expected, tmp_path):
    from tests.support.processes import run_python

    var = tmp_path / "var"
    environment = {key: value.format(var=var) for key, value in env.items()}
    output = run_python(
        DEFAULT_SOURCE,
        DJANGO_SETTINGS_MODULE=SERVICE_SETTINGS,
        COMMERCE_VAR_DIR=str(var),
        SERVICE_DATABASE_URL=f"sqlite:///{tmp_path / 'service.sqlite3'}",
        **{"DATABASE_SPLIT": "", "DATABASE_URL_NOTIFICATIONS": "", **environment},
    ).stdout
    assert output.split()[-1] == expected.format(var=var)

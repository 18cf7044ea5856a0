"""``/me/export`` once notifications is lifted (``LIFTED=notifications``), during the move (a share under 100,
the monolith still recording its own copy) as after it (100, the service recording alone): the real monolith
reads the customer's messages from the real service process, the sender, with an access token identity issued
for the customer, and answers the same document it answered when it held them itself, plus what only the
service sent since, as sent (never the monolith's record-only copy of it). With the service gone, it answers 503 with
``Retry-After`` in the contract's shape, never an export without the messages."""

import json
from datetime import datetime
from uuid import uuid4

import pytest
from django.utils import timezone

from contexts.identity.tokens import jwks
from contexts.notifications.models import Message
from tests.identity.factories import PASSWORD
from tests.support.http import request
from tests.topologies.lifted import monolith_notifications_url, service_database, service_records
from tests.topologies.support import SERVICE_SETTINGS, get_json, manage, running_deployable

pytestmark = pytest.mark.django_db(transaction=True)


def instants(message: dict) -> dict:
    """A message with its times parsed (``Z`` here, ``+00:00`` there: the same instant)."""
    return {k: datetime.fromisoformat(v) if k.endswith("_at") and v else v for k, v in message.items()}


@pytest.fixture
def service_env(tmp_path):
    keys = tmp_path / "jwks.json"
    keys.write_text(json.dumps(jwks()))  # identity's public keys, as the monolith started below publishes them
    with service_database(tmp_path) as url:
        env = {
            "DJANGO_SETTINGS_MODULE": SERVICE_SETTINGS,
            "COMMERCE_VAR_DIR": str(tmp_path / "service-var"),
            "SERVICE_DATABASE_URL": url,
            "JWT_PUBLIC_KEYS_FILE": str(keys),
        }
        manage("migrate_all", **env)
        yield env


@pytest.mark.parametrize("share", [50, 100], ids=["moving", "moved"])
def test_once_lifted_the_export_reads_the_service_and_answers_503_without_it(
    settings, customer_client, service_env, share
):
    ann = customer_client.customer
    for kind, subject in (("welcome", "Welcome, Ann"), ("order_confirmation", "Your order 100001 is confirmed")):
        Message.objects.create(
            event_id=uuid4(), kind=kind, customer_id=ann.pk, recipient=ann.email, subject=subject,
            body_text=f"{subject}.", status="sent", sent_at=timezone.now(),
        )  # fmt: skip
    embedded = customer_client.get("/api/v1/me/export").json()
    # Lifted: the history moves to the service, which then records on its own (the monolith no longer does).
    manage("import_notification_history", f"--source-url={monolith_notifications_url()}", **service_env)
    dispatched_event = uuid4()
    service_records(
        [{"event_id": str(dispatched_event), "kind": "order_dispatched", "customer_id": ann.pk, "recipient": ann.email,
          "subject": "Your order 100001 is on its way", "body_text": "On its way.", "status": "sent",
          "sent_at": timezone.now()}],
        **service_env,
    )  # fmt: skip
    if share < 100:  # the monolith's shadow of it: recorded, never sent from here
        Message.objects.create(
            event_id=dispatched_event, kind="order_dispatched", customer_id=ann.pk, recipient=ann.email,
            subject="Your order 100001 is on its way", body_text="On its way.", status="recorded",
        )  # fmt: skip

    service = running_deployable("services.notifications.wsgi", **service_env)
    service_url, _ = service.__enter__()
    try:
        with running_deployable(
            "commerce.wsgi",
            COMMERCE_USE_TEST_DATABASES="1",
            DJANGO_SETTINGS_MODULE=settings.SETTINGS_MODULE,
            LIFTED="notifications",
            NOTIFICATIONS_SHARE=str(share),
            NOTIFICATIONS_SERVICE_URL=service_url,
            NOTIFICATIONS_SERVICE_TIMEOUT_SECONDS="2",
        ) as (monolith, _):
            token = request("POST", f"{monolith}/api/v1/auth/token", {"email": ann.email, "password": PASSWORD})
            bearer = {"Authorization": f"Bearer {token.body['access']}"}

            status, headers, lifted = get_json(f"{monolith}/api/v1/me/export", bearer)
            assert (status, headers["X-Served-By"]) == (200, "monolith")
            *before, dispatched = lifted["notifications"]
            assert before == embedded["notifications"]  # the same messages, field for field
            assert (dispatched["subject"], dispatched["body_text"], dispatched["status"]) == (
                "Your order 100001 is on its way",
                "On its way.",
                "sent",
            )
            assert dispatched["sent_at"] is not None
            assert {k: v for k, v in lifted.items() if k not in {"exported_at", "notifications", "profile"}} == {
                k: v for k, v in embedded.items() if k not in {"exported_at", "notifications", "profile"}
            }

            # The monolith's own /me/notifications/export (where the gateway sends 100 - share percent of that
            # path) answers the sender's document too, read with the caller's own token: never its copy.
            status, headers, own = get_json(f"{monolith}/api/v1/me/notifications/export", bearer)
            assert (status, headers["X-Served-By"]) == (200, "monolith")
            assert [instants(m) for m in own["results"]] == [instants(m) for m in lifted["notifications"]]

            service.__exit__(None, None, None)
            service = None
            status, headers, body = get_json(f"{monolith}/api/v1/me/export", bearer)
            assert (status, body["code"], headers["Retry-After"]) == (503, "service_unavailable", "5")
            assert set(body) == {"code", "detail"}
            status, headers, body = get_json(f"{monolith}/api/v1/me/notifications/export", bearer)
            assert (status, body["code"], headers["Retry-After"]) == (503, "service_unavailable", "5")
    finally:
        if service is not None:
            service.__exit__(None, None, None)

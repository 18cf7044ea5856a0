"""Where identity's export (``/me/export``) reads a customer's messages: from the deployable that sends them,
which alone knows whether and when each was sent: in process when notifications runs embedded, from the
notifications service once it is lifted, at any share (the monolith's record-only copy, kept while a share
is still routed to it, is never the export's source), through a client with a deadline that answers 503 with
``Retry-After`` rather than a partial export. The service's side of that call, ``/me/notifications/export``, and the token identity issues
for it. (tests/topologies/test_export_through_service.py runs the call against a real service process.)"""

import json
import socket
import threading
import time
from datetime import timedelta
from uuid import uuid4

import pytest
from django.utils import timezone

from commerce.authentication import PublicKeySet, verify_access_token
from contexts.identity import api as identity_api
from contexts.identity.tokens import jwks
from contexts.notifications.models import Message
from tests.identity.factories import CustomerFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def ann(customer_client):
    me = customer_client.customer
    for kind, subject in (("welcome", "Welcome, Ann"), ("order_confirmation", "Your order 100001 is confirmed")):
        Message.objects.create(
            event_id=uuid4(), kind=kind, customer_id=me.pk, recipient=me.email, subject=subject,
            body_text=f"{subject}.", status="sent", sent_at=timezone.now(),
        )  # fmt: skip
    Message.objects.create(
        event_id=uuid4(), kind="password_reset", customer_id=me.pk, recipient=me.email, subject="Reset your password",
        body_text="https://shop.example.com/reset-password?token=secret", status="pending",
    )  # fmt: skip
    Message.objects.create(
        event_id=uuid4(), kind="welcome", customer_id=CustomerFactory().pk, recipient="bo@example.com",
        subject="Welcome, Bo", body_text="Hello Bo", status="sent",
    )  # fmt: skip
    return customer_client


@pytest.fixture
def closed_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]  # nothing listens there once the socket is closed


@pytest.fixture
def silent_service():
    """A service that takes the connection and never answers."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(8)
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"


@pytest.fixture
def hanging_up_service():
    """A service that takes each connection and closes it unanswered, counting them."""
    connections, stop = [], threading.Event()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(16)
        sock.settimeout(0.1)

        def serve() -> None:
            while not stop.is_set():
                try:
                    connection, _ = sock.accept()
                except TimeoutError:
                    continue
                connections.append(1)
                connection.close()

        thread = threading.Thread(target=serve, daemon=True)
        thread.start()
        yield f"http://127.0.0.1:{sock.getsockname()[1]}", connections
        stop.set()
        thread.join()


def lifted(settings, share: int, url: str, timeout: float = 1) -> None:
    settings.LIFTED = frozenset({"notifications"})
    settings.NOTIFICATIONS_SHARE = share
    settings.NOTIFICATIONS_SERVICE_URL = url
    settings.NOTIFICATIONS_SERVICE_TIMEOUT_SECONDS = timeout


def test_the_service_answers_the_callers_messages_in_the_exports_shape_on_one_page(ann):
    embedded = ann.get("/api/v1/me/export").json()["notifications"]
    response = ann.get("/api/v1/me/notifications/export")
    assert response.status_code == 200
    served = response.json()["results"]
    assert [m["subject"] for m in served] == ["Welcome, Ann", "Your order 100001 is confirmed", "Reset your password"]
    assert served[2]["body_text"] == "" and "secret" not in response.content.decode()
    assert "bo@example.com" not in response.content.decode()
    # Field by field what the export holds (dates in the API's own notation: the same instants).
    for here, there in zip(embedded, served, strict=True):
        assert here.keys() == there.keys()
        assert {k: v for k, v in here.items() if not k.endswith("_at")} == {
            k: v for k, v in there.items() if not k.endswith("_at")
        }


def test_embedded_the_export_reads_this_process_which_sends(ann, settings, closed_port):
    settings.LIFTED = frozenset()
    settings.NOTIFICATIONS_SERVICE_URL = f"http://127.0.0.1:{closed_port}"
    response = ann.get("/api/v1/me/export")
    assert response.status_code == 200
    assert [m["status"] for m in response.json()["notifications"]] == ["sent", "sent", "pending"]


@pytest.mark.parametrize("share", [0, 50])
def test_during_a_move_the_export_reads_the_sender_never_the_record_only_copy(ann, settings, closed_port, share):
    """Under 100 the monolith still records (its messages say ``recorded``, never whether they left): its copy
    is not an answer, so with the service unreachable the export is a 503, not the monolith's copy."""
    Message.objects.update(status="recorded", sent_at=None)
    lifted(settings, share, f"http://127.0.0.1:{closed_port}")
    response = ann.get("/api/v1/me/export")
    assert (response.status_code, response.json()["code"]) == (503, "service_unavailable")


def test_at_100_an_unreachable_service_is_a_503_with_retry_after_never_a_partial_export(ann, settings, closed_port):
    lifted(settings, 100, f"http://127.0.0.1:{closed_port}")
    response = ann.get("/api/v1/me/export")
    assert response.status_code == 503
    assert response.json() == {
        "code": "service_unavailable",
        "detail": "The notifications service cannot be reached right now; retry shortly.",
    }
    assert response["Retry-After"] == "5"


def test_a_service_that_does_not_answer_is_given_up_at_the_deadline(ann, settings, silent_service):
    lifted(settings, 100, silent_service, timeout=1.5)
    started = time.monotonic()
    response = ann.get("/api/v1/me/export")
    assert response.status_code == 503 and response.json()["code"] == "service_unavailable"
    assert time.monotonic() - started < 5  # the deadline (1.5 s), not the socket's default (none)


def test_after_five_exports_without_an_answer_the_next_fail_at_once_without_calling(ann, settings, hanging_up_service):
    url, connections = hanging_up_service
    lifted(settings, 100, url, timeout=0.5)
    for _ in range(5):
        assert ann.get("/api/v1/me/export").status_code == 503
    tried = len(connections)
    assert tried >= 5  # each export tried (and retried within its deadline)
    started = time.monotonic()
    response = ann.get("/api/v1/me/export")
    assert (response.status_code, response.json()["code"], response["Retry-After"]) == (503, "service_unavailable", "5")
    assert len(connections) == tried and time.monotonic() - started < 0.5  # the breaker is open: not tried


def test_identity_issues_a_short_lived_access_token_the_service_verifies_with_its_public_keys(customer, tmp_path):
    keys = tmp_path / "jwks.json"
    keys.write_text(json.dumps(jwks()))
    issued = identity_api.issue_access_token(customer_id=customer.pk)
    claims = verify_access_token(issued.token, PublicKeySet(path=str(keys)))
    assert int(claims["user_id"]) == customer.pk and claims["token_type"] == "access"
    assert issued.expires_at <= timezone.now() + timedelta(seconds=61)

    customer.closed_at = timezone.now()
    customer.save(update_fields=["closed_at"])
    with pytest.raises(identity_api.CustomerNotFound):
        identity_api.issue_access_token(customer_id=customer.pk)


@pytest.mark.parametrize("share", [0, 50, 100])
def test_once_lifted_the_monoliths_own_export_endpoint_reads_the_sender_never_its_record_only_copy(
    ann, settings, closed_port, share
):
    """The gateway sends ``/me/notifications/export`` to the monolith for 100 - share percent of requests: there it
    reads the service with the caller's own token, and with the service unreachable answers 503, never its copy."""
    settings.LIFTED = frozenset({"notifications"})
    settings.NOTIFICATIONS_SHARE = share
    settings.NOTIFICATIONS_SERVICE_URL = f"http://127.0.0.1:{closed_port}"
    Message.objects.filter(customer_id=ann.customer.pk).update(status="recorded", sent_at=None)
    response = ann.get("/api/v1/me/notifications/export")
    assert (response.status_code, response.json()["code"], response["Retry-After"]) == (503, "service_unavailable", "5")

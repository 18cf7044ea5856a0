"""Staff screens: the message log with its filters and its resend (what arrives at the mail server)."""

from uuid import uuid4

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from contexts.notifications.models import Message

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client):
    admin = get_user_model().objects.create_superuser(email="staff@example.com", password="x-very-secret-1")
    client.force_login(admin)
    return client


def message(**fields) -> Message:
    defaults = {
        "event_id": uuid4(),
        "kind": "order_confirmation",
        "recipient": "ann@example.com",
        "subject": "Your order 100042 is confirmed",
        "body_text": "Thanks",
        "status": Message.Status.SENT,
    }
    return Message.objects.create(**{**defaults, **fields})


def test_the_message_log_filters_by_kind_and_status(staff_client):
    message()
    message(kind="refund_issued", status=Message.Status.GAVE_UP)
    log = "/admin/notifications/message/"
    assert staff_client.get(f"{log}?kind__exact=refund_issued").context["cl"].result_count == 1
    assert staff_client.get(f"{log}?status__exact=sent").context["cl"].result_count == 1
    assert staff_client.get(f"{log}?q=100042").context["cl"].result_count == 2


def test_resend_sends_the_selected_messages_again(staff_client, mailbox):
    gave_up = message(status=Message.Status.GAVE_UP, attempts=8)
    response = staff_client.post(
        "/admin/notifications/message/", {"action": "resend", "_selected_action": [gave_up.pk]}, follow=True
    )
    assert response.status_code == 200
    assert "Sent 1 of 1" in response.content.decode()
    gave_up.refresh_from_db()
    assert gave_up.status == Message.Status.SENT
    assert mailbox.to() == [["ann@example.com"]]


def test_an_erased_or_secret_message_cannot_be_resent(staff_client, mailbox):
    erased = message(recipient="", body_text="", erased_at=timezone.now())
    reset = message(kind="password_reset", subject="Reset your password", body_text="", status="sent")
    staff_client.post("/admin/notifications/message/", {"action": "resend", "_selected_action": [erased.pk, reset.pk]})
    assert mailbox.messages == []

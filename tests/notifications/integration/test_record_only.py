"""Record-only (issue 23's strangler switch): once notifications is lifted, the monolith's handlers, when
delivered at all, record each message (so its ``/me/notifications`` stays right for the share of customers
still routed to it) and never send one: the service sends. Nothing here reaches the mail server."""

import dataclasses
from datetime import timedelta
from uuid import uuid4, uuid5

import pytest
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from commerce.database import atomic_in
from contexts.identity.events import CustomerRegistered, PasswordResetRequested
from contexts.notifications import handlers, services, tasks
from contexts.notifications.models import MESSAGE_ID_NAMESPACE, Message
from tests.notifications import events
from tests.notifications.mailbox import after_commit

pytestmark = pytest.mark.django_db


@pytest.fixture
def lifted(settings):
    settings.LIFTED = frozenset({"notifications"})


def apply(handler, event, capture) -> None:
    with after_commit(capture), atomic_in("notifications"):
        handler(event)


def test_the_monolith_records_but_never_sends(lifted, customer_client, mailbox, django_capture_on_commit_callbacks):
    me = customer_client.customer
    placed = events.order_placed(email=me.email, customer_id=me.pk)
    apply(handlers.send_confirmation_when_order_placed, placed, django_capture_on_commit_callbacks)
    apply(handlers.send_confirmation_when_order_placed, placed, django_capture_on_commit_callbacks)

    (recorded,) = Message.objects.all()
    assert recorded.status == Message.Status.RECORDED and recorded.subject == "Your order 100042 is confirmed"
    assert tasks.send_due_notifications() == 0
    assert services.resend_notifications(notification_ids=[recorded.pk]) == 0
    assert mailbox.messages == []

    (listed,) = customer_client.get("/api/v1/me/notifications").json()["results"]
    assert (listed["kind"], listed["order_id"]) == ("order_confirmation", str(placed.order_id))


def test_a_recorded_reset_keeps_no_link(lifted, customer, mailbox, django_capture_on_commit_callbacks):
    event = PasswordResetRequested(customer_id=customer.pk, email=customer.email, uid="MQ", token="tok-789")
    apply(handlers.send_reset_link_when_requested, event, django_capture_on_commit_callbacks)
    (recorded,) = Message.objects.all()
    assert (recorded.kind, recorded.status) == ("password_reset", Message.Status.RECORDED)
    assert "tok-789" not in recorded.body_text + recorded.body_html
    assert mailbox.messages == []


def test_the_same_event_sends_where_notifications_run_embedded(
    customer, mailbox, settings, django_capture_on_commit_callbacks
):
    settings.LIFTED = frozenset()
    placed = events.order_placed(email=customer.email, customer_id=customer.pk)
    apply(handlers.send_confirmation_when_order_placed, placed, django_capture_on_commit_callbacks)
    assert Message.objects.get().status == Message.Status.SENT
    assert mailbox.to() == [[customer.email]]


def test_a_message_shows_the_same_id_and_time_whether_recorded_only_or_sent_and_whenever_recorded(
    customer_client, mailbox, settings, django_capture_on_commit_callbacks
):
    """While notifications moves, the monolith records (only) and the service records and sends the same
    event's message, each at its own moment in its own database: the customer's list must not tell which
    one answered. Here the two recordings are one after the other in one database, at different times and
    under different row ids; the answers are the same JSON."""
    me = customer_client.customer
    placed = dataclasses.replace(
        events.order_placed(email=me.email, customer_id=me.pk), occurred_at=timezone.now() - timedelta(minutes=7)
    )
    welcome = CustomerRegistered(customer_id=me.pk, email=me.email)

    settings.LIFTED = frozenset({"notifications"})  # the monolith during the move: records only
    for handler, event in (
        (handlers.welcome_customer_when_registered, welcome),
        (handlers.send_confirmation_when_order_placed, placed),
    ):
        apply(handler, event, django_capture_on_commit_callbacks)
    record_only = customer_client.get("/api/v1/me/notifications").json()
    assert mailbox.messages == [] and set(Message.objects.values_list("status", flat=True)) == {"recorded"}
    first_ids = set(Message.objects.values_list("pk", flat=True))

    Message.objects.all().delete()
    Message.objects.create(  # a row of the service's own, to take the next id: no row id is the same again
        event_id=uuid4(), kind="welcome", customer_id=me.pk + 1, recipient="bo@example.com", subject="Bo's"
    )
    settings.LIFTED = frozenset()  # the sender, recording later
    for handler, event in (
        (handlers.send_confirmation_when_order_placed, placed),
        (handlers.welcome_customer_when_registered, welcome),
    ):
        apply(handler, event, django_capture_on_commit_callbacks)
    sent = customer_client.get("/api/v1/me/notifications").json()
    assert len(mailbox.messages) == 2
    assert set(Message.objects.filter(customer_id=me.pk).values_list("status", flat=True)) == {"sent"}
    assert not first_ids & set(Message.objects.filter(customer_id=me.pk).values_list("pk", flat=True))

    assert sent == record_only
    assert [item["kind"] for item in sent["results"]] == ["welcome", "order_confirmation"]
    confirmation = sent["results"][1]
    assert set(confirmation) == {"id", "kind", "subject", "created_at", "order_id", "order_number"}
    assert confirmation["id"] == str(uuid5(MESSAGE_ID_NAMESPACE, f"{placed.event_id}:order_confirmation"))
    assert parse_datetime(confirmation["created_at"]) == placed.occurred_at  # the event's, not either recording's

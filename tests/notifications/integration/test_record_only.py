"""Record-only (issue 23's strangler switch): once notifications is lifted, the monolith's handlers, when
delivered at all, record each message (so its ``/me/notifications`` stays right for the share of customers
still routed to it) and never send one: the service sends. Nothing here reaches the mail server."""

import pytest

from commerce.database import atomic_in
from contexts.identity.events import PasswordResetRequested
from contexts.notifications import handlers, services, tasks
from contexts.notifications.models import Message
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

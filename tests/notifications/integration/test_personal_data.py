"""A customer's messages in their data export (``/me/export``, lent to identity through the wiring), and
erased when they close their account (identity publishes ``AccountClosed``; notifications erases)."""

from uuid import uuid4

import pytest

from commerce.database import database_for
from commerce.eventbus.models import OutboxMessage
from contexts.notifications import tasks
from contexts.notifications.models import Message, OrderContact
from tests.identity.factories import PASSWORD, CustomerFactory
from tests.notifications.mailbox import after_commit

pytestmark = pytest.mark.django_db


@pytest.fixture
def ann(customer_client):
    me = customer_client.customer
    Message.objects.create(
        event_id=uuid4(),
        kind="order_confirmation",
        customer_id=me.pk,
        recipient=me.email,
        subject="Your order 100001 is confirmed",
        body_text="Shipping to Ann Lee, Hauptstr. 1",
        body_html="<p>Ann Lee</p>",
        status="sent",
    )
    OrderContact.objects.create(order_id=uuid4(), number="100001", customer_id=me.pk, email=me.email)
    return customer_client


def close(client, capture):
    """DELETE /me, and deliver what it published (``AccountClosed``) as the bus does after commit."""
    with after_commit(capture):
        return client.delete("/api/v1/me", {"password": PASSWORD}, format="json")


def test_the_export_holds_the_customers_messages_but_no_reset_link(ann):
    me = ann.customer
    Message.objects.create(
        event_id=uuid4(), kind="password_reset", customer_id=me.pk, recipient=me.email,
        subject="Reset your password", body_text="https://shop.example.com/reset-password?token=abc", status="pending",
    )  # fmt: skip
    Message.objects.create(
        event_id=uuid4(), kind="welcome", customer_id=CustomerFactory().pk, recipient="bo@example.com",
        subject="Welcome", body_text="Hello Bo", status="sent",
    )  # fmt: skip
    document = ann.get("/api/v1/me/export").json()
    confirmation, reset = document["notifications"]
    assert confirmation["subject"] == "Your order 100001 is confirmed"
    assert "Hauptstr. 1" in confirmation["body_text"] and confirmation["recipient"] == me.email
    assert reset["kind"] == "password_reset" and reset["body_text"] == ""
    assert "bo@example.com" not in str(document)


def test_closing_the_account_erases_its_messages_and_order_contacts(ann, django_capture_on_commit_callbacks):
    me = ann.customer
    assert close(ann, django_capture_on_commit_callbacks).status_code == 204
    (message,) = Message.objects.filter(customer_id=me.pk)
    assert (message.recipient, message.body_text, message.body_html) == ("", "", "")
    assert message.subject == "Your order 100001 is confirmed"  # the log keeps what was sent, not to whom
    assert message.erased_at is not None
    assert OrderContact.objects.get(customer_id=me.pk).email == ""
    (told,) = OutboxMessage.objects.using(database_for("identity")).filter(event_type="identity.AccountClosed")
    assert told.payload["email"] == ""  # delivered everywhere: the address is forgotten there too


def test_a_guest_order_placed_with_the_same_email_loses_the_address(ann, django_capture_on_commit_callbacks):
    me = ann.customer
    Message.objects.create(
        event_id=uuid4(), kind="order_confirmation", customer_id=None, recipient=me.email,
        subject="Your order 100009 is confirmed", body_text="Ann Lee, Hauptstr. 1", status="sent",
    )  # fmt: skip
    OrderContact.objects.create(order_id=uuid4(), number="100009", customer_id=None, email=me.email)
    assert close(ann, django_capture_on_commit_callbacks).status_code == 204
    assert not Message.objects.filter(recipient=me.email).exists()
    assert not Message.objects.filter(body_text__contains="Hauptstr").exists()
    assert not OrderContact.objects.filter(email=me.email).exists()


def test_unsent_messages_of_a_closed_account_are_not_sent_afterwards(ann, mailbox, django_capture_on_commit_callbacks):
    me = ann.customer
    Message.objects.create(
        event_id=uuid4(), kind="order_dispatched", customer_id=me.pk, recipient=me.email,
        subject="Your order 100001 is on its way", body_text="x", status="pending",
    )  # fmt: skip
    close(ann, django_capture_on_commit_callbacks)
    assert tasks.send_due_notifications() == 0
    assert Message.objects.get(kind="order_dispatched").status == "gave_up"
    assert mailbox.messages == []


def test_once_lifted_the_monolith_still_erases_its_own_copy_and_owes_the_service_the_closure(
    ann, settings, django_capture_on_commit_callbacks
):
    """At a 100 % share the monolith no longer runs notifications' handlers, but the messages it
    recorded before (and in the shadow) are still in its tables: closing the account must erase them
    here as well as in the service, which is owed the event through the relay."""
    settings.LIFTED = frozenset({"notifications"})
    settings.NOTIFICATIONS_SHARE = 100
    me = ann.customer
    assert close(ann, django_capture_on_commit_callbacks).status_code == 204

    (message,) = Message.objects.filter(customer_id=me.pk)
    assert (message.recipient, message.body_text) == ("", "")
    assert OrderContact.objects.get(customer_id=me.pk).email == ""
    (told,) = OutboxMessage.objects.using(database_for("identity")).filter(event_type="identity.AccountClosed")
    owed = {d.subscription: d.status for d in told.deliveries.all()}
    assert owed == {"relay:notifications": "pending", "notifications.erase_messages_when_account_closed": "delivered"}
    assert told.payload["email"] == me.email  # the service still needs it: kept until the relay has sent it

"""A reset link is a secret (issue 23): it reaches the customer's mailbox and nowhere else. Not the admin's
outbox or delivery pages, not notifications' own admin, not the logs; and once every subscription has the
event, the outbox forgets it (a ``relay:*`` delivery still owed keeps it until it is relayed)."""

import logging
import re

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from commerce.database import atomic_in, database_for
from commerce.eventbus.delivery import deliver_many, forget_secrets
from commerce.eventbus.models import Delivery, OutboxMessage
from contexts.identity.events import PasswordResetRequested
from contexts.notifications.models import Message
from tests.notifications.mailbox import after_commit, text_of

pytestmark = pytest.mark.django_db

RESET = "identity.PasswordResetRequested"


@pytest.fixture
def staff_client(client):
    admin = get_user_model().objects.create_superuser(email="staff@example.com", password="x-very-secret-1")
    client.force_login(admin)
    return client


def outbox():
    return OutboxMessage.objects.using(database_for("identity")).filter(event_type=RESET)


def ask_for_a_reset(api_client, email, capture, *, delivered: bool = True) -> None:
    with after_commit(capture, execute=delivered):
        assert api_client.post("/api/v1/auth/password-reset", {"email": email}, format="json").status_code == 202


def secrets_in(message) -> tuple[str, str]:
    return message.payload["token"], message.payload["reset_url"]


def test_the_link_reaches_the_customer_and_the_outbox_forgets_it_once_delivered(
    api_client, customer, mailbox, settings, django_capture_on_commit_callbacks
):
    settings.STOREFRONT_URL = "https://shop.example.com"
    ask_for_a_reset(api_client, customer.email, django_capture_on_commit_callbacks)

    (mail,) = mailbox.messages
    token = re.search(r"token=([\w-]+)", text_of(mail)).group(1)
    (stored,) = outbox()
    assert secrets_in(stored) == ("", "")  # pruned: every subscription has it
    assert stored.payload["customer_id"] == customer.pk and stored.payload["email"] == customer.email
    assert token not in str(stored.payload)

    (message,) = Message.objects.filter(kind="password_reset")
    assert message.status == Message.Status.SENT and message.customer_id == customer.pk
    assert (message.body_text, message.body_html) == ("", "")  # sent: the link is not kept here either


def test_the_admin_never_shows_the_link(
    api_client, customer, staff_client, settings, django_capture_on_commit_callbacks
):
    settings.STOREFRONT_URL = "https://shop.example.com"
    ask_for_a_reset(api_client, customer.email, django_capture_on_commit_callbacks, delivered=False)
    (stored,) = outbox()
    token, url = secrets_in(stored)
    assert token and url.startswith("https://shop.example.com/reset-password")  # not delivered yet: kept

    alias = stored._state.db
    (delivery,) = Delivery.objects.using(alias).filter(message=stored)
    pages = [
        staff_client.get(f"/admin/eventbus/outboxmessage/{stored.pk}/change/?database={alias}"),
        staff_client.get(f"/admin/eventbus/outboxmessage/?database={alias}"),
        staff_client.get(f"/admin/eventbus/delivery/{delivery.pk}/change/?database={alias}"),
        staff_client.get(f"/admin/eventbus/delivery/?database={alias}"),
    ]
    assert [page.status_code for page in pages] == [200] * 4
    shown = "".join(page.content.decode() for page in pages)
    assert token not in shown and "reset-password" not in shown
    assert "[secret]" in pages[0].content.decode() and customer.email in pages[0].content.decode()

    # notifications records it (not sent yet: its process died before the after-commit send)
    deliver_many(alias, [delivery.pk])
    (message,) = Message.objects.filter(kind="password_reset")
    assert token in message.body_text  # needed until it leaves
    pages = [
        staff_client.get(f"/admin/notifications/message/{message.pk}/change/"),
        staff_client.get("/admin/notifications/message/"),
    ]
    assert [page.status_code for page in pages] == [200, 200]
    shown = "".join(page.content.decode() for page in pages)
    assert token not in shown and "reset-password" not in shown


def test_a_relay_delivery_still_owed_keeps_the_secret_until_it_is_relayed(customer):
    event = PasswordResetRequested(customer_id=customer.pk, email=customer.email, uid="MQ", token="tok-123")
    from commerce.eventbus import publish

    with atomic_in("identity"):
        publish(event)
    stored = OutboxMessage.objects.using(database_for("identity")).get(event_id=event.event_id)
    alias = stored._state.db
    relay = Delivery.objects.using(alias).create(
        message=stored, subscription="relay:notifications", next_attempt_at=timezone.now()
    )
    in_process = Delivery.objects.using(alias).filter(message=stored).exclude(pk=relay.pk).values_list("pk", flat=True)
    deliver_many(alias, list(in_process))
    stored.refresh_from_db()
    assert stored.payload["token"] == "tok-123"  # the relay still has to send it

    # what the relay does once the broker acked: mark it delivered, then let the bus forget the secret
    Delivery.objects.using(alias).filter(pk=relay.pk).update(status=Delivery.Status.DELIVERED)
    assert forget_secrets(alias, [stored]) == 1
    stored.refresh_from_db()
    assert stored.payload["token"] == "" and stored.payload["email"] == customer.email
    assert forget_secrets(alias, [stored]) == 0  # nothing more to forget


def test_a_dead_lettered_delivery_keeps_the_secret_for_its_retry(customer):
    event = PasswordResetRequested(customer_id=customer.pk, email=customer.email, uid="MQ", token="tok-456")
    from commerce.eventbus import publish

    with atomic_in("identity"):
        publish(event)
    stored = OutboxMessage.objects.using(database_for("identity")).get(event_id=event.event_id)
    Delivery.objects.using(stored._state.db).filter(message=stored).update(status=Delivery.Status.DEAD)
    assert forget_secrets(stored._state.db, [stored]) == 0
    stored.refresh_from_db()
    assert stored.payload["token"] == "tok-456"


def test_the_link_is_in_no_log_line(api_client, customer, mailbox, caplog, django_capture_on_commit_callbacks):
    caplog.set_level(logging.DEBUG)
    ask_for_a_reset(api_client, customer.email, django_capture_on_commit_callbacks)
    token = re.search(r'"token": "([\w-]+)"|token=([\w-]+)', text_of(mailbox.messages[0]))
    secret = token.group(1) or token.group(2)
    logged = "\n".join(record.getMessage() for record in caplog.records if not record.name.startswith("mail.log"))
    assert logged and secret not in logged

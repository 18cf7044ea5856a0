"""Notifications: one message per event, from the event alone, sent exactly once, listed for the customer."""

import time
from datetime import timedelta
from uuid import uuid4

import pytest
from django.conf import settings
from django.core import mail
from django.utils import timezone

from commerce.database import database_for
from commerce.eventbus import dispatch as bus  # sweep() moved to dispatch (kernel layers)
from commerce.eventbus.models import Delivery
from contexts.identity import handlers, tasks
from contexts.identity.models import Notification, OrderContact
from contexts.identity.services import notifications
from tests.identity import events
from tests.identity.factories import PASSWORD, CustomerFactory

INLINE = settings.EVENTBUS["DISPATCH"] == "inline"
Status = Notification.Status


def settle_notifications(timeout: float = 30.0) -> None:
    """In celery mode the worker sends after its delivery commits: wait for that too."""
    deadline = time.monotonic() + timeout
    while Notification.objects.filter(status__in=[Status.PENDING, Status.SENDING]).exists():
        assert time.monotonic() < deadline, "notifications still unsent"
        time.sleep(0.05)


def wait_for(condition, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.1)


def only(kind: str) -> Notification:
    return Notification.objects.get(kind=kind)


# --- through the event bus ----------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_placed_order_sends_one_confirmation_in_text_and_html(settle_events):
    customer = CustomerFactory(email="ann@example.com")
    placed = events.order_placed(email="ann@example.com", customer_id=customer.pk)
    events.publish_now(placed)
    settle_events()
    settle_notifications()

    confirmation = only("order_confirmation")
    assert confirmation.status == Status.SENT
    assert confirmation.recipient == "ann@example.com"
    assert confirmation.customer_id == customer.pk
    assert confirmation.order_id == placed.order_id
    assert confirmation.subject == "Your order 100042 is confirmed"
    assert "24.90 EUR" in confirmation.body_text and "Tom & Jerry <Mug>" in confirmation.body_text
    assert "Tom &amp; Jerry &lt;Mug&gt;" in confirmation.body_html and "24.90 EUR" in confirmation.body_html
    assert "Hauptstr. 1" in confirmation.body_text
    if INLINE:
        (message,) = mail.outbox
        assert message.to == ["ann@example.com"]
        assert message.subject == confirmation.subject
        assert message.alternatives[0][1] == "text/html"
        assert message.extra_headers["Message-ID"] == f"<order_confirmation.{placed.event_id}@example.com>"


@pytest.mark.django_db(transaction=True)
def test_a_guest_order_is_told_at_the_orders_email(settle_events):
    placed = events.order_placed(email="guest@example.com", customer_id=None)
    events.publish_now(placed)
    settle_events()
    settle_notifications()
    confirmation = only("order_confirmation")
    assert (confirmation.recipient, confirmation.customer_id, confirmation.status) == (
        "guest@example.com",
        None,
        Status.SENT,
    )
    if INLINE:
        assert [m.to for m in mail.outbox] == [["guest@example.com"]]


@pytest.mark.django_db(transaction=True)
def test_dispatch_cancellation_and_refund_each_send_their_notice(settle_events):
    placed = events.order_placed(email="ann@example.com", customer_id=None)
    events.publish_now(placed)
    events.publish_now(events.shipment_dispatched(order_id=placed.order_id))
    events.publish_now(events.refund_issued(placed=placed, amount="20.00"))
    events.publish_now(events.order_cancelled(placed=placed))
    settle_events()
    settle_notifications()
    kinds = dict(Notification.objects.values_list("kind", "subject"))
    assert kinds == {
        "order_confirmation": "Your order 100042 is confirmed",
        "order_dispatched": "Your order 100042 is on its way",
        "refund_issued": "A refund of 20.00 EUR for your order 100042",
        "order_cancelled": "Your order 100042 is cancelled",
    }
    assert set(Notification.objects.values_list("status", flat=True)) == {Status.SENT}
    assert set(Notification.objects.values_list("recipient", flat=True)) == {"ann@example.com"}
    assert "2 × MUG-1" in only("order_dispatched").body_text
    if INLINE:
        assert len(mail.outbox) == 4


@pytest.mark.django_db(transaction=True)
def test_a_dispatch_that_overtakes_its_order_waits_for_it_and_is_then_sent(settle_events):
    order_id = uuid4()
    events.publish_now(events.shipment_dispatched(order_id=order_id))
    deliveries = Delivery.objects.using(database_for("inventory")).filter(
        subscription="identity.alert_customer_when_shipment_dispatched"
    )
    wait_for(lambda: deliveries.filter(attempts__gte=1).exists())
    failed = deliveries.get()
    assert failed.status in (Delivery.Status.FAILED, Delivery.Status.DEAD)
    assert "NotificationDeferred" in failed.last_error
    assert not Notification.objects.exists()

    events.publish_now(events.order_placed(email="ann@example.com", customer_id=None, order_id=order_id))

    def retried() -> bool:  # what the periodic sweep does, without waiting for its schedule
        deliveries.exclude(status=Delivery.Status.DELIVERED).update(
            status=Delivery.Status.FAILED, next_attempt_at=timezone.now()
        )
        bus.sweep()
        return deliveries.filter(status=Delivery.Status.DELIVERED).exists()

    wait_for(retried)
    settle_events()
    settle_notifications()
    dispatched = only("order_dispatched")
    assert (dispatched.recipient, dispatched.order_number, dispatched.status) == ("ann@example.com", "100042", "sent")


@pytest.mark.django_db(transaction=True)
def test_registering_sends_a_welcome(api_client, settle_events):
    response = api_client.post(
        "/api/v1/auth/register", {"email": "new@example.com", "password": PASSWORD}, format="json"
    )
    settle_events()
    settle_notifications()
    welcome = only("welcome")
    assert (welcome.recipient, welcome.customer_id, welcome.status) == (
        "new@example.com",
        response.json()["id"],
        Status.SENT,
    )


@pytest.mark.django_db(transaction=True)
def test_a_shipment_that_is_not_an_orders_is_ignored(settle_events):
    event = events.shipment_dispatched(order_id=uuid4())
    events.publish_now(type(event)(shipment_id=9, reference="manual-transfer-7", lines=event.lines))
    settle_events()
    assert not Notification.objects.exists()


# --- exactly once -------------------------------------------------------------------------------


def apply(handler, event, capture, *, send: bool = True) -> None:
    """Apply one event as the bus does (the handler in a transaction on identity's database); ``send``
    False is a process that died right after the commit, before its after-commit send."""
    from commerce.database import atomic_in

    with capture(execute=send), atomic_in("identity"):
        handler(event)


@pytest.mark.django_db
def test_an_event_delivered_twice_sends_one_message(django_capture_on_commit_callbacks):
    placed = events.order_placed(email="ann@example.com", customer_id=None)
    apply(handlers.send_confirmation_when_order_placed, placed, django_capture_on_commit_callbacks)
    apply(handlers.send_confirmation_when_order_placed, placed, django_capture_on_commit_callbacks)
    assert Notification.objects.count() == 1
    assert len(mail.outbox) == 1
    tasks.send_due_notifications()
    assert len(mail.outbox) == 1


@pytest.mark.django_db
def test_a_process_that_dies_after_recording_is_made_good_by_the_periodic_job_once(django_capture_on_commit_callbacks):
    placed = events.order_placed(email="ann@example.com", customer_id=None)
    apply(handlers.send_confirmation_when_order_placed, placed, django_capture_on_commit_callbacks, send=False)
    assert only("order_confirmation").status == Status.PENDING
    assert mail.outbox == []
    assert tasks.send_due_notifications() == 1
    assert tasks.send_due_notifications() == 0
    assert len(mail.outbox) == 1
    assert only("order_confirmation").status == Status.SENT


class ExplodingBackend:
    def __init__(self, *args, **kwargs):
        pass

    def send_messages(self, messages):
        raise ConnectionRefusedError("mail server down")


@pytest.mark.django_db
def test_a_send_the_mail_server_refuses_is_retried_with_backoff_then_given_up(
    django_capture_on_commit_callbacks, settings
):
    settings.EMAIL_BACKEND = "tests.identity.integration.test_notifications.ExplodingBackend"
    settings.IDENTITY_NOTIFICATION_MAX_ATTEMPTS = 2
    placed = events.order_placed(email="ann@example.com", customer_id=None)
    apply(handlers.send_confirmation_when_order_placed, placed, django_capture_on_commit_callbacks)
    failed = only("order_confirmation")
    assert (failed.status, failed.attempts) == (Status.FAILED, 1)
    assert "mail server down" in failed.last_error
    assert failed.next_attempt_at > timezone.now()
    assert tasks.send_due_notifications() == 0  # not due yet: nothing tried
    assert only("order_confirmation").attempts == 1

    Notification.objects.update(next_attempt_at=timezone.now())
    tasks.send_due_notifications()
    assert (only("order_confirmation").status, only("order_confirmation").attempts) == (Status.GAVE_UP, 2)

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    Notification.objects.update(next_attempt_at=timezone.now() - timedelta(days=1))
    assert tasks.send_due_notifications() == 0  # given up stays given up until staff resend
    assert notifications.resend_notifications(notification_ids=[failed.pk]) == 1
    assert only("order_confirmation").status == Status.SENT
    assert len(mail.outbox) == 1


@pytest.mark.django_db
def test_a_worker_lost_between_sending_and_marking_sent_is_not_sent_again_behind_staffs_back(
    django_capture_on_commit_callbacks, settings
):
    settings.IDENTITY_NOTIFICATION_SENDING_LEASE_SECONDS = 60
    placed = events.order_placed(email="ann@example.com", customer_id=None)
    apply(handlers.send_confirmation_when_order_placed, placed, django_capture_on_commit_callbacks, send=False)
    # The worker claimed it, the mail server took it, and the worker died before marking it sent.
    Notification.objects.update(status=Status.SENDING, claimed_at=timezone.now() - timedelta(minutes=5), attempts=1)
    mail.outbox.append("the message that left")

    assert tasks.send_due_notifications() == 0
    lost = only("order_confirmation")
    assert lost.status == Status.UNCONFIRMED
    assert len(mail.outbox) == 1
    assert tasks.send_due_notifications() == 0
    assert len(mail.outbox) == 1

    assert notifications.resend_notifications(notification_ids=[lost.pk]) == 1  # staff decided
    assert len(mail.outbox) == 2
    assert mail.outbox[1].extra_headers["Message-ID"] == f"<order_confirmation.{placed.event_id}@example.com>"


@pytest.mark.django_db
def test_a_message_being_sent_is_not_claimed_twice(django_capture_on_commit_callbacks):
    placed = events.order_placed(email="ann@example.com", customer_id=None)
    apply(handlers.send_confirmation_when_order_placed, placed, django_capture_on_commit_callbacks, send=False)
    notification = only("order_confirmation")
    Notification.objects.update(status=Status.SENDING, claimed_at=timezone.now())
    assert notifications.send_notification(notification_id=notification.pk) == "skipped"
    assert tasks.send_due_notifications() == 0
    assert notifications.resend_notifications(notification_ids=[notification.pk]) == 0
    assert mail.outbox == []


@pytest.mark.django_db(transaction=True)
def test_concurrent_senders_send_a_recorded_message_once(postgresql_only):
    from concurrent.futures import ThreadPoolExecutor

    from django.db import connections

    notification_id = Notification.objects.create(
        event_id=uuid4(), kind="order_confirmation", recipient="ann@example.com", subject="Hi", body_text="Hi"
    ).pk  # recorded, and its process died before the after-commit send

    def send(_):
        try:
            return notifications.send_notification(notification_id=notification_id)
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=6) as pool:
        outcomes = list(pool.map(send, range(12)))
    assert outcomes.count(Status.SENT) == 1
    assert len(mail.outbox) == 1


# --- the order contact projection ---------------------------------------------------------------


@pytest.mark.django_db
def test_the_order_contact_is_remembered_from_order_placed(django_capture_on_commit_callbacks):
    placed = events.order_placed(email="ann@example.com", customer_id=7, number="100077")
    apply(handlers.send_confirmation_when_order_placed, placed, django_capture_on_commit_callbacks)
    contact = OrderContact.objects.get(order_id=placed.order_id)
    assert (contact.number, contact.email, contact.customer_id) == ("100077", "ann@example.com", 7)


# --- the customer's list ------------------------------------------------------------------------


@pytest.mark.django_db
def test_me_notifications_lists_the_callers_own_newest_first(customer_client, django_capture_on_commit_callbacks):
    me = customer_client.customer
    first = events.order_placed(email=me.email, customer_id=me.pk, number="100001")
    second = events.order_placed(email=me.email, customer_id=me.pk, number="100002")
    someone_else = events.order_placed(email="bo@example.com", customer_id=me.pk + 1000, number="100003")
    guest = events.order_placed(email=me.email, customer_id=None, number="100004")
    for event in (first, second, someone_else, guest):
        apply(handlers.send_confirmation_when_order_placed, event, django_capture_on_commit_callbacks)
    Notification.objects.filter(order_number="100001").update(created_at=timezone.now() - timedelta(hours=1))

    page = customer_client.get("/api/v1/me/notifications").json()
    assert page["count"] == 2
    assert [n["order_id"] for n in page["results"]] == [str(second.order_id), str(first.order_id)]
    item = page["results"][0]
    assert item["kind"] == "order_confirmation"
    assert item["subject"] == "Your order 100002 is confirmed"
    assert {"id", "kind", "subject", "created_at", "order_id"} <= set(item)
    assert "body_text" not in item and "recipient" not in item

    paged = customer_client.get("/api/v1/me/notifications?page_size=1").json()
    assert len(paged["results"]) == 1 and paged["next"]


def test_me_notifications_needs_a_token(api_client, db):
    assert api_client.get("/api/v1/me/notifications").status_code == 401


# --- boundary -----------------------------------------------------------------------------------


def test_notification_handlers_use_nothing_of_other_contexts_but_their_events():
    import ast
    import inspect

    tree = ast.parse(inspect.getsource(handlers))
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("contexts."):
            if not node.module.startswith("contexts.identity"):
                imported |= {f"{node.module}.{alias.name}" for alias in node.names}
        elif isinstance(node, ast.Import):
            imported |= {a.name for a in node.names if a.name.startswith("contexts.") and ".identity" not in a.name}
    assert imported == {"contexts.inventory.events", "contexts.orders.events"}

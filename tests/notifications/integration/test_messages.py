"""Messages: one per event, from the event alone, sent exactly once, listed for the customer.

Mail goes to a real SMTP server in this process (aiosmtpd, ``mailbox``): the tests read what arrived."""

import time
from datetime import timedelta
from uuid import uuid4

import pytest
from django.conf import settings
from django.utils import timezone

from commerce.database import database_for
from commerce.eventbus import dispatch as bus  # sweep() moved to dispatch (kernel layers)
from commerce.eventbus.models import Delivery
from contexts.notifications import handlers, services, tasks
from contexts.notifications.models import Message, OrderContact
from tests.identity.factories import PASSWORD, CustomerFactory
from tests.notifications import events
from tests.notifications.mailbox import after_commit, html_of, text_of
from tests.support.processes import free_port

INLINE = settings.EVENTBUS["DISPATCH"] == "inline"
Status = Message.Status


def settle_notifications(timeout: float = 30.0) -> None:
    """In celery mode the worker sends after its delivery commits: wait for that too."""
    deadline = time.monotonic() + timeout
    while Message.objects.filter(status__in=[Status.PENDING, Status.SENDING]).exists():
        assert time.monotonic() < deadline, "notifications still unsent"
        time.sleep(0.05)


def wait_for(condition, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.1)


def only(kind: str) -> Message:
    return Message.objects.get(kind=kind)


# --- through the event bus ----------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_placed_order_sends_one_confirmation_in_text_and_html(settle_events, mailbox):
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
        (message,) = mailbox.messages
        assert message["To"] == "ann@example.com"
        assert message["Subject"] == confirmation.subject
        assert "24.90 EUR" in text_of(message) and "Tom &amp; Jerry &lt;Mug&gt;" in html_of(message)
        assert message["Message-ID"].strip() == f"<order_confirmation.{placed.event_id}@example.com>"


@pytest.mark.django_db(transaction=True)
def test_a_guest_order_is_told_at_the_orders_email(settle_events, mailbox):
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
        assert mailbox.to() == [["guest@example.com"]]


@pytest.mark.django_db(transaction=True)
def test_dispatch_cancellation_and_refund_each_send_their_notice(settle_events, mailbox):
    placed = events.order_placed(email="ann@example.com", customer_id=None)
    events.publish_now(placed)
    events.publish_now(events.shipment_dispatched(order_id=placed.order_id))
    events.publish_now(events.refund_issued(placed=placed, amount="20.00"))
    events.publish_now(events.order_cancelled(placed=placed))
    settle_events()
    settle_notifications()
    kinds = dict(Message.objects.values_list("kind", "subject"))
    assert kinds == {
        "order_confirmation": "Your order 100042 is confirmed",
        "order_dispatched": "Your order 100042 is on its way",
        "refund_issued": "A refund of 20.00 EUR for your order 100042",
        "order_cancelled": "Your order 100042 is cancelled",
    }
    assert set(Message.objects.values_list("status", flat=True)) == {Status.SENT}
    assert set(Message.objects.values_list("recipient", flat=True)) == {"ann@example.com"}
    assert "2 × MUG-1" in only("order_dispatched").body_text
    if INLINE:
        assert len(mailbox.messages) == 4


@pytest.mark.django_db(transaction=True)
def test_a_dispatch_that_overtakes_its_order_waits_for_it_and_is_then_sent(settle_events, mailbox):
    order_id = uuid4()
    events.publish_now(events.shipment_dispatched(order_id=order_id))
    deliveries = Delivery.objects.using(database_for("inventory")).filter(
        subscription="notifications.alert_customer_when_shipment_dispatched"
    )
    wait_for(lambda: deliveries.filter(attempts__gte=1).exists())
    failed = deliveries.get()
    assert failed.status in (Delivery.Status.FAILED, Delivery.Status.DEAD)
    assert "NotificationDeferred" in failed.last_error
    assert not Message.objects.exists()

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
    if INLINE:
        assert sorted(message["Subject"] for message in mailbox.messages) == [
            "Your order 100042 is confirmed",
            "Your order 100042 is on its way",
        ]


class Clock:
    """``timezone.now`` moved by hand: days pass for the bus's bookkeeping without sleeping."""

    def __init__(self, monkeypatch) -> None:
        self.offset = timedelta()
        real_now = timezone.now
        monkeypatch.setattr(timezone, "now", lambda: real_now() + self.offset)

    def advance(self, **delta) -> None:
        self.offset += timedelta(**delta)


@pytest.fixture
def clock(monkeypatch) -> Clock:
    return Clock(monkeypatch)


@pytest.fixture
def deliver_due(monkeypatch):
    """What the periodic sweep does inline, run here on the test's clock whatever the dispatch mode:
    a Celery worker (another process) would not see the clock, so nothing is handed to it."""
    from commerce.database import context_aliases
    from commerce.eventbus import delivery

    monkeypatch.setattr(bus, "dispatch", lambda alias, ids: None)

    def run() -> None:
        for alias in context_aliases():
            ids = delivery.claim_due(alias)
            if ids:
                delivery.deliver_many(alias, ids)

    return run


def dispatch_deliveries():
    return Delivery.objects.using(database_for("inventory")).filter(
        subscription="notifications.alert_customer_when_shipment_dispatched"
    )


@pytest.mark.django_db(transaction=True)
def test_a_dispatch_waits_days_for_its_order_without_being_dead_lettered_and_is_sent_once_it_comes(
    clock, deliver_due, mailbox
):
    order_id = uuid4()
    events.publish_now(events.shipment_dispatched(order_id=order_id))
    rounds = 5 * settings.EVENTBUS["MAX_ATTEMPTS"]
    for _ in range(rounds):  # two days, an attempt an hour and a half: far past MAX_ATTEMPTS' window
        clock.advance(minutes=90)
        deliver_due()

    waiting = dispatch_deliveries().get()
    assert (waiting.status, waiting.attempts, waiting.deferrals) == (Delivery.Status.FAILED, rounds, rounds)
    assert waiting.last_error.startswith("Deferred (waiting since ")  # what staff see in the admin
    assert f"NotificationDeferred: Order {order_id} is not known here yet" in waiting.last_error
    assert not Message.objects.exists() and not mailbox.messages

    events.publish_now(events.order_placed(email="ann@example.com", customer_id=None, order_id=order_id))
    for _ in range(3):
        clock.advance(minutes=90)
        deliver_due()

    assert dispatch_deliveries().get().status == Delivery.Status.DELIVERED
    dispatched = only("order_dispatched")
    assert (dispatched.recipient, dispatched.status) == ("ann@example.com", Status.SENT)
    assert sorted(message["Subject"] for message in mailbox.messages) == [
        "Your order 100042 is confirmed",
        "Your order 100042 is on its way",
    ]


@pytest.mark.django_db(transaction=True)
def test_a_dispatch_whose_order_never_comes_is_dead_lettered_after_the_deferral_saying_why(
    clock, deliver_due, mailbox, settings
):
    order_id = uuid4()
    events.publish_now(events.shipment_dispatched(order_id=order_id))
    clock.advance(minutes=5)  # past the sweep's grace for the dispatch after commit
    deliver_due()
    assert dispatch_deliveries().get().status == Delivery.Status.FAILED

    clock.advance(seconds=settings.EVENTBUS["DEFER_FOR_SECONDS"] - 6 * 60)
    deliver_due()
    assert dispatch_deliveries().get().status == Delivery.Status.FAILED  # a minute short: it still waits
    clock.advance(seconds=61)
    deliver_due()

    dead = dispatch_deliveries().get()
    assert dead.status == Delivery.Status.DEAD
    assert dead.last_error.startswith("Waited 3\xa0days (since ")
    assert "for what it depends on, in vain" in dead.last_error
    assert f"NotificationDeferred: Order {order_id} is not known here yet" in dead.last_error
    assert not Message.objects.exists() and not mailbox.messages


@pytest.mark.django_db(transaction=True)
def test_registering_sends_a_welcome(api_client, settle_events, mailbox):
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
    if INLINE:
        (message,) = mailbox.messages
        assert message["Subject"].startswith("Welcome") and "new@example.com" in text_of(message)


@pytest.mark.django_db(transaction=True)
def test_a_shipment_that_is_not_an_orders_is_ignored(settle_events):
    event = events.shipment_dispatched(order_id=uuid4())
    events.publish_now(type(event)(shipment_id=9, reference="manual-transfer-7", lines=event.lines))
    settle_events()
    assert not Message.objects.exists()


# --- exactly once -------------------------------------------------------------------------------


def apply(handler, event, capture, *, send: bool = True) -> None:
    """Apply one event as the bus does (the handler in a transaction on notifications' database); ``send``
    False is a process that died right after the commit, before its after-commit send."""
    from commerce.database import atomic_in

    with after_commit(capture, execute=send), atomic_in("notifications"):
        handler(event)


@pytest.mark.django_db
def test_an_event_delivered_twice_sends_one_message(django_capture_on_commit_callbacks, mailbox):
    placed = events.order_placed(email="ann@example.com", customer_id=None)
    apply(handlers.send_confirmation_when_order_placed, placed, django_capture_on_commit_callbacks)
    apply(handlers.send_confirmation_when_order_placed, placed, django_capture_on_commit_callbacks)
    assert Message.objects.count() == 1
    assert len(mailbox.messages) == 1
    tasks.send_due_notifications()
    assert len(mailbox.messages) == 1


@pytest.mark.django_db
def test_a_process_that_dies_after_recording_is_made_good_by_the_periodic_job_once(
    django_capture_on_commit_callbacks, mailbox
):
    placed = events.order_placed(email="ann@example.com", customer_id=None)
    apply(handlers.send_confirmation_when_order_placed, placed, django_capture_on_commit_callbacks, send=False)
    assert only("order_confirmation").status == Status.PENDING
    assert mailbox.messages == []
    assert tasks.send_due_notifications() == 1
    assert tasks.send_due_notifications() == 0
    assert len(mailbox.messages) == 1
    assert only("order_confirmation").status == Status.SENT


@pytest.mark.django_db
def test_a_send_the_mail_server_refuses_is_retried_with_backoff_then_given_up(
    django_capture_on_commit_callbacks, settings, mailbox
):
    settings.EMAIL_PORT = free_port()  # nothing listens there: the connection is refused
    settings.NOTIFICATIONS_MAX_ATTEMPTS = 2
    placed = events.order_placed(email="ann@example.com", customer_id=None)
    apply(handlers.send_confirmation_when_order_placed, placed, django_capture_on_commit_callbacks)
    failed = only("order_confirmation")
    assert (failed.status, failed.attempts) == (Status.FAILED, 1)
    assert "ConnectionRefusedError" in failed.last_error
    assert failed.next_attempt_at > timezone.now()
    assert tasks.send_due_notifications() == 0  # not due yet: nothing tried
    assert only("order_confirmation").attempts == 1

    Message.objects.update(next_attempt_at=timezone.now())
    tasks.send_due_notifications()
    assert (only("order_confirmation").status, only("order_confirmation").attempts) == (Status.GAVE_UP, 2)

    settings.EMAIL_PORT = mailbox.port  # the mail server is back
    Message.objects.update(next_attempt_at=timezone.now() - timedelta(days=1))
    assert tasks.send_due_notifications() == 0  # given up stays given up until staff resend
    assert mailbox.messages == []
    assert services.resend_notifications(notification_ids=[failed.pk]) == 1
    assert only("order_confirmation").status == Status.SENT
    assert mailbox.to() == [["ann@example.com"]]


@pytest.mark.django_db
def test_a_worker_lost_between_sending_and_marking_sent_is_not_sent_again_behind_staffs_back(
    django_capture_on_commit_callbacks, settings, mailbox
):
    settings.NOTIFICATIONS_SENDING_LEASE_SECONDS = 60
    placed = events.order_placed(email="ann@example.com", customer_id=None)
    apply(handlers.send_confirmation_when_order_placed, placed, django_capture_on_commit_callbacks, send=False)
    # The worker claimed it, the mail server took it, and the worker died before marking it sent.
    Message.objects.update(status=Status.SENDING, claimed_at=timezone.now() - timedelta(minutes=5), attempts=1)

    assert tasks.send_due_notifications() == 0
    lost = only("order_confirmation")
    assert lost.status == Status.UNCONFIRMED
    assert tasks.send_due_notifications() == 0
    assert mailbox.messages == []  # not sent behind staff's back

    assert services.resend_notifications(notification_ids=[lost.pk]) == 1  # staff decided
    (resent,) = mailbox.messages
    assert resent["Message-ID"].strip() == f"<order_confirmation.{placed.event_id}@example.com>"


@pytest.mark.django_db
def test_a_message_being_sent_is_not_claimed_twice(django_capture_on_commit_callbacks, mailbox):
    placed = events.order_placed(email="ann@example.com", customer_id=None)
    apply(handlers.send_confirmation_when_order_placed, placed, django_capture_on_commit_callbacks, send=False)
    notification = only("order_confirmation")
    Message.objects.update(status=Status.SENDING, claimed_at=timezone.now())
    assert services.send_notification(notification_id=notification.pk) == "skipped"
    assert tasks.send_due_notifications() == 0
    assert services.resend_notifications(notification_ids=[notification.pk]) == 0
    assert mailbox.messages == []


@pytest.mark.django_db(transaction=True)
def test_concurrent_senders_send_a_recorded_message_once(postgresql_only, mailbox):
    from concurrent.futures import ThreadPoolExecutor

    from django.db import connections

    notification_id = Message.objects.create(
        event_id=uuid4(), kind="order_confirmation", recipient="ann@example.com", subject="Hi", body_text="Hi"
    ).pk  # recorded, and its process died before the after-commit send

    def send(_):
        try:
            return services.send_notification(notification_id=notification_id)
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=6) as pool:
        outcomes = list(pool.map(send, range(12)))
    assert outcomes.count(Status.SENT) == 1
    assert len(mailbox.messages) == 1


# --- the order contact projection ---------------------------------------------------------------


@pytest.mark.django_db
def test_the_order_contact_is_remembered_from_order_placed(django_capture_on_commit_callbacks, mailbox):
    placed = events.order_placed(email="ann@example.com", customer_id=7, number="100077")
    apply(handlers.send_confirmation_when_order_placed, placed, django_capture_on_commit_callbacks)
    contact = OrderContact.objects.get(order_id=placed.order_id)
    assert (contact.number, contact.email, contact.customer_id) == ("100077", "ann@example.com", 7)


# --- the customer's list ------------------------------------------------------------------------


@pytest.mark.django_db
def test_me_notifications_lists_the_callers_own_newest_first(
    customer_client, django_capture_on_commit_callbacks, mailbox
):
    me = customer_client.customer
    first = events.order_placed(email=me.email, customer_id=me.pk, number="100001")
    second = events.order_placed(email=me.email, customer_id=me.pk, number="100002")
    someone_else = events.order_placed(email="bo@example.com", customer_id=me.pk + 1000, number="100003")
    guest = events.order_placed(email=me.email, customer_id=None, number="100004")
    for event in (first, second, someone_else, guest):
        apply(handlers.send_confirmation_when_order_placed, event, django_capture_on_commit_callbacks)
    Message.objects.filter(order_number="100001").update(occurred_at=timezone.now() - timedelta(hours=1))

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


def test_notifications_use_nothing_of_other_contexts_but_their_events():
    """It must run where only the kernel and notifications are installed (the service): every module of
    the context, migrations included, imports another context's ``events`` and nothing else of it."""
    import ast
    from pathlib import Path

    package = Path(handlers.__file__).parent
    imported = set()
    for path in package.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("contexts"):
                names = [f"{node.module}.{alias.name}" for alias in node.names]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            else:
                continue
            imported |= {name for name in names if name.startswith("contexts.") and ".notifications" not in name}
    assert imported == {"contexts.identity.events", "contexts.inventory.events", "contexts.orders.events"}


@pytest.mark.django_db
def test_a_staff_resend_does_not_count_in_the_order_to_mail_latency(django_capture_on_commit_callbacks, mailbox):
    """The notification objective (docs/slo.md) times the mail from its order to the mail server: a
    resend staff ask for days later is not the shop being slow, and would spend the budget as if."""
    from prometheus_client import REGISTRY

    def observed() -> float:
        labels = {"kind": "order_confirmation"}
        return REGISTRY.get_sample_value("commerce_notification_latency_seconds_count", labels) or 0

    placed = events.order_placed(email="ann@example.com", customer_id=None)
    before = observed()
    apply(handlers.send_confirmation_when_order_placed, placed, django_capture_on_commit_callbacks)
    assert observed() == before + 1  # the first send is the one the objective times
    Message.objects.update(occurred_at=timezone.now() - timedelta(days=3))

    assert services.resend_notifications(notification_ids=[only("order_confirmation").pk]) == 1
    assert len(mailbox.messages) == 2
    assert observed() == before + 1

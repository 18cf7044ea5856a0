"""Lifted, through the real RabbitMQ: a dispatch that reaches the notifications service before its
order's ``OrderPlaced`` (another outbox) waits in the service's wait queue, out of the consumer's
prefetch window, and is sent once the order is known: exactly one mail each. A parked message's
expiration is a second in tests (``EVENTS_DEFER_RETRY_SECONDS``)."""

import time
import uuid
from contextlib import contextmanager

import pytest

from commerce.eventbus.remote import amqp as port
from commerce.eventbus.remote.consumer import Consumer
from commerce.eventbus.remote.relay import Relay
from contexts.notifications.models import Message
from tests.notifications import events

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def lifted(settings, rabbitmq):
    """Notifications lifted (share 100: the monolith only relays), under a topology of the test's own."""
    prefix = settings.EVENTS_TOPOLOGY_PREFIX = f"test-defer-{uuid.uuid4().hex[:12]}"
    settings.LIFTED = frozenset({"notifications"})
    port.declare(["notifications"])
    yield port.names()
    port.delete(["notifications"], prefix=prefix)


@contextmanager
def as_the_service(settings):
    """What the notifications service's own process is: it is local there, and it sends."""
    before = settings.SERVED_BY
    settings.SERVED_BY, settings.NOTIFICATIONS_SENDS = "notifications", True
    try:
        yield
    finally:
        settings.SERVED_BY, settings.NOTIFICATIONS_SENDS = before, None


def relay_all() -> None:
    relay = Relay()
    try:
        relay.run_once()
    finally:
        relay.close()


def consume_until(consumer: Consumer, settings, until, *, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    with as_the_service(settings):
        while not until():
            assert time.monotonic() < deadline, "the service did not get there in time"
            consumer._receive(wait=0.1)
            if consumer._pending:
                consumer.process()


def test_a_dispatch_before_its_order_waits_in_the_wait_queue_and_is_sent_once_after_it(lifted, settings, mailbox):
    order_id = uuid.uuid4()
    events.publish_now(events.shipment_dispatched(order_id=order_id))
    relay_all()
    consumer = Consumer("notifications")
    consumer._open()
    try:
        consume_until(consumer, settings, lambda: consumer._waiting)  # deferred: parked in the wait queue
        assert not consumer._pending and not Message.objects.exists() and not mailbox.messages

        events.publish_now(events.order_placed(email="ann@example.com", customer_id=None, order_id=order_id))
        relay_all()
        consume_until(consumer, settings, lambda: Message.objects.filter(kind="order_dispatched").exists())
    finally:
        consumer._close()

    assert sorted(Message.objects.values_list("kind", "status")) == [
        ("order_confirmation", "sent"),
        ("order_dispatched", "sent"),
    ]
    assert sorted((m["To"], m["Subject"]) for m in mailbox.messages) == [
        ("ann@example.com", "Your order 100042 is confirmed"),
        ("ann@example.com", "Your order 100042 is on its way"),
    ]
    assert not consumer._waiting

"""The notifications service's consumer SIGKILLed mid-stream of many orders' confirmations, then
started again: every customer gets exactly one confirmation mail, none lost, none twice.

Where the kill lands is made certain, not left to timing: the first orders' mails have gone out, the
rest of the stream is in the consumer's hands (delivered by the broker, unacked) and stuck on the
service's database, which the test holds locked, when the consumer dies. A kill in the middle of an
SMTP conversation is the one window no consumer can close (the mail server may have taken the mail,
the row cannot say so); the service marks such a message ``unconfirmed`` for staff instead of sending
it twice (contexts/notifications/services/messages.py), so this test keeps the kill out of it.
"""

import sqlite3
import uuid
from contextlib import contextmanager

import psycopg
import pytest

from commerce.eventbus.models import InboxEntry
from commerce.eventbus.remote import amqp as port
from contexts.notifications.models import Message
from tests.eventbus.relay.support import wait_for
from tests.journeys import lifted
from tests.journeys.lifted import relay
from tests.support.checkout import build_shop, checkout_body, new_cart, post_checkout
from tests.support.worker import wait_until_delivered

pytestmark = pytest.mark.django_db(transaction=True)
# The fixtures of tests/journeys/lifted.py, for the tests here.
broker, mail, notifications_service = lifted.broker, lifted.mail, lifted.notifications_service
FIRST, REST = 10, 30


@contextmanager
def locked(database_url: str):
    """The service's tables locked against writing (PostgreSQL) or its file against any writer (SQLite)."""
    if database_url.startswith("sqlite"):
        holder = sqlite3.connect(database_url.removeprefix("sqlite:///"), isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")
        try:
            yield
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        return
    tables = ", ".join(f'"{model._meta.db_table}"' for model in (InboxEntry, Message))
    with psycopg.connect(database_url) as holder:
        holder.execute(f"LOCK TABLE {tables} IN EXCLUSIVE MODE")
        yield
        holder.rollback()


def queue_counts(prefix: str) -> tuple[int, int]:
    """The notifications partition queues' ready messages (all of them) and consumers (the most on one)."""
    connection = port.connect()
    try:
        channel = connection.channel()
        declared = [
            channel.queue_declare(queue, passive=True) for queue in port.names(prefix).partition_queues("notifications")
        ]
        return sum(d.message_count for d in declared), max(d.consumer_count for d in declared)
    finally:
        connection.close()


def place_orders(count: int) -> list[str]:
    emails = [f"crash-{n}-{uuid.uuid4().hex[:8]}@example.com" for n in range(count)]
    for email in emails:
        placed = post_checkout(client_for_guests(), checkout_body(new_cart({"MUG": 1}), email=email))
        assert placed.status_code == 201, placed.json()
    wait_until_delivered()
    return emails


def client_for_guests():
    from rest_framework.test import APIClient

    return APIClient()


def test_a_consumer_killed_mid_stream_loses_no_confirmation_and_sends_none_twice(mail, broker, notifications_service):
    service = notifications_service
    build_shop()
    first = place_orders(FIRST)
    relay()
    with service.consumer() as consumer:
        mail.wait_for(FIRST, log=service.log)
        rest = place_orders(REST)
        with locked(service.database_url):
            relay()  # the rest of the stream reaches the consumer, which cannot write it
            wait_for(lambda: queue_counts(broker) == (0, 1), what="the consumer holding the rest", log=service.log)
            consumer.kill()
            consumer.wait(timeout=30)
        assert len(mail.messages) == FIRST  # died with the rest of the stream in its hands

    assert queue_counts(broker) == (REST, 0)  # unacked: the broker keeps them for the next consumer
    with service.consumer():
        mail.assert_each_once(FIRST + REST)
    service.run_periodic_once()  # nothing was left recorded and unsent either
    mail.assert_each_once(FIRST + REST, quiet=0.5)
    for email in first + rest:
        assert mail.kinds(email) == {"order_confirmation": 1}, email

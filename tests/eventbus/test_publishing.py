"""Publishing refuses what it could not deliver, and costs the publisher little."""

from dataclasses import dataclass

import pytest
from django.db import connections

from commerce.database import atomic_in, database_for
from commerce.eventbus import Event, EventError, domain_event, publish, publish_many
from tests.probe_sink.events import Pinged

pytestmark = pytest.mark.django_db


@dataclass(frozen=True, slots=True, kw_only=True)
class NeverRegistered(Event):
    key: str


def test_publishing_an_unregistered_event_type_fails_at_publish_time():
    with pytest.raises(EventError, match="not a registered event type"), atomic_in("probe"):
        publish(NeverRegistered(key="x"))


def test_publishing_a_value_that_does_not_serialize_fails_at_publish_time():
    with pytest.raises(EventError), atomic_in("probe"):
        publish(Pinged(key=object()))  # type: ignore[arg-type]


def test_an_event_name_must_name_its_context():
    with pytest.raises(EventError):
        domain_event("NoContext")


def test_a_publish_adds_two_queries_to_the_transaction(django_assert_num_queries):
    publisher_connection = connections[database_for("probe")]
    with atomic_in("probe"), django_assert_num_queries(2, connection=publisher_connection):
        publish(Pinged(key="cheap"))


def test_a_failing_handler_never_reaches_the_publisher(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True), atomic_in("probe"):
        publish(Pinged(key="publisher-is-safe", fail_times=5))


@pytest.mark.django_db(transaction=True)
def test_publishing_outside_the_publishers_transaction_is_refused():
    with pytest.raises(EventError, match="inside the publisher's transaction"):
        publish(Pinged(key="no-transaction"))


def test_publish_many_writes_a_batch_in_two_inserts(django_assert_num_queries):
    """Two statements for 30 events (SQLite splits larger batches by its parameter limit)."""
    publisher_connection = connections[database_for("probe")]
    events = [Pinged(key=f"bulk-{n}") for n in range(30)]
    with atomic_in("probe"), django_assert_num_queries(2, connection=publisher_connection):
        publish_many(events)
    from commerce.eventbus.models import Delivery, OutboxMessage

    assert OutboxMessage.objects.using(database_for("probe")).filter(payload__key__startswith="bulk-").count() == 30
    assert Delivery.objects.using(database_for("probe")).filter(message__payload__key__startswith="bulk-").count() == 90


def test_publish_many_refuses_events_of_two_contexts():
    from tests.probe_sink.events import Echoed

    with pytest.raises(EventError, match="one context"), atomic_in("probe"):
        publish_many([Pinged(key="a"), Echoed(key="b")])

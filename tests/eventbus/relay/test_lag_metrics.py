"""The relay's and the consumer's lag, as the event-delivery objectives read it (docs/slo.md): each
event's age when the broker acked it (path="relay") and when the service applied it (path="consumer"),
against the real RabbitMQ."""

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone
from prometheus_client import REGISTRY

from commerce.database import atomic_in, database_for
from commerce.eventbus import publish
from commerce.eventbus.models import OutboxMessage
from commerce.eventbus.remote.consumer import Consumer
from commerce.eventbus.remote.relay import Relay
from tests.probe_sink.events import Pinged

pytestmark = pytest.mark.django_db(transaction=True)


def ages(path: str) -> tuple[float, float]:
    """(events observed, of which within 30 s) on ``path``."""
    labels = {"path": path}
    count = REGISTRY.get_sample_value("commerce_eventbus_event_age_seconds_count", labels) or 0
    within = REGISTRY.get_sample_value("commerce_eventbus_event_age_seconds_bucket", {**labels, "le": "30.0"}) or 0
    return count, within


def relay_and_consume(as_service) -> None:
    """The relay sends the one event owed, then the service's consumer applies it."""
    relay = Relay()
    try:
        assert relay.run_once() == 1
    finally:
        relay.close()
    with as_service():
        assert Consumer("probe_sink").run(idle_exit=1.0) == 1


def test_an_event_that_waited_a_minute_counts_as_late_on_the_relay_and_on_the_consumer(broker, as_service):
    key = uuid.uuid4().hex
    with atomic_in("probe"):
        publish(Pinged(key=key))
    # It happened a minute ago (the relay was down, say): later than the objectives' 30 s on both paths.
    message = OutboxMessage.objects.using(database_for("probe")).get(payload__key=key)
    message.occurred_at = timezone.now() - timedelta(seconds=60)
    message.payload = {**message.payload, "occurred_at": message.occurred_at.isoformat()}
    message.save(update_fields=["occurred_at", "payload"])
    relayed_before, consumed_before = ages("relay"), ages("consumer")

    relay_and_consume(as_service)

    assert ages("relay") == (relayed_before[0] + 1, relayed_before[1])
    assert ages("consumer") == (consumed_before[0] + 1, consumed_before[1])


def test_an_event_relayed_and_applied_at_once_counts_as_on_time(broker, as_service):
    key = uuid.uuid4().hex
    with atomic_in("probe"):
        publish(Pinged(key=key))
    relayed_before, consumed_before = ages("relay"), ages("consumer")

    relay_and_consume(as_service)

    assert ages("relay") == (relayed_before[0] + 1, relayed_before[1] + 1)
    assert ages("consumer") == (consumed_before[0] + 1, consumed_before[1] + 1)

"""The relay against the real RabbitMQ: what a message looks like on the wire, confirms and
``mandatory``, a broker that is away, order per aggregate, and nothing ever expiring unsent."""

import json
import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.utils import timezone

from commerce.database import atomic_in, database_for
from commerce.eventbus import publish, publish_many
from commerce.eventbus.delivery import prune
from commerce.eventbus.dispatch import requeue
from commerce.eventbus.models import Delivery, OutboxMessage
from commerce.eventbus.remote import amqp as port
from commerce.eventbus.remote.relay import BrokerUnavailable, Relay
from tests.eventbus.relay.events import LinkIssued, Stepped
from tests.eventbus.relay.support import depth, depth_all, drain_all, payload
from tests.eventbus.support import deliveries
from tests.probe_sink.events import Pinged

pytestmark = pytest.mark.django_db(transaction=True)
QUEUE = "probe_sink"


def relay_all(**kwargs) -> int:
    relay = Relay(**kwargs)
    try:
        return relay.run_once()
    finally:
        relay.close()


def test_a_relayed_event_is_its_json_with_its_identity_in_the_properties(broker):
    key = uuid.uuid4().hex
    with atomic_in("probe"):
        publish(Pinged(key=key, amount=Decimal("12.50")))
    message = OutboxMessage.objects.using(database_for("probe")).get(payload__key=key)

    assert relay_all() == 1

    (sent,) = drain_all(QUEUE)
    assert json.loads(sent.body) == message.payload  # the event's JSON, no envelope
    properties = sent.properties
    assert properties["message_id"] == str(message.event_id)
    assert properties["type"] == "probe.Pinged"
    assert properties["content_type"] == "application/json"
    assert properties["delivery_mode"] == 2  # persistent
    assert properties["correlation_id"] == message.correlation_id
    headers = properties["application_headers"]
    assert headers["event-version"] == 1
    assert headers["causation-id"] == message.causation_id
    assert headers["occurred-at"] == message.occurred_at.isoformat()
    partition = port.partition_of("probe.Pinged", "")  # no aggregate: the publisher's one stream
    assert headers["partition"] == partition
    assert sent.delivery_info["routing_key"] == f"probe.Pinged.probe_sink.{partition}"
    (relayed,) = deliveries(message__payload__key=key)
    assert (relayed.status, relayed.attempts) == ("delivered", 1)


def test_a_secret_leaves_on_the_wire_once_and_is_then_blanked_in_the_outbox(broker):
    """A reset link must reach the remote sender, and then not stay in the publisher's outbox."""
    key = uuid.uuid4().hex
    with atomic_in("probe"):
        publish(LinkIssued(key=key, link="https://shop.example/reset/secret-token"))

    assert relay_all() == 1

    (sent,) = drain_all(QUEUE)
    assert json.loads(sent.body)["link"] == "https://shop.example/reset/secret-token"
    stored = OutboxMessage.objects.using(database_for("probe")).get(payload__key=key)
    assert stored.payload["link"] == ""


def test_an_unroutable_event_fails_retries_then_dead_letters_and_the_admin_brings_it_back(broker, settings):
    settings.EVENTS_TOPOLOGY_PREFIX = f"{broker.prefix}-bare"
    port.declare([])  # the exchange only: no queue is bound to anything
    try:
        key = uuid.uuid4().hex
        with atomic_in("probe"):
            publish(Pinged(key=key))
        relay_all()
        (failed,) = deliveries(message__payload__key=key)
        assert failed.status == "failed" and failed.attempts == 1
        assert "Unroutable" in failed.last_error and "probe.Pinged" in failed.last_error

        for _ in range(settings.EVENTBUS["MAX_ATTEMPTS"]):
            Delivery.objects.using(failed._state.db).filter(pk=failed.pk).update(next_attempt_at=timezone.now())
            relay_all()
        (dead,) = deliveries(message__payload__key=key)
        assert (dead.status, dead.attempts) == ("dead", settings.EVENTBUS["MAX_ATTEMPTS"])

        settings.EVENTS_TOPOLOGY_PREFIX = broker.prefix  # the topology is declared now: staff retry
        assert requeue(dead._state.db, [dead.pk]) == 1
        relay_all()
        assert deliveries(message__payload__key=key)[0].status == "delivered"
        assert [payload(m)["key"] for m in drain_all(QUEUE)] == [key]
    finally:
        port.delete([], prefix=f"{broker.prefix}-bare")


def test_a_broker_that_is_away_leaves_the_events_waiting_untouched_and_they_go_when_it_is_back(broker):
    keys = [uuid.uuid4().hex for _ in range(3)]
    with atomic_in("probe"):
        publish_many([Pinged(key=key) for key in keys])

    with pytest.raises(BrokerUnavailable):
        relay_all(url="amqp://guest:guest@127.0.0.1:8339//")  # nothing listens there: the broker is "down"
    assert {(d.status, d.attempts) for d in deliveries(subscription="relay:probe_sink")} == {("pending", 0)}

    assert relay_all() == 3
    assert [payload(m)["key"] for m in drain_all(QUEUE)] == keys


def test_an_event_that_could_not_leave_for_weeks_is_neither_pruned_nor_expired_and_still_goes(broker, settings):
    key = uuid.uuid4().hex
    with atomic_in("probe"):
        publish(Pinged(key=key))
    alias = database_for("probe")
    weeks_ago = timezone.now() - timedelta(days=settings.EVENTBUS["RETENTION_DAYS"] * 4)
    OutboxMessage.objects.using(alias).filter(payload__key=key).update(created_at=weeks_ago)
    Delivery.objects.using(alias).filter(message__payload__key=key).update(created_at=weeks_ago)

    prune()

    assert relay_all() == 1
    assert [payload(m)["key"] for m in drain_all(QUEUE)] == [key]


def test_a_failed_event_holds_back_the_later_ones_of_its_aggregate_but_not_other_aggregates(broker):
    run, first, second = uuid.uuid4().hex, uuid.uuid4(), uuid.uuid4()
    with atomic_in("probe"):
        publish_many([Stepped(run=run, order_id=first, step=0), Stepped(run=run, order_id=second, step=0)])
        publish_many([Stepped(run=run, order_id=first, step=1), Stepped(run=run, order_id=second, step=1)])
    owed = sorted(deliveries(message__payload__run=run), key=lambda d: d.pk)
    alias = owed[0]._state.db
    # The first step of the first order failed a while ago and waits for its retry (backoff).
    Delivery.objects.using(alias).filter(pk=owed[0].pk).update(
        status="failed", attempts=1, next_attempt_at=timezone.now() + timedelta(hours=1)
    )

    assert relay_all() == 2
    assert [(payload(m)["order_id"], payload(m)["step"]) for m in drain_all(QUEUE)] == [
        (str(second), 0),
        (str(second), 1),
    ]
    assert Delivery.objects.using(alias).get(pk=owed[2].pk).status == "pending"  # held back, not failed

    Delivery.objects.using(alias).filter(pk=owed[0].pk).update(next_attempt_at=timezone.now())
    assert relay_all() == 2
    assert [(payload(m)["order_id"], payload(m)["step"]) for m in drain_all(QUEUE)] == [
        (str(first), 0),
        (str(first), 1),
    ]


def test_declare_topology_is_idempotent_and_binds_the_event_types_the_context_subscribes_to(broker, capsys):
    call_command("declare_topology", QUEUE)
    call_command("declare_topology", QUEUE)
    out = capsys.readouterr().out
    for queue in broker.partition_queues(QUEUE):
        assert f"Queue {queue} (quorum) <- " in out
    assert "probe.Pinged" in out and "probe.Stepped" in out

    assert relay_all() == 0
    with atomic_in("probe"):
        publish(Pinged(key="bound"))
    relay_all()
    assert depth_all(QUEUE) == 1
    assert depth(broker.dead_queue(QUEUE)) == 0

"""A message whose handler defers it (it came before one it depends on) against the real RabbitMQ: it
leaves the prefetch window for the context's wait queue, comes back to its queue once its
expiration is over (a second in tests), and is applied once what it waits for is there; the later messages
of its stream wait behind it and keep their order; other streams go on; after ``DEFER_FOR_SECONDS``
it is dead-lettered, saying how long it waited and for what."""

import time
import uuid
from datetime import timedelta

import amqp
import pytest
from django.utils import timezone

from commerce.database import atomic_in
from commerce.eventbus import publish, publish_many
from commerce.eventbus.remote import amqp as port
from commerce.eventbus.remote.consumer import Consumer
from tests.eventbus.relay.events import Gated, Stepped
from tests.eventbus.relay.support import depth, depth_all, drain, drain_all, payload, publish_raw
from tests.eventbus.relay.test_consumer import counted, relay_all
from tests.probe_sink.models import ProbeCounter

pytestmark = pytest.mark.django_db(transaction=True)
CONTEXT = "probe_sink"


def drive(consumer: Consumer, until, *, timeout: float = 30.0) -> None:
    """Run the consumer's loop (receive, process) until ``until()`` holds."""
    deadline = time.monotonic() + timeout
    while not until():
        assert time.monotonic() < deadline, "the consumer did not get there in time"
        consumer._receive(wait=0.1)
        if consumer._pending:
            consumer.process()


def steps_applied(run: str, order: uuid.UUID, steps) -> list[int]:
    return [counted(f"{run}:{order}:{step:05d}") for step in steps]


def waiting(consumer: Consumer) -> int:
    return sum(len(ids) for ids in consumer._waiting.values())


def test_a_deferred_message_waits_out_of_the_window_and_its_streams_later_messages_wait_behind_it(broker, as_service):
    run, gated, other = uuid.uuid4().hex, uuid.uuid4(), uuid.uuid4()
    with atomic_in("probe"):
        publish_many([Gated(run=run, order_id=gated), *[Stepped(run=run, order_id=other, step=s) for s in range(3)]])
    relay_all()
    consumer = Consumer(CONTEXT)
    consumer._open()
    try:
        with as_service():
            drive(consumer, lambda: waiting(consumer) == 1 and steps_applied(run, other, range(3)) == [1, 1, 1])
        assert not consumer._pending  # acked: it waits in the wait queue, not in the prefetch window
        assert not ProbeCounter.objects.filter(key=f"{run}:{gated}:gated").exists()

        with atomic_in("probe"):  # the gated order's next steps come while it waits
            publish_many([Stepped(run=run, order_id=gated, step=s) for s in (1, 2)])
        relay_all()
        with as_service():
            drive(consumer, lambda: waiting(consumer) == 3)
        assert not consumer._pending and steps_applied(run, gated, (1, 2)) == [0, 0]

        ProbeCounter.objects.create(key=f"gate:{run}:{gated}")  # what it waited for arrives
        with as_service():
            drive(consumer, lambda: steps_applied(run, gated, (1, 2)) == [1, 1])
    finally:
        consumer._close()

    applied = list(ProbeCounter.objects.filter(key__startswith=f"{run}:{gated}:").order_by("pk").values_list("key"))
    assert [key for (key,) in applied] == [f"{run}:{gated}:gated", f"{run}:{gated}:00001", f"{run}:{gated}:00002"]
    assert consumer._waiting == {}
    assert depth(broker.wait_queue(CONTEXT)) == depth_all(CONTEXT) == 0
    assert drain(broker.dead_queue(CONTEXT)) == []


def test_a_message_that_waits_longer_than_the_deferral_is_dead_lettered_saying_for_what(broker, as_service, settings):
    settings.EVENTBUS = {**settings.EVENTBUS, "DEFER_FOR_SECONDS": 2.5}
    run, gated = uuid.uuid4().hex, uuid.uuid4()
    with atomic_in("probe"):
        publish(Gated(run=run, order_id=gated))
    relay_all()
    started = time.monotonic()
    with as_service():
        consumer = Consumer(CONTEXT)
        consumer._open()
        try:
            drive(consumer, lambda: depth(broker.dead_queue(CONTEXT)) == 1)
        finally:
            consumer._close()
    assert time.monotonic() - started >= 2.5  # it went round the wait queue until then

    (dead,) = drain(broker.dead_queue(CONTEXT))
    headers = dead.properties["application_headers"]
    reason = headers[port.REASON_HEADER]
    assert reason.startswith(f"Waited 0\xa0minutes (since {headers[port.DEFERRED_SINCE_HEADER][:19]}")
    assert f"probe_sink.pass_gate: Deferred: the gate of {gated} is not open yet" in reason
    assert not ProbeCounter.objects.filter(key=f"{run}:{gated}:gated").exists()
    assert consumer._waiting == {}


def test_a_deferred_message_without_a_wait_queue_is_kept_rather_than_lost(broker, as_service):
    run, gated = uuid.uuid4().hex, uuid.uuid4()
    with atomic_in("probe"):
        publish(Gated(run=run, order_id=gated))
    relay_all()
    connection = port.connect()
    try:
        connection.channel().queue_delete(broker.wait_queue(CONTEXT))
    finally:
        connection.close()
    consumer = Consumer(CONTEXT)
    consumer._open()
    try:
        with as_service():
            consumer._receive(wait=5)
            with pytest.raises(amqp.exceptions.NotFound):
                consumer.process()
    finally:
        consumer._close()
    (kept,) = drain_all(CONTEXT)
    assert (kept.properties["type"], payload(kept)["order_id"]) == ("probe.Gated", str(gated))


def test_a_stream_whose_waiting_message_never_comes_back_here_is_not_held_back_for_ever(broker, as_service):
    """This process put a message in the wait queue, then lost the queue (another consumer took it and
    applied what came back): the stream's later messages reaching it are applied, once it has waited
    many rounds of the wait queue for that one in vain."""
    run, order = uuid.uuid4().hex, uuid.uuid4()
    with atomic_in("probe"):
        publish(Stepped(run=run, order_id=order, step=1))
    relay_all()
    consumer = Consumer(CONTEXT)
    consumer.forget_waiting_after = 2.0
    consumer._waiting[("probe", f"order_id:{order}")] = [str(uuid.uuid4())]  # went elsewhere
    consumer._waiting_touched[("probe", f"order_id:{order}")] = time.monotonic()
    consumer._open()
    try:
        with as_service():
            drive(consumer, lambda: steps_applied(run, order, [1]) == [1])
    finally:
        consumer._close()
    assert consumer._waiting == {}
    assert depth(broker.wait_queue(CONTEXT)) == 0


def test_changing_the_retry_time_needs_no_new_wait_queue_and_the_next_deferral_waits_the_new_time(
    broker, as_service, settings
):
    """The wait is each message's own ``expiration``, not the wait queue's: an operator changes
    ``EVENTS_DEFER_RETRY_SECONDS`` and runs ``declare_topology`` again, which neither refuses the
    existing wait queue nor needs it deleted (that would delete the mails waiting in it)."""
    settings.EVENTS_DEFER_RETRY_SECONDS = 3
    port.declare([CONTEXT])  # the wait queue declared under 1 s is still the right one
    run, gated = uuid.uuid4().hex, uuid.uuid4()
    with atomic_in("probe"):
        publish(Gated(run=run, order_id=gated))
    relay_all()
    consumer = Consumer(CONTEXT)
    consumer._open()
    try:
        with as_service():
            drive(consumer, lambda: waiting(consumer) == 1)
        deferred = time.monotonic()
        assert depth(broker.wait_queue(CONTEXT)) == 1
        ProbeCounter.objects.create(key=f"gate:{run}:{gated}")
        with as_service():
            drive(consumer, lambda: ProbeCounter.objects.filter(key=f"{run}:{gated}:gated").exists())
        assert time.monotonic() - deferred >= 2.5  # the new 3 s, not the 1 s the queue was declared with
    finally:
        consumer._close()
    assert depth(broker.wait_queue(CONTEXT)) == depth_all(CONTEXT) == 0


def test_a_redriven_message_that_had_waited_too_long_gets_a_fresh_deferral_window(broker, as_service):
    """Staff re-drive a message dead-lettered after days of waiting (its cause is being fixed): deferred
    again, it waits in the wait queue rather than going straight back to the dead letters."""
    run, gated = uuid.uuid4().hex, uuid.uuid4()
    with atomic_in("probe"):
        publish(Gated(run=run, order_id=gated))
    relay_all()
    (message,) = drain_all(CONTEXT)  # as the consumer dead-lettered it, after four days of waiting
    headers = {
        **message.properties["application_headers"],
        port.DEFERRED_SINCE_HEADER: (timezone.now() - timedelta(days=4)).isoformat(),
        port.REASON_HEADER: "Waited 4 days for what never came",
    }
    properties = {k: v for k, v in message.properties.items() if k != "application_headers"}
    publish_raw(CONTEXT, message.body, exchange=broker.dead_exchange, application_headers=headers, **properties)
    assert port.redrive(CONTEXT) == 1
    consumer = Consumer(CONTEXT)
    consumer._open()
    try:
        with as_service():
            drive(consumer, lambda: waiting(consumer) == 1)
    finally:
        consumer._close()
    assert depth(broker.dead_queue(CONTEXT)) == 0
    assert depth(broker.wait_queue(CONTEXT)) == 1


def test_a_broker_that_refuses_a_parked_message_does_not_end_the_consumer_and_the_message_stays(broker, as_service):
    """The broker nacks the publish to the wait queue (here: it is full, ``reject-publish``): the
    consumer treats it like a broken connection (reconnects later) rather than crashing with its leases
    left to linger a TTL, and the message, never acked, is back in its partition queue."""
    run, gated = uuid.uuid4().hex, uuid.uuid4()
    with atomic_in("probe"):
        publish(Gated(run=run, order_id=gated))
    relay_all()
    connection = port.connect()
    try:
        channel = connection.channel()
        channel.queue_delete(broker.wait_queue(CONTEXT))
        channel.queue_declare(
            broker.wait_queue(CONTEXT),
            durable=True,
            auto_delete=False,
            arguments={**port.wait_queue_arguments(), "x-max-length": 1},
        )
        for queue in broker.partition_queues(CONTEXT):
            channel.queue_bind(broker.wait_queue(CONTEXT), broker.wait_exchange, routing_key=queue)
        channel.confirm_select()
        for _ in range(2):  # full (a quorum queue refuses once it is over its length): the next one is nacked
            channel.basic_publish_confirm(amqp.Message(b"{}"), exchange="", routing_key=broker.wait_queue(CONTEXT))
    finally:
        connection.close()
    with as_service():
        consumer = Consumer(CONTEXT)
        assert consumer.run(idle_exit=2.0) == 0
    assert consumer.held == set()  # it left: its leases are free for the others now
    (kept,) = drain_all(CONTEXT)
    assert (kept.properties["type"], payload(kept)["order_id"]) == ("probe.Gated", str(gated))
    assert depth(broker.wait_queue(CONTEXT)) == 2  # the two it was filled with, nothing more

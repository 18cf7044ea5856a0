"""The service's side against the real RabbitMQ: each message becomes the inbox row plus the
handler's writes in one transaction, acked after the commit; copies change nothing; poison is
dead-lettered with its reason and the consumer goes on; the publisher's trace continues here."""

import io
import json
import uuid

import amqp
import pytest
from django.core.management import call_command
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from commerce import telemetry
from commerce.database import atomic_in, database_for
from commerce.eventbus import publish, publish_many
from commerce.eventbus.models import Delivery, InboxEntry
from commerce.eventbus.remote import amqp as port
from commerce.eventbus.remote.consumer import Consumer
from commerce.eventbus.remote.relay import Relay
from tests.eventbus.relay.events import Stepped
from tests.eventbus.relay.support import depth, drain, drain_all, publish_raw, raw_routing_key
from tests.eventbus.support import deliveries
from tests.probe_sink.events import Pinged
from tests.probe_sink.handlers import attempts_of
from tests.probe_sink.models import ProbeCounter

pytestmark = pytest.mark.django_db(transaction=True)
CONTEXT = "probe_sink"
PINGED = raw_routing_key("probe.Pinged", CONTEXT)  # as the relay routes a Pinged (no aggregate: one stream)


def relay_all() -> int:
    relay = Relay()
    try:
        return relay.run_once()
    finally:
        relay.close()


def consume(as_service, **options) -> int:
    with as_service():
        return Consumer(CONTEXT).run(idle_exit=options.pop("idle_exit", 1.0), **options)


def counted(key: str) -> int:
    counter = ProbeCounter.objects.filter(key=key).first()
    return counter.count if counter else 0


def test_each_event_is_applied_once_by_every_subscription_of_the_context_and_copies_change_nothing(broker, as_service):
    key = uuid.uuid4().hex
    with atomic_in("probe"):
        publish(Pinged(key=key))
    relay_all()
    # The relay sends it again (as after dying between the broker's ack and its own commit).
    Delivery.objects.using(database_for("probe")).filter(subscription="relay:probe_sink").update(status="pending")
    relay_all()

    assert consume(as_service) == 2

    assert counted(f"{key}:count") == counted(f"{key}:record") == counted(f"{key}:tally") == 1
    (event_id,) = {d.message.event_id for d in deliveries(message__payload__key=key, subscription="relay:probe_sink")}
    assert InboxEntry.objects.filter(event_id=event_id).count() == 3
    assert drain_all(CONTEXT) == []  # both copies acked


def test_poison_is_dead_lettered_with_its_reason_and_the_consumer_goes_on(broker, as_service, settings):
    good, failing = uuid.uuid4().hex, uuid.uuid4().hex
    publish_raw(PINGED, b"{not json", type="probe.Pinged", message_id="m-1")
    publish_raw(PINGED, b"{}", type="probe.Nope", message_id="m-2")
    newer = json.dumps({"key": "x"}).encode()
    publish_raw(PINGED, newer, type="probe.Pinged", message_id="m-3", application_headers={"event-version": 9})
    publish_raw(PINGED, b'{"key": 1, "nonsense": true}', type="probe.Pinged", message_id="m-4")
    with atomic_in("probe"):
        publish_many([Pinged(key=failing, fail_times=99), Pinged(key=good)])
    relay_all()

    assert consume(as_service) == 6

    dead = {m.properties.get("message_id"): m for m in drain(broker.dead_queue(CONTEXT))}
    reason = {message_id: m.properties["application_headers"][port.REASON_HEADER] for message_id, m in dead.items()}
    assert reason["m-1"].startswith("malformed: the body is not JSON")
    assert reason["m-2"].startswith("unknown event type")
    assert reason["m-3"].startswith("newer version: probe.Pinged version 9")
    assert reason["m-4"].startswith("malformed:")
    (handler_failed,) = [r for message_id, r in reason.items() if not message_id.startswith("m-")]
    attempts = settings.EVENTBUS["MAX_ATTEMPTS"]
    assert handler_failed.startswith(f"handler failed {attempts} times") and "probe failure" in handler_failed
    assert attempts_of(failing, "count") == attempts
    assert counted(f"{good}:count") == 1  # the event after the poison was applied
    assert counted(f"{failing}:record") == 1  # its other subscriptions applied it, once
    assert drain_all(CONTEXT) == []


def test_the_consumer_applies_an_aggregates_events_in_the_order_they_happened(broker, as_service):
    run = uuid.uuid4().hex
    orders = [uuid.uuid4() for _ in range(5)]
    for step in range(6):
        with atomic_in("probe"):
            publish_many([Stepped(run=run, order_id=order, step=step) for order in orders])
    relay_all()
    consume(as_service)

    applied = ProbeCounter.objects.filter(key__startswith=f"{run}:").order_by("pk").values_list("key", "count")
    assert {count for _, count in applied} == {1}
    for order in orders:
        steps = [int(k.rsplit(":", 1)[1]) for k, _ in applied if f":{order}:" in k]
        assert steps == list(range(6))


def test_a_failing_event_holds_back_its_own_stream_while_other_streams_go_on(broker, as_service):
    waits, after, run, order = uuid.uuid4().hex, uuid.uuid4().hex, uuid.uuid4().hex, uuid.uuid4()
    with atomic_in("probe"):
        publish_many([Pinged(key=waits, fail_times=2), Pinged(key=after)])  # one stream: no aggregate
        publish_many([Stepped(run=run, order_id=order, step=step) for step in range(3)])  # its order's stream
    relay_all()

    consume(as_service)

    assert attempts_of(waits, "count") == 3  # failed twice, applied the third time
    assert counted(f"{waits}:count") == counted(f"{after}:count") == 1
    rows = list(ProbeCounter.objects.order_by("pk").values_list("key", flat=True))
    first_applied = rows.index(f"{waits}:count")
    assert rows.index(f"{after}:count") > first_applied  # the same stream waited for it
    assert all(rows.index(f"{run}:{order}:{step:05d}") < first_applied for step in range(3))  # the other went on


def test_the_consumer_continues_the_trace_written_with_the_outbox_row(broker, as_service):
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    telemetry.install(provider)
    try:
        key = uuid.uuid4().hex
        with telemetry.tracer().start_as_current_span("checkout") as publisher, atomic_in("probe"):
            publish(Pinged(key=key))
        relay_all()
        (sent,) = [d.message for d in deliveries(message__payload__key=key)]
        assert sent.trace_context["traceparent"].split("-")[1] == format(publisher.get_span_context().trace_id, "032x")

        consume(as_service)

        handled = [s for s in exporter.get_finished_spans() if s.name == "deliver probe_sink.count_when_pinged"]
        assert handled and handled[0].context.trace_id == publisher.get_span_context().trace_id
        assert handled[0].kind == trace.SpanKind.CONSUMER
    finally:
        telemetry.uninstall()


def test_a_message_without_a_dead_letter_queue_is_kept_rather_than_lost(broker, as_service):
    publish_raw(PINGED, b"{not json", type="probe.Pinged", message_id="keep-me")
    connection = port.connect()
    try:
        connection.channel().queue_delete(broker.dead_queue(CONTEXT))
    finally:
        connection.close()
    with as_service():
        consumer = Consumer(CONTEXT)
        consumer._open()
        consumer._receive(wait=5)
        with pytest.raises(amqp.exceptions.NotFound):
            consumer.process()
        consumer._close()
    assert [m.properties["message_id"] for m in drain_all(CONTEXT)] == ["keep-me"]


def test_dead_letters_redriven_by_staff_are_applied_once_the_cause_is_gone(broker, as_service):
    key = uuid.uuid4().hex
    with atomic_in("probe"):
        publish(Pinged(key=key))
    relay_all()
    (message,) = drain_all(CONTEXT)  # dead-lettered as the consumer does after its attempts
    headers = {**message.properties["application_headers"], "dead-letter-reason": "handler failed 8 times"}
    properties = {k: v for k, v in message.properties.items() if k != "application_headers"}
    publish_raw(CONTEXT, message.body, exchange=broker.dead_exchange, application_headers=headers, **properties)
    assert depth(broker.dead_queue(CONTEXT)) == 1

    out = io.StringIO()
    call_command("redrive_dead_letters", CONTEXT, stdout=out)
    assert "Moved 1 messages" in out.getvalue()
    assert depth(broker.dead_queue(CONTEXT)) == 0

    assert consume(as_service) == 1
    assert counted(f"{key}:count") == counted(f"{key}:record") == 1

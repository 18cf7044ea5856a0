"""Upgrading a broker from the topology before partitions (one queue ``<prefix>.<context>`` per consuming
context, bound by the bare event type): ``declare`` moves what waits there to the partition queues, in
each stream's order, deletes it, and leaves nothing routed to it. Real RabbitMQ."""

import io
import json
import uuid

import amqp
import pytest
from django.core.management import call_command

from commerce.eventbus.remote import amqp as port
from tests.eventbus.relay.support import depth, drain, payload, publish_raw

CONTEXT = "probe_sink"


@pytest.fixture
def old_topology(broker):
    """The queue and bindings the release before partitions declared (its ``queue_arguments``), deleted
    after the test whatever became of it (the ``broker`` fixture knows nothing of it)."""
    old = _declare_old(broker)
    yield old
    connection = port.connect()
    try:
        connection.channel().queue_delete(old)
    finally:
        connection.close()


def _declare_old(names: port.Names) -> str:
    old = names.single_queue(CONTEXT)
    connection = port.connect()
    try:
        channel = connection.channel()
        channel.queue_declare(
            old, durable=True, exclusive=False, auto_delete=False, arguments=port.queue_arguments(CONTEXT, names.prefix)
        )
        for event_name in ("probe.Stepped", "probe.Pinged"):
            channel.queue_bind(old, names.exchange, routing_key=event_name)
    finally:
        connection.close()
    return old


def exists(queue: str) -> bool:
    connection = port.connect()
    try:
        connection.channel().queue_declare(queue, passive=True)
    except amqp.exceptions.NotFound:
        return False
    finally:
        connection.close()
    return True


def returned_when_published(routing_key: str, names: port.Names) -> list[str]:
    """Publish as a relay of the previous release did (by the bare type, ``mandatory``): what came back."""
    connection = port.connect()
    try:
        channel = connection.channel()
        channel.confirm_select()
        returned: list[str] = []
        channel.events["basic_return"].add(lambda exc, *_: returned.append(exc.reply_text))
        channel.basic_publish_confirm(
            amqp.Message(b"{}", type=routing_key), exchange=names.exchange, routing_key=routing_key, mandatory=True
        )
        return returned
    finally:
        connection.close()


@pytest.mark.django_db
def test_declare_moves_the_single_queue_of_before_partitions_to_the_partition_queues_in_order(broker, old_topology):
    old = old_topology
    run, orders = uuid.uuid4().hex, [uuid.uuid4(), uuid.uuid4()]
    for step in range(5):  # as the previous relay left them: the two orders interleaved in one queue
        for order in orders:
            publish_raw(
                "probe.Stepped",
                json.dumps({"run": run, "order_id": str(order), "step": step}).encode(),
                type="probe.Stepped",
                message_id=str(uuid.uuid4()),
                application_headers={"partition-key": f"order_id:{order}", "event-version": 1},
            )
    assert depth(old) == 10

    out = io.StringIO()
    call_command("declare_topology", CONTEXT, stdout=out)
    assert (
        f"Queue {old} (from before partitions): moved 10 message(s) to the partition queues, deleted." in out.getvalue()
    )
    assert not exists(old)

    partitions = {order: port.partition_of("probe.Stepped", f"order_id:{order}") for order in orders}
    found = {}
    for partition, queue in enumerate(broker.partition_queues(CONTEXT)):
        messages = drain(queue)
        for order in orders:
            steps = [payload(m)["step"] for m in messages if payload(m)["order_id"] == str(order)]
            if partition == partitions[order]:
                found[order] = steps
            else:
                assert steps == []
        for message in messages:
            assert message.properties["application_headers"]["partition"] == partition
    assert found == {order: [0, 1, 2, 3, 4] for order in orders}

    out = io.StringIO()
    call_command("declare_topology", CONTEXT, stdout=out)  # again: nothing to do, nothing said about it
    assert "before partitions" not in out.getvalue()
    assert not exists(old)
    # A relay of the previous release still running: its message is returned to it (it stays owed and
    # is retried), not acked into a queue nobody reads.
    assert returned_when_published("probe.Stepped", broker) == ["NO_ROUTE"]


@pytest.mark.django_db
def test_declare_unbinds_but_keeps_the_old_queue_while_a_consumer_of_the_previous_release_reads_it(
    broker, old_topology
):
    old = old_topology
    publish_raw("probe.Pinged", b'{"key": "k"}', type="probe.Pinged", message_id=str(uuid.uuid4()))
    connection = port.connect()
    try:
        connection.channel().basic_consume(old, callback=lambda message: None)  # attached, never acks
        out = io.StringIO()
        call_command("declare_topology", CONTEXT, stdout=out)
        assert f"Queue {old} (from before partitions) is unbound but still has 1 consumer(s)" in out.getvalue()
        assert returned_when_published("probe.Pinged", broker) == ["NO_ROUTE"]
    finally:
        connection.close()  # it stopped: its unacked message is back in the old queue

    out = io.StringIO()
    call_command("declare_topology", CONTEXT, stdout=out)
    assert "moved 1 message(s) to the partition queues, deleted." in out.getvalue()
    assert not exists(old)
    queue = broker.partition_queue(CONTEXT, port.partition_of("probe.Pinged", ""))
    assert [payload(m) for m in drain(queue)] == [{"key": "k"}]

"""The broker port, for RabbitMQ: connections, the topology and the wire format of a message.

Why py-amqp: it is already installed and locked (Celery's own AMQP client), it speaks AMQP 0-9-1
with RabbitMQ's extensions (publisher confirms, ``basic.return`` for ``mandatory``, queue arguments)
and lets the relay publish a whole batch before waiting for its confirms, which is what makes
confirmed publishing fast. kombu would wrap it and add nothing used here (and its ``Producer`` waits
for each confirm in turn); pika's blocking adapter also confirms one message at a time; aio-pika
would bring asyncio into management commands that are otherwise plain Django.

Topology (``declare``), under ``settings.EVENTS_TOPOLOGY_PREFIX``, with N = ``EVENTS_PARTITIONS``:

    <prefix>.events              topic exchange the relay publishes to, routing key
                                 ``<event type>.<consuming context>.<p>`` (``orders.#`` catches every
                                 orders event, ``#.notifications.#`` every one notifications consumes)
    <prefix>.<context>.<p>       p = 0..N-1: the partition queues of a consuming context, each a quorum
                                 queue bound by ``<event type>.<context>.<p>`` for each event type the
                                 context subscribes to; single active consumer (one consumer at a time
                                 takes its messages, in order); a delivery limit, then dead-lettered to
    <prefix>.dead                direct exchange of dead letters, routing key = context
    <prefix>.<context>.dead      that context's dead-letter queue, one for all its partitions (no
                                 expiry: staff look and re-drive, each message to the partition queue
                                 it came from)
    <prefix>.wait                direct exchange of deferred messages (a handler raised ``Deferred``),
                                 routing key = the queue the message came from
    <prefix>.<context>.wait      that context's wait queue, bound by the name of each queue of the
                                 context: each message stays for its ``expiration``
                                 (``EVENTS_DEFER_RETRY_SECONDS``, set by the consumer that parks it),
                                 then is dead-lettered to the default exchange with the routing key it
                                 was published with, i.e. back to exactly the queue it came from

Upgrading from before partitions, when a context had one queue ``<prefix>.<context>`` bound by the bare
event type: ``declare`` unbinds it, moves what it holds to the partition queues and deletes it
(``retire_single_queue``).

Partitions: the relay puts an event in partition ``crc32("<publishing context>:<partition key>") % N``
(``partition_of``): an aggregate's events always in the same queue, so in order; events of a type that
names no aggregate in the partition of ``"<publishing context>:"``, one stream as before. Consumer
processes share a context's partitions by leases in its database (``consumer``), so up to N of them
apply its events at once.
"""

import json
import logging
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit
from uuid import UUID

import amqp
from django.conf import settings

from commerce.eventbus.models import OutboxMessage
from commerce.eventbus.subscriptions import event_names_of
from commerce.eventbus.types import EventError, event_type, from_payload

logger = logging.getLogger(__name__)

# Exceptions that mean "the broker is not there or the connection broke": nothing about the message.
# A broker's nack of a confirmed publish (``basic_publish_confirm`` raises ``MessageNacked``, which is no
# ``AMQPError``: a full queue refusing it, the broker in trouble) is the same for whoever published: the
# message it was moving is not acked off its queue, so it stays there; reconnect and try again later.
# (The relay confirms its batches itself and counts a nack as a failed attempt of that message.)
CONNECTION_ERRORS: tuple[type[BaseException], ...] = (
    OSError,
    amqp.exceptions.AMQPError,
    TimeoutError,
    amqp.exceptions.MessageNacked,
)
# A quorum queue returns a message whose consumer died without acking; a message that kills its
# consumer every time (not one whose handler merely fails: the consumer counts those itself) is
# dead-lettered by the broker after this many deliveries.
DELIVERY_LIMIT = 20
REASON_HEADER = "dead-letter-reason"
# When a deferred message was first deferred (ISO 8601, UTC): kept across its rounds in the wait queue.
DEFERRED_SINCE_HEADER = "deferred-since"


@dataclass(frozen=True, slots=True)
class Names:
    prefix: str

    @property
    def exchange(self) -> str:
        return f"{self.prefix}.events"

    @property
    def dead_exchange(self) -> str:
        return f"{self.prefix}.dead"

    def single_queue(self, context: str) -> str:
        """The one queue a context had before partitions (``declare`` moves what it holds and deletes it)."""
        return f"{self.prefix}.{context}"

    def partition_queue(self, context: str, partition: int) -> str:
        return f"{self.prefix}.{context}.{partition}"

    def partition_queues(self, context: str, partitions: int | None = None) -> list[str]:
        """Every partition queue of ``context`` (``settings.EVENTS_PARTITIONS`` of them by default)."""
        count = settings.EVENTS_PARTITIONS if partitions is None else partitions
        return [self.partition_queue(context, p) for p in range(count)]

    def dead_queue(self, context: str) -> str:
        return f"{self.prefix}.{context}.dead"

    @property
    def wait_exchange(self) -> str:
        return f"{self.prefix}.wait"

    def wait_queue(self, context: str) -> str:
        return f"{self.prefix}.{context}.wait"


def names(prefix: str | None = None) -> Names:
    return Names(prefix or settings.EVENTS_TOPOLOGY_PREFIX)


def partition_of(event_type: str, partition_key: str, partitions: int | None = None) -> int:
    """The partition an event travels in: a stable hash (the same in every process and release, unlike
    ``hash()``) of its publishing context and its stream's key, so one aggregate is always one queue."""
    count = settings.EVENTS_PARTITIONS if partitions is None else partitions
    publisher = event_type.split(".", 1)[0]
    return zlib.crc32(f"{publisher}:{partition_key}".encode()) % count


def routing_key(event_type: str, context: str, partition: int) -> str:
    """The routing key of an event for ``context``'s partition ``partition`` (bound to exactly one queue)."""
    return f"{event_type}.{context}.{partition}"


def connect(url: str | None = None, *, timeout: float = 5.0) -> amqp.Connection:
    """An open connection to ``url`` (``settings.EVENTS_BROKER_URL`` by default)."""
    parts = urlsplit(url or settings.EVENTS_BROKER_URL)
    if parts.scheme not in ("amqp", "amqps"):
        raise ValueError(f"EVENTS_BROKER_URL must be an amqp:// URL, not {parts.scheme}://")
    vhost = unquote(parts.path[1:]) if len(parts.path) > 1 else "/"
    connection = amqp.Connection(
        host=f"{parts.hostname or '127.0.0.1'}:{parts.port or (5671 if parts.scheme == 'amqps' else 5672)}",
        userid=unquote(parts.username or "guest"),
        password=unquote(parts.password or "guest"),
        virtual_host=vhost,
        ssl=parts.scheme == "amqps",
        connect_timeout=timeout,
        read_timeout=timeout,
        write_timeout=timeout,
        client_properties={"connection_name": f"commerce {settings.SERVED_BY}"},
    )
    connection.connect()
    return connection


def queue_arguments(context: str, prefix: str | None = None) -> dict[str, Any]:
    n = names(prefix)
    return {
        "x-queue-type": "quorum",
        "x-single-active-consumer": True,
        "x-delivery-limit": DELIVERY_LIMIT,
        "x-dead-letter-exchange": n.dead_exchange,
        "x-dead-letter-routing-key": context,
        # Dead letters are moved, never dropped on the way (needs reject-publish overflow).
        "x-dead-letter-strategy": "at-least-once",
        "x-overflow": "reject-publish",
    }


def wait_queue_arguments() -> dict[str, Any]:
    """A wait queue's: a message stays until its own ``expiration`` (``wait_expiration``, set by the
    consumer that parks it), then is dead-lettered to the default exchange under the routing key it
    was published with (no ``x-dead-letter-routing-key``): the name of the queue it returns to.
    At-least-once, so a message is never dropped on its way back. No ``x-message-ttl``: the queue's
    arguments never change with ``EVENTS_DEFER_RETRY_SECONDS``, so changing it needs no new queue."""
    return {
        "x-queue-type": "quorum",
        "x-dead-letter-exchange": "",
        "x-dead-letter-strategy": "at-least-once",
        "x-overflow": "reject-publish",
    }


def wait_expiration() -> str:
    """A parked message's ``expiration`` (milliseconds, as AMQP wants it: a string): how long it stays in
    the wait queue. The same for every message a process parks, so they expire in the order they came
    (the broker expires a queue's messages from its head); after a change of the setting, those parked
    before it keep their time."""
    return str(int(settings.EVENTS_DEFER_RETRY_SECONDS * 1000))


def declare_wait(channel: amqp.Channel, n: Names, context: str, queues: Iterable[str]) -> None:
    """The wait exchange, ``context``'s wait queue, and a binding for each of ``queues`` (the queues
    the context consumes): a deferred message published with such a queue's name returns there."""
    channel.exchange_declare(n.wait_exchange, "direct", durable=True, auto_delete=False)
    channel.queue_declare(
        n.wait_queue(context), durable=True, exclusive=False, auto_delete=False, arguments=wait_queue_arguments()
    )
    for queue in queues:
        channel.queue_bind(n.wait_queue(context), n.wait_exchange, routing_key=queue)


def declare(
    contexts: Iterable[str],
    *,
    prefix: str | None = None,
    url: str | None = None,
    partitions: int | None = None,
    notes: list[str] | None = None,
) -> dict[str, list[str]]:
    """Declare the exchanges, and each context's partition queues, their bindings and its dead-letter
    queue; then retire the context's queue from before partitions, if there is one
    (``retire_single_queue``). Idempotent: declaring what exists with the same arguments changes
    nothing, and a larger ``partitions`` (``settings.EVENTS_PARTITIONS`` by default) adds the queues
    missing. The bindings of each queue; what an operator should know is appended to ``notes``."""
    n = names(prefix)
    count = settings.EVENTS_PARTITIONS if partitions is None else partitions
    declared: dict[str, list[str]] = {}
    connection = connect(url)
    try:
        channel = connection.channel()
        channel.exchange_declare(n.exchange, "topic", durable=True, auto_delete=False)
        channel.exchange_declare(n.dead_exchange, "direct", durable=True, auto_delete=False)
        for context in contexts:
            channel.queue_declare(
                n.dead_queue(context),
                durable=True,
                exclusive=False,
                auto_delete=False,
                arguments={"x-queue-type": "quorum"},
            )
            channel.queue_bind(n.dead_queue(context), n.dead_exchange, routing_key=context)
            event_names = list(event_names_of(context))
            for partition in range(count):
                queue = n.partition_queue(context, partition)
                channel.queue_declare(
                    queue,
                    durable=True,
                    exclusive=False,
                    auto_delete=False,
                    arguments=queue_arguments(context, n.prefix),
                )
                for event_name in event_names:
                    channel.queue_bind(queue, n.exchange, routing_key=routing_key(event_name, context, partition))
                declared[queue] = event_names
            declare_wait(channel, n, context, n.partition_queues(context, count))
            note = retire_single_queue(connection, n, context, count)
            if note and notes is not None:
                notes.append(note)
    finally:
        connection.close()
    return declared


def retire_single_queue(connection: amqp.Connection, n: Names, context: str, partitions: int) -> str:
    """Upgrade from the topology before partitions, where ``context`` had one queue ``<prefix>.<context>``
    bound by the bare event type: without this, what waits there (and what a relay of the previous
    release still publishes during a rolling deploy) would be acked by the broker and never consumed.

    In order: unbind it from the events exchange, so a previous relay's messages are unroutable, the
    broker returns them (``mandatory``) and that relay keeps them owed and retries them (nothing acked
    into a dead end); move each message in it, in its order, to the partition queue its stream hashes
    to (confirmed, ``mandatory``, by the queue's name on the default exchange; acked off the old queue
    only after the confirm, so a crash leaves a copy in both, which the inbox absorbs); delete it once
    it is empty and nobody consumes it. While a consumer of the previous release is attached (a single
    active consumer: this process would get nothing), nothing moves and the queue stays: the note says
    to run ``declare_topology`` again once that consumer has stopped. Nothing to do (no such queue): a
    no-op, so it runs at every declare. What happened, for the operator ("" when there was nothing)."""
    old = n.single_queue(context)
    channel = connection.channel()
    try:
        try:
            channel.queue_declare(old, passive=True)
        except amqp.exceptions.NotFound:  # the usual case: the broker closed that channel, nothing to do
            return ""
        for event_name in event_names_of(context):
            channel.queue_unbind(old, n.exchange, routing_key=event_name)
        state = channel.queue_declare(old, passive=True)
        if state.consumer_count:
            return (
                f"Queue {old} (from before partitions) is unbound but still has {state.consumer_count} consumer(s) "
                f"and {state.message_count} message(s): stop the previous release's consume_events {context}, "
                "then run declare_topology again to move what is left to the partition queues."
            )
        moved = _move_to_partitions(connection, channel, old, n, context, partitions) if state.message_count else 0
        state = channel.queue_declare(old, passive=True)
        if state.message_count or state.consumer_count:
            return (
                f"Queue {old} (from before partitions): moved {moved} message(s) to the partition queues, "
                f"{state.message_count} still there: run declare_topology again."
            )
        # Checked just above, not by ``if_empty``/``if_unused``, which quorum queues refuse; unbound, it
        # receives nothing meanwhile.
        channel.queue_delete(old)
        return f"Queue {old} (from before partitions): moved {moved} message(s) to the partition queues, deleted."
    finally:
        if channel.is_open:
            channel.close()


def _move_to_partitions(
    connection: amqp.Connection, channel: amqp.Channel, old: str, n: Names, context: str, partitions: int
) -> int:
    """Move every message in ``old`` to the partition queue of its type and ``partition-key`` header,
    in order; how many moved. Consumed, not fetched: a quorum queue with a single active consumer
    refuses ``basic.get``."""
    channel.basic_qos(prefetch_size=0, prefetch_count=100, a_global=False)
    channel.confirm_select()
    returned: list[str] = []
    channel.events["basic_return"].add(lambda exc, *_: returned.append(exc.reply_text))
    taken: list[amqp.Message] = []
    tag = channel.basic_consume(old, callback=taken.append)
    moved = 0
    while True:
        try:
            connection.drain_events(timeout=1.0)
        except TimeoutError:
            if not taken:
                break
        while taken:
            message = taken.pop(0)
            headers = {
                key: value
                for key, value in (message.properties.get("application_headers") or {}).items()
                if not key.startswith("x-")  # the old queue's delivery count is not the new one's
            }
            partition = partition_of(
                str(message.properties.get("type") or ""), str(headers.get("partition-key", "")), partitions
            )
            headers["partition"] = partition
            queue = n.partition_queue(context, partition)
            properties = {k: v for k, v in message.properties.items() if k != "application_headers"}
            returned.clear()
            channel.basic_publish_confirm(
                amqp.Message(message.body, application_headers=headers, **properties),
                exchange="",
                routing_key=queue,
                mandatory=True,
                confirm_timeout=30,
            )
            if returned:  # no such queue: leave the message (and those after it) where they are
                raise amqp.exceptions.NotFound(f"No queue {queue}: {returned[0]}")
            channel.basic_ack(message.delivery_tag)
            moved += 1
    channel.basic_cancel(tag)
    return moved


def delete(contexts: Iterable[str], *, prefix: str, url: str | None = None, partitions: int | None = None) -> None:
    """Delete what ``declare`` made under ``prefix`` (tests and benchmarks, each under its own prefix)."""
    n = names(prefix)
    connection = connect(url)
    try:
        channel = connection.channel()
        for context in contexts:
            for queue in n.partition_queues(context, partitions):
                channel.queue_delete(queue)
            channel.queue_delete(n.dead_queue(context))
            channel.queue_delete(n.wait_queue(context))
        channel.exchange_delete(n.exchange)
        channel.exchange_delete(n.dead_exchange)
        channel.exchange_delete(n.wait_exchange)
    finally:
        connection.close()


# --- The wire format -------------------------------------------------------------------------------


def message_for(outbox: OutboxMessage, partition_key: str = "", partition: int | None = None) -> amqp.Message:
    """The AMQP message of an outbox row: the body is the event's JSON; the rest in properties."""
    headers: dict[str, Any] = {
        "event-version": outbox.version,
        "causation-id": outbox.causation_id,
        "occurred-at": outbox.occurred_at.isoformat(),
    }
    if partition is not None:
        headers["partition"] = partition
    if partition_key:
        headers["partition-key"] = partition_key
    for name in ("traceparent", "tracestate"):
        if (outbox.trace_context or {}).get(name):
            headers[name] = outbox.trace_context[name]
    return amqp.Message(
        json.dumps(outbox.payload, separators=(",", ":"), ensure_ascii=False).encode(),
        content_type="application/json",
        content_encoding="utf-8",
        delivery_mode=2,
        message_id=str(outbox.event_id),
        type=outbox.event_type,
        correlation_id=outbox.correlation_id,
        app_id="commerce",
        application_headers=headers,
    )


class PoisonMessage(Exception):
    """A message no release of this process can apply: dead-lettered at once, with this reason."""


def outbox_message_from(message: amqp.Message) -> OutboxMessage:
    """The (unsaved) outbox row a received message stands for, checked to rebuild its event.

    :raises PoisonMessage: the body is not JSON, the type is unknown, the version newer than this
        process's, or the payload does not fit the type.
    """
    properties = message.properties
    headers = properties.get("application_headers") or {}
    name = properties.get("type") or ""
    try:
        cls = event_type(name)
    except EventError as error:
        raise PoisonMessage(f"unknown event type: {error}") from None
    try:
        version = int(headers.get("event-version", cls.event_version))
    except (TypeError, ValueError):
        raise PoisonMessage(f"malformed: event-version {headers.get('event-version')!r} is not a number") from None
    if version > cls.event_version:
        raise PoisonMessage(f"newer version: {name} version {version}, this process knows up to {cls.event_version}")
    body = message.body
    try:
        payload = json.loads(body.decode() if isinstance(body, bytes) else body)
    except (UnicodeDecodeError, ValueError) as error:
        raise PoisonMessage(f"malformed: the body is not JSON ({error})") from None
    if not isinstance(payload, dict):
        raise PoisonMessage(f"malformed: the body is a JSON {type(payload).__name__}, not an object")
    try:
        event = from_payload(name, payload, version=version)
    except EventError as error:
        raise PoisonMessage(f"malformed: {error}") from None
    except Exception as error:  # a value that does not parse (a UUID, a date, a Decimal)
        raise PoisonMessage(f"malformed: {type(error).__name__}: {error}") from None
    trace_context = {key: str(headers[key]) for key in ("traceparent", "tracestate") if headers.get(key)}
    return OutboxMessage(
        event_id=event.event_id if isinstance(event.event_id, UUID) else UUID(str(event.event_id)),
        event_type=name,
        version=version,
        payload=payload,
        occurred_at=event.occurred_at,
        correlation_id=event.correlation_id,
        causation_id=event.causation_id,
        trace_context=trace_context,
    )


def redrive_queue(context: str, message: amqp.Message, *, prefix: str | None = None) -> str:
    """The partition queue a dead letter of ``context`` goes back to: the one it came from, named by the
    consumer in ``dead-letter-queue`` (or by the broker in ``x-death``, for one it dead-lettered after
    the delivery limit), as long as that is still one of the context's partitions; otherwise the one
    its type and partition key hash to now (the number of partitions changed meanwhile)."""
    n = names(prefix)
    queues = set(n.partition_queues(context))
    headers = message.properties.get("application_headers") or {}
    named = headers.get("dead-letter-queue")
    if named in queues:
        return named
    for death in headers.get("x-death") or ():
        if isinstance(death, dict) and death.get("queue") in queues:
            return death["queue"]
    partition = partition_of(str(message.properties.get("type") or ""), str(headers.get("partition-key", "")))
    return n.partition_queue(context, partition)


def redrive(context: str, *, prefix: str | None = None, url: str | None = None) -> int:
    """Move the messages now in ``context``'s dead-letter queue back to the partition queues they came
    from (``redrive_queue``), body and properties as they were but for the dead-letter headers and
    ``deferred-since`` (a message that had waited too long gets a whole deferral window again); how
    many moved.

    Each goes straight to its partition queue (the default exchange, by the queue's name), not through
    the events exchange, so another lifted context bound to the same type gets no copy. Published with
    confirms, ``mandatory``, and only then acked off the dead queue: a crash in between leaves a copy
    in both, which the consumer's inbox absorbs. Only the messages there at the start move, so one that
    dies again at once is not moved round for ever.
    """
    n = names(prefix)
    connection = connect(url)
    moved = 0
    try:
        channel = connection.channel()
        channel.confirm_select()
        returned: list[str] = []
        channel.events["basic_return"].add(lambda exc, *_: returned.append(exc.reply_text))
        waiting = channel.queue_declare(n.dead_queue(context), passive=True).message_count
        for _ in range(waiting):
            message = channel.basic_get(n.dead_queue(context), no_ack=False)
            if message is None:
                break
            headers = {
                key: value
                for key, value in (message.properties.get("application_headers") or {}).items()
                # A fresh deferral window too: it was re-driven because its cause is gone or being fixed.
                if key not in (REASON_HEADER, "dead-letter-queue", "x-death", "x-delivery-count", DEFERRED_SINCE_HEADER)
            }
            properties = {k: v for k, v in message.properties.items() if k != "application_headers"}
            queue = redrive_queue(context, message, prefix=n.prefix)
            channel.basic_publish_confirm(
                amqp.Message(message.body, application_headers=headers, **properties),
                exchange="",
                routing_key=queue,
                mandatory=True,
                confirm_timeout=30,
            )
            if returned:  # no queue for it: leave it dead rather than lose it
                channel.basic_reject(message.delivery_tag, requeue=True)
                raise amqp.exceptions.NotFound(f"No queue {queue}: {returned[0]}")
            channel.basic_ack(message.delivery_tag)
            moved += 1
    finally:
        connection.close()
    return moved

"""The consumer: a lifted context's partition queues, applied to its subscriptions in its own process.

Each message is applied like an in-process delivery (``delivery.apply_once``): in one transaction on
the context's database, the inbox row ``(event_id, subscription)`` and the handler's writes for each
of the context's subscriptions to the event's type; the message is acked only after that commit
(what has arrived is applied together, one commit for many). A message seen before (the relay resent
it, the consumer died before its ack) finds its inbox rows and changes nothing.

Scale: the context's queue is split in ``EVENTS_PARTITIONS`` partition queues (an aggregate always in
the same one), and each consumer process consumes only those it holds a lease on (``leases``): the
live processes share them fairly, a newcomer gets its share once the others have settled what they
hold of it, and a process that dies leaves its partitions to the others a lease TTL later. A partition
whose queue is not declared (``EVENTS_PARTITIONS`` raised before ``declare_topology`` ran again) is
skipped, with an error saying so, and its lease given back; the others are consumed meanwhile.

Order: each partition queue has a single active consumer (a second holder by accident waits as a hot
standby), and this process applies the messages in the order they arrived, per *stream*: the
publishing context and the aggregate the relay named (``partition-key``; none: the publisher's whole
outbox), each stream in one partition. A handler
that fails holds back the later messages of its stream, which wait in the prefetch window, and is
retried with the bus's backoff (capped); the other streams go on meanwhile. After ``MAX_ATTEMPTS``
failures the message goes to the dead-letter queue with the last error in its ``dead-letter-reason``
header.

A handler that raises ``Deferred`` (the event came before one it depends on: a dispatch whose order's
``OrderPlaced`` comes from another outbox) has not failed, and may wait for days: it must not sit in
the prefetch window that long. The message is published (confirmed, ``mandatory``) to the context's
wait queue, routed by the name of the queue it came from, with an ``expiration`` of
``EVENTS_DEFER_RETRY_SECONDS``, and acked here; once it expires the broker returns it to that queue
and it is tried again. Its
``deferred-since`` header keeps the first deferral's time across rounds; once
``EVENTBUS["DEFER_FOR_SECONDS"]`` have passed since then it is dead-lettered, saying how long it
waited and for what. The later messages of its stream that this process sees while it waits follow it
into the wait queue, and are applied only after it, in their order. (That bookkeeping is this
process's: a consumer that takes over meanwhile applies what comes back in the order it comes back,
which is the wait queue's, but a newer message of the stream that reaches it directly before the
waiting ones return is not held back; and a process that lost the queue forgets, after many rounds
of the wait queue, a stream whose waiting message never came back to it.) A message no
release of this code can read (not JSON, an unknown type, a newer version, a payload that does not
fit) is dead-lettered at once with its reason. A message that kills the consumer every time is
dead-lettered by the broker itself after the queue's delivery limit. The database failing (not the
handler) costs no attempt: the messages wait until it answers. The broker refusing (``basic.nack``) a
message moved to the wait or the dead-letter queue is handled like a broken connection: reconnect
later; the message, not acked, comes back.
"""

import contextlib
import logging
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import amqp
from django.conf import settings
from django.db import DatabaseError, connections, transaction
from django.utils import timezone

from commerce import metrics
from commerce.database import database_for
from commerce.eventbus import delivery as bookkeeping
from commerce.eventbus.models import OutboxMessage
from commerce.eventbus.remote import amqp as port
from commerce.eventbus.remote.leases import Leases, new_holder
from commerce.eventbus.subscriptions import Subscription, subscriptions_of

logger = logging.getLogger(__name__)

PREFETCH = 50  # unacked messages in hand: the window other streams advance in while one is retried
MAX_BACKOFF_SECONDS = 30.0  # a failing handler holds its stream: retry sooner than the outbox would


@dataclass
class _Pending:
    message: amqp.Message
    queue: str = ""  # the partition queue it came from (a deferral returns it there, and so does a redrive)
    outbox: OutboxMessage | None = None
    subscriptions: tuple[Subscription, ...] = ()
    stream: tuple[str, str] = ("", "")
    poison: str = ""
    attempts: int = 0
    not_before: float = 0.0
    errors: list[str] = field(default_factory=list)


class Consumer:
    def __init__(
        self, context: str, *, url: str | None = None, prefix: str | None = None, prefetch: int = PREFETCH
    ) -> None:
        self.context = context
        self.alias = database_for(context)
        self.url = url
        self.names = port.names(prefix)
        self.prefetch = prefetch
        self.max_attempts = settings.EVENTBUS["MAX_ATTEMPTS"]
        self.handled = 0
        self._connection: amqp.Connection | None = None
        self._channel: amqp.Channel | None = None
        self._pending: list[_Pending] = []
        self._stopping = False
        self.partitions = settings.EVENTS_PARTITIONS
        self.lease_seconds = settings.EVENTS_LEASE_SECONDS
        self.leases = Leases(
            context, self.alias, holder=new_holder(), partitions=self.partitions, ttl=self.lease_seconds
        )
        self.held: set[int] = set()  # partitions whose lease this process holds
        self._surplus: set[int] = set()  # held beyond the fair share: given up once none of theirs is in hand
        self._consuming: dict[int, str] = {}  # partition -> consumer tag, on the current channel
        self._queue_of_tag: dict[str, str] = {}
        self._next_tend = 0.0
        self._held_until = 0.0  # monotonic: the leases last renewed run out then
        self._missing: set[str] = set()  # partition queues found undeclared (said once, until they exist)
        self._wanting = False  # holds less than every member's due (another's lease to expire or be given up)
        # Per stream, the messages this process has put in the wait queue, in the stream's order, and
        # when the first of them last went there. A stream whose first waiting message has not come
        # back for this long is forgotten (it went to another consumer, this one having lost the queue
        # meanwhile), so the stream is not held back for ever: many rounds of the wait queue, and 10
        # minutes at least.
        self._waiting: dict[tuple[str, str], list[str]] = {}
        self._waiting_touched: dict[tuple[str, str], float] = {}
        self.forget_waiting_after = max(600.0, 20.0 * settings.EVENTS_DEFER_RETRY_SECONDS)

    @property
    def queues(self) -> str:
        """The partition queues of the context, for an operator's eyes."""
        return f"{self.names.partition_queue(self.context, 0)}..{self.partitions - 1}"

    # --- The broker --------------------------------------------------------------------------------
    def _open(self) -> None:
        self._connection = port.connect(self.url)
        self._channel = self._connection.channel()
        self._channel.basic_qos(prefetch_size=0, prefetch_count=self.prefetch, a_global=False)
        self._channel.confirm_select()  # for dead letters published by this consumer
        self._channel.events["basic_return"].add(self._on_return)
        self._returned: list[str] = []
        self._pending.clear()  # unacked: the broker gives them again on the new channel
        self._consuming.clear()
        self._queue_of_tag.clear()
        self._next_tend = 0.0
        self._tend()  # consume what this process holds a lease on, and only that

    # --- The partitions it holds -------------------------------------------------------------------
    def _tend(self) -> None:
        """Every third of the lease TTL: heartbeat and leases (``leases.Leases.tend``), then consume the
        partitions held, and stop consuming the surplus (its lease goes once nothing of it is in hand)."""
        now = time.monotonic()
        if now >= self._next_tend:
            self._next_tend = now + self.lease_seconds / 3
            try:
                tended = self.leases.tend()
            except DatabaseError as error:
                logger.error("Renewing %s's partition leases failed on the database (%s)", self.context, error)
                connections[self.alias].close()
                if time.monotonic() >= self._held_until and (self.held or self._consuming):
                    # The leases may be someone else's by now: give back everything in hand.
                    logger.error(
                        "%s's partition leases ran out: consuming nothing until they are renewed", self.context
                    )
                    self.held.clear()
                    self._surplus.clear()
                    self._close()
                return
            self._held_until = now + self.lease_seconds
            lost = self.held - tended.held
            if lost & (set(self._consuming) | {self._partition_of_queue(p.queue) for p in self._pending}):
                # Held by another process now (this one was cut off past the TTL): what it has in hand of
                # them goes back to their queues with the channel, in order, for the new holder.
                logger.warning("%s lost partitions %s to another consumer: reconnecting", self.context, sorted(lost))
                self.held = set(tended.held)
                self._surplus = set(tended.surplus)
                self._close()
                return
            if tended.held != self.held:
                logger.info(
                    "%s: holding partitions %s of %d (%d consumers, %d each)",
                    self.context,
                    sorted(tended.held),
                    self.partitions,
                    tended.members,
                    tended.share,
                )
            self.held = set(tended.held)
            self._surplus = set(tended.surplus)
            self._wanting = len(tended.held) < tended.minimum
        if self._channel is None:
            return
        missing = set()
        for partition in sorted(self.held - self._surplus - set(self._consuming)):
            queue = self.names.partition_queue(self.context, partition)
            if not self._queue_exists(queue):
                missing.add(partition)
                continue
            tag = self._channel.basic_consume(
                queue, consumer_tag=f"{self.leases.holder}/{partition}", callback=self._arrived
            )
            self._consuming[partition] = tag
            self._queue_of_tag[tag] = queue
        if missing:
            self._skip_missing(missing)
        for partition in sorted(self._surplus & set(self._consuming)):
            self._channel.basic_cancel(self._consuming.pop(partition))  # what is in hand of it stays ours
        in_hand = {p.queue for p in self._pending}
        released = {
            p
            for p in self._surplus
            if p not in self._consuming and self.names.partition_queue(self.context, p) not in in_hand
        }
        if released:
            try:
                self.leases.release(released)
            except DatabaseError as error:  # kept, and given up at the next round
                logger.error("Releasing %s's partitions failed on the database (%s)", self.context, error)
                connections[self.alias].close()
                return
            self.held -= released
            self._surplus -= released

    def _queue_exists(self, queue: str) -> bool:
        """Whether the partition queue is declared, asked on a channel of its own (a missing queue makes
        the broker close the channel that asked)."""
        channel = self._connection.channel()
        try:
            channel.queue_declare(queue, passive=True)
        except amqp.exceptions.NotFound:
            if queue not in self._missing:
                logger.error(
                    "%s does not exist (EVENTS_PARTITIONS raised before the topology was declared again?): "
                    "skipping it and consuming the others; run manage.py declare_topology",
                    queue,
                )
                self._missing.add(queue)
            return False
        finally:
            if channel.is_open:
                channel.close()
        if queue in self._missing:
            logger.warning("%s exists now: consuming it", queue)
            self._missing.discard(queue)
        return True

    def _skip_missing(self, partitions: set[int]) -> None:
        """Give back the leases of partitions whose queue is missing (nothing of theirs is in hand): the
        next round takes them again, and consumes them once ``declare_topology`` has declared them."""
        try:
            self.leases.release(partitions)
        except DatabaseError as error:  # kept, and given up at the next round
            logger.error("Releasing %s's partitions failed on the database (%s)", self.context, error)
            connections[self.alias].close()
            return
        self.held -= partitions
        self._surplus -= partitions

    def _partition_of_queue(self, queue: str) -> int | None:
        stem = self.names.partition_queue(self.context, 0)[:-1]
        suffix = queue.removeprefix(stem)
        return int(suffix) if queue.startswith(stem) and suffix.isdigit() else None

    def _leave(self) -> None:
        """Stopping: the broker connection is closed (what was in hand is back in its queues), so the
        leases go now rather than a TTL later."""
        try:
            self.leases.leave()
        except DatabaseError as error:
            logger.warning(
                "Leaving %s's partitions failed on the database (%s): they expire instead", self.context, error
            )
            connections[self.alias].close()
        self.held.clear()
        self._surplus.clear()

    def _arrived(self, message: amqp.Message) -> None:
        pending = _Pending(message, queue=self._queue_of_tag.get(message.delivery_info.get("consumer_tag"), ""))
        try:
            pending.outbox = port.outbox_message_from(message)
        except port.PoisonMessage as poison:
            pending.poison = str(poison)
        else:
            name = pending.outbox.event_type
            pending.subscriptions = subscriptions_of(self.context, name)
            if not pending.subscriptions:
                pending.poison = f"unknown event type: {self.context} has no subscription to {name}"
            headers = message.properties.get("application_headers") or {}
            pending.stream = (name.split(".", 1)[0], str(headers.get("partition-key", "")))
        self._pending.append(pending)

    def _on_return(self, exc, exchange: str, routing_key: str, message: amqp.Message) -> None:
        self._returned.append(f"{exchange}/{routing_key}: {exc.reply_text}")

    def _close(self) -> None:
        connection, self._connection, self._channel = self._connection, None, None
        self._consuming.clear()
        self._queue_of_tag.clear()
        self._pending.clear()  # unacked: the broker gives them again
        if connection is not None:
            try:
                connection.close()
            except Exception:
                logger.debug("Closing a broken broker connection", exc_info=True)

    def stop(self) -> None:
        """Finish what is in hand, then stop (SIGTERM): what was prefetched goes back to the queue."""
        self._stopping = True

    # --- The loop ----------------------------------------------------------------------------------
    def run(self, *, max_messages: int | None = None, idle_exit: float | None = None) -> int:
        """Consume until stopped, ``max_messages`` handled, or ``idle_exit`` seconds without a message."""
        failures = 0
        idle_since = time.monotonic()
        while not self._stopping and (max_messages is None or self.handled < max_messages):
            try:
                if self._connection is None:
                    self._open()
                    if failures:
                        logger.warning("The broker answers again: consuming %s", self.queues)
                    failures = 0
                self._tend()
                if self._connection is None:  # gave its partitions back: a new channel, for what it holds
                    continue
                self._receive(wait=0.5 if not self._pending else 0.002)
                if self._pending or self._wanting:  # a share still to take over is not idleness
                    if self._pending and not self.process():
                        self._wait_for_a_retry()
                    idle_since = time.monotonic()
                elif idle_exit is not None and time.monotonic() - idle_since >= idle_exit:
                    break
            except port.CONNECTION_ERRORS as error:
                self._close()
                failures += 1
                if idle_exit is not None and time.monotonic() - idle_since >= idle_exit:
                    logger.error("The broker is unavailable (%s); idle for %.0fs, exiting", error, idle_exit)
                    break
                wait = min(30.0, 0.5 * 2 ** min(failures - 1, 6))
                if idle_exit is not None:
                    wait = min(wait, max(0.1, idle_exit - (time.monotonic() - idle_since)))
                if failures == 1 or failures % 10 == 0:
                    hint = " (run manage.py declare_topology)" if isinstance(error, amqp.exceptions.NotFound) else ""
                    if isinstance(error, amqp.exceptions.MessageNacked):  # kept unacked: it comes back
                        what = "refused a message this consumer moved (basic.nack: its wait or dead-letter queue full?)"
                    else:
                        what = f"is unavailable ({error})"
                    logger.error("The broker %s%s; reconnecting in %.1fs", what, hint, wait)
                time.sleep(wait)
        self._close()
        self._leave()
        return self.handled

    def _receive(self, *, wait: float) -> None:
        """Wait up to ``wait`` seconds for a message, then take whatever else has arrived meanwhile
        (py-amqp hands over one frame set per call)."""
        with contextlib.suppress(TimeoutError):
            self._connection.drain_events(timeout=wait)
            while len(self._pending) < self.prefetch:
                self._connection.drain_events(timeout=0.002)

    def _wait_for_a_retry(self) -> None:
        soonest = min(p.not_before for p in self._pending)
        time.sleep(max(0.0, min(0.5, soonest - time.monotonic())))

    def process(self) -> bool:
        """Apply, in one transaction, every message in hand whose stream is not held back, in order;
        ack the applied ones after the commit; dead-letter poison and the exhausted. Whether any
        message was settled."""
        now = time.monotonic()
        settled = False
        for pending in [p for p in self._pending if p.poison]:
            self._dead_letter(pending, pending.poison)
            settled = True
        settled |= self._send_behind_waiting()
        held: set[tuple[str, str]] = set()
        batch: list[_Pending] = []
        for pending in self._pending:
            if pending.stream in held:
                continue
            if pending.not_before > now:
                held.add(pending.stream)  # it waits for its retry: so do the later ones of its stream
                continue
            batch.append(pending)
        if not batch:
            return settled
        failed: set[tuple[str, str]] = set()
        applied: list[_Pending] = []
        errors: dict[int, list[str]] = {}
        try:
            with transaction.atomic(using=self.alias):
                for pending in batch:
                    if pending.stream in failed:
                        continue
                    found = self._apply_each(pending.subscriptions, pending.outbox)
                    if found:
                        failed.add(pending.stream)
                        errors[id(pending)] = found
                    else:
                        applied.append(pending)
        except DatabaseError as error:  # the commit failed: the database, not the handlers
            logger.error("Applying %d messages failed on the database (%s); retrying", len(batch), error)
            connections[self.alias].close()
            for pending in batch:
                pending.not_before = now + 1.0
            return settled
        for pending in applied:
            self._channel.basic_ack(pending.message.delivery_tag)
            self._pending.remove(pending)
            self._no_longer_waiting(pending)
        self.handled += len(applied)
        metrics.events_reached("consumer", (pending.outbox.occurred_at for pending in applied))
        for pending in batch:
            if id(pending) not in errors:
                continue
            if all(isinstance(error, bookkeeping.DeferredError) for error in errors[id(pending)]):
                self._defer(pending, errors[id(pending)])  # not a failure: it waits, out of the window
                settled = True
                continue
            pending.attempts += 1
            pending.errors = errors[id(pending)]
            if pending.attempts >= self.max_attempts:
                self._dead_letter(pending, f"handler failed {pending.attempts} times: {'; '.join(pending.errors)}")
                settled = True
            else:
                backoff = min(MAX_BACKOFF_SECONDS, bookkeeping.backoff_seconds(pending.attempts))
                pending.not_before = time.monotonic() + backoff
        return settled or bool(applied)

    def _apply_each(self, subscriptions, outbox) -> list[str]:
        """Each subscription in a savepoint of the open transaction; the errors of those that failed."""
        errors = []
        for subscription in subscriptions:
            error = bookkeeping.apply_once(self.alias, subscription, outbox)
            if error is not None:
                kind = bookkeeping.DeferredError if isinstance(error, bookkeeping.DeferredError) else str
                errors.append(kind(f"{subscription.name}: {error}"))
        return errors

    def _dead_letter(self, pending: _Pending, reason: str) -> None:
        """Publish the message, untouched but for the reason, to the context's dead-letter queue
        (confirmed, ``mandatory``), then ack the original."""
        message = pending.message
        logger.error("Dead-lettering %s (%s): %s", message.properties.get("message_id"), self.context, reason)
        headers = dict(message.properties.get("application_headers") or {})
        headers[port.REASON_HEADER] = reason[:4000]
        headers["dead-letter-queue"] = pending.queue
        properties = {k: v for k, v in message.properties.items() if k != "application_headers"}
        dead = amqp.Message(message.body, application_headers=headers, **properties)
        self._returned.clear()
        self._channel.basic_publish_confirm(
            dead, exchange=self.names.dead_exchange, routing_key=self.context, mandatory=True, confirm_timeout=30
        )
        if self._returned:  # no dead-letter queue: keep the message where it is rather than lose it
            raise amqp.exceptions.NotFound(f"No dead-letter queue for {self.context}: {self._returned[0]}")
        self._channel.basic_ack(message.delivery_tag)
        self._pending.remove(pending)
        self._no_longer_waiting(pending)
        self.handled += 1

    # --- Deferred messages: the wait queue ------------------------------------------------------------
    def _defer(self, pending: _Pending, errors: list[str]) -> None:
        """Park a message whose handlers deferred it in the wait queue, to come back to the queue it
        came from after ``EVENTS_DEFER_RETRY_SECONDS``; dead-letter it instead once it has waited
        ``DEFER_FOR_SECONDS`` since its first deferral."""
        headers = pending.message.properties.get("application_headers") or {}
        now = timezone.now()
        since = _deferred_since(headers.get(port.DEFERRED_SINCE_HEADER)) or now
        error = "; ".join(errors)
        if now - since >= timedelta(seconds=settings.EVENTBUS["DEFER_FOR_SECONDS"]):
            self._dead_letter(pending, bookkeeping.waited_too_long(since, now, error))
            return
        logger.info("Deferred %s (%s) since %s: %s", _message_id(pending), self.context, since.isoformat(), error)
        self._to_wait_queue(pending, {port.DEFERRED_SINCE_HEADER: since.isoformat()})

    def _send_behind_waiting(self) -> bool:
        """Send to the wait queue, behind the one that waits, each message in hand of a stream that has
        one waiting, unless every waiting one of that stream ahead of it is in hand too (come back), so
        the batch applies them in order. Whether any was sent."""
        now = time.monotonic()
        for stream, touched in list(self._waiting_touched.items()):
            if now - touched > self.forget_waiting_after:
                logger.warning("Forgetting %s of %s in the wait queue: none came back", self._waiting[stream], stream)
                del self._waiting[stream], self._waiting_touched[stream]
        if not self._waiting:
            return False
        sent = False
        in_hand: dict[tuple[str, str], set[str]] = {}
        for pending in list(self._pending):
            waiting = self._waiting.get(pending.stream)
            if waiting is None or pending.poison:
                continue
            seen = in_hand.setdefault(pending.stream, set())
            message_id = _message_id(pending)
            ahead = waiting[: waiting.index(message_id)] if message_id in waiting else waiting
            if all(earlier in seen for earlier in ahead):
                seen.add(message_id)
                continue
            logger.info("%s (%s) waits behind %s, its stream's", message_id, self.context, ahead[0])
            self._to_wait_queue(pending, {})
            sent = True
        return sent

    def _to_wait_queue(self, pending: _Pending, extra_headers: dict[str, str]) -> None:
        """Publish the message, untouched but for ``extra_headers`` and the broker's ``x-`` headers of
        its earlier rounds (the wait queue would take a repeated ``x-death`` for a cycle and drop it),
        to the wait exchange under the name of the queue it came from (confirmed, ``mandatory``); then
        ack the original, and note it waiting in its stream's order."""
        message = pending.message
        headers = {
            key: value
            for key, value in (message.properties.get("application_headers") or {}).items()
            if not key.startswith("x-")
        }
        headers.update(extra_headers)
        properties = {k: v for k, v in message.properties.items() if k != "application_headers"}
        properties["expiration"] = (
            port.wait_expiration()
        )  # its time in the wait queue (the broker drops it on the way back)
        self._returned.clear()
        self._channel.basic_publish_confirm(
            amqp.Message(message.body, application_headers=headers, **properties),
            exchange=self.names.wait_exchange,
            routing_key=pending.queue,
            mandatory=True,
            confirm_timeout=30,
        )
        if self._returned:  # no wait queue bound for that queue: keep the message rather than lose it
            raise amqp.exceptions.NotFound(f"No wait queue for {pending.queue}: {self._returned[0]}")
        self._channel.basic_ack(message.delivery_tag)
        self._pending.remove(pending)
        waiting = self._waiting.setdefault(pending.stream, [])
        if _message_id(pending) not in waiting:
            waiting.append(_message_id(pending))
        if waiting[0] == _message_id(pending):  # the one its stream waits for came back (not a follower)
            self._waiting_touched[pending.stream] = time.monotonic()

    def _no_longer_waiting(self, pending: _Pending) -> None:
        """A settled message (applied, or dead-lettered) no longer holds its stream back."""
        waiting = self._waiting.get(pending.stream)
        if waiting is None:
            return
        with contextlib.suppress(ValueError):
            waiting.remove(_message_id(pending))
        if not waiting:
            del self._waiting[pending.stream], self._waiting_touched[pending.stream]


def _message_id(pending: _Pending) -> str:
    return str(pending.outbox.event_id) if pending.outbox else str(pending.message.properties.get("message_id"))


def _deferred_since(value: object) -> datetime | None:
    """The ``deferred-since`` header's time; None when absent or unreadable (then the clock starts now)."""
    if not value:
        return None
    try:
        since = datetime.fromisoformat(value.decode() if isinstance(value, bytes) else str(value))
    except ValueError:
        return None
    return since if since.tzinfo else since.replace(tzinfo=UTC)

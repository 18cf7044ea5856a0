"""The consumer: a lifted context's queue, applied to that context's subscriptions in its own process.

Each message is applied like an in-process delivery (``delivery.apply_once``): in one transaction on
the context's database, the inbox row ``(event_id, subscription)`` and the handler's writes for each
of the context's subscriptions to the event's type; the message is acked only after that commit
(what has arrived is applied together, one commit for many). A message seen before (the relay resent
it, the consumer died before its ack) finds its inbox rows and changes nothing.

Order: the queue has a single active consumer (another consumer process waits as a hot standby), and
this process applies the messages in the order they arrived, per *stream*: the publishing context
and the aggregate the relay named (``partition-key``; none: the publisher's whole outbox). A handler
that fails holds back the later messages of its stream, which wait in the prefetch window, and is
retried with the bus's backoff (capped); the other streams go on meanwhile, so an event that waits
for another (a dispatch whose order's ``OrderPlaced`` comes from another outbox, behind it in the
queue) lets that one through instead of blocking on it. After ``MAX_ATTEMPTS`` failures the message
goes to the dead-letter queue with the last error in its ``dead-letter-reason`` header. A message no
release of this code can read (not JSON, an unknown type, a newer version, a payload that does not
fit) is dead-lettered at once with its reason. A message that kills the consumer every time is
dead-lettered by the broker itself after the queue's delivery limit. The database failing (not the
handler) costs no attempt: the messages wait until it answers.
"""

import contextlib
import logging
import time
from dataclasses import dataclass, field

import amqp
from django.conf import settings
from django.db import DatabaseError, connections, transaction

from commerce import metrics
from commerce.database import database_for
from commerce.eventbus import delivery as bookkeeping
from commerce.eventbus.models import OutboxMessage
from commerce.eventbus.remote import amqp as port
from commerce.eventbus.subscriptions import Subscription, subscriptions_of

logger = logging.getLogger(__name__)

PREFETCH = 50  # unacked messages in hand: the window other streams advance in while one is retried
MAX_BACKOFF_SECONDS = 30.0  # a failing handler holds its stream: retry sooner than the outbox would


@dataclass
class _Pending:
    message: amqp.Message
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

    # --- The broker --------------------------------------------------------------------------------
    def _open(self) -> None:
        self._connection = port.connect(self.url)
        self._channel = self._connection.channel()
        self._channel.basic_qos(prefetch_size=0, prefetch_count=self.prefetch, a_global=False)
        self._channel.confirm_select()  # for dead letters published by this consumer
        self._channel.events["basic_return"].add(self._on_return)
        self._returned: list[str] = []
        self._pending.clear()  # unacked: the broker gives them again on the new channel
        self._channel.basic_consume(self.names.queue(self.context), callback=self._arrived)

    def _arrived(self, message: amqp.Message) -> None:
        pending = _Pending(message)
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
                        logger.warning("The broker answers again: consuming %s", self.names.queue(self.context))
                    failures = 0
                self._receive(wait=0.5 if not self._pending else 0.002)
                if self._pending:
                    if not self.process():
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
                    logger.error("The broker is unavailable (%s)%s; reconnecting in %.1fs", error, hint, wait)
                time.sleep(wait)
        self._close()
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
        self.handled += len(applied)
        metrics.events_reached("consumer", (pending.outbox.occurred_at for pending in applied))
        for pending in batch:
            if id(pending) not in errors:
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
                errors.append(f"{subscription.name}: {error}")
        return errors

    def _dead_letter(self, pending: _Pending, reason: str) -> None:
        """Publish the message, untouched but for the reason, to the context's dead-letter queue
        (confirmed, ``mandatory``), then ack the original."""
        message = pending.message
        logger.error("Dead-lettering %s (%s): %s", message.properties.get("message_id"), self.context, reason)
        headers = dict(message.properties.get("application_headers") or {})
        headers[port.REASON_HEADER] = reason[:4000]
        headers["dead-letter-queue"] = self.names.queue(self.context)
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
        self.handled += 1

"""The consumer: a lifted context's queue, applied to that context's subscriptions in its own process.

Each message is applied like an in-process delivery (``delivery.apply_once``): in one transaction on
the context's database, the inbox row ``(event_id, subscription)`` and the handler's writes for each
of the context's subscriptions to the event's type; the message is acked only after that commit. A
message seen before (the relay resent it, the consumer died before its ack) finds its inbox rows
and changes nothing.

Order: the queue has a single active consumer (another consumer process waits as a hot standby), and
this process applies its messages one at a time in the order they arrived; a handler that fails is
retried here, holding the queue, with the bus's backoff (capped), so the next event of the same
order never overtakes it. After ``MAX_ATTEMPTS`` failures the message goes to the dead-letter queue
with the last error in its ``dead-letter-reason`` header and the queue moves on. A message that no
release of this code can read (not JSON, an unknown type, a newer version, a payload that does not
fit) is dead-lettered at once with its reason. A message that kills the consumer every time is
dead-lettered by the broker itself after the queue's delivery limit. The database failing (not the
handler) costs no attempt: the message is retried until the database answers.
"""

import contextlib
import logging
import time
from collections import deque

import amqp
from django.conf import settings
from django.db import DatabaseError, connections, transaction

from commerce.database import database_for
from commerce.eventbus import delivery as bookkeeping
from commerce.eventbus.remote import amqp as port
from commerce.eventbus.subscriptions import subscriptions_of

logger = logging.getLogger(__name__)

PREFETCH = 50  # also the most messages applied in one transaction
MAX_BACKOFF_SECONDS = 30.0  # a failing handler holds its queue: retry sooner than the outbox would


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
        self._received: deque[amqp.Message] = deque()
        self._stopping = False

    # --- The broker --------------------------------------------------------------------------------
    def _open(self) -> None:
        self._connection = port.connect(self.url)
        self._channel = self._connection.channel()
        self._channel.basic_qos(prefetch_size=0, prefetch_count=self.prefetch, a_global=False)
        self._channel.confirm_select()  # for dead letters published by this consumer
        self._channel.events["basic_return"].add(self._on_return)
        self._returned: list[str] = []
        self._received.clear()
        self._channel.basic_consume(self.names.queue(self.context), callback=self._received.append)

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
        """Finish the message in hand, then stop (SIGTERM): what was prefetched goes back to the queue."""
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
                if not self._received:
                    self._receive()
                if self._received:
                    self._handle_received(max_messages)
                    idle_since = time.monotonic()
                elif idle_exit is not None and time.monotonic() - idle_since >= idle_exit:
                    break
            except port.CONNECTION_ERRORS as error:
                self._close()
                failures += 1
                wait = min(30.0, 0.5 * 2 ** min(failures - 1, 6))
                if failures == 1 or failures % 10 == 0:
                    logger.error("The broker is unavailable (%s); reconnecting in %.1fs", error, wait)
                time.sleep(wait)
        self._close()
        return self.handled

    def _receive(self) -> None:
        """Wait up to half a second for a message, then take whatever else has arrived meanwhile
        (py-amqp hands over one frame set per call), up to the prefetch."""
        with contextlib.suppress(TimeoutError):
            self._connection.drain_events(timeout=0.5)
            while len(self._received) < self.prefetch:
                self._connection.drain_events(timeout=0.002)

    def _handle_received(self, max_messages: int | None) -> None:
        """Apply the messages already received in one transaction (one commit for many), in order,
        up to the first one that is poison or whose handler fails; ack them with one ``multiple``
        ack after the commit; then handle that one alone (retries, dead-letter) before the rest."""
        room = self.prefetch if max_messages is None else max(1, min(self.prefetch, max_messages - self.handled))
        batch = [self._received.popleft() for _ in range(min(room, len(self._received)))]
        applied: list[amqp.Message] = []
        stopped, failed_once = None, False
        try:
            with transaction.atomic(using=self.alias):
                for position, message in enumerate(batch):
                    try:
                        outbox = port.outbox_message_from(message)
                    except port.PoisonMessage:
                        stopped = position
                        break
                    subscriptions = subscriptions_of(self.context, outbox.event_type)
                    errors = self._apply_each(subscriptions, outbox) if subscriptions else ["no subscription"]
                    if errors:
                        stopped, failed_once = position, bool(subscriptions)
                        break
                    applied.append(message)
        except DatabaseError:  # nothing of the batch happened: one at a time, waiting for the database
            for message in batch:
                self.handle(message)
            return
        if applied:
            self._channel.basic_ack(applied[-1].delivery_tag, multiple=True)
            self.handled += len(applied)
        if stopped is not None:
            self._received.extendleft(reversed(batch[stopped + 1 :]))
            self.handle(batch[stopped], failed_before=int(failed_once))

    def handle(self, message: amqp.Message, *, failed_before: int = 0) -> None:
        """Apply one message and ack it after the commit, or dead-letter it; never raises for the
        message's own fault (only for the broker's)."""
        try:
            outbox = port.outbox_message_from(message)
        except port.PoisonMessage as poison:
            self._dead_letter(message, str(poison))
            return
        subscriptions = subscriptions_of(self.context, outbox.event_type)
        if not subscriptions:
            self._dead_letter(message, f"unknown event type: {self.context} has no subscription to {outbox.event_type}")
            return
        attempts, outage = failed_before, 0
        if attempts >= self.max_attempts:
            self._dead_letter(message, f"handler failed {attempts} times")
            return
        while True:
            if attempts:
                time.sleep(min(MAX_BACKOFF_SECONDS, bookkeeping.backoff_seconds(attempts)))
            try:
                errors = self._apply(subscriptions, outbox)
            except DatabaseError as error:  # the commit failed: the database, not the handler
                outage += 1
                logger.error("Applying %s failed on the database (%s); retrying", outbox.event_id, error)
                connections[self.alias].close()
                time.sleep(min(MAX_BACKOFF_SECONDS, 0.5 * 2 ** min(outage - 1, 6)))
                continue
            if not errors:
                self._channel.basic_ack(message.delivery_tag)
                self.handled += 1
                return
            attempts += 1
            if attempts >= self.max_attempts:
                self._dead_letter(message, f"handler failed {attempts} times: {'; '.join(errors)}")
                return

    def _apply(self, subscriptions, outbox) -> list[str]:
        with transaction.atomic(using=self.alias):
            return self._apply_each(subscriptions, outbox)

    def _apply_each(self, subscriptions, outbox) -> list[str]:
        """Each subscription in a savepoint of the open transaction; the errors of those that failed."""
        errors = []
        for subscription in subscriptions:
            error = bookkeeping.apply_once(self.alias, subscription, outbox)
            if error is not None:
                errors.append(f"{subscription.name}: {error}")
        return errors

    def _dead_letter(self, message: amqp.Message, reason: str) -> None:
        """Publish the message, untouched but for the reason, to the context's dead-letter queue
        (confirmed, ``mandatory``), then ack the original."""
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
        self.handled += 1

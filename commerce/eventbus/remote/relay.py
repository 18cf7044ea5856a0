"""The relay: the outbox's ``relay:*`` deliveries, published to RabbitMQ, marked after the broker's ack.

One batch is one transaction on the publisher's database:

1. **Claim** the due ``relay:*`` deliveries, oldest first, with ``SELECT … FOR UPDATE SKIP LOCKED``
   (on PostgreSQL after taking their streams with tried advisory locks, see ``claim``): rows another
   relay holds are skipped, never read twice, and stay locked until that relay commits or dies (then
   they are due again). Of the rows claimed, a row is kept only if no earlier row of
   its stream (the same subscription and ``partition_key``: one aggregate, or the whole outbox for
   an event type that names none) is still owed outside the claim: held by another relay, waiting
   for its retry after a failure. So several relays never send an aggregate's events out of order,
   and an event that failed holds back the later ones of its aggregate until it goes (or is
   dead-lettered: staff see it; holding its aggregate back forever would be worse).
2. **Publish** them in order on one channel in confirm mode, ``mandatory`` and persistent, without
   waiting between messages; then wait for the broker's confirms of the whole batch. The first
   message with a routing key not yet seen routed on this connection is sent alone and confirmed
   before the rest, so that an unroutable type (topology not declared) fails before anything after
   it in its stream has left.
3. **Mark** the acked ones delivered and commit. A message the broker returned (no queue bound:
   ``mandatory``) or refused (``basic.nack``) is a failed attempt: retried with the bus's backoff,
   dead-lettered after ``MAX_ATTEMPTS``, retried from the admin like any delivery.

A broker that cannot be reached is not the message's fault: the batch rolls back untouched (no
attempt counted) and the relay waits and reconnects, so an event that could not leave for days
leaves when the broker is back; pruning never removes an undelivered row. A relay killed after the
broker's ack but before its commit sends the batch again: the consumers' inboxes absorb the copies.

SQLite has no row locks to skip: run one relay there.
"""

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

import amqp
from django.db import DatabaseError, connections, transaction
from django.db.models import F
from django.utils import timezone

from commerce import metrics
from commerce.database import context_aliases
from commerce.eventbus import delivery as bookkeeping
from commerce.eventbus.models import Delivery
from commerce.eventbus.remote import amqp as port
from commerce.eventbus.subscriptions import RELAY_PREFIX, relayed_context

logger = logging.getLogger(__name__)

BATCH_SIZE = 500
CONFIRM_TIMEOUT_SECONDS = 30.0
WITHHELD = "withheld"  # not sent: an earlier message of its stream failed in this batch


class BrokerUnavailable(Exception):
    """The broker could not be reached or the connection broke: nothing about any message."""


OWED = (Delivery.Status.PENDING, Delivery.Status.FAILED)
# Streams whose rows the relay looks at per round: the heads of this many owed rows, oldest first.
WINDOW_FACTOR = 4
LOCK_CHUNK = 32


def _held_back_filter(table: str) -> str:
    """Of the rows in ``claimed``, those with no earlier owed row of their stream outside the claim."""
    return f"""
        streams AS MATERIALIZED (
            SELECT s.subscription, s.partition_key, (
                SELECT MIN(e.id) FROM {table} e
                WHERE e.subscription = s.subscription AND e.partition_key = s.partition_key
                  AND e.status IN (%s, %s) AND e.id NOT IN (SELECT id FROM claimed)
            ) AS held_back_from
            FROM (SELECT DISTINCT subscription, partition_key FROM claimed) s
        )
        SELECT c.id FROM claimed c
        JOIN streams s ON s.subscription = c.subscription AND s.partition_key = c.partition_key
        WHERE s.held_back_from IS NULL OR c.id < s.held_back_from
        ORDER BY c.id
    """


def claim(alias: str, limit: int = BATCH_SIZE, *, due_by: datetime | None = None) -> list[int]:
    """Lock and return the ids of up to ``limit`` relay deliveries this relay may send now, in order.
    Call inside a transaction on ``alias``: the locks last until it ends.

    On PostgreSQL a relay first takes whole streams (a transaction-scoped advisory lock per stream,
    tried, never waited for) among the oldest owed ones, then their due rows ``FOR UPDATE SKIP
    LOCKED``: two relays share the work by stream instead of the second finding only the followers
    of the first one's rows. SQLite has neither: its one relay takes the oldest due rows.
    """
    connection = connections[alias]
    table = connection.ops.quote_name(Delivery._meta.db_table)
    now = connection.ops.adapt_datetimefield_value(due_by or timezone.now())
    # Due, and not behind an earlier owed row of its stream that is not due (a failed head waiting for
    # its retry): decided before the LIMIT, so a window full of such followers never hides a healthy
    # stream's rows from the claim.
    # The heads that hold their streams back are few (rows waiting out a retry), so they are found once,
    # through the (status, next_attempt_at) index, rather than looked for behind every due row: a
    # correlated look-up per row read a 10 000-row stream once per row.
    blocked = f"""blocked AS MATERIALIZED (
            SELECT subscription, partition_key, MIN(id) AS first_id FROM {table}
            WHERE status IN (%s, %s) AND next_attempt_at > %s AND subscription LIKE %s
            GROUP BY subscription, partition_key
        )"""
    blocked_params = [*OWED, now, f"{RELAY_PREFIX}%"]
    due = """d.subscription LIKE %s AND d.status IN (%s, %s) AND d.next_attempt_at <= %s
        AND NOT EXISTS (
            SELECT 1 FROM blocked h
            WHERE h.subscription = d.subscription AND h.partition_key = d.partition_key AND h.first_id < d.id
        )"""
    due_params = [f"{RELAY_PREFIX}%", *OWED, now]
    with connection.cursor() as cursor:
        if connection.vendor != "postgresql":
            cursor.execute(
                f"""WITH {blocked}, claimed AS MATERIALIZED (
                        SELECT d.id, d.subscription, d.partition_key FROM {table} d WHERE {due}
                        ORDER BY d.id LIMIT %s
                    ), {_held_back_filter(table)}""",
                [*blocked_params, *due_params, limit, *OWED],
            )
            return [row[0] for row in cursor.fetchall()]
        streams = _lock_streams(cursor, table, blocked, blocked_params, due, due_params, limit)
        if not streams:
            return []
        cursor.execute(
            f"""WITH {blocked}, claimed AS MATERIALIZED (
                    SELECT d.id, d.subscription, d.partition_key FROM {table} d
                    JOIN unnest(%s::text[], %s::text[]) AS t(s, p) ON d.subscription = t.s AND d.partition_key = t.p
                    WHERE {due}
                    ORDER BY d.id LIMIT %s FOR UPDATE OF d SKIP LOCKED
                ), {_held_back_filter(table)}""",
            [*blocked_params, [s for s, _ in streams], [p for _, p in streams], *due_params, limit, *OWED],
        )
        return [row[0] for row in cursor.fetchall()]


def _lock_streams(
    cursor, table: str, blocked: str, blocked_params: list, due: str, due_params: list, limit: int
) -> list[tuple[str, str]]:
    """The streams (subscription, partition key) this relay now holds, enough for ``limit`` rows."""
    cursor.execute(
        f"""WITH {blocked} SELECT subscription, partition_key, MIN(id) AS first_id, COUNT(*) FROM (
                SELECT d.id, d.subscription, d.partition_key FROM {table} d WHERE {due} ORDER BY d.id LIMIT %s
            ) w GROUP BY subscription, partition_key ORDER BY first_id""",
        [*blocked_params, *due_params, limit * WINDOW_FACTOR],
    )
    heads = cursor.fetchall()
    held: list[tuple[str, str]] = []
    rows = 0
    for start in range(0, len(heads), LOCK_CHUNK):
        chunk = heads[start : start + LOCK_CHUNK]
        cursor.execute(
            """SELECT s, p FROM unnest(%s::text[], %s::text[]) WITH ORDINALITY AS t(s, p, n)
               WHERE pg_try_advisory_xact_lock(hashtextextended(s || chr(31) || p, 23)) ORDER BY n""",
            [[h[0] for h in chunk], [h[1] for h in chunk]],
        )
        locked = set(cursor.fetchall())
        for subscription, partition_key, _, count in chunk:
            if (subscription, partition_key) in locked:
                held.append((subscription, partition_key))
                rows += count
        if rows >= limit:
            break
    return held


@dataclass
class Outgoing:
    """One message to publish, for one delivery: one consuming context's copy of an outbox row, routed
    to the partition queue of its stream."""

    deliveries: list[Delivery]
    message: amqp.Message
    routing_key: str
    stream: tuple[str, str]
    error: str | None = None
    sent: bool = False


@dataclass
class _Confirms:
    outstanding: dict[int, Outgoing] = field(default_factory=dict)
    returned: dict[tuple[str, str], str] = field(default_factory=dict)  # (message_id, routing key): why


class Publisher:
    """A confirm-mode channel on one connection, kept open across batches and reopened after a failure."""

    def __init__(self, url: str | None = None, prefix: str | None = None) -> None:
        self.url = url
        self.names = port.names(prefix)
        self._connection: amqp.Connection | None = None
        self._channel: amqp.Channel | None = None
        self._next_tag = 1
        self._confirms = _Confirms()
        self._routable: set[str] = set()

    def close(self) -> None:
        connection, self._connection, self._channel = self._connection, None, None
        self._routable.clear()
        self._confirms = _Confirms()  # what was outstanding on it will never be confirmed
        if connection is not None:
            try:
                connection.close()
            except Exception:  # already broken: closing it is all that was left to do
                logger.debug("Closing a broken broker connection", exc_info=True)

    def _open(self) -> amqp.Channel:
        if self._channel is not None and self._connection is not None and self._connection.connected:
            return self._channel
        self.close()
        self._connection = port.connect(self.url)
        channel = self._connection.channel()
        channel.confirm_select()
        channel.events["basic_ack"].add(self._on_ack)
        channel.events["basic_nack"].add(self._on_nack)
        channel.events["basic_return"].add(self._on_return)
        self._channel, self._next_tag, self._confirms = channel, 1, _Confirms()
        return channel

    def connect(self) -> None:
        """Open the connection now (before the caller takes any database lock).

        :raises BrokerUnavailable: the broker could not be reached.
        """
        try:
            self._open()
        except port.CONNECTION_ERRORS as error:
            self.close()
            raise BrokerUnavailable(f"{type(error).__name__}: {error}") from error

    def _settle(self, tag: int, multiple: bool, error: str | None) -> None:
        tags = [t for t in self._confirms.outstanding if t <= tag] if multiple else [tag]
        for settled in tags:
            outgoing = self._confirms.outstanding.pop(settled, None)
            if outgoing is None:
                continue
            returned = self._confirms.returned.pop(
                (outgoing.message.properties["message_id"], outgoing.routing_key), None
            )
            outgoing.error = error or returned

    def _on_ack(self, tag: int, multiple: bool) -> None:
        self._settle(tag, multiple, None)

    def _on_nack(self, tag: int, multiple: bool) -> None:
        self._settle(tag, multiple, "The broker refused the message (basic.nack).")

    def _on_return(self, exc, exchange: str, routing_key: str, message: amqp.Message) -> None:
        # A returned message is followed by its ack: the ack settles it as failed.
        self._confirms.returned[(message.properties["message_id"], routing_key)] = (
            f"Unroutable: no queue bound to {routing_key!r} on {exchange!r} ({exc.reply_text}); "
            "run manage.py declare_topology."
        )

    def _send(self, outgoing: Outgoing) -> None:
        channel = self._open()
        channel.basic_publish(
            outgoing.message, exchange=self.names.exchange, routing_key=outgoing.routing_key, mandatory=True
        )
        self._confirms.outstanding[self._next_tag] = outgoing
        self._next_tag += 1
        outgoing.sent = True

    def _flush(self) -> None:
        deadline = time.monotonic() + CONFIRM_TIMEOUT_SECONDS
        while self._confirms.outstanding:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise BrokerUnavailable(f"No confirm from the broker within {CONFIRM_TIMEOUT_SECONDS:.0f}s")
            try:
                self._connection.drain_events(timeout=min(remaining, 1.0))
            except TimeoutError:
                continue

    def publish(self, batch: Sequence[Outgoing]) -> None:
        """Publish ``batch`` in order and wait for the broker's verdict on each (``error`` is set on the
        failed ones, ``WITHHELD`` on those not sent after an earlier failure of their stream).

        :raises BrokerUnavailable: the connection failed; which messages got through is unknown.
        """
        try:
            failed_streams: set[tuple[str, str]] = set()
            for outgoing in batch:
                if outgoing.stream in failed_streams:
                    outgoing.error = WITHHELD
                    continue
                probe = outgoing.routing_key not in self._routable
                if probe:  # everything before it settles first, then it goes alone
                    self._flush()
                    failed_streams |= {o.stream for o in batch if o.sent and o.error}
                    if outgoing.stream in failed_streams:
                        outgoing.error = WITHHELD
                        continue
                self._send(outgoing)
                if probe:
                    self._flush()
                    if outgoing.error:
                        failed_streams.add(outgoing.stream)
                    else:
                        self._routable.add(outgoing.routing_key)
            self._flush()
            # A message refused after a later one of its stream went (pipelined): that later one does
            # not count as sent, so the outbox never books a stream past a gap. It stays owed and goes
            # again behind the refused one's retry. (The copy already on the broker may still reach
            # the service ahead of the retried one: the inbox absorbs the second copy, not the order.)
            failed_streams = set()
            for outgoing in batch:
                if outgoing.stream in failed_streams and not outgoing.error:
                    outgoing.error = WITHHELD
                elif outgoing.error:
                    failed_streams.add(outgoing.stream)
        except BrokerUnavailable:
            self.close()
            raise
        except port.CONNECTION_ERRORS as error:
            self.close()
            raise BrokerUnavailable(f"{type(error).__name__}: {error}") from error


def _outgoing(deliveries: list[Delivery]) -> list[Outgoing]:
    """One message per delivery, in the order of the rows, routed to the consuming context's partition
    of the delivery's stream (``port.partition_of``): an outbox row owed to two lifted contexts is
    published twice, once to each (their partition queues are their own)."""
    outgoing = []
    for d in deliveries:
        partition = port.partition_of(d.message.event_type, d.partition_key)
        outgoing.append(
            Outgoing(
                deliveries=[d],
                message=port.message_for(d.message, d.partition_key, partition),
                routing_key=port.routing_key(d.message.event_type, relayed_context(d.subscription), partition),
                stream=(d.subscription, d.partition_key),
            )
        )
    return outgoing


def after_ack(alias: str, delivered: list[int]) -> None:
    """Mark the acked deliveries delivered (the last step before the batch's commit)."""
    if not delivered:
        return
    now = timezone.now()
    Delivery.objects.using(alias).filter(pk__in=delivered).update(
        status=Delivery.Status.DELIVERED, attempts=F("attempts") + 1, delivered_at=now, last_error="", updated_at=now
    )


def relay_batch(publisher: Publisher, alias: str, limit: int = BATCH_SIZE, *, due_by: datetime | None = None) -> int:
    """Claim, publish and mark one batch of ``alias``'s outbox (what is due by ``due_by``, now by
    default); how many deliveries it handled.

    The broker is connected to before any transaction opens: a broker slow to answer never holds a
    database lock. On PostgreSQL the claimed rows stay locked (``FOR UPDATE``, per stream) while the
    batch is published, which is what lets two relays share the work; other writers are not held up
    by row locks. On SQLite a transaction takes the whole database's write lock (``BEGIN IMMEDIATE``),
    and a checkout would wait for the broker's confirms: there the batch is read in one short
    transaction, published outside any, and marked in another. Nothing holds the rows meanwhile:
    SQLite runs one relay (``claim``), and the sweep never takes ``relay:*`` rows; a second
    relay would send copies (which the service's inbox absorbs), not lose anything.
    """
    publisher.connect()
    if connections[alias].vendor == "postgresql":
        with transaction.atomic(using=alias):
            ids = claim(alias, limit, due_by=due_by)
            if not ids:
                return 0
            rows = list(Delivery.objects.using(alias).select_related("message").filter(pk__in=ids).order_by("pk"))
            batch = _outgoing(rows)
            publisher.publish(batch)  # BrokerUnavailable rolls the whole batch back, untouched
            outcomes = _mark(alias, batch)
        metrics.delivery_outcomes(alias, outcomes)
        return len(ids)
    with transaction.atomic(using=alias):
        ids = claim(alias, limit, due_by=due_by)
        if not ids:
            return 0
        rows = list(Delivery.objects.using(alias).select_related("message").filter(pk__in=ids).order_by("pk"))
    batch = _outgoing(rows)
    publisher.publish(batch)  # BrokerUnavailable leaves the batch untouched, owed as it was
    with transaction.atomic(using=alias):
        outcomes = _mark(alias, batch)
    metrics.delivery_outcomes(alias, outcomes)
    return len(ids)


def _mark(alias: str, batch: list[Outgoing]) -> list[str]:
    """Book the broker's verdicts: the acked delivered, the refused retried later; their outcomes."""
    delivered = [d.pk for o in batch if not o.error for d in o.deliveries]
    failed = [(d, o.error) for o in batch if o.error and o.error != WITHHELD for d in o.deliveries]
    outcomes = ["delivered"] * len(delivered)
    for d, error in failed:
        logger.warning("Relaying %s (%s) failed: %s", d.message.event_type, d.message.event_id, error)
        outcomes.append(bookkeeping.record_failure(alias, d, error).status)
    after_ack(alias, delivered)
    metrics.events_reached("relay", (o.deliveries[0].message.occurred_at for o in batch if not o.error))
    # A secret (a reset link) has reached the broker: blank it here once nothing else is owed it.
    bookkeeping.forget_secrets(alias, [o.deliveries[0].message for o in batch if not o.error])
    return outcomes


class Relay:
    """Relays every context database's due ``relay:*`` deliveries, batch after batch."""

    def __init__(self, *, url: str | None = None, prefix: str | None = None, batch_size: int = BATCH_SIZE) -> None:
        self.publisher = Publisher(url, prefix)
        self.batch_size = batch_size

    def run_once(self) -> int:
        """Relay everything due now, in every database; how many deliveries were handled.

        :raises BrokerUnavailable: the broker could not be reached (nothing was marked).
        """
        total = 0
        started = timezone.now()  # a retry that falls due during this run waits for the next one
        for alias in context_aliases():
            while True:
                handled = relay_batch(self.publisher, alias, self.batch_size, due_by=started)
                total += handled
                if not handled:  # nothing due, or all of it held by another relay or behind a retry
                    break
        return total

    def run_forever(self, *, idle_seconds: float = 0.2, should_stop=lambda: False) -> None:
        failures = 0
        while not should_stop():
            try:
                handled = self.run_once()
                if failures:
                    logger.warning("The broker and the database answer again: relaying")
                failures = 0
            except BrokerUnavailable as error:
                failures += 1
                wait = min(30.0, 0.5 * 2 ** min(failures - 1, 6))
                if failures == 1 or failures % 10 == 0:
                    logger.error(
                        "The broker is unavailable (%s); events wait in the outbox, retrying in %.1fs", error, wait
                    )
                _sleep(wait, should_stop)
                continue
            except DatabaseError as error:
                # The database, not the broker (a restart, a lost connection, a lock timeout): ending
                # the process would take bin/shop's whole topology down with it (``wait -n``). Nothing
                # was marked that did not commit; what was sent and not marked goes again (at least once).
                failures += 1
                wait = min(30.0, 0.5 * 2 ** min(failures - 1, 6))
                logger.error("The database failed (%s); events wait in the outbox, retrying in %.1fs", error, wait)
                connections.close_all()
                _sleep(wait, should_stop)
                continue
            if not handled:
                _sleep(idle_seconds, should_stop)

    def close(self) -> None:
        self.publisher.close()


def _sleep(seconds: float, should_stop) -> None:
    deadline = time.monotonic() + seconds
    while not should_stop() and time.monotonic() < deadline:
        time.sleep(min(0.1, max(0.0, deadline - time.monotonic())))


def owed_count() -> int:
    """Relay deliveries not yet sent (pending or failed), in every database."""
    return sum(
        Delivery.objects.using(alias)
        .filter(subscription__startswith=RELAY_PREFIX, status__in=[Delivery.Status.PENDING, Delivery.Status.FAILED])
        .count()
        for alias in context_aliases()
    )

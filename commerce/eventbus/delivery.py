"""Delivering outbox messages to subscriptions: at least once, effective once, never lost.

``deliver`` runs one subscription's handler in a transaction on the subscriber's database that also
writes the inbox row ``(event_id, subscription)``; the unique constraint turns a redelivery into a
no-op. A failure is recorded on the delivery with exponential backoff and jitter, and after
``MAX_ATTEMPTS`` the delivery is dead-lettered until staff retry it. A handler that raises
``Deferred`` (its event came before one it depends on) is retried with the same backoff, but the
attempt is not counted toward ``MAX_ATTEMPTS`` (``Delivery.deferrals``) until
``EVENTBUS["DEFER_FOR_SECONDS"]`` have passed since the event occurred; then it is dead-lettered,
saying how long it waited and for what. Meanwhile staff see it failed, with that reason.

This module delivers what it is given and keeps the books; handing deliveries to a process
(inline, or a Celery worker) is ``dispatch``'s job, one layer up: nothing here imports it.

A ``relay:<context>`` delivery (a lifted context's, ``subscriptions.relay_subscription``) is never
delivered here nor claimed by the sweep: the relay sends it through the broker and keeps its books
with the same ``record_failure``; the service's consumer applies it with ``apply_once``.
"""

import logging
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

from django.conf import settings
from django.db import connections, transaction
from django.db.models import Exists, F, OuterRef, Q
from django.utils import timezone
from django.utils.timesince import timesince

from commerce import correlation, metrics, telemetry, topology
from commerce.database import context_aliases, database_for
from commerce.eventbus.models import Delivery, InboxEntry, OutboxMessage
from commerce.eventbus.subscriptions import RELAY_PREFIX, Subscription, is_relayed, relay_subscription
from commerce.eventbus.subscriptions import subscription as find_subscription
from commerce.eventbus.types import Deferred, from_payload, partition_key, secret_fields_of, without_secrets

logger = logging.getLogger(__name__)

DUE_STATUSES = (Delivery.Status.PENDING, Delivery.Status.FAILED)


@dataclass(frozen=True, slots=True)
class Outcome:
    delivery_id: int
    status: str
    retry_in_seconds: float | None = None


def backoff_seconds(attempts: int) -> float:
    """Exponential backoff with full jitter around it: base · 2^(attempts-1), capped, ×[0.5, 1.5)."""
    config = settings.EVENTBUS
    delay = min(config["BACKOFF_MAX_SECONDS"], config["BACKOFF_BASE_SECONDS"] * 2 ** max(attempts - 1, 0))
    return delay * random.uniform(0.5, 1.5)


class DeferredError(str):
    """The error text of an attempt whose handler raised ``Deferred``: stored and shown like any error,
    and recognised by the bookkeeping (here and in the lifted consumer) as "not yet", not as a failure.
    A ``str``, so whatever reads an attempt's error as text needs no change."""

    __slots__ = ()


BATCH_SIZE = 50


def deliver(alias: str, delivery_id: int) -> Outcome:
    """Deliver one delivery of the outbox in ``alias``; never raises for a handler's failure."""
    return deliver_many(alias, [delivery_id])[0]


def deliver_many(alias: str, delivery_ids: Sequence[int]) -> list[Outcome]:
    """Deliver these deliveries of the outbox in ``alias``, in order; never raises for a handler.

    Deliveries go in batches: one transaction on the subscriber's database per batch, each event in
    a savepoint of its own with its inbox row, so a failing handler rolls back only its own part and
    a batch costs one commit instead of one per event. The inbox makes every event count once.
    """
    outcomes: dict[int, Outcome] = {}
    for start in range(0, len(delivery_ids), BATCH_SIZE):
        chunk = list(delivery_ids[start : start + BATCH_SIZE])
        found = Delivery.objects.using(alias).select_related("message").in_bulk(chunk)
        due: list[Delivery] = []
        for delivery_id in chunk:
            delivery = found.get(delivery_id)
            if delivery is None:
                outcomes[delivery_id] = Outcome(delivery_id, "missing")
            elif delivery.status in (Delivery.Status.DELIVERED, Delivery.Status.DEAD):
                # Delivered already, or dead-lettered until staff retry it (which makes it pending).
                outcomes[delivery_id] = Outcome(delivery_id, delivery.status)
            elif is_relayed(delivery.subscription):
                outcomes[delivery_id] = Outcome(delivery_id, "relayed")  # the relay's to send, not ours
            else:
                due.append(delivery)
        due, handed = _owe_lifted_contexts(alias, due)
        outcomes.update(handed)
        attempted = _deliver_batch(alias, due)
        outcomes.update(attempted)
        metrics.delivery_outcomes(alias, (outcome.status for outcome in attempted.values()))
        metrics.events_reached(
            "in_process", (d.message.occurred_at for d in due if attempted[d.pk].status == "delivered")
        )
    return [outcomes[delivery_id] for delivery_id in delivery_ids]


def _owe_lifted_contexts(alias: str, deliveries: list[Delivery]) -> tuple[list[Delivery], dict[int, Outcome]]:
    """Hand to the relay what was owed in process to a context lifted since (``commerce.topology``).

    A delivery created before the cutover (pending, awaiting a retry, dead and retried by staff, or
    queued as a Celery task) names the context's own subscription; run here after the switch it would
    only record, and the service would never hear of the event. So the message is owed the
    ``relay:<context>`` delivery instead (one per message, whatever number of its subscriptions were
    owed), and the in-process one is dropped, unless the context is still delivered here (the
    shadow, or ``even_when_lifted``): then it runs as well. Returns what is still to apply here, and
    the outcomes of the deliveries handed over.
    """
    keep: list[Delivery] = []
    handed: dict[int, Delivery] = {}
    owed: dict[tuple[int, str], Delivery] = {}
    for delivery in deliveries:
        subscription = find_subscription(delivery.subscription)
        if subscription is None or not topology.is_remote(subscription.context):
            keep.append(delivery)
            continue
        owed.setdefault((delivery.message_id, relay_subscription(subscription.context)), delivery)
        if subscription.even_when_lifted or topology.delivered_in_process(subscription.context):
            keep.append(delivery)
        else:
            handed[delivery.pk] = delivery
    if not owed:
        return keep, {}
    now = timezone.now()
    with transaction.atomic(using=alias):
        # Due at once, the relay's to send; the unique (message, subscription) keeps it one per message.
        Delivery.objects.using(alias).bulk_create(
            [
                Delivery(
                    message_id=message_id,
                    subscription=name,
                    next_attempt_at=now,
                    partition_key=_partition_key_of(delivery.message),
                )
                for (message_id, name), delivery in owed.items()
            ],
            ignore_conflicts=True,
        )
        Delivery.objects.using(alias).filter(pk__in=list(handed)).exclude(status=Delivery.Status.DELIVERED).delete()
    for delivery in handed.values():
        logger.info("Owed %s for %s to the relay: its context is lifted", delivery.message_id, delivery.subscription)
    return keep, {pk: Outcome(pk, "relayed") for pk in handed}


def _partition_key_of(message: OutboxMessage) -> str:
    try:
        return partition_key(from_payload(message.event_type, message.payload, version=message.version))
    except Exception:  # an event no longer readable here: one stream, the service's consumer will say why
        logger.warning("No partition key for %s", message.event_id, exc_info=True)
        return ""


def _deliver_batch(alias: str, deliveries: list[Delivery]) -> dict[int, Outcome]:
    outcomes: dict[int, Outcome] = {}
    failures: list[tuple[Delivery, str]] = []
    succeeded: list[Delivery] = []
    by_database: dict[str, dict[str, list[Delivery]]] = {}
    for delivery in deliveries:
        subscription = find_subscription(delivery.subscription)
        if subscription is None:
            failures.append((delivery, f"No subscription named {delivery.subscription!r} here."))
        else:
            groups = by_database.setdefault(database_for(subscription.context), {})
            groups.setdefault(subscription.name, []).append(delivery)
    for subscriber_alias, groups in by_database.items():
        done: list[Delivery] = []
        failed: list[tuple[Delivery, str]] = []
        try:
            with transaction.atomic(using=subscriber_alias):
                for name, group in groups.items():
                    subscription = find_subscription(name)
                    if subscription.batch and len(group) > 1 and _apply_group(subscriber_alias, subscription, group):
                        done.extend(group)
                        continue
                    for delivery in group:
                        error = _apply_one(subscriber_alias, subscription, delivery.message)
                        (done.append(delivery) if error is None else failed.append((delivery, error)))
        except Exception as exc:  # the commit itself failed: nothing of this batch happened
            logger.warning("A delivery batch on %s failed to commit", subscriber_alias, exc_info=True)
            failed = [(d, f"{type(exc).__name__}: {exc}") for group in groups.values() for d in group]
            done = []
        succeeded.extend(done)
        failures.extend(failed)
    if succeeded:
        now = timezone.now()
        Delivery.objects.using(alias).filter(pk__in=[d.pk for d in succeeded]).exclude(
            status=Delivery.Status.DELIVERED
        ).update(
            status=Delivery.Status.DELIVERED,
            attempts=F("attempts") + 1,
            delivered_at=now,
            last_error="",
            updated_at=now,
        )
        outcomes.update({d.pk: Outcome(d.pk, Delivery.Status.DELIVERED) for d in succeeded})
        forget_secrets(alias, [d.message for d in succeeded])
    for delivery, error in failures:
        outcomes[delivery.pk] = _record_failure(alias, delivery, error)
    return outcomes


def apply_once(subscriber_alias: str, subscription: Subscription, message: OutboxMessage) -> str | None:
    """Apply ``message`` to ``subscription`` once (inbox row and handler in one savepoint of the open
    transaction on ``subscriber_alias``); the error text if the handler failed (a ``DeferredError`` if
    it raised ``Deferred``). The consumer of a lifted context's queue calls it with a message read
    from the broker (an unsaved ``OutboxMessage``)."""
    return _apply_one(subscriber_alias, subscription, message)


def _apply_one(subscriber_alias: str, subscription: Subscription, message: OutboxMessage) -> str | None:
    """Run the handler once per (event, subscription) inside a savepoint; the error text if it failed."""
    try:
        event = from_payload(message.event_type, message.payload, version=message.version)
        with correlation.bound(correlation=event.correlation_id, causation=str(event.event_id)):
            with telemetry.delivery_span(subscription.name, [message]), transaction.atomic(using=subscriber_alias):
                if not _claim_inbox(subscriber_alias, subscription, [message]):
                    return None  # applied before: a redelivery changes nothing
                subscription.handler((event,) if subscription.batch else event)
            logger.info("Delivered %s to %s", message.event_type, subscription.name)
    except Deferred as exc:
        logger.info("Deferred %s for %s: %s", message.event_type, subscription.name, exc)
        return DeferredError(f"{type(exc).__name__}: {exc}")
    except Exception as exc:
        logger.warning("Delivery of %s to %s failed", message.event_type, subscription.name, exc_info=True)
        return f"{type(exc).__name__}: {exc}"
    return None


def _apply_group(subscriber_alias: str, subscription: Subscription, group: list[Delivery]) -> bool:
    """A batch subscription takes a whole group in one call and one savepoint; False (nothing applied)
    if the handler failed, and the caller then delivers the group one event at a time, so the
    failing event is isolated and retried alone."""
    messages = [delivery.message for delivery in group]
    try:
        events = [from_payload(message.event_type, message.payload, version=message.version) for message in messages]
        first = events[0]
        bound = correlation.bound(correlation=first.correlation_id, causation=str(first.event_id))
        span = telemetry.delivery_span(subscription.name, messages)
        with bound, span, transaction.atomic(using=subscriber_alias):
            fresh = _claim_inbox(subscriber_alias, subscription, messages)
            if fresh:
                subscription.handler(tuple(event for event in events if event.event_id in fresh))
        logger.info("Delivered %d %s to %s", len(fresh), subscription.event_name, subscription.name)
    except Exception:
        logger.warning("Batch delivery to %s failed; delivering one by one", subscription.name, exc_info=True)
        return False
    return True


def _claim_inbox(subscriber_alias: str, subscription: Subscription, messages: list[OutboxMessage]) -> set[UUID]:
    """Write the inbox rows; the ids of the events this subscription had not applied yet.

    ``INSERT … ON CONFLICT DO NOTHING RETURNING`` (PostgreSQL, SQLite ≥ 3.35) answers in one
    statement, without a savepoint of its own; the unique constraint still decides.
    """
    connection = connections[subscriber_alias]
    meta = InboxEntry._meta
    event_id, processed_at = meta.get_field("event_id"), meta.get_field("processed_at")
    now = processed_at.get_db_prep_value(timezone.now(), connection)
    params: list[object] = []
    for message in messages:
        params += [event_id.get_db_prep_value(message.event_id, connection), subscription.name, message.event_type, now]
    rows = ", ".join(["(%s, %s, %s, %s)"] * len(messages))
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {connection.ops.quote_name(meta.db_table)} (event_id, subscription, event_type, processed_at) "
            f"VALUES {rows} ON CONFLICT (event_id, subscription) DO NOTHING RETURNING event_id",
            params,
        )
        return {value if isinstance(value, UUID) else UUID(str(value)) for (value,) in cursor.fetchall()}


def forget_secrets(alias: str, messages: Iterable[OutboxMessage]) -> int:
    """Blank the secret fields (``@domain_event(..., secret=...)``) of these messages once every
    delivery they owe is delivered, in process or relayed (``relay:*``): whoever marks a delivery
    delivered calls this after. A message with a delivery still due or dead keeps its secrets, so a
    retry still has them. Returns how many payloads were pruned."""
    secret = {m.pk: m for m in messages if secret_fields_of(m.event_type)}
    if not secret:
        return 0
    owing = Delivery.objects.using(alias).filter(message=OuterRef("pk")).exclude(status=Delivery.Status.DELIVERED)
    settled = OutboxMessage.objects.using(alias).filter(pk__in=list(secret)).exclude(Exists(owing))
    pruned = 0
    for message in settled.only("pk", "event_type", "payload"):
        if isinstance(message.payload, dict):
            blank = without_secrets(message.event_type, message.payload)
            if blank != message.payload:
                pruned += OutboxMessage.objects.using(alias).filter(pk=message.pk).update(payload=blank)
    return pruned


def record_failure(alias: str, delivery: Delivery, error: str) -> Outcome:
    """Count a failed attempt of ``delivery``: retried with backoff, dead-lettered after ``MAX_ATTEMPTS``."""
    return _record_failure(alias, delivery, error)


def _record_failure(alias: str, delivery: Delivery, error: str) -> Outcome:
    """Count the failed attempt in the database (``F()``, under the row's lock), never from the copy
    read before the handler ran: a sweep or a second worker may have counted one meanwhile.

    A deferred attempt (``DeferredError``) counts in ``deferrals`` as well as ``attempts``: only the
    others count toward ``MAX_ATTEMPTS``, and each kind sets the backoff by its own count."""
    now = timezone.now()
    deferred = isinstance(error, DeferredError)
    with transaction.atomic(using=alias):
        counted = (
            Delivery.objects.using(alias)
            .filter(pk=delivery.pk)
            .exclude(status=Delivery.Status.DELIVERED)
            .update(
                attempts=F("attempts") + 1,
                deferrals=F("deferrals") + int(deferred),
                last_error=error[:4000],
                updated_at=now,
            )
        )
        if not counted:  # delivered meanwhile by someone else: nothing to retry
            return Outcome(delivery.pk, Delivery.Status.DELIVERED)
        attempts, deferrals = Delivery.objects.using(alias).values_list("attempts", "deferrals").get(pk=delivery.pk)
        last_error = None
        if deferred:
            status, retry_in, last_error = _deferral(delivery, error, deferrals, now)
        elif attempts - deferrals >= settings.EVENTBUS["MAX_ATTEMPTS"]:
            status, retry_in = Delivery.Status.DEAD, None
            logger.error(
                "Dead-lettered %s for %s after %d attempts", delivery.message_id, delivery.subscription, attempts
            )
        else:
            status, retry_in = Delivery.Status.FAILED, backoff_seconds(attempts - deferrals)
        changes = {"status": status, "next_attempt_at": now + timedelta(seconds=retry_in or 0)}
        if last_error is not None:
            changes["last_error"] = last_error[:4000]
        Delivery.objects.using(alias).filter(pk=delivery.pk).update(**changes)
    return Outcome(delivery.pk, status, retry_in)


def _deferral(delivery: Delivery, error: str, deferrals: int, now: datetime) -> tuple[str, float | None, str]:
    """What becomes of a deferred attempt: retried with the bus's backoff (by the deferrals so far)
    while the event is younger than ``DEFER_FOR_SECONDS``, else dead-lettered; the status, the retry's
    delay and the error staff see (what it waits for, since when, and until when it will)."""
    occurred = delivery.message.occurred_at
    defer_for = timedelta(seconds=settings.EVENTBUS["DEFER_FOR_SECONDS"])
    if now - occurred >= defer_for:
        reason = waited_too_long(occurred, now, error)
        logger.error("Dead-lettered %s for %s: %s", delivery.message_id, delivery.subscription, reason)
        return Delivery.Status.DEAD, None, reason
    since, until = occurred.isoformat(timespec="seconds"), (occurred + defer_for).isoformat(timespec="seconds")
    shown = f"Deferred (waiting since {since}, until {until}): {error}"
    return Delivery.Status.FAILED, backoff_seconds(deferrals), shown


def waited_too_long(since: datetime, now: datetime, error: str) -> str:
    """The dead-letter reason of an event that waited ``DEFER_FOR_SECONDS`` for one it depends on."""
    started = since.isoformat(timespec="seconds")
    return f"Waited {timesince(since, now)} (since {started}) for what it depends on, in vain: {error}"


def postpone_sweep(alias: str, delivery_id: int) -> None:
    """Keep the sweep off a retry that a worker has already scheduled, for one more grace period."""
    lease = timedelta(seconds=settings.EVENTBUS["SWEEP_GRACE_SECONDS"])
    Delivery.objects.using(alias).filter(pk=delivery_id, status=Delivery.Status.FAILED).update(
        next_attempt_at=F("next_attempt_at") + lease
    )


def claim_due(alias: str, *, limit: int = 500) -> list[int]:
    """Take up to ``limit`` due deliveries and push them back by a lease, so two sweepers (or a sweep
    and a worker) rarely pick the same one; the inbox makes it harmless when they do."""
    now = timezone.now()
    lease = timedelta(seconds=settings.EVENTBUS["SWEEP_GRACE_SECONDS"])
    with transaction.atomic(using=alias):
        due = (
            Delivery.objects.using(alias)
            .filter(status__in=DUE_STATUSES, next_attempt_at__lte=now)
            .exclude(subscription__startswith=RELAY_PREFIX)
            .order_by("next_attempt_at", "pk")
        )
        if transaction.get_connection(alias).features.has_select_for_update_skip_locked:
            due = due.select_for_update(skip_locked=True)
        ids = list(due.values_list("pk", flat=True)[:limit])
        if ids:
            Delivery.objects.using(alias).filter(pk__in=ids).update(next_attempt_at=now + lease)
    return ids


def reset_for_retry(alias: str, delivery_ids: Iterable[int]) -> list[int]:
    """Give the failed or dead-lettered ones among these deliveries a fresh set of attempts, due now;
    their ids (the caller dispatches them)."""
    with transaction.atomic(using=alias):
        ids = list(
            Delivery.objects.using(alias)
            .select_for_update()
            .filter(pk__in=list(delivery_ids), status__in=[Delivery.Status.FAILED, Delivery.Status.DEAD])
            .values_list("pk", flat=True)
        )
        if ids:
            now = timezone.now()
            Delivery.objects.using(alias).filter(pk__in=ids).update(
                status=Delivery.Status.PENDING, attempts=0, deferrals=0, next_attempt_at=now, updated_at=now
            )
    return ids


def prune(*, older_than: timedelta | None = None) -> dict[str, int]:
    """Delete delivered messages and old inbox rows past the retention; never anything undelivered."""
    retention = older_than if older_than is not None else timedelta(days=settings.EVENTBUS["RETENTION_DAYS"])
    cutoff = timezone.now() - retention
    pruned = {"messages": 0, "inbox": 0}
    for alias in context_aliases():
        undelivered = (
            Delivery.objects.using(alias).filter(message=OuterRef("pk")).filter(~Q(status=Delivery.Status.DELIVERED))
        )
        old = OutboxMessage.objects.using(alias).filter(created_at__lt=cutoff).exclude(Exists(undelivered))
        with transaction.atomic(using=alias):
            ids = list(old.values_list("pk", flat=True)[:10_000])
            Delivery.objects.using(alias).filter(message_id__in=ids).delete()
            pruned["messages"] += OutboxMessage.objects.using(alias).filter(pk__in=ids).delete()[0]
            pruned["inbox"] += InboxEntry.objects.using(alias).filter(processed_at__lt=cutoff).delete()[0]
    return pruned

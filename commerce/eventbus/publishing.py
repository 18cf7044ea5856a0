"""``publish`` and ``publish_many``: outbox rows in the publisher's transaction, delivery after commit."""

import dataclasses
from collections.abc import Sequence
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from commerce import telemetry, topology
from commerce.database import database_for
from commerce.eventbus import dispatch
from commerce.eventbus.subscriptions import relay_subscription, subscriptions_for
from commerce.eventbus.types import Event, EventError, partition_key, to_payload


def publish(event: Event) -> None:
    """Record ``event`` in its publisher's outbox as part of the current transaction.

    The publisher is the context named by the event (``pricing.PriceChanged`` → pricing); the row
    goes to that context's database. If the transaction rolls back, nothing is published. After
    commit every subscription is delivered to (in process or by a worker, by settings), and a sweep
    redelivers whatever a crash left behind.

    :raises EventError: the event type is not registered, does not serialize exactly, or there is
        no transaction open on the publisher's database to publish in.
    """
    publish_many((event,))


def publish_many(events: Sequence[Event]) -> None:
    """Publish several events of one context at once: two bulk inserts instead of two per event.

    For bulk operations (a catalogue import changing thousands of prices). Same guarantees as
    ``publish``; the events keep their order.

    :raises EventError: as ``publish``, or the events belong to more than one context.
    """
    from commerce.eventbus.models import Delivery, OutboxMessage

    if not events:
        return
    contexts = {event.context for event in events}
    if len(contexts) != 1:
        raise EventError(f"publish_many takes the events of one context, not {sorted(contexts)}.")
    (context,) = contexts
    alias = database_for(context)
    if not transaction.get_connection(alias).in_atomic_block:
        raise EventError(
            f"Publishing {events[0].event_name} must run inside the publisher's transaction: "
            f"wrap the change and the publish in atomic_in({context!r})."
        )
    events = [_with_chain(event) for event in events]
    trace_context = telemetry.current_trace_context()
    messages = OutboxMessage.objects.using(alias).bulk_create(
        [
            OutboxMessage(
                event_id=event.event_id,
                event_type=event.event_name,
                version=event.event_version,
                payload=to_payload(event),
                occurred_at=event.occurred_at,
                correlation_id=event.correlation_id[:128],
                causation_id=event.causation_id[:128],
                trace_context=trace_context,
            )
            for event in events
        ]
    )
    # The sweep leaves a fresh delivery alone for a grace period: the after-commit dispatch owns it.
    now = timezone.now()
    not_before = now + timedelta(seconds=settings.EVENTBUS["SWEEP_GRACE_SECONDS"])
    local, remote = {}, {}
    for name in {message.event_type for message in messages}:
        subscriptions = subscriptions_for(name)
        local[name] = [s for s in subscriptions if s.even_when_lifted or topology.delivered_in_process(s.context)]
        remote[name] = sorted({s.context for s in subscriptions if topology.is_remote(s.context)})
    owed = [
        Delivery(message=message, subscription=subscription.name, next_attempt_at=not_before)
        for message in messages
        for subscription in local[message.event_type]
    ]
    # A lifted context is owed the event through the broker: due at once, the relay's to send, in
    # the stream of its aggregate (``partition_key``) so its events leave in the order they happened.
    relayed = [
        Delivery(
            message=message,
            subscription=relay_subscription(context),
            next_attempt_at=now,
            partition_key=partition_key(event),
        )
        for event, message in zip(events, messages, strict=True)
        for context in remote[message.event_type]
    ]
    if not owed and not relayed:
        return
    # PostgreSQL and SQLite (the supported databases) return the new ids from a bulk insert.
    created = Delivery.objects.using(alias).bulk_create([*owed, *relayed])
    delivery_ids = [delivery.pk for delivery in created[: len(owed)]]
    if not delivery_ids:
        return
    transaction.on_commit(lambda: dispatch.dispatch(alias, delivery_ids), using=alias, robust=True)


def _with_chain(event: Event) -> Event:
    if event.correlation_id:
        return event
    # Nothing upstream (a command, a periodic job): this event starts its own chain.
    return dataclasses.replace(event, correlation_id=str(event.event_id), causation_id=str(event.event_id))

"""``publish``: an outbox row in the publisher's transaction, delivery after commit."""

import dataclasses
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from commerce.database import database_for
from commerce.eventbus import dispatch
from commerce.eventbus.subscriptions import subscriptions_for
from commerce.eventbus.types import Event, EventError, to_payload


def publish(event: Event) -> None:
    """Record ``event`` in its publisher's outbox as part of the current transaction.

    The publisher is the context named by the event (``pricing.PriceChanged`` → pricing); the row
    goes to that context's database. If the transaction rolls back, nothing is published. After
    commit every subscription is delivered to (in process or by a worker, by settings), and a sweep
    redelivers whatever a crash left behind.

    :raises EventError: the event type is not registered, does not serialize exactly, or there is
        no transaction open on the publisher's database to publish in.
    """
    from commerce.eventbus.models import Delivery, OutboxMessage

    if not event.correlation_id:
        # Nothing upstream (a command, a periodic job): this event starts its own chain.
        event = dataclasses.replace(event, correlation_id=str(event.event_id), causation_id=str(event.event_id))
    payload = to_payload(event)
    alias = database_for(event.context)
    if not transaction.get_connection(alias).in_atomic_block:
        raise EventError(
            f"publish({event.event_name}) must run inside the publisher's transaction: "
            f"wrap the change and the publish in atomic_in({event.context!r})."
        )
    message = OutboxMessage.objects.using(alias).create(
        event_id=event.event_id,
        event_type=event.event_name,
        version=event.event_version,
        payload=payload,
        occurred_at=event.occurred_at,
        correlation_id=event.correlation_id[:128],
        causation_id=event.causation_id[:128],
    )
    subscriptions = subscriptions_for(event.event_name)
    if not subscriptions:
        return
    # The sweep leaves a fresh delivery alone for a grace period: the after-commit dispatch owns it.
    not_before = timezone.now() + timedelta(seconds=settings.EVENTBUS["SWEEP_GRACE_SECONDS"])
    deliveries = Delivery.objects.using(alias).bulk_create(
        [Delivery(message=message, subscription=s.name, next_attempt_at=not_before) for s in subscriptions]
    )
    delivery_ids = [delivery.pk for delivery in deliveries]
    if any(pk is None for pk in delivery_ids):  # backends that do not return ids from bulk inserts
        delivery_ids = list(message.deliveries.using(alias).values_list("pk", flat=True))
    transaction.on_commit(lambda: dispatch.dispatch(alias, delivery_ids), using=alias, robust=True)

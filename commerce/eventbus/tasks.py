"""Celery tasks of the event bus."""

from celery import shared_task

from commerce.eventbus import delivery, dispatch
from commerce.periodic import periodic


@shared_task(name=dispatch.DELIVER_TASK, acks_late=True, ignore_result=True)
def deliver_events(alias: str, delivery_ids: list[int]) -> int:
    """Deliver a batch; each failure is retried on its own, on time, from here."""
    delivered = 0
    for outcome in delivery.deliver_many(alias, delivery_ids):
        if outcome.retry_in_seconds is not None:
            deliver_events.apply_async(args=(alias, [outcome.delivery_id]), countdown=outcome.retry_in_seconds)
            delivery.postpone_sweep(alias, outcome.delivery_id)  # the sweep stays the backstop
        delivered += outcome.status == "delivered"
    return delivered


@periodic(every=15)
@shared_task(name="eventbus.sweep_outbox", ignore_result=True)
def sweep_outbox() -> int:
    """Redeliver what is due: retries, and deliveries a crash left undispatched."""
    return dispatch.sweep()


@periodic(every=3600)
@shared_task(name="eventbus.prune_outbox", ignore_result=True)
def prune_outbox() -> dict[str, int]:
    return delivery.prune()

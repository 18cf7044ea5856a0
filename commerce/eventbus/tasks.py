"""Celery tasks of the event bus."""

from celery import shared_task

from commerce.eventbus import delivery
from commerce.periodic import periodic


@shared_task(name="eventbus.deliver_event", acks_late=True, ignore_result=True)
def deliver_event(alias: str, delivery_id: int) -> str:
    outcome = delivery.deliver(alias, delivery_id)
    if outcome.retry_in_seconds is not None:
        # Retry on time from here; the sweep stays the backstop should this message be lost.
        deliver_event.apply_async(args=(alias, delivery_id), countdown=outcome.retry_in_seconds)
        delivery.postpone_sweep(alias, delivery_id)
    return outcome.status


@periodic(every=15)
@shared_task(name="eventbus.sweep_outbox", ignore_result=True)
def sweep_outbox() -> int:
    """Redeliver what is due: retries, and deliveries a crash left undispatched."""
    return delivery.sweep()


@periodic(every=3600)
@shared_task(name="eventbus.prune_outbox", ignore_result=True)
def prune_outbox() -> dict[str, int]:
    return delivery.prune()

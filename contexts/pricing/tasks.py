"""Celery tasks of the pricing context: fetch by id, one service call."""

from celery import shared_task

from commerce.periodic import periodic
from contexts.pricing import services


@periodic(every=60)
@shared_task(name="pricing.announce_scheduled_price_changes", ignore_result=True)
def announce_scheduled_price_changes() -> int:
    """Scheduled sales start and end without a write: announce each boundary once as PriceChanged."""
    return services.announce_scheduled_price_changes()

"""Celery tasks of the inventory context: fetch by id, one service call."""

from celery import shared_task

from commerce.periodic import periodic
from contexts.inventory import services


@periodic(every=60)
@shared_task(name="inventory.expire_reservations", ignore_result=True)
def expire_reservations() -> int:
    """Last resort behind the checkout saga: reservations past their TTL go back on sale."""
    return services.expire_reservations()

"""Celery tasks of the cart context: fetch by id, one service call."""

from celery import shared_task

from commerce.periodic import periodic
from contexts.cart import services


@periodic(every=3600)
@shared_task(name="cart.delete_abandoned_carts", ignore_result=True)
def delete_abandoned_carts() -> int:
    """Anonymous carts nobody touched for CART_ANONYMOUS_RETENTION_DAYS are deleted."""
    return services.delete_abandoned_carts()

"""Celery tasks of the orders context: fetch by id, one service call."""

from celery import shared_task

from commerce.periodic import periodic
from contexts.orders import services


@periodic(every=60)
@shared_task(name="orders.recover_stuck_checkouts", ignore_result=True)
def recover_stuck_checkouts() -> int:
    """Finish or compensate checkouts a crash left behind, then operations (cancel, ship, receive)."""
    return services.recover_stuck_checkouts() + services.finish_interrupted_operations()


@periodic(every=3600)
@shared_task(name="orders.prune_idempotency_records", ignore_result=True)
def prune_idempotency_records() -> int:
    """Idempotency-Key answers are kept at least 24 hours (ORDERS_IDEMPOTENCY_RETENTION_HOURS), then pruned."""
    return services.prune_idempotency_records()

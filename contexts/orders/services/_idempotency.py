"""The orders context's Idempotency-Key records (``POST /checkout``), kept by the kernel's helper in
the orders database for ``ORDERS_IDEMPOTENCY_RETENTION_HOURS`` (never under 24), pruned hourly."""

from commerce.idempotency.keys import IdempotencyKeys
from contexts.orders.conf import orders_settings

idempotency_keys = IdempotencyKeys(
    context="orders",
    retention_hours=lambda: orders_settings().idempotency_retention_hours,
    lock_seconds=lambda: orders_settings().idempotency_lock_seconds,
)


def prune_idempotency_records() -> int:
    """Delete records older than the retention (at least 24 hours) and abandoned claims."""
    return idempotency_keys.prune()

"""The orders context's settings, read from ``settings.ORDERS_*`` on each call (cheap), so
``override_settings`` in tests takes effect."""

from dataclasses import dataclass

from django.conf import settings


@dataclass(frozen=True, slots=True, kw_only=True)
class OrdersSettings:
    payment_gateway: str  # dotted path of the PaymentGateway adapter class
    saga_timeout_seconds: int  # a checkout still running after this long is healed by the recovery job
    saga_lease_seconds: int  # a saga's runner holds it this long (renewed as it goes); then others may take over
    idempotency_retention_hours: int  # Idempotency-Key records are kept at least this long
    idempotency_lock_seconds: int  # a running request's key is locked this long (then it may be taken over)
    first_order_number: int
    recovery_batch_size: int
    checkout_throttle: str | None  # e.g. "30/min" per customer or client address; None: no limit


def orders_settings() -> OrdersSettings:
    return OrdersSettings(
        payment_gateway=str(
            getattr(settings, "ORDERS_PAYMENT_GATEWAY", "contexts.orders.services.gateway.TestGateway")
        ),
        saga_timeout_seconds=int(getattr(settings, "ORDERS_SAGA_TIMEOUT_SECONDS", 120)),
        saga_lease_seconds=max(1, int(getattr(settings, "ORDERS_SAGA_LEASE_SECONDS", 30))),
        idempotency_retention_hours=max(24, int(getattr(settings, "ORDERS_IDEMPOTENCY_RETENTION_HOURS", 48))),
        idempotency_lock_seconds=int(getattr(settings, "ORDERS_IDEMPOTENCY_LOCK_SECONDS", 60)),
        first_order_number=int(getattr(settings, "ORDERS_FIRST_NUMBER", 100001)),
        recovery_batch_size=int(getattr(settings, "ORDERS_RECOVERY_BATCH_SIZE", 100)),
        checkout_throttle=getattr(settings, "ORDERS_CHECKOUT_THROTTLE", None) or None,
    )

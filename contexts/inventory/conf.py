"""The inventory context's settings, read once from ``settings.INVENTORY_*``."""

from dataclasses import dataclass

from django.conf import settings


@dataclass(frozen=True, slots=True, kw_only=True)
class InventorySettings:
    reservation_ttl_seconds: int
    max_line_quantity: int
    low_stock_threshold: int
    level_event_step: int
    expiry_batch_size: int


def inventory_settings() -> InventorySettings:
    """Read on each call (cheap) so ``override_settings`` in tests takes effect."""
    return InventorySettings(
        reservation_ttl_seconds=int(getattr(settings, "INVENTORY_RESERVATION_TTL_SECONDS", 900)),
        max_line_quantity=int(getattr(settings, "INVENTORY_MAX_LINE_QUANTITY", 10_000)),
        # At or below this many available units a SKU is "low stock": staff see it in the admin
        # filter, and every change of its availability is published exactly (see services).
        low_stock_threshold=int(getattr(settings, "INVENTORY_LOW_STOCK_THRESHOLD", 5)),
        # Above the low-stock threshold, customer-driven changes (reservations, releases, returns)
        # publish StockLevelChanged only when availability crosses a multiple of this step.
        level_event_step=int(getattr(settings, "INVENTORY_LEVEL_EVENT_STEP", 10)),
        expiry_batch_size=int(getattr(settings, "INVENTORY_EXPIRY_BATCH_SIZE", 500)),
    )

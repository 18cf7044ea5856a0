"""The cart context's settings, read from ``settings.CART_*``."""

from dataclasses import dataclass
from functools import cache

from django.conf import settings
from django.core.signals import setting_changed


@dataclass(frozen=True, slots=True, kw_only=True)
class CartSettings:
    max_line_quantity: int
    max_lines: int
    anonymous_retention_days: int
    cleanup_batch_size: int
    currencies: tuple[str, ...]
    default_currency: str


@cache
def cart_settings() -> CartSettings:
    """Read once, and again after any setting changes (``override_settings`` in tests): every cart
    request asks it several times."""
    currencies = tuple(getattr(settings, "SHOP_CURRENCIES", ("EUR",)))
    return CartSettings(
        # The most units of one SKU a cart line holds, and the most lines a cart holds.
        max_line_quantity=int(getattr(settings, "CART_MAX_LINE_QUANTITY", 99)),
        max_lines=int(getattr(settings, "CART_MAX_LINES", 100)),
        # Anonymous carts nobody touched for this long are deleted by the housekeeping job.
        anonymous_retention_days=int(getattr(settings, "CART_ANONYMOUS_RETENTION_DAYS", 30)),
        cleanup_batch_size=int(getattr(settings, "CART_CLEANUP_BATCH_SIZE", 1000)),
        currencies=currencies,
        default_currency=str(getattr(settings, "SHOP_DEFAULT_CURRENCY", currencies[0])),
    )


def _forget_settings(**_: object) -> None:
    cart_settings.cache_clear()


setting_changed.connect(_forget_settings, dispatch_uid="contexts.cart.conf.forget_settings")

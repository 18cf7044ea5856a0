"""The pricing context's settings (``PRICING_*``), read into a frozen dataclass.

``pricing_settings()`` reads them at call time so tests may override them.

- ``PRICING_MAX_LINE_QUANTITY`` (default 10 000): the most units one quote line may carry; above it a
  quote is refused with ``InvalidQuantity`` (the cart's own, lower per-line maximum lives in cart).
- ``PRICING_MAX_QUOTE_LINES`` (default 500): the most lines one quote may carry.
- ``PRICING_MAX_VOUCHERS_PER_ORDER`` (default 1): how many vouchers one quote or order may use;
  further codes are refused with reason ``not_applicable``.
- ``PRICING_MAX_PRICE_BATCH`` (default 5 000): the most prices one ``set_base_prices`` /
  ``check_base_prices`` call takes; above it the call is refused with ``PriceBatchTooLarge``.
- ``SHOP_CURRENCIES``: the currencies prices, promotions and vouchers may be in.
"""

from dataclasses import dataclass

from django.conf import settings


@dataclass(frozen=True, slots=True, kw_only=True)
class PricingSettings:
    max_line_quantity: int
    max_quote_lines: int
    max_vouchers_per_order: int
    max_price_batch: int
    currencies: tuple[str, ...]


def pricing_settings() -> PricingSettings:
    return PricingSettings(
        max_line_quantity=int(getattr(settings, "PRICING_MAX_LINE_QUANTITY", 10_000)),
        max_quote_lines=int(getattr(settings, "PRICING_MAX_QUOTE_LINES", 500)),
        max_vouchers_per_order=int(getattr(settings, "PRICING_MAX_VOUCHERS_PER_ORDER", 1)),
        max_price_batch=int(getattr(settings, "PRICING_MAX_PRICE_BATCH", 5_000)),
        currencies=tuple(getattr(settings, "SHOP_CURRENCIES", ("EUR",))),
    )

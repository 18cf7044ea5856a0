"""The pricing context's settings (``PRICING_*``), read into a frozen dataclass.

``pricing_settings()`` reads them once, and again after any setting changes (``override_settings`` in
tests): every quote asks it several times.

- ``PRICING_MAX_LINE_QUANTITY`` (default 10 000): the most units one quote line may carry; above it a
  quote is refused with ``InvalidQuantity`` (the cart's own, lower per-line maximum lives in cart).
- ``PRICING_MAX_QUOTE_LINES`` (default 500): the most lines one quote may carry.
- ``PRICING_MAX_VOUCHERS_PER_ORDER`` (default 1): how many vouchers one quote or order may use;
  further codes are refused with reason ``not_applicable``.
- ``PRICING_MAX_PRICE_BATCH`` (default 5 000): the most prices one ``set_base_prices`` /
  ``check_base_prices`` call takes; above it the call is refused with ``PriceBatchTooLarge``.
- ``PRICING_DEFAULT_COUNTRY`` (default ``DE``): the country whose tax rates a quote uses when no
  destination country is given (ISO 3166-1 alpha-2).
- ``PRICES_INCLUDE_TAX`` (default on, as EU shops show prices): prices, promotions' fixed amounts and
  shipping rates contain the tax; off, tax is added on top of them.
- ``SHOP_CURRENCIES``: the currencies prices, promotions and vouchers may be in.
"""

from dataclasses import dataclass
from functools import cache

from django.conf import settings
from django.core.signals import setting_changed
from django_countries import countries


@dataclass(frozen=True, slots=True, kw_only=True)
class PricingSettings:
    max_line_quantity: int
    max_quote_lines: int
    max_vouchers_per_order: int
    max_price_batch: int
    currencies: tuple[str, ...]
    default_country: str
    prices_include_tax: bool


@cache
def pricing_settings() -> PricingSettings:
    return PricingSettings(
        max_line_quantity=int(getattr(settings, "PRICING_MAX_LINE_QUANTITY", 10_000)),
        max_quote_lines=int(getattr(settings, "PRICING_MAX_QUOTE_LINES", 500)),
        max_vouchers_per_order=int(getattr(settings, "PRICING_MAX_VOUCHERS_PER_ORDER", 1)),
        max_price_batch=int(getattr(settings, "PRICING_MAX_PRICE_BATCH", 5_000)),
        currencies=tuple(getattr(settings, "SHOP_CURRENCIES", ("EUR",))),
        default_country=str(getattr(settings, "PRICING_DEFAULT_COUNTRY", "DE")),
        prices_include_tax=bool(getattr(settings, "PRICES_INCLUDE_TAX", True)),
    )


def _forget_settings(**_: object) -> None:
    pricing_settings.cache_clear()


setting_changed.connect(_forget_settings, dispatch_uid="contexts.pricing.conf.forget_settings")


@cache
def known_countries() -> frozenset[str]:
    """The ISO 3166-1 alpha-2 codes the shop knows (django-countries' list, with its settings)."""
    return frozenset(code for code, _name in countries)

"""Prices: base and sale prices one by one or in bulk, listing prices."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from contexts.pricing import domain, selectors, services
from contexts.pricing.domain import TaxClass
from contexts.pricing.exceptions import (
    InvalidPrice,
)
from contexts.pricing.models import Price


@dataclass(frozen=True, slots=True, kw_only=True)
class SkuPrice:
    """What a listing shows for one SKU."""

    sku: str
    currency: str
    base_amount: Decimal  # the base price
    # current effective unit price: sale price and automatic SKU/category promotions applied
    # (quantity 1, no basket-level promotions, no vouchers), quantized
    amount: Decimal
    on_sale: bool  # ``amount`` is below ``base_amount`` (a running sale or promotion)
    tax_class: str = TaxClass.STANDARD  # standard | reduced | zero


@dataclass(frozen=True, slots=True, kw_only=True)
class PriceInput:
    """One base price of a batch (``set_base_prices``), with the SKU's tax class."""

    sku: str
    currency: str
    amount: Decimal
    tax_class: str = TaxClass.STANDARD  # standard | reduced | zero


@dataclass(frozen=True, slots=True, kw_only=True)
class PriceBatchResult:
    """What ``set_base_prices`` did; ``created + updated + unchanged`` is the batch's length."""

    created: int  # new (sku, currency) prices
    updated: int  # existing prices whose base amount changed
    unchanged: int  # already at that amount: neither written nor announced


def _listing_price(price: Price) -> SkuPrice:
    listed = selectors.listing_prices(skus=[price.sku], currency=price.currency, category_ids=None)
    return SkuPrice(
        sku=price.sku,
        currency=price.currency,
        base_amount=price.amount,
        amount=listed[price.sku].amount,
        on_sale=listed[price.sku].on_sale,
        tax_class=price.tax_class,
    )


def set_base_price(*, sku: str, currency: str, amount: Decimal, tax_class: str = TaxClass.STANDARD) -> SkuPrice:
    """Create or change the base price of ``sku`` in ``currency`` (an upsert), and its tax class.

    Publishes ``PriceChanged`` when the listed price moved; re-setting the same price writes and
    publishes nothing. The returned ``amount`` includes SKU-scoped promotions (category promotions
    need the category ids: use ``prices_for``). ``tax_class`` (``standard``, ``reduced`` or ``zero``)
    is kept with the price in this currency and decides the SKU's rate in a quote.

    :raises InvalidPrice: zero, negative, more decimals than the currency has, below the running sale
        price, a malformed SKU, or an unknown tax class (``errors`` names the field).
    :raises UnsupportedCurrency: the shop does not sell in ``currency`` (settings.SHOP_CURRENCIES).
    """
    return _listing_price(services.set_base_price(sku=sku, currency=currency, amount=amount, tax_class=tax_class))


def _base_prices(prices: Sequence[PriceInput]) -> list[services.BasePrice]:
    """The batch as services take it; an item that is not a ``PriceInput`` is judged (and refused) by its fields."""
    if message := domain.sequence_error(prices):
        raise InvalidPrice({"prices": [message]})
    return [
        services.BasePrice(
            sku=getattr(item, "sku", None),  # type: ignore[arg-type]
            currency=getattr(item, "currency", None),  # type: ignore[arg-type]
            amount=getattr(item, "amount", None),  # type: ignore[arg-type]
            tax_class=getattr(item, "tax_class", TaxClass.STANDARD),
        )
        for item in prices
    ]


def set_base_prices(*, prices: Sequence[PriceInput]) -> PriceBatchResult:
    """Create or change many base prices at once: all of them, or none (``set_base_price`` in bulk).

    Every item is judged first, against the rules of ``set_base_price`` and against the stored prices
    (a base price cannot fall below the SKU's sale price); one bad item refuses the whole batch, and
    then nothing is written or published. Otherwise, in one transaction: one query reads the stored
    prices, one insert (a few on SQLite) creates the new ones, one UPDATE per 1 000 changed rows
    changes those whose amount differs, and each created or changed price publishes ``PriceChanged``
    with the same semantics as ``set_base_price`` (old and new effective amounts; also when a running
    sale keeps the effective price). Prices already at their amount are neither written nor announced,
    so re-running a batch is free. Amounts are stored quantized to the currency's minor unit.

    At most ``PRICING_MAX_PRICE_BATCH`` (5 000) items per call: the caller splits larger sets.

    :raises InvalidPriceBatch: (an ``InvalidPrice``) some items are bad: ``items`` maps each bad item's
        index to its SKU and errors by field (``sku`` 1 to 64 characters or the same SKU and currency
        twice in the batch, ``currency`` not sold by the shop, ``amount`` zero, negative, not finite,
        too large or with more decimals than the currency has, ``sale_amount`` the new base is below
        the SKU's sale price, ``tax_class`` not standard, reduced or zero). Nothing written.
    :raises PriceBatchTooLarge: more than ``PRICING_MAX_PRICE_BATCH`` items. Nothing written.
    """
    outcome = services.set_base_prices(items=_base_prices(prices))
    return PriceBatchResult(created=outcome.created, updated=outcome.updated, unchanged=outcome.unchanged)


def check_base_prices(*, prices: Sequence[PriceInput]) -> None:
    """Judge a batch exactly as ``set_base_prices`` would, against the stored prices, writing nothing.

    For a caller that must validate everything (in several contexts) before writing anything. One
    query, whatever the batch's size; a price changed meanwhile is judged again by ``set_base_prices``.

    :raises InvalidPriceBatch: as ``set_base_prices``.
    :raises PriceBatchTooLarge: as ``set_base_prices``.
    """
    services.check_base_prices(items=_base_prices(prices))


def set_sale_price(
    *,
    sku: str,
    currency: str,
    amount: Decimal | None,
    starts_at: datetime | None = None,
    ends_at: datetime | None = None,
) -> SkuPrice:
    """Schedule a sale price on an existing price (``amount=None`` removes the sale).

    Missing bounds mean "from now" / "until removed". Publishes ``PriceChanged`` when the listed price moved.

    :raises PriceNotFound: no base price for this SKU in this currency.
    :raises InvalidPrice: zero, negative, above the base price, or the window ends before it starts.
    :raises UnsupportedCurrency:
    """
    price = services.set_sale_price(sku=sku, currency=currency, amount=amount, starts_at=starts_at, ends_at=ends_at)
    return _listing_price(price)


def remove_price(*, sku: str, currency: str) -> bool:
    """Stop selling ``sku`` in ``currency``; publishes ``PriceChanged(new_amount=None)``. False if there was none."""
    return services.remove_price(sku=sku, currency=currency)


def prices_for(
    *, skus: Sequence[str], currency: str, category_ids: Mapping[str, Sequence[int]] | None = None
) -> dict[str, SkuPrice]:
    """Listing prices of many SKUs in one query (plus one for live promotions), whatever their number.

    ``category_ids`` maps a SKU to its category ids so category promotions apply. SKUs without a
    price in ``currency`` are absent from the result.

    :raises UnsupportedCurrency:
    :raises InvalidPricingInput: ``skus`` is not a list (a bare string is refused), or ``category_ids``
        not a mapping of SKU to positive whole category ids.
    """
    listed = selectors.listing_prices(skus=skus, currency=currency, category_ids=category_ids)
    return {
        sku: SkuPrice(
            sku=sku,
            currency=currency,
            base_amount=item.base_amount,
            amount=item.amount,
            on_sale=item.on_sale,
            tax_class=item.tax_class,
        )
        for sku, item in listed.items()
    }

"""The published interface of the pricing context: prices, promotions, vouchers and quotes: the authoritative price of a basket.

Other contexts import this module and ``events`` and nothing else of this context.

Money is ``Decimal`` with an explicit currency, quantized half-up to the currency's minor unit
(``commerce.money.quantize``), once per discount. How promotions and vouchers combine, and how an
order-level discount is spread over lines (largest remainder, to the cent), is documented in
``contexts.pricing.domain``; in short: per line the best non-stacking promotion plus every stacking
one, then basket promotions, then vouchers, never below zero, eligibility judged on the subtotal
before discounts. Then shipping (free over a threshold of the discounted subtotal) and tax on each
line's discounted amount at the destination's rate for the SKU's tax class, the shipping at the
destination's standard rate; with ``PRICES_INCLUDE_TAX`` (default on) prices contain the tax,
otherwise it is added on top. Every amount is rounded once, half-up; line taxes plus shipping tax
equal ``tax_total`` and net amounts plus taxes equal ``total``, to the cent.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from uuid import UUID

from commerce.money import quantize
from contexts.pricing import checks, domain, selectors, services
from contexts.pricing.conf import pricing_settings
from contexts.pricing.domain import DiscountKind, PromotionScope, TaxClass, VoucherRefusal
from contexts.pricing.exceptions import (
    InvalidPrice,
    InvalidPriceBatch,
    InvalidPricingInput,
    InvalidPromotion,
    InvalidQuantity,
    InvalidShipping,
    InvalidTaxRate,
    InvalidVoucherDefinition,
    PriceBatchTooLarge,
    PriceNotFound,
    PricingError,
    PromotionNotFound,
    ShippingUnavailable,
    UnknownCountry,
    UnknownSku,
    UnsupportedCurrency,
    VoucherInvalid,
    VoucherNotFound,
)
from contexts.pricing.models import Price
from contexts.pricing.models import Voucher as VoucherRow

__all__ = [
    "AppliedPromotion",
    "AppliedVoucher",
    "DiscountKind",
    "InvalidPrice",
    "InvalidPriceBatch",
    "InvalidPricingInput",
    "InvalidPromotion",
    "InvalidQuantity",
    "InvalidShipping",
    "InvalidTaxRate",
    "InvalidVoucherDefinition",
    "PriceBatchResult",
    "PriceBatchTooLarge",
    "PriceInput",
    "PriceNotFound",
    "PricingError",
    "Promotion",
    "PromotionNotFound",
    "PromotionScope",
    "Quote",
    "QuoteLine",
    "QuoteLineRequest",
    "RefundBreakdown",
    "RefundLine",
    "RefundLineShare",
    "RefusedVoucher",
    "SetupResult",
    "ShippingOption",
    "ShippingUnavailable",
    "SkuPrice",
    "TaxClass",
    "UnknownCountry",
    "UnknownSku",
    "UnsupportedCurrency",
    "Voucher",
    "VoucherInvalid",
    "VoucherNotFound",
    "VoucherRedemption",
    "VoucherRefusal",
    "check_base_prices",
    "check_voucher",
    "create_promotion",
    "create_voucher",
    "delete_promotion",
    "end_promotion",
    "ensure_shipping_method",
    "ensure_shipping_rate",
    "ensure_shipping_zone",
    "ensure_tax_rate",
    "find_promotions",
    "get_voucher",
    "prices_for",
    "quote",
    "redeem_voucher",
    "refund_breakdown",
    "remove_price",
    "set_base_price",
    "set_base_prices",
    "set_sale_price",
    "shipping_methods",
    "unredeem_voucher",
]


# --- DTOs ----------------------------------------------------------------------------------------


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


@dataclass(frozen=True, slots=True, kw_only=True)
class QuoteLineRequest:
    sku: str
    quantity: int
    category_ids: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class QuoteLine:
    sku: str
    quantity: int
    unit_price: Decimal  # effective unit price (sale applied), before promotions
    base_unit_price: Decimal
    on_sale: bool  # a sale price is running for this SKU
    subtotal: Decimal  # unit_price * quantity
    discount: Decimal  # this line's promotions plus its share of basket promotions and vouchers
    total: Decimal  # subtotal - discount, as prices are shown (tax included when prices include tax)
    promotion_ids: tuple[int, ...]
    tax_class: str  # standard | reduced | zero
    tax_rate: Decimal  # percent, e.g. Decimal("19.00"); 0.00 where the country has no rate for the class
    tax: Decimal  # the tax on ``total`` (contained in it, or added on top)
    net: Decimal  # ``total`` without tax


@dataclass(frozen=True, slots=True, kw_only=True)
class AppliedPromotion:
    id: int
    name: str


@dataclass(frozen=True, slots=True, kw_only=True)
class AppliedVoucher:
    code: str  # normalized (upper case)
    amount: Decimal  # the discount this voucher gave: pass it to ``redeem_voucher``


@dataclass(frozen=True, slots=True, kw_only=True)
class RefusedVoucher:
    code: str
    reason: str  # unknown | expired | exhausted | not_applicable | min_spend
    detail: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Quote:
    """The authoritative price of a basket.

    ``total`` = Σ line totals + ``shipping_total`` (+ ``tax_total`` when prices exclude tax);
    ``tax_total`` = Σ line taxes + ``shipping_tax``; ``net_total + tax_total == total``; all exact.
    """

    currency: str
    lines: tuple[QuoteLine, ...]
    subtotal: Decimal  # Σ unit price x quantity, before discounts
    discount_total: Decimal
    total: Decimal  # what the customer pays: goods after discounts, shipping, and tax
    promotions: tuple[AppliedPromotion, ...]
    vouchers: tuple[AppliedVoucher, ...]
    refused_vouchers: tuple[RefusedVoucher, ...]
    country: str  # the destination, or the shop's default country (PRICING_DEFAULT_COUNTRY) for tax
    shipping_method: str | None  # the method priced, None without a destination or a method
    shipping_total: Decimal  # as prices are shown (tax included when prices include tax); 0 without shipping
    shipping_tax: Decimal  # at the destination's standard rate
    tax_total: Decimal
    net_total: Decimal  # total without tax
    prices_include_tax: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class ShippingOption:
    """A method that serves a country, priced for a subtotal (free-shipping threshold applied)."""

    code: str
    name: str
    price: Decimal  # as prices are shown (tax included when prices include tax)
    currency: str
    delivery_days: int
    free_over: Decimal | None  # the discounted subtotal from which it is free; None: never


@dataclass(frozen=True, slots=True, kw_only=True)
class RefundLine:
    """Units of one order line to refund, with what the line cost as quoted (``QuoteLine`` figures)."""

    total: Decimal  # the line's ``total`` as quoted
    tax: Decimal  # the line's ``tax`` as quoted
    quantity: int  # units on the line
    refund_quantity: int  # units refunded now
    refunded_before: int = 0  # units of this line refunded earlier


@dataclass(frozen=True, slots=True, kw_only=True)
class RefundLineShare:
    amount: Decimal  # to give back, tax included
    tax: Decimal  # the tax it contains


@dataclass(frozen=True, slots=True, kw_only=True)
class RefundBreakdown:
    currency: str
    lines: tuple[RefundLineShare, ...]  # in the order given
    amount: Decimal  # Σ line amounts
    tax: Decimal  # Σ line taxes


@dataclass(frozen=True, slots=True, kw_only=True)
class VoucherRedemption:
    code: str
    order_id: UUID
    customer_id: int | None
    amount: Decimal
    currency: str
    redeemed_at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class Promotion:
    id: int
    name: str
    kind: str
    value: Decimal
    scope: str
    currency: str | None
    skus: tuple[str, ...]
    category_ids: tuple[int, ...]
    min_subtotal: Decimal
    starts_at: datetime
    ends_at: datetime | None
    priority: int
    stacks: bool
    is_active: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class Voucher:
    code: str
    kind: str
    value: Decimal
    currency: str | None
    min_spend: Decimal
    starts_at: datetime | None
    ends_at: datetime | None
    usage_limit: int | None
    per_customer_limit: int | None
    times_used: int
    is_active: bool


# --- Prices --------------------------------------------------------------------------------------


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


# --- Quotes --------------------------------------------------------------------------------------


def quote(
    *,
    lines: Sequence[QuoteLineRequest],
    currency: str,
    voucher_codes: Sequence[str] = (),
    customer_id: int | None = None,
    country: str | None = None,
    shipping_method: str | None = None,
) -> Quote:
    """The authoritative price of a basket: unit prices, promotions, vouchers, shipping, tax, totals to the cent.

    ``country`` is the destination (ISO 3166-1 alpha-2, capitals): its tax rates apply, and with a
    ``shipping_method`` a shipping line is priced. Without a country there is no shipping line (a
    method given is not priced) and tax uses the shop's default country (``PRICING_DEFAULT_COUNTRY``).
    A voucher that cannot be used does not fail the quote: it is listed in ``refused_vouchers``
    with its reason (``unknown``, ``expired``, ``exhausted``, ``not_applicable``, ``min_spend``).
    At most ``PRICING_MAX_VOUCHERS_PER_ORDER`` (1) vouchers apply; further ones are ``not_applicable``.
    Reads a constant number of queries whatever the basket's size (at most six).

    :raises UnsupportedCurrency: the shop does not sell in ``currency``.
    :raises InvalidQuantity: a quantity below 1 or above ``PRICING_MAX_LINE_QUANTITY`` (10 000), too many
        lines, or a malformed SKU.
    :raises UnknownSku: a SKU has no price in ``currency`` (``skus`` lists them all).
    :raises UnknownCountry: ``country`` is not an ISO 3166-1 alpha-2 code in capitals (400, ``errors.country``).
    :raises ShippingUnavailable: ``shipping_method`` is unknown, switched off, or has no rate for the
        country's zone in ``currency`` (409 ``shipping_unavailable``).
    :raises InvalidPricingInput: ``voucher_codes`` is not a list of texts, ``customer_id`` not a whole
        number, ``shipping_method`` not a code.
    """
    request = selectors.check_quote_request(
        lines=lines,
        currency=currency,
        voucher_codes=voucher_codes,
        customer_id=customer_id,
        country=country,
        shipping_method=shipping_method,
    )
    result = selectors.quote_basket(request)
    basket, taxed = result.basket, result.taxed
    return Quote(
        currency=currency,
        lines=tuple(
            QuoteLine(
                sku=line.sku,
                quantity=line.quantity,
                unit_price=line.unit_price,
                base_unit_price=result.base_amounts[line.sku],
                on_sale=line.sku in result.on_sale_skus,
                subtotal=line.gross,
                discount=line.discount,
                total=line.total,
                promotion_ids=line.promotion_ids,
                tax_class=tax_class,
                tax_rate=line_tax.rate,
                tax=line_tax.tax,
                net=line_tax.net,
            )
            for line, line_tax, tax_class in zip(basket.lines, taxed.lines, result.tax_classes, strict=True)
        ),
        subtotal=basket.subtotal,
        discount_total=basket.discount_total,
        total=taxed.total,
        promotions=tuple(AppliedPromotion(id=pid, name=result.promotion_names[pid]) for pid in basket.promotion_ids),
        vouchers=tuple(AppliedVoucher(code=code, amount=amount) for code, amount in basket.voucher_amounts),
        refused_vouchers=tuple(
            RefusedVoucher(code=r.code, reason=str(r.reason), detail=VoucherInvalid(reason=r.reason).detail)
            for r in result.refused
        ),
        country=request.country,
        shipping_method=result.shipping_method,
        shipping_total=taxed.shipping_total,
        shipping_tax=taxed.shipping_tax,
        tax_total=taxed.tax_total,
        net_total=taxed.net_total,
        prices_include_tax=pricing_settings().prices_include_tax,
    )


# --- Shipping and tax ----------------------------------------------------------------------------


def shipping_methods(*, country: str, currency: str, subtotal: Decimal) -> tuple[ShippingOption, ...]:
    """The active methods that deliver to ``country`` in ``currency``, priced for ``subtotal``.

    ``subtotal`` is the basket after promotions and vouchers (a quote's Σ line totals): a rate is free
    from its threshold on. Cheapest first, then fastest, then by code. One query; an empty tuple when
    nothing serves the country.

    :raises UnknownCountry: not an ISO 3166-1 alpha-2 code in capitals.
    :raises UnsupportedCurrency:
    :raises InvalidPrice: ``subtotal`` negative, not a decimal, or with too many decimals.
    """
    checks.check_country(country)
    checks.check_currency(currency)
    if message := domain.amount_error(subtotal, currency, allow_zero=True):
        raise InvalidPrice({"subtotal": [message]})
    options = [
        ShippingOption(
            code=rate.method.code,
            name=rate.method.name,
            price=domain.shipping_price(price=rate.price, free_over=rate.free_over, discounted_subtotal=subtotal),
            currency=currency,
            delivery_days=rate.method.delivery_days,
            free_over=rate.free_over,
        )
        for rate in selectors.shipping_options(country=country, currency=currency)
    ]
    return tuple(sorted(options, key=lambda option: (option.price, option.delivery_days, option.code)))


def refund_breakdown(*, lines: Sequence[RefundLine], currency: str, prices_include_tax: bool = True) -> RefundBreakdown:
    """What to give back for some units of some order lines, and the tax that contains (pure: no database).

    Pass each line's ``total`` and ``tax`` as the order's quote gave them and ``prices_include_tax``
    as it was then (the customer paid ``total`` when it included tax, ``total + tax`` otherwise). A
    line's share is proportional to its units, rounded so that successive partial refunds of a line
    (give ``refunded_before``) add up exactly to what was paid for it and the tax it carried.

    :raises InvalidPricingInput: a malformed amount, a tax above the line, quantities that are not
        whole numbers, or more units refunded than the line has (``errors`` keyed ``lines[i].field``).
    :raises UnsupportedCurrency:
    """
    checks.check_currency(currency)
    if message := domain.sequence_error(lines):
        raise InvalidPricingInput({"lines": [message]})
    if not isinstance(prices_include_tax, bool):
        raise InvalidPricingInput({"prices_include_tax": ["Give true or false."]})
    errors: dict[str, list[str]] = {}
    refunded = []
    for index, line in enumerate(lines):
        total, tax = getattr(line, "total", None), getattr(line, "tax", None)
        quantity = getattr(line, "quantity", None)
        now, before = getattr(line, "refund_quantity", None), getattr(line, "refunded_before", 0)
        problems = {
            "total": domain.amount_error(total, currency, allow_zero=True),
            "tax": domain.amount_error(tax, currency, allow_zero=True),
            "quantity": domain.int_error(quantity, minimum=1, maximum=domain.MAX_INT),
            "refund_quantity": domain.int_error(now, minimum=1, maximum=domain.MAX_INT),
            "refunded_before": domain.int_error(before, minimum=0, maximum=domain.MAX_INT),
        }
        if not any(problems.values()):
            if prices_include_tax and tax > total:  # type: ignore[operator]
                problems["tax"] = "The tax cannot exceed the line's total."
            elif now + before > quantity:  # type: ignore[operator]
                problems["refund_quantity"] = f"Only {quantity - before} of {quantity} units are left to refund."  # type: ignore[operator]
        for field, message in problems.items():
            if message:
                errors[f"lines[{index}].{field}"] = [message]
        if not errors:
            refunded.append(
                domain.RefundedLine(
                    paid=total if prices_include_tax else total + tax,  # type: ignore[operator]
                    tax=tax,  # type: ignore[arg-type]
                    quantity=quantity,  # type: ignore[arg-type]
                    refund_quantity=now,  # type: ignore[arg-type]
                    refunded_before=before,
                )
            )
    if errors:
        raise InvalidPricingInput(errors)
    shares = domain.refund_shares(refunded, currency)
    zero = quantize(Decimal(0), currency)
    return RefundBreakdown(
        currency=currency,
        lines=tuple(RefundLineShare(amount=share.amount, tax=share.tax) for share in shares),
        amount=sum((share.amount for share in shares), zero),
        tax=sum((share.tax for share in shares), zero),
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class SetupResult:
    """What an ``ensure_*`` call found: ``created`` is False when it existed and was left as it was."""

    created: bool


def ensure_shipping_zone(*, name: str, countries: Sequence[str]) -> SetupResult:
    """Create the shipping zone ``name`` covering ``countries`` unless a zone of that name exists
    (then it is left exactly as staff keep it). For seed data: running it again changes nothing.

    :raises InvalidShipping: a bad name, an empty list, a code that is not ISO 3166-1 alpha-2 in
        capitals, or a country another zone covers (a country is in one zone). Nothing written.
    """
    if message := domain.sequence_error(countries):
        raise InvalidShipping({"countries": [message]})
    _, created = services.ensure_shipping_zone(name=name, countries=list(countries))
    return SetupResult(created=created)


def ensure_shipping_method(*, code: str, name: str, delivery_days: int) -> SetupResult:
    """Create the shipping method ``code`` unless it exists (then it is left as it is).

    :raises InvalidShipping: a bad code, name or delivery time (0 to 365 days). Nothing written.
    """
    _, created = services.ensure_shipping_method(code=code, name=name, delivery_days=delivery_days)
    return SetupResult(created=created)


def ensure_shipping_rate(
    *, method: str, zone: str, currency: str, price: Decimal, free_over: Decimal | None = None
) -> SetupResult:
    """Create the rate of ``method`` for ``zone`` in ``currency`` unless one exists (left as it is).

    :raises InvalidShipping: unknown method or zone, a negative price or threshold, too many decimals.
    :raises UnsupportedCurrency:
    """
    _, created = services.ensure_shipping_rate(
        method=method, zone=zone, currency=currency, price=price, free_over=free_over
    )
    return SetupResult(created=created)


def ensure_tax_rate(*, country: str, tax_class: str, rate: Decimal) -> SetupResult:
    """Create the tax rate of ``tax_class`` in ``country`` unless one exists (left as it is).

    :raises UnknownCountry:
    :raises InvalidTaxRate: an unknown class, a rate below 0 or above 100, more than 2 decimals.
    """
    _, created = services.ensure_tax_rate(country=country, tax_class=tax_class, rate=rate)
    return SetupResult(created=created)


def check_voucher(
    *,
    code: str,
    lines: Sequence[QuoteLineRequest],
    currency: str,
    customer_id: int | None = None,
) -> AppliedVoucher:
    """Whether ``code`` can be used on this basket now (for a cart adding a voucher), and what it gives.

    :raises VoucherInvalid: with ``reason`` unknown / expired / exhausted / not_applicable / min_spend.
    :raises UnsupportedCurrency, InvalidQuantity, UnknownSku: as ``quote``.
    """
    result = quote(lines=lines, currency=currency, voucher_codes=(code,), customer_id=customer_id)
    if result.refused_vouchers:
        refused = result.refused_vouchers[0]
        raise VoucherInvalid(reason=refused.reason, code=refused.code)
    if not result.vouchers:
        raise VoucherInvalid(reason=VoucherRefusal.UNKNOWN, code=code)
    return result.vouchers[0]


# --- Vouchers ------------------------------------------------------------------------------------


def redeem_voucher(
    *, code: str, order_id: UUID, customer_id: int | None, amount: Decimal, currency: str
) -> VoucherRedemption:
    """Use the voucher for ``order_id`` (the discount ``amount`` comes from the quote).

    Idempotent by order id: redeeming again for the same order returns the first redemption. Safe
    under concurrency: with one use left, exactly one of many simultaneous orders gets it.
    Publishes ``VoucherRedeemed``.

    :raises VoucherInvalid: reason ``unknown``, ``expired``, ``exhausted`` (total or per-customer limit)
        or ``not_applicable`` (not started yet, another currency, the order already has a voucher).
    :raises InvalidPrice: a negative or malformed amount.
    :raises InvalidPricingInput: ``code`` not a text, ``order_id`` not a UUID, ``customer_id`` not a whole number.
    :raises UnsupportedCurrency:
    """
    redemption = services.redeem_voucher(
        code=code, order_id=order_id, customer_id=customer_id, amount=amount, currency=currency
    )
    return VoucherRedemption(
        code=redemption.voucher.code,
        order_id=redemption.order_id,
        customer_id=redemption.customer_id,
        amount=redemption.amount,
        currency=redemption.currency,
        redeemed_at=redemption.redeemed_at,
    )


def unredeem_voucher(*, order_id: UUID) -> None:
    """Give back the voucher uses ``order_id`` holds (a compensation step); repeating it does nothing.

    Publishes ``VoucherReleased`` per use given back.

    :raises InvalidPricingInput: ``order_id`` is not a UUID.
    """
    services.unredeem_voucher(order_id=order_id)


def create_voucher(
    *,
    code: str,
    kind: str,
    value: Decimal,
    currency: str | None = None,
    description: str = "",
    min_spend: Decimal = Decimal(0),
    starts_at: datetime | None = None,
    ends_at: datetime | None = None,
    usage_limit: int | None = None,
    per_customer_limit: int | None = None,
    is_active: bool = True,
) -> Voucher:
    """Create a voucher (codes are case-insensitive). ``kind`` is ``percentage`` or ``fixed``;
    ``currency`` is required for a fixed amount or a minimum spend.

    :raises InvalidVoucherDefinition: bad terms or a code already taken; nothing saved.
    """
    voucher = services.create_voucher(
        definition=services.VoucherDefinition(
            code=code,
            kind=kind,
            value=value,
            currency=currency,
            description=description,
            min_spend=min_spend,
            starts_at=starts_at,
            ends_at=ends_at,
            usage_limit=usage_limit,
            per_customer_limit=per_customer_limit,
            is_active=is_active,
        )
    )
    return _voucher(voucher)


def _voucher(row: VoucherRow) -> Voucher:
    return Voucher(
        code=row.code,
        kind=row.kind,
        value=row.value,
        currency=row.currency,
        min_spend=row.min_spend,
        starts_at=row.starts_at,
        ends_at=row.ends_at,
        usage_limit=row.usage_limit,
        per_customer_limit=row.per_customer_limit,
        times_used=row.times_used,
        is_active=row.is_active,
    )


def get_voucher(*, code: str) -> Voucher:
    """The voucher with ``code``, compared case-insensitively (surrounding spaces ignored), whatever its state.

    Looking a voucher up is not using it: an expired, exhausted or switched-off voucher is returned
    as it is (see ``is_active``, ``ends_at``, ``times_used``); ``check_voucher`` judges use.

    :raises VoucherNotFound: no voucher has this code (404 ``not_found``, like the other lookups;
        ``VoucherInvalid(reason="unknown")`` stays the answer of *using* an unknown code).
    :raises InvalidPricingInput: ``code`` is not a text, or holds a NUL character.
    """
    if not isinstance(code, str) or domain.NUL in code:
        raise InvalidPricingInput({"code": ["A voucher code is a text without NUL characters."]})
    row = selectors.voucher_by_code(code)
    if row is None:
        raise VoucherNotFound(f"No voucher has the code {code!r}.")
    return _voucher(row)


# --- Promotions ----------------------------------------------------------------------------------


def _promotion(row) -> Promotion:
    return Promotion(
        id=row.pk,
        name=row.name,
        kind=row.kind,
        value=row.value,
        scope=row.scope,
        currency=row.currency,
        skus=tuple(row.skus),
        category_ids=tuple(row.category_ids),
        min_subtotal=row.min_subtotal,
        starts_at=row.starts_at,
        ends_at=row.ends_at,
        priority=row.priority,
        stacks=row.stacks,
        is_active=row.is_active,
    )


def create_promotion(
    *,
    name: str,
    kind: str,
    value: Decimal,
    scope: str,
    currency: str | None = None,
    skus: Sequence[str] = (),
    category_ids: Sequence[int] = (),
    min_subtotal: Decimal = Decimal(0),
    starts_at: datetime | None = None,
    ends_at: datetime | None = None,
    priority: int = 0,
    stacks: bool = False,
    is_active: bool = True,
) -> Promotion:
    """Create an automatic promotion. ``kind``: ``percentage`` | ``fixed`` (per unit on a line
    promotion, once on a basket one); ``scope``: ``skus`` | ``categories`` | ``basket``; ``currency``
    is required for a fixed amount or a minimum subtotal. Publishes ``PromotionsChanged``.

    :raises InvalidPromotion: bad terms (percentage over 100, end before start, …); nothing saved.
    """
    row = services.create_promotion(
        terms=services.PromotionTerms(
            name=name,
            kind=kind,
            value=value,
            scope=scope,
            currency=currency,
            skus=skus,  # type: ignore[arg-type]  # judged as given: a bare string is refused, not split
            category_ids=category_ids,  # type: ignore[arg-type]
            min_subtotal=min_subtotal,
            starts_at=starts_at,
            ends_at=ends_at,
            priority=priority,
            stacks=stacks,
            is_active=is_active,
        )
    )
    return _promotion(row)


def find_promotions(*, name: str | None = None, active_only: bool = False) -> tuple[Promotion, ...]:
    """Promotions named exactly ``name`` (case-sensitive; all when None), highest priority first.

    ``active_only`` keeps those running now (switched on, started, not ended). One query; an empty
    tuple when none match. Lets seed data create a promotion only once.

    :raises InvalidPricingInput: ``name`` is not a text or holds a NUL character.
    """
    if name is not None and (not isinstance(name, str) or domain.NUL in name):
        raise InvalidPricingInput({"name": ["A promotion name is a text without NUL characters."]})
    return tuple(_promotion(row) for row in selectors.promotions(name=name, active_only=active_only))


def end_promotion(*, promotion_id: int) -> Promotion:
    """Switch a promotion off now (kept for the record). Publishes ``PromotionsChanged``.

    :raises PromotionNotFound:
    :raises InvalidPricingInput: ``promotion_id`` is not a whole number.
    """
    return _promotion(services.end_promotion(promotion_id=promotion_id))


def delete_promotion(*, promotion_id: int) -> None:
    """Delete a promotion; publishes ``PromotionsChanged`` when there was one.

    :raises InvalidPricingInput: ``promotion_id`` is not a whole number.
    """
    services.delete_promotion(promotion_id=promotion_id)

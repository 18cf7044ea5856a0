"""Quotes: the authoritative price of a basket, and whether a voucher can be used on it."""

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from contexts.pricing import selectors
from contexts.pricing.conf import pricing_settings
from contexts.pricing.domain import VoucherRefusal
from contexts.pricing.exceptions import (
    VoucherInvalid,
)


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

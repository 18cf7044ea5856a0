"""Shipping and tax: the methods that serve a country, the tax share of a refund, and set-up calls that create once."""

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from commerce.money import quantize
from contexts.pricing import checks, domain, selectors, services
from contexts.pricing.exceptions import (
    InvalidPrice,
    InvalidPricingInput,
    InvalidShipping,
)


@dataclass(frozen=True, slots=True, kw_only=True)
class ShippingOption:
    """A method that serves a country, priced for a subtotal (free-shipping threshold applied)."""

    code: str
    name: str
    price: Decimal  # as prices are shown (tax included when prices include tax)
    currency: str
    delivery_days: int
    free_over: Decimal | None  # the discounted subtotal from which it is free; None: never


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

"""Tax and shipping on a priced basket, and the tax share of a partial refund (steps 7 to 9 of the package docstring)."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from commerce.money import quantize
from contexts.pricing.domain._discounts import HUNDRED, ZERO

RATE_PLACES = Decimal("0.01")


class TaxClass(StrEnum):
    STANDARD = "standard"
    REDUCED = "reduced"
    ZERO = "zero"


def rate_for(rates: Mapping[str, Decimal], tax_class: str) -> Decimal:
    """The percentage ``rates`` hold for ``tax_class``; a class without a configured rate is taxed at zero."""
    return rates.get(tax_class, ZERO).quantize(RATE_PLACES)


def tax_of(amount: Decimal, rate: Decimal, *, included: bool, currency: str) -> Decimal:
    """The tax in (``included``) or on top of ``amount`` at ``rate`` percent, rounded once, half-up."""
    exact = amount * rate / (HUNDRED + rate) if included else amount * rate / HUNDRED
    return quantize(exact, currency)


def shipping_price(*, price: Decimal, free_over: Decimal | None, discounted_subtotal: Decimal) -> Decimal:
    """A rate's price, or zero once the subtotal after promotions and vouchers reaches its threshold."""
    if free_over is not None and discounted_subtotal >= free_over:
        return ZERO.quantize(price)
    return price


@dataclass(frozen=True, slots=True, kw_only=True)
class LineTax:
    rate: Decimal  # percent, two places
    net: Decimal  # the line without tax
    tax: Decimal


@dataclass(frozen=True, slots=True, kw_only=True)
class TaxedTotals:
    lines: tuple[LineTax, ...]
    shipping_total: Decimal  # as priced (tax included when prices include tax)
    shipping_net: Decimal
    shipping_tax: Decimal
    tax_total: Decimal  # Σ line taxes + shipping tax, exactly
    net_total: Decimal  # Σ line nets + shipping net
    total: Decimal  # net_total + tax_total, exactly: what the customer pays


def apply_tax(
    *,
    line_totals: Sequence[Decimal],
    line_rates: Sequence[Decimal],
    shipping: Decimal | None,
    shipping_rate: Decimal,
    prices_include_tax: bool,
    currency: str,
) -> TaxedTotals:
    """Tax each line's discounted amount at its rate and the shipping at ``shipping_rate``.

    ``line_totals`` and ``shipping`` are amounts as the shop prices them: tax included when
    ``prices_include_tax``, net otherwise (then the tax is added on top).
    """
    lines = []
    for amount, rate in zip(line_totals, line_rates, strict=True):
        tax = tax_of(amount, rate, included=prices_include_tax, currency=currency)
        lines.append(LineTax(rate=rate, net=amount - tax if prices_include_tax else amount, tax=tax))
    zero = quantize(ZERO, currency)
    shipping_total = zero if shipping is None else quantize(shipping, currency)
    shipping_tax = tax_of(shipping_total, shipping_rate, included=prices_include_tax, currency=currency)
    shipping_net = shipping_total - shipping_tax if prices_include_tax else shipping_total
    tax_total = sum((line.tax for line in lines), zero) + shipping_tax
    net_total = sum((line.net for line in lines), zero) + shipping_net
    return TaxedTotals(
        lines=tuple(lines),
        shipping_total=shipping_total,
        shipping_net=shipping_net,
        shipping_tax=shipping_tax,
        tax_total=tax_total,
        net_total=net_total,
        total=net_total + tax_total,
    )


# --- Refunds -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class RefundedLine:
    paid: Decimal  # what the customer paid for the whole line, tax included
    tax: Decimal  # the tax the line carried
    quantity: int  # units on the line
    refund_quantity: int  # units refunded now
    refunded_before: int = 0  # units refunded by earlier refunds of the same line


@dataclass(frozen=True, slots=True, kw_only=True)
class RefundShare:
    amount: Decimal  # to give back, tax included
    tax: Decimal  # the tax it contains


def _refund_share(line: RefundedLine, currency: str) -> RefundShare:
    """Units ``before+1 .. before+now`` of the line: the difference of two cumulative roundings.

    The amount is in proportion to the units; the tax in proportion to the amount (so a share never
    carries more tax than it gives back, even where a unit costs less than a cent).
    """

    def paid_for(units: int) -> Decimal:
        return quantize(line.paid * units / line.quantity, currency)

    def tax_in(amount: Decimal) -> Decimal:
        return quantize(line.tax * amount / line.paid, currency) if line.paid else quantize(ZERO, currency)

    before, after = paid_for(line.refunded_before), paid_for(line.refunded_before + line.refund_quantity)
    return RefundShare(amount=after - before, tax=tax_in(after) - tax_in(before))


def refund_shares(lines: Sequence[RefundedLine], currency: str) -> tuple[RefundShare, ...]:
    """The amount and tax to give back per refunded line, in proportion to the units refunded.

    Each share is the difference of two cumulative roundings, so the refunds of a line, however it
    is split, add up exactly to what was paid and the tax it carried: never a cent more or less.
    Expects ``0 <= tax <= paid`` and ``refunded_before + refund_quantity <= quantity`` (the api checks).
    """
    return tuple(_refund_share(line, currency) for line in lines)

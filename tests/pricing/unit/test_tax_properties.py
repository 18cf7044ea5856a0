"""Properties of tax and shipping on any basket (issue 10): the sums hold to the cent in both tax modes."""

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from contexts.pricing import domain
from tests.pricing.strategies import lines, promotions, vouchers

rates = st.sampled_from(
    [Decimal(0), Decimal("5.5"), Decimal(7), Decimal(10), Decimal(19), Decimal(20), Decimal(25), Decimal(100)]
)
classes = st.sampled_from(list(domain.TaxClass))
money = st.integers(min_value=0, max_value=200_00).map(lambda n: Decimal(n) / 100)


@st.composite
def taxed_quotes(draw, *, include: bool | None = None):
    basket_lines = draw(lines)
    basket = domain.price_basket(
        lines=basket_lines, promotions=draw(promotions()), vouchers=draw(vouchers), currency="EUR"
    )
    country_rates = draw(st.dictionaries(classes, rates, max_size=3))  # a missing class is taxed at 0
    line_classes = [draw(classes) for _ in basket.lines]
    price = draw(money)
    free_over = draw(st.none() | money)
    ship = draw(st.booleans())
    shipping = (
        domain.shipping_price(price=price, free_over=free_over, discounted_subtotal=basket.total) if ship else None
    )
    include = draw(st.booleans()) if include is None else include
    taxed = domain.apply_tax(
        line_totals=[line.total for line in basket.lines],
        line_rates=[domain.rate_for(country_rates, tax_class) for tax_class in line_classes],
        shipping=shipping,
        shipping_rate=domain.rate_for(country_rates, domain.TaxClass.STANDARD),
        prices_include_tax=include,
        currency="EUR",
    )
    return basket, taxed, include, (price, free_over, ship)


@settings(max_examples=400, deadline=None)
@given(quote=taxed_quotes())
def test_taxes_and_net_amounts_add_up_to_the_cent_and_nothing_is_negative(quote):
    basket, taxed, include, _shipping = quote
    assert sum((line.tax for line in taxed.lines), Decimal(0)) + taxed.shipping_tax == taxed.tax_total
    assert sum((line.net for line in taxed.lines), Decimal(0)) + taxed.shipping_net == taxed.net_total
    assert taxed.net_total + taxed.tax_total == taxed.total
    goods = basket.total + taxed.shipping_total
    assert taxed.total == (goods if include else goods + taxed.tax_total)
    amounts = [taxed.total, taxed.tax_total, taxed.net_total, taxed.shipping_total, taxed.shipping_tax]
    amounts += [value for line in taxed.lines for value in (line.net, line.tax)]
    assert all(value >= 0 and value == value.quantize(Decimal("0.01")) for value in amounts)
    if include:  # a contained tax never exceeds what contains it
        assert all(line.tax <= line.net + line.tax for line in taxed.lines)


@settings(max_examples=400, deadline=None)
@given(
    nets=st.lists(st.integers(min_value=0, max_value=500_000).map(lambda n: Decimal(n) / 100), min_size=1, max_size=8),
    line_rates=st.lists(rates, min_size=8, max_size=8),
    shipping=st.none() | money,
    shipping_rate=rates,
)
def test_inclusive_and_exclusive_modes_agree_on_the_net_amounts_and_the_taxes(
    nets, line_rates, shipping, shipping_rate
):
    """Exclusive prices N taxed on top give gross N + T; the same goods priced at N + T tax included
    contain exactly T, so both modes report the same net, tax and total."""
    line_rates = line_rates[: len(nets)]
    exclusive = domain.apply_tax(
        line_totals=nets,
        line_rates=line_rates,
        shipping=shipping,
        shipping_rate=shipping_rate,
        prices_include_tax=False,
        currency="EUR",
    )
    inclusive = domain.apply_tax(
        line_totals=[line.net + line.tax for line in exclusive.lines],
        line_rates=line_rates,
        shipping=None if shipping is None else exclusive.shipping_net + exclusive.shipping_tax,
        shipping_rate=shipping_rate,
        prices_include_tax=True,
        currency="EUR",
    )
    assert [(line.net, line.tax) for line in inclusive.lines] == [(line.net, line.tax) for line in exclusive.lines]
    assert (inclusive.shipping_net, inclusive.shipping_tax) == (exclusive.shipping_net, exclusive.shipping_tax)
    assert (inclusive.net_total, inclusive.tax_total, inclusive.total) == (
        exclusive.net_total,
        exclusive.tax_total,
        exclusive.total,
    )


@settings(max_examples=300, deadline=None)
@given(quote=taxed_quotes())
def test_free_shipping_is_judged_on_the_discounted_subtotal(quote):
    basket, taxed, _include, (price, free_over, ship) = quote
    if not ship:
        assert taxed.shipping_total == 0 and taxed.shipping_tax == 0
    elif free_over is not None and basket.total >= free_over:
        assert taxed.shipping_total == 0
    else:
        assert taxed.shipping_total == price


@settings(max_examples=300, deadline=None)
@given(
    paid=st.integers(min_value=0, max_value=1_000_000).map(lambda n: Decimal(n) / 100),
    tax_share=st.integers(min_value=0, max_value=100),
    quantity=st.integers(min_value=1, max_value=20),
    data=st.data(),
)
def test_partial_refunds_of_a_line_add_up_exactly_to_what_was_paid(paid, tax_share, quantity, data):
    tax = (paid * tax_share / 100).quantize(Decimal("0.01"))
    refunded, amount, taxes = 0, Decimal(0), Decimal(0)
    while refunded < quantity:
        now = data.draw(st.integers(min_value=1, max_value=quantity - refunded))
        (share,) = domain.refund_shares(
            [domain.RefundedLine(paid=paid, tax=tax, quantity=quantity, refund_quantity=now, refunded_before=refunded)],
            "EUR",
        )
        assert 0 <= share.tax <= share.amount  # never more tax than what is given back
        amount, taxes, refunded = amount + share.amount, taxes + share.tax, refunded + now
    assert (amount, taxes) == (paid, tax)

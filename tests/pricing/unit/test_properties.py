"""Properties of the combining rule, for any basket and any set of promotions."""

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from contexts.pricing import domain
from tests.pricing.strategies import cents, lines, promotions, vouchers


def price(basket_lines, rules, voucher_terms=()):
    return domain.price_basket(lines=basket_lines, promotions=rules, vouchers=voucher_terms, currency="EUR")


@settings(max_examples=300, deadline=None)
@given(basket_lines=lines, rules=promotions(), voucher_terms=vouchers)
def test_the_total_is_never_negative_and_lines_add_up_exactly(basket_lines, rules, voucher_terms):
    basket = price(basket_lines, rules, voucher_terms)
    assert basket.total >= 0
    assert all(line.total >= 0 and line.discount >= 0 for line in basket.lines)
    assert sum(line.total for line in basket.lines) == basket.total
    assert sum(line.discount for line in basket.lines) == basket.discount_total
    assert basket.subtotal - basket.discount_total == basket.total
    assert all(line.gross - line.discount == line.total for line in basket.lines)
    assert basket.total == basket.total.quantize(Decimal("0.01"))


@settings(max_examples=300, deadline=None)
@given(basket_lines=lines, rules=promotions(), voucher_terms=vouchers, data=st.data())
def test_removing_a_promotion_never_lowers_the_total(basket_lines, rules, voucher_terms, data):
    if not rules:
        return
    dropped = data.draw(st.integers(min_value=0, max_value=len(rules) - 1))
    fewer = rules[:dropped] + rules[dropped + 1 :]
    assert price(basket_lines, fewer, voucher_terms).total >= price(basket_lines, rules, voucher_terms).total


@settings(max_examples=200, deadline=None)
@given(
    amount=st.integers(min_value=0, max_value=100_000).map(lambda n: Decimal(n) / 100),
    weights=st.lists(cents, min_size=1, max_size=10),
)
def test_a_spread_adds_up_to_the_cent_and_no_share_exceeds_its_line(amount, weights):
    amount = min(amount, sum(weights))
    shares = domain.spread(amount, weights, "EUR")
    assert sum(shares) == amount
    assert all(0 <= share <= weight for share, weight in zip(shares, weights, strict=True))

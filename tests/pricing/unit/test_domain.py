"""The pricing rules without a database."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from contexts.pricing import domain
from contexts.pricing.domain import VoucherRefusal, VoucherTerms
from tests.pricing.factories import line, rule

NOW = datetime(2025, 6, 1, 12, tzinfo=UTC)
D = Decimal


def price(lines, promotions=(), vouchers=()):
    return domain.price_basket(lines=lines, promotions=promotions, vouchers=vouchers, currency="EUR")


def test_sale_price_applies_only_inside_its_window():
    kwargs = {"base_amount": D("20"), "sale_amount": D("15")}
    hour = timedelta(hours=1)
    assert domain.effective_unit_price(**kwargs, sale_starts_at=None, sale_ends_at=None, now=NOW) == D("15")
    assert domain.effective_unit_price(**kwargs, sale_starts_at=NOW + hour, sale_ends_at=None, now=NOW) == D("20")
    assert domain.effective_unit_price(**kwargs, sale_starts_at=NOW - hour, sale_ends_at=NOW, now=NOW) == D("20")
    assert domain.effective_unit_price(**kwargs, sale_starts_at=NOW, sale_ends_at=NOW + hour, now=NOW) == D("15")


def test_a_basket_without_promotions_costs_the_sum_of_its_lines():
    basket = price([line("A", 2, "9.99"), line("B", 1, "0.02")])
    assert basket.subtotal == basket.total == D("20.00")
    assert basket.discount_total == D("0.00")


def test_only_the_best_non_stacking_promotion_applies_to_a_line():
    promos = [
        rule(1, value="10", scope="skus", skus=frozenset({"A"})),
        rule(2, value="25", scope="skus", skus=frozenset({"A"})),
    ]
    basket = price([line("A", 1, "100.00")], promos)
    assert basket.total == D("75.00")
    assert basket.lines[0].promotion_ids == (2,)


def test_stacking_promotions_add_to_the_best_exclusive_one_without_compounding():
    promos = [
        rule(1, value="20", scope="skus", skus=frozenset({"A"})),
        rule(2, value="10", scope="categories", category_ids=frozenset({7}), stacks=True),
    ]
    basket = price([line("A", 1, "100.00", categories=(7,))], promos)
    assert basket.total == D("70.00")  # 20 % + 10 % of 100, not 10 % of 80


def test_on_equal_discounts_the_higher_priority_promotion_is_named():
    promos = [rule(1, value="10", scope="basket", priority=0), rule(2, value="10", scope="basket", priority=5)]
    assert price([line()], promos).promotion_ids == (2,)


def test_fixed_line_promotion_is_taken_off_each_unit_and_never_below_zero():
    promos = [rule(1, kind="fixed", value="3", scope="skus", skus=frozenset({"A"}))]
    assert price([line("A", 4, "10.00")], promos).total == D("28.00")
    big = [rule(1, kind="fixed", value="50", scope="skus", skus=frozenset({"A"}))]
    assert price([line("A", 2, "10.00")], big).total == D("0.00")


def test_fixed_basket_promotion_is_taken_once():
    promos = [rule(1, kind="fixed", value="5", scope="basket")]
    assert price([line("A", 3, "10.00")], promos).total == D("25.00")


def test_minimum_subtotal_is_judged_before_discounts():
    promos = [
        rule(1, value="50", scope="skus", skus=frozenset({"A"})),
        rule(2, kind="fixed", value="5", scope="basket", min_subtotal=D("30"), stacks=True),
    ]
    basket = price([line("A", 3, "10.00")], promos)
    assert basket.total == D("10.00")  # 30 → 15 by the line promotion → 10 by the basket one
    assert price([line("A", 2, "10.00")], promos).promotion_ids == (1,)


def test_percentage_discount_rounds_half_up_to_the_cent():
    # 15 % of 0.10 = 0.015 → 0.02
    basket = price([line("A", 1, "0.10")], [rule(1, value="15", scope="skus", skus=frozenset({"A"}))])
    assert basket.lines[0].discount == D("0.02")
    assert basket.total == D("0.08")


def test_order_level_discount_is_spread_so_lines_add_up_to_the_total():
    lines = [line("A", 1, "10.00"), line("B", 1, "10.00"), line("C", 1, "10.00")]
    basket = price(lines, [rule(1, kind="fixed", value="10", scope="basket")])
    assert [item.discount for item in basket.lines] == [D("3.34"), D("3.33"), D("3.33")]
    assert sum(item.total for item in basket.lines) == basket.total == D("20.00")


def test_spread_gives_the_leftover_cents_to_the_largest_remainders():
    assert domain.spread(D("1.00"), [D("1"), D("2"), D("3")], "EUR") == [D("0.17"), D("0.33"), D("0.50")]
    assert domain.spread(D("0"), [D("1")], "EUR") == [D("0.00")]


def test_vouchers_apply_after_promotions():
    voucher = VoucherTerms(code="TEN", kind=domain.DiscountKind.PERCENTAGE, value=D("10"))
    basket = price([line("A", 1, "100.00")], [rule(1, value="50", scope="basket")], [voucher])
    assert basket.voucher_amounts == (("TEN", D("5.00")),)
    assert basket.total == D("45.00")


def test_listing_price_ignores_basket_and_conditional_promotions():
    promos = [
        rule(1, value="10", scope="skus", skus=frozenset({"A"})),
        rule(2, value="50", scope="basket"),
        rule(3, value="50", scope="skus", skus=frozenset({"A"}), min_subtotal=D("1")),
    ]
    assert domain.listing_unit_price(
        sku="A", unit_price=D("20"), category_ids=(), promotions=promos, currency="EUR"
    ) == D("18.00")


@pytest.mark.parametrize(
    ("terms", "kwargs", "reason"),
    [
        (None, {}, VoucherRefusal.UNKNOWN),
        ({"is_active": False}, {}, VoucherRefusal.EXPIRED),
        ({"ends_at": NOW}, {}, VoucherRefusal.EXPIRED),
        ({"starts_at": NOW + timedelta(days=1)}, {}, VoucherRefusal.NOT_APPLICABLE),
        ({"currency": "USD", "kind": domain.DiscountKind.FIXED}, {}, VoucherRefusal.NOT_APPLICABLE),
        ({"usage_limit": 3, "times_used": 3}, {}, VoucherRefusal.EXHAUSTED),
        ({"per_customer_limit": 1}, {"customer_id": 5, "customer_uses": 1}, VoucherRefusal.EXHAUSTED),
        ({"min_spend": D("20"), "currency": "EUR"}, {"gross_subtotal": D("19.99")}, VoucherRefusal.MIN_SPEND),
        ({"per_customer_limit": 1}, {"customer_id": None, "customer_uses": 1}, None),
        ({"min_spend": D("20"), "currency": "EUR"}, {"gross_subtotal": D("20.00")}, None),
    ],
)
def test_a_voucher_is_refused_with_the_reason_a_customer_can_act_on(terms, kwargs, reason):
    voucher = None
    if terms is not None:
        voucher = VoucherTerms(**{"code": "X", "kind": domain.DiscountKind.PERCENTAGE, "value": D("10")} | terms)
    arguments = {"now": NOW, "currency": "EUR", "gross_subtotal": D("100")} | kwargs
    assert domain.voucher_refusal(voucher=voucher, **arguments) == reason


CURRENCIES = ("EUR", "USD", "GBP")


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"amount": D("0")}, "amount"),
        ({"amount": D("-1")}, "amount"),
        ({"amount": D("1.001")}, "amount"),
        ({"amount": D("NaN")}, "amount"),
        ({"currency": "JPY"}, "currency"),
        ({"sale_amount": D("12")}, "sale_amount"),
        ({"sale_amount": D("5"), "sale_starts_at": NOW, "sale_ends_at": NOW}, "sale_ends_at"),
        ({"sale_starts_at": NOW}, "sale_amount"),
    ],
)
def test_bad_prices_are_refused_field_by_field(fields, field):
    values = {"currency": "EUR", "amount": D("10"), "sale_amount": None, "sale_starts_at": None, "sale_ends_at": None}
    errors = domain.price_errors(**(values | fields), currencies=CURRENCIES)
    assert field in errors


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"value": D("100.01")}, "value"),
        ({"value": D("0")}, "value"),
        ({"kind": "fixed", "value": D("5")}, "currency"),
        ({"scope": "skus"}, "skus"),
        ({"scope": "categories"}, "category_ids"),
        ({"min_subtotal": D("10")}, "currency"),
        ({"starts_at": NOW, "ends_at": NOW - timedelta(seconds=1)}, "ends_at"),
    ],
)
def test_bad_promotions_are_refused_field_by_field(fields, field):
    values = {
        "kind": "percentage",
        "value": D("10"),
        "currency": None,
        "scope": "basket",
        "skus": [],
        "category_ids": [],
        "min_subtotal": D("0"),
        "starts_at": None,
        "ends_at": None,
    }
    assert field in domain.promotion_errors(**(values | fields), currencies=CURRENCIES)


def test_voucher_codes_compare_case_insensitively():
    assert domain.normalize_code("  welcome10 ") == "WELCOME10"


def voucher_terms(**overrides):
    fields = dict(
        code="WELCOME10",
        kind="percentage",
        value=Decimal("10"),
        currency=None,
        min_spend=Decimal(0),
        starts_at=None,
        ends_at=None,
        usage_limit=None,
        per_customer_limit=None,
        currencies=("EUR", "USD", "GBP"),
    )
    return fields | overrides


def test_a_voucher_usage_limit_below_the_uses_already_made_is_a_field_error():
    assert "usage_limit" in domain.voucher_errors(**voucher_terms(usage_limit=2, times_used=3))
    assert domain.voucher_errors(**voucher_terms(usage_limit=3, times_used=3)) == {}
    assert domain.voucher_errors(**voucher_terms(usage_limit=None, times_used=3)) == {}


@pytest.mark.parametrize("value", ["10.125", "0.001", "99.999"])
def test_a_percentage_with_more_decimals_than_stored_is_refused_not_rounded(value):
    errors = domain.discount_errors(kind="percentage", value=Decimal(value), currency=None, currencies=("EUR",))
    assert errors == {"value": ["At most 2 decimal places."]}
    assert domain.discount_errors(kind="percentage", value=Decimal("10.12"), currency=None, currencies=("EUR",)) == {}

"""Issue 9 point 19: the arithmetic mutation testing found unpinned, each pinned by a behaviour a customer sees."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal as D

import pytest

from contexts.pricing import domain
from contexts.pricing.domain import DiscountKind, VoucherRefusal, VoucherTerms
from tests.pricing.factories import line, rule

NOW = datetime(2025, 6, 1, 12, tzinfo=UTC)


def price(lines, promotions=(), vouchers=()):
    return domain.price_basket(lines=lines, promotions=promotions, vouchers=vouchers, currency="EUR")


def fixed(code, value):
    return VoucherTerms(code=code, kind=DiscountKind.FIXED, value=D(value), currency="EUR")


def test_a_fixed_voucher_takes_its_amount_off_the_basket_once():
    basket = price([line("A", 3, "10.00")], vouchers=[fixed("TEN", "10.00")])
    assert basket.voucher_amounts == (("TEN", D("10.00")),)
    assert basket.total == D("20.00") and basket.discount_total == D("10.00")


def test_a_fixed_voucher_larger_than_the_basket_is_capped_at_what_remains():
    basket = price(
        [line("A", 1, "30.00")],
        [rule(1, value="10", scope="basket")],  # 3.00 off first: 27.00 remain
        vouchers=[fixed("BIG", "50.00")],
    )
    assert basket.voucher_amounts == (("BIG", D("27.00")),)
    assert basket.total == D("0.00")


def test_a_second_fixed_voucher_gets_only_what_the_first_left():
    basket = price([line("A", 1, "30.00")], vouchers=[fixed("FIRST", "25.00"), fixed("SECOND", "10.00")])
    assert basket.voucher_amounts == (("FIRST", D("25.00")), ("SECOND", D("5.00")))
    assert basket.total == D("0.00")


def test_a_percentage_voucher_applies_to_what_promotions_left():
    basket = price(
        [line("A", 2, "10.00")],
        [rule(1, value="25", scope="skus", skus=frozenset({"A"}))],
        vouchers=[VoucherTerms(code="TEN", kind=DiscountKind.PERCENTAGE, value=D("10"))],
    )
    assert basket.voucher_amounts == (("TEN", D("1.50")),)  # 10 % of 15.00
    assert basket.total == D("13.50")


@pytest.mark.parametrize("stacking", ["1.00", "0.50", "0.01"])
def test_a_stacking_promotion_worth_a_euro_or_less_still_applies(stacking):
    basket = price(
        [line("A", 1, "10.00")],
        [
            rule(1, value="10", scope="skus", skus=frozenset({"A"})),  # 1.00, the best exclusive one
            rule(2, kind="fixed", value=stacking, scope="skus", skus=frozenset({"A"}), stacks=True),
        ],
    )
    assert basket.lines[0].discount == D("1.00") + D(stacking)
    assert basket.lines[0].promotion_ids == (1, 2)
    assert basket.promotion_ids == (1, 2)


def test_a_stacking_basket_promotion_of_one_euro_is_taken_with_the_best_one():
    basket = price(
        [line("A", 1, "20.00")],
        [
            rule(1, kind="fixed", value="2.00", scope="basket"),
            rule(2, kind="fixed", value="1.00", scope="basket", stacks=True),
        ],
    )
    assert basket.total == D("17.00") and basket.promotion_ids == (1, 2)


def test_applied_promotions_are_listed_by_priority_then_id_whatever_the_order_given():
    rules = [
        rule(5, value="1", scope="skus", skus=frozenset({"A"}), stacks=True, priority=0),
        rule(3, value="2", scope="basket", stacks=True, priority=2),
        rule(9, value="3", scope="skus", skus=frozenset({"B"}), priority=2),
        rule(4, value="4", scope="skus", skus=frozenset({"A"}), priority=1),
    ]
    basket = price([line("A", 1, "10.00"), line("B", 1, "10.00")], rules)
    assert basket.promotion_ids == (3, 9, 4, 5)
    assert price([line("A", 1, "10.00"), line("B", 1, "10.00")], rules[::-1]).promotion_ids == (3, 9, 4, 5)
    assert basket.lines[0].promotion_ids == (4, 5, 3)  # its own promotions by priority, then the basket's
    assert basket.lines[1].promotion_ids == (9, 3)


@pytest.mark.parametrize(
    ("now", "reason"),
    [
        (NOW - timedelta(microseconds=1), VoucherRefusal.NOT_APPLICABLE),  # not started
        (NOW, None),  # starts at this instant: usable
        (NOW + timedelta(days=1) - timedelta(microseconds=1), None),
        (NOW + timedelta(days=1), VoucherRefusal.EXPIRED),  # ends at this instant: over
    ],
)
def test_a_voucher_runs_from_its_start_inclusive_to_its_end_exclusive(now, reason):
    terms = VoucherTerms(
        code="WINDOW", kind=DiscountKind.PERCENTAGE, value=D("10"), starts_at=NOW, ends_at=NOW + timedelta(days=1)
    )
    assert domain.voucher_refusal(voucher=terms, now=now, currency="EUR", gross_subtotal=D("10")) == reason


@pytest.mark.parametrize(
    ("terms", "kwargs", "reason"),
    [
        ({"min_spend": D("20.00")}, {"gross_subtotal": D("20.00")}, None),  # exactly the minimum spend
        ({"min_spend": D("20.00")}, {"gross_subtotal": D("19.99")}, VoucherRefusal.MIN_SPEND),
        ({"usage_limit": 3, "times_used": 2}, {}, None),  # one use left
        ({"usage_limit": 3, "times_used": 3}, {}, VoucherRefusal.EXHAUSTED),
        ({"per_customer_limit": 2}, {"customer_uses": 1, "customer_id": 7}, None),
        ({"per_customer_limit": 2}, {"customer_uses": 2, "customer_id": 7}, VoucherRefusal.EXHAUSTED),
        ({"per_customer_limit": 2}, {"customer_uses": 2, "customer_id": None}, None),  # a guest: total limit only
        ({"currency": "USD"}, {}, VoucherRefusal.NOT_APPLICABLE),
        ({"is_active": False}, {}, VoucherRefusal.EXPIRED),
    ],
)
def test_voucher_limits_hold_exactly_at_their_boundaries(terms, kwargs, reason):
    voucher = VoucherTerms(code="V", kind=DiscountKind.PERCENTAGE, value=D("10"), **terms)
    arguments = {"now": NOW, "currency": "EUR", "gross_subtotal": D("50")} | kwargs
    assert domain.voucher_refusal(voucher=voucher, **arguments) == reason


def test_a_discount_ending_on_half_a_cent_rounds_up():
    # 10 % of 1.25 = 0.125: half-up gives 0.13 (half-even would give 0.12)
    basket = price([line("A", 1, "1.25")], [rule(1, value="10", scope="skus", skus=frozenset({"A"}))])
    assert basket.lines[0].discount == D("0.13") and basket.total == D("1.12")
    assert domain.tax_of(D("2.50"), D("5"), included=False, currency="EUR") == D("0.13")  # 0.125 -> 0.13


def test_a_sale_price_applies_from_its_start_inclusive_to_its_end_exclusive():
    sale = {
        "base_amount": D("10"),
        "sale_amount": D("8"),
        "sale_starts_at": NOW,
        "sale_ends_at": NOW + timedelta(hours=1),
    }
    assert domain.effective_unit_price(**sale, now=NOW) == D("8")
    assert domain.effective_unit_price(**sale, now=NOW - timedelta(microseconds=1)) == D("10")
    assert domain.effective_unit_price(**sale, now=NOW + timedelta(hours=1)) == D("10")
    assert domain.effective_unit_price(**(sale | {"sale_amount": None}), now=NOW) == D("10")


def test_a_category_promotion_applies_to_a_line_in_any_of_its_categories():
    promo = rule(1, value="10", scope="categories", category_ids=frozenset({3, 4}))
    basket = price([line("A", 1, "10.00", categories=(4, 9)), line("B", 1, "10.00", categories=(5,))], [promo])
    assert [item.discount for item in basket.lines] == [D("1.00"), D("0.00")]
    assert not rule(2, scope="basket").targets(sku="A", category_ids=(3,))


def test_a_fixed_line_promotion_counts_per_unit_but_a_percentage_does_not():
    per_unit = price(
        [line("A", 3, "10.00")], [rule(1, kind="fixed", value="2.00", scope="skus", skus=frozenset({"A"}))]
    )
    assert per_unit.lines[0].discount == D("6.00")
    percentage = price([line("A", 3, "10.00")], [rule(1, value="10", scope="skus", skus=frozenset({"A"}))])
    assert percentage.lines[0].discount == D("3.00")


def test_an_empty_basket_costs_nothing_in_its_currency():
    basket = price([], [rule(1, value="10", scope="basket")])
    assert basket.currency == "EUR" and basket.lines == () and basket.promotion_ids == ()
    assert [str(value) for value in (basket.subtotal, basket.discount_total, basket.total)] == ["0.00", "0.00", "0.00"]


def test_priced_lines_keep_their_sku_quantity_and_unit_price():
    basket = price([line("A", 2, "10.005"), line("B", 1, "3.00")])
    assert [(item.sku, item.quantity, item.unit_price, item.gross) for item in basket.lines] == [
        ("A", 2, D("10.01"), D("20.01")),
        ("B", 1, D("3.00"), D("3.00")),
    ]


def test_a_promotion_that_takes_nothing_is_not_listed_as_applied():
    free = line("A", 1, "0.00")
    for stacks in (False, True):
        basket = price([free], [rule(1, value="10", scope="skus", skus=frozenset({"A"}), stacks=stacks)])
        assert basket.promotion_ids == () and basket.lines[0].promotion_ids == ()


def test_a_spread_over_weights_adding_up_to_one_still_spreads():
    assert domain.spread(D("1.00"), [D("0.40"), D("0.60")], "EUR") == [D("0.40"), D("0.60")]
    assert domain.spread(D("0.01"), [D("0"), D("0")], "EUR") == [D("0.00"), D("0.00")]
    assert domain.spread(D("0"), [D("3"), D("1")], "EUR") == [D("0.00"), D("0.00")]

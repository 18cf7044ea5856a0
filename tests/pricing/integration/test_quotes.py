from datetime import timedelta
from decimal import Decimal
from uuid import uuid4

import pytest
from django.test import override_settings
from django.utils import timezone

from contexts.pricing import api as pricing_api
from tests.pricing.factories import price, pricing_connection, promotion, voucher

pytestmark = pytest.mark.django_db
D = Decimal
Line = pricing_api.QuoteLineRequest


def test_a_quote_prices_each_line_and_the_basket():
    price("A", "10.00")
    price("B", "3.33")
    quote = pricing_api.quote(lines=[Line(sku="A", quantity=2), Line(sku="B", quantity=3)], currency="EUR")
    assert [(line.sku, line.unit_price, line.total) for line in quote.lines] == [
        ("A", D("10.00"), D("20.00")),
        ("B", D("3.33"), D("9.99")),
    ]
    assert (quote.subtotal, quote.discount_total, quote.total) == (D("29.99"), D("0.00"), D("29.99"))


def test_promotions_and_a_voucher_apply_and_are_named():
    price("A", "10.00")
    price("B", "20.00")
    shirts = promotion(name="Shirts -20 %", scope="categories", category_ids=[7], value=D("20"))
    basket = promotion(
        name="5 off over 30", kind="fixed", currency="EUR", value=D("5"), min_subtotal=D("30"), stacks=True
    )
    voucher("welcome10", min_spend=D("20"), currency="EUR")
    quote = pricing_api.quote(
        lines=[Line(sku="A", quantity=1, category_ids=(7,)), Line(sku="B", quantity=1)],
        currency="EUR",
        voucher_codes=["Welcome10"],
    )
    # 30.00 → A -2.00 → 28.00 → basket -5.00 → 23.00 → voucher -2.30 → 20.70
    assert quote.total == D("20.70")
    assert {p.id for p in quote.promotions} == {shirts.id, basket.id}
    assert quote.vouchers == (pricing_api.AppliedVoucher(code="WELCOME10", amount=D("2.30")),)
    assert sum(line.total for line in quote.lines) == quote.total
    assert quote.discount_total == D("9.30")


def test_a_voucher_that_cannot_be_used_says_why_without_failing_the_quote():
    price("A", "10.00")
    voucher("BIG", min_spend=D("50"), currency="EUR")
    voucher("OLD", ends_at=timezone.now() - timedelta(days=1), starts_at=timezone.now() - timedelta(days=2))
    quote = pricing_api.quote(lines=[Line(sku="A", quantity=1)], currency="EUR", voucher_codes=["big", "old", "nope"])
    assert [(r.code, r.reason) for r in quote.refused_vouchers] == [
        ("BIG", "min_spend"),
        ("OLD", "expired"),
        ("NOPE", "unknown"),
    ]
    assert quote.total == D("10.00")


def test_only_one_voucher_applies_unless_configured():
    price("A", "100.00")
    voucher("ONE")
    voucher("TWO")
    quote = pricing_api.quote(lines=[Line(sku="A", quantity=1)], currency="EUR", voucher_codes=["ONE", "TWO"])
    assert [v.code for v in quote.vouchers] == ["ONE"]
    assert [(r.code, r.reason) for r in quote.refused_vouchers] == [("TWO", "not_applicable")]
    with override_settings(PRICING_MAX_VOUCHERS_PER_ORDER=2):
        quote = pricing_api.quote(lines=[Line(sku="A", quantity=1)], currency="EUR", voucher_codes=["ONE", "TWO"])
    assert quote.total == D("81.00")


def test_check_voucher_raises_with_the_contract_reason():
    price("A", "10.00")
    voucher("WELCOME10", min_spend=D("20"), currency="EUR")
    with pytest.raises(pricing_api.VoucherInvalid) as caught:
        pricing_api.check_voucher(code="welcome10", lines=[Line(sku="A", quantity=1)], currency="EUR")
    assert (caught.value.code, caught.value.http_status, caught.value.extra()) == (
        "voucher_invalid",
        400,
        {"reason": "min_spend"},
    )
    applied = pricing_api.check_voucher(code="welcome10", lines=[Line(sku="A", quantity=2)], currency="EUR")
    assert applied.amount == D("2.00")


def test_a_customer_who_used_up_a_voucher_is_told_it_is_exhausted():
    price("A", "10.00")
    voucher("ONCE", per_customer_limit=1)
    pricing_api.redeem_voucher(code="ONCE", order_id=uuid4(), customer_id=7, amount=D("1.00"), currency="EUR")
    quote = pricing_api.quote(lines=[Line(sku="A", quantity=1)], currency="EUR", voucher_codes=["ONCE"], customer_id=7)
    assert quote.refused_vouchers[0].reason == "exhausted"
    other = pricing_api.quote(lines=[Line(sku="A", quantity=1)], currency="EUR", voucher_codes=["ONCE"], customer_id=8)
    assert other.vouchers and not other.refused_vouchers


def test_an_unknown_sku_is_refused_naming_every_missing_sku():
    price("A", "10.00")
    with pytest.raises(pricing_api.UnknownSku) as caught:
        pricing_api.quote(
            lines=[Line(sku="A", quantity=1), Line(sku="X", quantity=1), Line(sku="Y", quantity=1)], currency="EUR"
        )
    assert caught.value.code == "unknown_sku" and caught.value.extra() == {"skus": ["X", "Y"]}


def test_a_price_in_another_currency_is_not_a_price_in_this_one():
    price("A", "10.00", currency="USD")
    with pytest.raises(pricing_api.UnknownSku):
        pricing_api.quote(lines=[Line(sku="A", quantity=1)], currency="EUR")


@pytest.mark.parametrize("quantity", [0, -1, 10_001, 10_000_000, True])
def test_a_quantity_outside_one_to_the_maximum_is_refused(quantity):
    price("A", "10.00")
    with pytest.raises(pricing_api.InvalidQuantity) as caught:
        pricing_api.quote(lines=[Line(sku="A", quantity=quantity)], currency="EUR")
    assert caught.value.code == "invalid"


def test_the_largest_allowed_quantity_is_priced():
    price("A", "9999.99")
    assert pricing_api.quote(lines=[Line(sku="A", quantity=10_000)], currency="EUR").total == D("99999900.00")


def test_a_quote_in_a_currency_the_shop_does_not_sell_in_is_refused():
    with pytest.raises(pricing_api.UnsupportedCurrency):
        pricing_api.quote(lines=[Line(sku="A", quantity=1)], currency="XXX")


def test_promotions_in_another_currency_or_not_running_do_not_apply():
    price("A", "10.00")
    promotion(name="USD only", kind="fixed", currency="USD", value=D("1"))
    promotion(name="Later", starts_at=timezone.now() + timedelta(days=1))
    promotion(name="Over", starts_at=timezone.now() - timedelta(days=2), ends_at=timezone.now() - timedelta(days=1))
    promotion(name="Off", is_active=False)
    assert pricing_api.quote(lines=[Line(sku="A", quantity=1)], currency="EUR").total == D("10.00")


def test_a_quote_uses_a_bounded_number_of_queries(django_assert_max_num_queries):
    for n in range(50):
        price(f"S{n}", "10.00")
    for n in range(20):
        promotion(name=f"P{n}", scope="skus", skus=[f"S{n}"], value=D(n + 1), stacks=n % 2 == 0)
    voucher("TEN")
    lines = [Line(sku=f"S{n}", quantity=2) for n in range(50)]
    with django_assert_max_num_queries(4, connection=pricing_connection()):
        quote = pricing_api.quote(lines=lines, currency="EUR", voucher_codes=["ten"], customer_id=1)
    assert sum(line.total for line in quote.lines) == quote.total


def test_bad_promotions_are_refused_and_not_saved(published):
    from contexts.pricing.models import Promotion

    with pytest.raises(pricing_api.InvalidPromotion):
        promotion(value=D("101"))
    with pytest.raises(pricing_api.InvalidPromotion):
        promotion(starts_at=timezone.now(), ends_at=timezone.now() - timedelta(hours=1))
    with pytest.raises(pricing_api.InvalidPromotion):
        promotion(kind="fixed", value=D("5"), currency="JPY")
    assert not Promotion.objects.exists()
    assert published("pricing.PromotionsChanged") == []


def test_creating_and_ending_a_promotion_announces_it(published):
    created = promotion()
    ended = pricing_api.end_promotion(promotion_id=created.id)
    assert ended.is_active is False
    assert [e["promotion_id"] for e in published("pricing.PromotionsChanged")] == [created.id, created.id]
    with pytest.raises(pricing_api.PromotionNotFound):
        pricing_api.end_promotion(promotion_id=999_999)

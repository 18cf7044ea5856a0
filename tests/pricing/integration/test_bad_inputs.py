"""Every api function answers bad input with a typed error (400 ``invalid``) and saves nothing."""

from datetime import UTC, datetime
from decimal import Decimal as D
from uuid import uuid4

import pytest

from contexts.pricing import api
from contexts.pricing.models import Promotion, Voucher, VoucherRedemption
from tests.pricing.factories import price, voucher

pytestmark = pytest.mark.django_db

PROMOTION = {"name": "P", "kind": "percentage", "value": D("10"), "scope": "basket"}
VOUCHER = {"code": "NEW10", "kind": "percentage", "value": D("10")}


@pytest.mark.parametrize(
    "overrides",
    [
        {"priority": 10**12},
        {"priority": "1"},
        {"priority": True},
        {"name": "x" * 300},
        {"name": 5},
        {"stacks": "no"},
        {"is_active": "yes"},
        {"starts_at": "2020-01-01"},
        {"starts_at": datetime(2020, 1, 1)},
        {"ends_at": datetime(2030, 1, 1)},
        {"scope": "skus", "skus": "ABC"},
        {"scope": "skus", "skus": None},
        {"scope": "categories", "category_ids": (10**30,)},
        {"scope": "categories", "category_ids": "12"},
        {"scope": "categories", "category_ids": None},
    ],
)
def test_create_promotion_refuses_bad_input_and_saves_nothing(overrides):
    with pytest.raises(api.InvalidPromotion) as refused:
        api.create_promotion(**(PROMOTION | overrides))
    assert refused.value.code == "invalid" and refused.value.http_status == 400
    assert not Promotion.objects.exists()


@pytest.mark.parametrize(
    "overrides",
    [
        {"code": 123},
        {"description": "d" * 300},
        {"description": None},
        {"usage_limit": 10**12},
        {"per_customer_limit": 10**12},
        {"usage_limit": "5"},
        {"is_active": "no"},
        {"starts_at": "2020-01-01"},
        {"ends_at": datetime(2030, 1, 1)},
        {"currency": ["EUR"]},
    ],
)
def test_create_voucher_refuses_bad_input_and_saves_nothing(overrides):
    with pytest.raises(api.InvalidVoucherDefinition) as refused:
        api.create_voucher(**(VOUCHER | overrides))
    assert refused.value.code == "invalid" and refused.value.http_status == 400
    assert not Voucher.objects.exists()


def test_an_aware_datetime_window_is_still_accepted():
    start, end = datetime(2020, 1, 1, tzinfo=UTC), datetime(2030, 1, 1, tzinfo=UTC)
    assert api.create_promotion(**PROMOTION, starts_at=start, ends_at=end).ends_at == end
    assert api.create_voucher(**VOUCHER, starts_at=start, ends_at=end).starts_at == start


@pytest.mark.parametrize(
    "overrides",
    [
        {"code": 5},
        {"order_id": None},
        {"order_id": "x"},
        {"customer_id": "abc"},
        {"customer_id": True},
        {"customer_id": 10**30},
        {"currency": ["EUR"]},
    ],
)
def test_redeem_voucher_refuses_bad_input_and_saves_nothing(overrides):
    voucher("ONCE")
    fields = {"code": "ONCE", "order_id": uuid4(), "customer_id": None, "amount": D("1"), "currency": "EUR"}
    with pytest.raises(api.InvalidPricingInput) as refused:
        api.redeem_voucher(**(fields | overrides))
    assert refused.value.code == "invalid" and refused.value.http_status == 400
    assert not VoucherRedemption.objects.exists()
    assert Voucher.objects.get().times_used == 0


@pytest.mark.parametrize("order_id", ["zzz", None, 5])
def test_unredeem_voucher_refuses_an_order_id_that_is_not_a_uuid(order_id):
    with pytest.raises(api.InvalidPricingInput):
        api.unredeem_voucher(order_id=order_id)


@pytest.mark.parametrize("promotion_id", ["abc", None, True, 10**30])
def test_ending_or_deleting_a_promotion_refuses_an_id_that_is_not_a_whole_number(promotion_id):
    with pytest.raises(api.InvalidPricingInput):
        api.end_promotion(promotion_id=promotion_id)
    with pytest.raises(api.InvalidPricingInput):
        api.delete_promotion(promotion_id=promotion_id)


def line(**overrides):
    return api.QuoteLineRequest(**({"sku": "A", "quantity": 1} | overrides))


@pytest.mark.parametrize(
    "overrides",
    [
        {"voucher_codes": None},
        {"voucher_codes": "ABC"},
        {"voucher_codes": [5]},
        {"lines": None},
        {"lines": "A"},
        {"lines": [line(category_ids=None)]},
        {"lines": [line(category_ids="12")]},
        {"lines": [line(category_ids=(10**30,))]},
        {"lines": [line(category_ids=(0,))]},
        {"lines": [{"sku": "A", "quantity": 1}]},
        {"currency": ["EUR"]},
        {"customer_id": "abc"},
    ],
)
def test_quote_refuses_bad_input(overrides):
    price("A", "10.00")
    with pytest.raises(api.InvalidPricingInput) as refused:
        api.quote(**({"lines": [line()], "currency": "EUR"} | overrides))
    assert refused.value.code == "invalid" and refused.value.http_status == 400


@pytest.mark.parametrize(
    "overrides",
    [{"skus": None}, {"skus": "A"}, {"currency": ["EUR"]}, {"category_ids": ["A"]}, {"category_ids": {"A": "12"}}],
)
def test_prices_for_refuses_bad_input(overrides):
    price("A", "10.00")
    with pytest.raises(api.InvalidPricingInput):
        api.prices_for(**({"skus": ["A"], "currency": "EUR"} | overrides))


@pytest.mark.parametrize("prices", [None, "A", [{"sku": "A", "currency": "EUR", "amount": D("1")}]])
def test_set_base_prices_refuses_what_is_not_a_list_of_price_inputs(prices):
    with pytest.raises(api.InvalidPrice):
        api.set_base_prices(prices=prices)
    with pytest.raises(api.InvalidPrice):
        api.check_base_prices(prices=prices)


@pytest.mark.parametrize("currency", [["EUR"], None, 5])
def test_a_currency_that_is_not_a_string_is_refused(currency):
    with pytest.raises(api.UnsupportedCurrency):
        api.set_base_price(sku="A", currency=currency, amount=D("1"))

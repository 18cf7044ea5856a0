from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import IntegrityError
from django.utils import timezone

from commerce.database import atomic_in
from contexts.pricing import api as pricing_api
from contexts.pricing.models import Price
from tests.pricing.factories import price, pricing_connection, promotion

pytestmark = pytest.mark.django_db
D = Decimal


def test_setting_a_price_creates_it_and_announces_the_change(published):
    listed = price("SKU-1", "12.50")
    assert listed == pricing_api.SkuPrice(
        sku="SKU-1", currency="EUR", base_amount=D("12.50"), amount=D("12.50"), on_sale=False
    )
    events = published("pricing.PriceChanged")
    assert [(e["sku"], e["old_amount"], e["new_amount"]) for e in events] == [("SKU-1", None, "12.50")]


def test_resetting_the_same_price_writes_and_publishes_nothing(published, django_assert_max_num_queries):
    price("SKU-1", "12.50")
    before = Price.objects.get().updated_at
    price("SKU-1", "12.50")
    assert Price.objects.get().updated_at == before
    assert len(published("pricing.PriceChanged")) == 1


def test_changing_a_price_publishes_old_and_new_effective_amounts(published):
    price("SKU-1", "12.50")
    price("SKU-1", "11.00")
    last = published("pricing.PriceChanged")[-1]
    assert (last["old_amount"], last["new_amount"]) == ("12.50", "11.00")


@pytest.mark.parametrize("amount", ["0", "-1", "1.001", "NaN", "99999999999"])
def test_a_bad_base_price_is_refused_and_nothing_saved(amount):
    with pytest.raises(pricing_api.InvalidPrice) as caught:
        price("SKU-1", amount)
    assert caught.value.code == "invalid" and "amount" in caught.value.extra()["errors"]
    assert not Price.objects.exists()


def test_a_currency_the_shop_does_not_sell_in_is_refused():
    with pytest.raises(pricing_api.UnsupportedCurrency):
        price("SKU-1", "10", currency="JPY")
    assert not Price.objects.exists()


def test_a_running_sale_lowers_the_listed_price(published):
    price("SKU-1", "20.00")
    listed = pricing_api.set_sale_price(sku="SKU-1", currency="EUR", amount=D("15.00"))
    assert (listed.amount, listed.base_amount, listed.on_sale) == (D("15.00"), D("20.00"), True)
    assert published("pricing.PriceChanged")[-1]["new_amount"] == "15.00"


def test_a_scheduled_sale_changes_nothing_until_it_starts(published):
    price("SKU-1", "20.00")
    start = timezone.now() + timedelta(days=1)
    listed = pricing_api.set_sale_price(sku="SKU-1", currency="EUR", amount=D("15.00"), starts_at=start)
    assert (listed.amount, listed.on_sale) == (D("20.00"), False)
    assert len(published("pricing.PriceChanged")) == 1


def test_scheduled_sale_start_is_announced_once_by_the_periodic_job(published):
    from contexts.pricing import services

    price("SKU-1", "20.00")
    start = timezone.now() + timedelta(hours=1)
    pricing_api.set_sale_price(sku="SKU-1", currency="EUR", amount=D("15.00"), starts_at=start)
    assert services.announce_scheduled_price_changes(now=start + timedelta(minutes=1)) == 1
    assert services.announce_scheduled_price_changes(now=start + timedelta(minutes=2)) == 0
    last = published("pricing.PriceChanged")[-1]
    assert (last["old_amount"], last["new_amount"]) == ("20.00", "15.00")


@pytest.mark.parametrize(
    ("amount", "starts", "ends"),
    [("25.00", None, None), ("0", None, None), ("10", 1, 0)],
)
def test_a_bad_sale_price_is_refused_and_the_price_is_unchanged(amount, starts, ends):
    price("SKU-1", "20.00")
    now = timezone.now()
    with pytest.raises(pricing_api.InvalidPrice):
        pricing_api.set_sale_price(
            sku="SKU-1",
            currency="EUR",
            amount=D(amount),
            starts_at=None if starts is None else now + timedelta(days=starts),
            ends_at=None if ends is None else now + timedelta(days=ends),
        )
    assert Price.objects.get().sale_amount is None


def test_a_sale_needs_a_base_price_first():
    with pytest.raises(pricing_api.PriceNotFound):
        pricing_api.set_sale_price(sku="NOPE", currency="EUR", amount=D("1"))


def test_the_base_price_cannot_drop_below_a_running_sale():
    price("SKU-1", "20.00")
    pricing_api.set_sale_price(sku="SKU-1", currency="EUR", amount=D("15.00"))
    with pytest.raises(pricing_api.InvalidPrice):
        price("SKU-1", "10.00")


def test_removing_a_price_announces_none(published):
    price("SKU-1", "20.00")
    assert pricing_api.remove_price(sku="SKU-1", currency="EUR") is True
    assert published("pricing.PriceChanged")[-1]["new_amount"] is None
    assert pricing_api.prices_for(skus=["SKU-1"], currency="EUR") == {}


def test_prices_for_takes_one_query_for_prices_and_one_for_promotions(django_assert_num_queries):
    for n in range(60):
        price(f"SKU-{n}", "10.00")
    promotion(name="Shirts", scope="categories", category_ids=[3], value=D("20"))
    skus = [f"SKU-{n}" for n in range(60)] + ["MISSING"]
    with django_assert_num_queries(2, connection=pricing_connection()):
        listed = pricing_api.prices_for(skus=skus, currency="EUR", category_ids={"SKU-1": [3]})
    assert len(listed) == 60 and "MISSING" not in listed
    assert (listed["SKU-1"].amount, listed["SKU-1"].on_sale) == (D("8.00"), True)
    assert listed["SKU-2"].amount == D("10.00")


def test_listing_prices_leave_out_basket_promotions():
    price("SKU-1", "10.00")
    promotion(name="Whole basket", scope="basket", value=D("50"))
    assert pricing_api.prices_for(skus=["SKU-1"], currency="EUR")["SKU-1"].amount == D("10.00")


def test_database_refuses_a_sale_above_base_even_behind_the_services_back():
    with pytest.raises(IntegrityError), atomic_in("pricing"):
        Price.objects.create(sku="X", currency="EUR", amount=D("10"), sale_amount=D("11"))
    with pytest.raises(IntegrityError), atomic_in("pricing"):
        Price.objects.create(sku="Y", currency="EUR", amount=D("0"))

"""A quote keeps promotions, tax rates and shipping rates in memory only while they are unchanged:
every write to those tables, however it is made (a bulk update or delete bypasses the ORM's signals),
is seen by the next quote, and a warm quote reads only the prices."""

from datetime import timedelta
from decimal import Decimal as D

import pytest
from django.utils import timezone

from contexts.pricing import api as pricing_api
from contexts.pricing import selectors
from contexts.pricing.models import Promotion, ShippingMethod, ShippingRate, TaxRate
from tests.pricing.factories import price, pricing_connection, promotion
from tests.pricing.integration import test_shipping_and_tax

pytestmark = pytest.mark.django_db(databases="__all__")

shop = test_shipping_and_tax.shop  # DE in the EU zone, standard shipping 4.90, VAT 19 %, MUG at 11.90

Line = pricing_api.QuoteLineRequest


def quote(**kwargs):
    return pricing_api.quote(
        lines=[Line(sku="MUG", quantity=2)], currency="EUR", country="DE", shipping_method="standard", **kwargs
    )


def test_a_warm_quote_reads_the_prices_only(shop, django_assert_num_queries):
    promotion(name="Tenth off")
    cold = quote()
    with django_assert_num_queries(1, connection=pricing_connection()):
        warm = quote()
    assert warm == cold and warm.discount_total == D("2.38") and warm.shipping_total == D("4.90")


def test_a_promotion_changed_by_a_bulk_update_applies_at_the_next_quote(shop):
    promotion(name="Tenth off")
    assert quote().discount_total == D("2.38")
    Promotion.objects.update(value=D("50"))
    assert quote().discount_total == D("11.90")
    Promotion.objects.update(is_active=False)
    assert quote().discount_total == D("0.00")
    Promotion.objects.all().delete()
    promotion(name="Later", starts_at=timezone.now() + timedelta(hours=1))
    assert quote().discount_total == D("0.00")


def test_a_promotion_that_starts_or_ends_with_time_is_applied_by_the_clock_not_the_cache(shop):
    now = timezone.now()
    promotion(name="Soon", starts_at=now + timedelta(minutes=5), ends_at=now + timedelta(minutes=10))
    request = selectors.check_quote_request(
        lines=[Line(sku="MUG", quantity=2)],
        currency="EUR",
        voucher_codes=(),
        customer_id=None,
        country=None,
        shipping_method=None,
    )
    discounts = [
        selectors.quote_basket(request, now=now + timedelta(minutes=minutes)).basket.discount_total
        for minutes in (0, 6, 11)
    ]
    assert discounts == [D("0.00"), D("2.38"), D("0.00")]


def test_tax_and_shipping_changed_by_bulk_updates_apply_at_the_next_quote(shop):
    before = quote()
    assert (before.lines[0].tax_rate, before.shipping_total) == (D("19.00"), D("4.90"))
    TaxRate.objects.filter(country="DE", tax_class="standard").update(rate=D("16"))
    ShippingRate.objects.filter(method__code="standard").update(price=D("5.50"))
    after = quote()
    assert (after.lines[0].tax_rate, after.shipping_total) == (D("16.00"), D("5.50"))
    ShippingMethod.objects.filter(code="standard").update(is_active=False)
    with pytest.raises(pricing_api.ShippingUnavailable):
        quote()


def test_a_price_change_needs_no_cache_of_its_own(shop):
    assert quote().lines[0].unit_price == D("11.90")
    price("MUG", "9.90")
    assert quote().lines[0].unit_price == D("9.90")

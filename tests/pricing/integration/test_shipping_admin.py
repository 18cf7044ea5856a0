"""Merchandisers manage shipping zones, methods, rates and tax rates in the admin."""

from decimal import Decimal as D

import pytest
from django.urls import reverse

from contexts.pricing import api as pricing_api
from contexts.pricing.models import ShippingMethod, ShippingRate, ShippingZone, TaxRate

pytestmark = pytest.mark.django_db(databases="__all__")


@pytest.fixture
def zones():
    pricing_api.ensure_shipping_zone(name="EU", countries=["DE", "AT"])
    pricing_api.ensure_shipping_method(code="standard", name="Standard", delivery_days=3)
    pricing_api.ensure_shipping_rate(method="standard", zone="EU", currency="EUR", price=D("4.90"), free_over=D("50"))
    pricing_api.ensure_tax_rate(country="DE", tax_class="standard", rate=D("19"))


def test_the_admin_lists_zones_methods_rates_and_tax_rates(admin_client, zones):
    pages = {
        "pricing_shippingzone": ["EU", "AT, DE"],
        "pricing_shippingmethod": ["standard", "Standard"],
        "pricing_shippingrate": ["4.90", "50.00"],
        "pricing_taxrate": ["Germany", "19.00"],
    }
    for model, texts in pages.items():
        response = admin_client.get(reverse(f"admin:{model}_changelist"))
        assert response.status_code == 200
        for text in texts:
            assert text in response.content.decode(), (model, text)


def test_a_zone_taking_a_country_of_another_zone_is_refused_on_the_form(admin_client, zones):
    response = admin_client.post(reverse("admin:pricing_shippingzone_add"), {"name": "DACH", "countries": ["DE", "CH"]})
    assert response.status_code == 200
    assert "Already in another zone: DE (EU)" in response.content.decode()
    assert not ShippingZone.objects.filter(name="DACH").exists()


def test_a_negative_rate_and_a_tax_rate_above_100_are_refused_on_the_form(admin_client, zones):
    method = ShippingMethod.objects.get(code="standard")
    zone = ShippingZone.objects.get(name="EU")
    response = admin_client.post(
        reverse("admin:pricing_shippingrate_add"),
        {"method": method.pk, "zone": zone.pk, "currency": "USD", "price": "-1", "free_over": ""},
    )
    assert response.status_code == 200 and "The amount cannot be negative." in response.content.decode()
    response = admin_client.post(
        reverse("admin:pricing_taxrate_add"), {"country": "AT", "tax_class": "standard", "rate": "120"}
    )
    assert response.status_code == 200 and "A tax rate is a percentage from 0 to 100." in response.content.decode()
    assert ShippingRate.objects.count() == 1 and TaxRate.objects.count() == 1


def test_an_edited_rate_prices_the_next_quote(admin_client, zones):
    pricing_api.set_base_price(sku="MUG", currency="EUR", amount=D("10.00"))
    rate = ShippingRate.objects.get()
    response = admin_client.post(
        reverse("admin:pricing_shippingrate_change", args=[rate.pk]),
        {"method": rate.method_id, "zone": rate.zone_id, "currency": "EUR", "price": "5.95", "free_over": ""},
    )
    assert response.status_code == 302
    quote = pricing_api.quote(
        lines=[pricing_api.QuoteLineRequest(sku="MUG", quantity=1)],
        currency="EUR",
        country="AT",
        shipping_method="standard",
    )
    assert quote.shipping_total == D("5.95")

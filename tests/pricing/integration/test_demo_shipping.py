"""seed_demo's shipping and VAT (issue 10 point 5): a German address gets standard shipping and the VAT it contains."""

import io
from decimal import Decimal as D

import pytest
from django.conf import settings
from django.core.management import call_command

from contexts.pricing import api as pricing_api
from contexts.pricing.models import Price, ShippingRate, ShippingZone, TaxRate

pytestmark = pytest.mark.django_db(databases="__all__")

COUNTRIES = ("DE", "FR", "NL", "AT", "PL")


def seed() -> str:
    out = io.StringIO()
    call_command("seed_demo", stdout=out, stderr=io.StringIO())
    return out.getvalue()


def test_the_demo_ships_standard_and_express_to_five_countries_in_every_currency_with_their_vat():
    out = seed()
    assert "shipping zones, methods, rates and VAT rates created" in out
    for country in COUNTRIES:
        for currency in settings.SHOP_CURRENCIES:
            options = pricing_api.shipping_methods(country=country, currency=currency, subtotal=D("10"))
            assert {option.code for option in options} == {"standard", "express"}, (country, currency)
            standard = next(option for option in options if option.code == "standard")
            assert standard.free_over is not None and standard.price > 0
        rates = dict(TaxRate.objects.filter(country=country).values_list("tax_class", "rate"))
        assert set(rates) == {"standard", "reduced", "zero"} and rates["reduced"] < rates["standard"]
    eur = pricing_api.shipping_methods(country="DE", currency="EUR", subtotal=D("50.00"))
    assert [(o.code, o.price) for o in eur] == [("standard", D("0.00")), ("express", D("9.90"))]


def test_a_german_quote_of_the_demo_prices_standard_shipping_and_the_vat_it_contains():
    seed()
    book = Price.objects.filter(currency="EUR", sku__startswith="DEMO-00007").first()  # Books
    shirt = Price.objects.get(currency="EUR", sku="DEMO-00001-1")  # Apparel, 57.97
    assert (book.tax_class, shirt.tax_class) == ("reduced", "standard")
    quote = pricing_api.quote(
        lines=[pricing_api.QuoteLineRequest(sku=book.sku, quantity=1)],
        currency="EUR",
        country="DE",
        shipping_method="standard",
    )
    assert quote.lines[0].tax_rate == D("7.00")
    assert quote.shipping_total == (D("4.90") if book.amount < 50 else D("0.00"))
    assert quote.shipping_tax == (D("0.78") if book.amount < 50 else D("0.00"))
    assert quote.total == book.amount + quote.shipping_total
    assert quote.tax_total == quote.lines[0].tax + quote.shipping_tax
    free = pricing_api.quote(
        lines=[pricing_api.QuoteLineRequest(sku=shirt.sku, quantity=1)],
        currency="EUR",
        country="DE",
        shipping_method="standard",
    )
    assert free.shipping_total == D("0.00") and free.lines[0].tax == D("9.26")  # 57.97 x 19 / 119


def test_a_rerun_keeps_what_staff_changed_in_shipping_and_tax():
    seed()
    ShippingRate.objects.filter(method__code="standard", zone__name="Germany", currency="EUR").update(
        price=D("3.50"), free_over=D("80.00")
    )
    TaxRate.objects.filter(country="FR", tax_class="reduced").update(rate=D("10.00"))
    ShippingZone.objects.filter(name="EU").update(countries="AT,FR,NL")
    rates = ShippingRate.objects.count()
    out = seed()
    assert "0 shipping zones, methods, rates and VAT rates created" in out
    rate = ShippingRate.objects.get(method__code="standard", zone__name="Germany", currency="EUR")
    assert (rate.price, rate.free_over) == (D("3.50"), D("80.00"))
    assert TaxRate.objects.get(country="FR", tax_class="reduced").rate == D("10.00")
    assert ShippingZone.objects.get(name="EU").country_codes() == ["AT", "FR", "NL"]
    assert ShippingRate.objects.count() == rates
    assert pricing_api.shipping_methods(country="PL", currency="EUR", subtotal=D("1")) == ()

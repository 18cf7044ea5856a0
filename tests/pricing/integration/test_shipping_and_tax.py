"""Shipping methods and taxes in every quote (issue 10): what a customer sees at the cart and checkout."""

from decimal import Decimal as D

import pytest
from django.test import override_settings
from rest_framework.views import APIView

from commerce.errors import api_exception_handler
from contexts.pricing import api as pricing_api
from contexts.pricing.models import Price, ShippingMethod, ShippingRate, ShippingZone, TaxRate
from tests.pricing.factories import price, pricing_connection, voucher

pytestmark = pytest.mark.django_db(databases="__all__")

Line = pricing_api.QuoteLineRequest


@pytest.fixture
def shop():
    """DE, AT and FR in the EU zone, PL in the East zone; standard (free over 50.00) and express."""
    pricing_api.ensure_shipping_zone(name="EU", countries=["DE", "AT", "FR"])
    pricing_api.ensure_shipping_zone(name="East", countries=["PL"])
    pricing_api.ensure_shipping_method(code="standard", name="Standard", delivery_days=3)
    pricing_api.ensure_shipping_method(code="express", name="Express", delivery_days=1)
    pricing_api.ensure_shipping_rate(
        method="standard", zone="EU", currency="EUR", price=D("4.90"), free_over=D("50.00")
    )
    pricing_api.ensure_shipping_rate(method="express", zone="EU", currency="EUR", price=D("9.90"))
    pricing_api.ensure_shipping_rate(method="standard", zone="East", currency="EUR", price=D("7.00"))
    for country, standard, reduced in (("DE", "19", "7"), ("AT", "20", "10"), ("FR", "20", "5.5")):
        pricing_api.ensure_tax_rate(country=country, tax_class="standard", rate=D(standard))
        pricing_api.ensure_tax_rate(country=country, tax_class="reduced", rate=D(reduced))
    pricing_api.set_base_price(sku="MUG", currency="EUR", amount=D("11.90"))
    pricing_api.set_base_price(sku="BOOK", currency="EUR", amount=D("10.70"), tax_class="reduced")


def assert_adds_up(quote):
    assert sum((line.tax for line in quote.lines), D(0)) + quote.shipping_tax == quote.tax_total
    assert (
        sum((line.net for line in quote.lines), D(0))
        + (quote.shipping_total - quote.shipping_tax if quote.prices_include_tax else quote.shipping_total)
        + quote.tax_total
        == quote.total
    )
    assert quote.net_total + quote.tax_total == quote.total


def test_a_german_quote_prices_standard_shipping_and_the_vat_it_contains(shop):
    quote = pricing_api.quote(
        lines=[Line(sku="MUG", quantity=2), Line(sku="BOOK", quantity=1)],
        currency="EUR",
        country="DE",
        shipping_method="standard",
    )
    mug, book = quote.lines
    assert (mug.tax_class, mug.tax_rate, mug.total, mug.tax, mug.net) == (
        "standard",
        D("19.00"),
        D("23.80"),
        D("3.80"),
        D("20.00"),
    )
    assert (book.tax_class, book.tax_rate, book.total, book.tax, book.net) == (
        "reduced",
        D("7.00"),
        D("10.70"),
        D("0.70"),
        D("10.00"),
    )
    assert quote.country == "DE" and quote.shipping_method == "standard" and quote.prices_include_tax
    assert quote.shipping_total == D("4.90")
    assert quote.shipping_tax == D("0.78")  # 4.90 x 19 / 119 = 0.7823
    assert quote.tax_total == D("5.28")
    assert quote.total == D("39.40")  # 23.80 + 10.70 + 4.90: tax is contained
    assert_adds_up(quote)


def test_standard_shipping_is_free_from_the_threshold_on_the_discounted_subtotal(shop):
    voucher("TENOFF", kind="fixed", value=D("10.00"), currency="EUR")
    lines = [Line(sku="MUG", quantity=5)]  # 59.50
    free = pricing_api.quote(lines=lines, currency="EUR", country="DE", shipping_method="standard")
    assert free.shipping_total == D("0.00") and free.shipping_tax == D("0.00")
    assert free.total == D("59.50")
    discounted = pricing_api.quote(
        lines=lines, currency="EUR", country="DE", shipping_method="standard", voucher_codes=["TENOFF"]
    )
    assert discounted.lines[0].total == D("49.50")  # below 50.00 after the voucher: shipping is charged
    assert discounted.shipping_total == D("4.90")
    assert discounted.total == D("54.40")
    assert_adds_up(discounted)


def test_without_a_country_there_is_no_shipping_line_and_the_default_country_taxes(shop):
    quote = pricing_api.quote(lines=[Line(sku="MUG", quantity=1)], currency="EUR", shipping_method="standard")
    assert quote.country == "DE" and quote.shipping_method is None
    assert (quote.shipping_total, quote.shipping_tax) == (D("0.00"), D("0.00"))
    assert quote.lines[0].tax_rate == D("19.00") and quote.tax_total == D("1.90")
    with override_settings(PRICING_DEFAULT_COUNTRY="AT"):
        austrian = pricing_api.quote(lines=[Line(sku="MUG", quantity=1)], currency="EUR")
    assert austrian.country == "AT" and austrian.lines[0].tax_rate == D("20.00")


def test_a_country_without_a_method_has_no_shipping_line(shop):
    quote = pricing_api.quote(lines=[Line(sku="MUG", quantity=1)], currency="EUR", country="FR")
    assert quote.shipping_method is None and quote.shipping_total == D("0.00")
    assert quote.lines[0].tax_rate == D("20.00")
    assert quote.total == D("11.90")


def test_a_country_without_configured_rates_is_taxed_at_zero_visibly(shop):
    quote = pricing_api.quote(
        lines=[Line(sku="BOOK", quantity=1)], currency="EUR", country="PL", shipping_method="standard"
    )
    assert quote.lines[0].tax_rate == D("0.00") and quote.lines[0].tax == D("0.00")
    assert quote.shipping_total == D("7.00") and quote.shipping_tax == D("0.00")
    assert quote.tax_total == D("0.00") and quote.total == D("17.70")


def test_prices_excluding_tax_add_it_on_top(shop):
    with override_settings(PRICES_INCLUDE_TAX=False):
        quote = pricing_api.quote(
            lines=[Line(sku="MUG", quantity=2), Line(sku="BOOK", quantity=1)],
            currency="EUR",
            country="DE",
            shipping_method="express",
        )
    mug, book = quote.lines
    assert not quote.prices_include_tax
    assert (mug.total, mug.net, mug.tax) == (D("23.80"), D("23.80"), D("4.52"))  # 23.80 x 19 % = 4.522
    assert (book.total, book.net, book.tax) == (D("10.70"), D("10.70"), D("0.75"))  # 10.70 x 7 % = 0.749
    assert quote.shipping_total == D("9.90") and quote.shipping_tax == D("1.88")  # 9.90 x 19 % = 1.881
    assert quote.tax_total == D("7.15")
    assert quote.total == D("23.80") + D("10.70") + D("9.90") + D("7.15")
    assert_adds_up(quote)


@pytest.mark.parametrize("country", ["de", "DEU", "XX", "", "D", 49, "DE "])
def test_an_unknown_lower_case_or_three_letter_country_is_refused_naming_the_field(shop, country):
    with pytest.raises(pricing_api.UnknownCountry) as refused:
        pricing_api.quote(lines=[Line(sku="MUG", quantity=1)], currency="EUR", country=country)
    assert list(refused.value.errors) == ["country"]
    with pytest.raises(pricing_api.UnknownCountry):
        pricing_api.shipping_methods(country=country, currency="EUR", subtotal=D("10"))


def test_the_rest_layer_answers_an_unknown_country_400_and_an_unserved_method_409(shop):
    with pytest.raises(pricing_api.UnknownCountry) as unknown:
        pricing_api.quote(lines=[Line(sku="MUG", quantity=1)], currency="EUR", country="deu")
    response = api_exception_handler(unknown.value, {"view": APIView()})
    assert response.status_code == 400
    assert response.data["code"] == "invalid" and "country" in response.data["errors"]
    with pytest.raises(pricing_api.ShippingUnavailable) as unserved:
        pricing_api.quote(lines=[Line(sku="MUG", quantity=1)], currency="EUR", country="PL", shipping_method="express")
    response = api_exception_handler(unserved.value, {"view": APIView()})
    assert response.status_code == 409 and response.data["code"] == "shipping_unavailable"


@pytest.mark.parametrize(
    ("country", "method", "currency"),
    [
        ("PL", "express", "EUR"),  # express has no rate for the East zone
        ("US", "standard", "EUR"),  # no zone covers the US
        ("DE", "pigeon", "EUR"),  # no such method
        ("DE", "standard", "USD"),  # no rate in USD
    ],
)
def test_a_method_that_does_not_serve_the_country_is_unavailable(shop, country, method, currency):
    if currency == "USD":
        pricing_api.set_base_price(sku="MUG", currency="USD", amount=D("12.00"))
    with pytest.raises(pricing_api.ShippingUnavailable) as refused:
        pricing_api.quote(
            lines=[Line(sku="MUG", quantity=1)], currency=currency, country=country, shipping_method=method
        )
    assert refused.value.code == "shipping_unavailable" and refused.value.http_status == 409


def test_a_switched_off_method_is_neither_offered_nor_priced(shop):
    ShippingMethod.objects.filter(code="express").update(is_active=False)
    assert [o.code for o in pricing_api.shipping_methods(country="DE", currency="EUR", subtotal=D("10"))] == [
        "standard"
    ]
    with pytest.raises(pricing_api.ShippingUnavailable):
        pricing_api.quote(lines=[Line(sku="MUG", quantity=1)], currency="EUR", country="DE", shipping_method="express")


def test_shipping_methods_lists_what_serves_a_country_priced_for_the_subtotal(shop):
    options = pricing_api.shipping_methods(country="AT", currency="EUR", subtotal=D("20.00"))
    assert [(o.code, o.name, o.price, o.delivery_days, o.free_over) for o in options] == [
        ("standard", "Standard", D("4.90"), 3, D("50.00")),
        ("express", "Express", D("9.90"), 1, None),
    ]
    free = pricing_api.shipping_methods(country="AT", currency="EUR", subtotal=D("50.00"))
    assert [(o.code, o.price) for o in free] == [("standard", D("0.00")), ("express", D("9.90"))]
    assert pricing_api.shipping_methods(country="US", currency="EUR", subtotal=D("1")) == ()
    assert [o.code for o in pricing_api.shipping_methods(country="PL", currency="EUR", subtotal=D("1"))] == ["standard"]
    with pytest.raises(pricing_api.InvalidPrice) as refused:
        pricing_api.shipping_methods(country="DE", currency="EUR", subtotal=D("-1"))
    assert "subtotal" in refused.value.errors


def test_a_quote_with_shipping_and_tax_takes_a_constant_number_of_queries(shop, django_assert_max_num_queries):
    for n in range(50):
        price(f"S{n}", "10.00")
    lines = [Line(sku=f"S{n}", quantity=2) for n in range(50)]
    # prices, live promotions, tax rates, the shipping rate
    with django_assert_max_num_queries(4, connection=pricing_connection()):
        quote = pricing_api.quote(lines=lines, currency="EUR", country="DE", shipping_method="express")
    assert quote.shipping_total == D("9.90") and len(quote.lines) == 50


def test_the_tax_class_is_kept_with_the_price(shop):
    assert (
        pricing_api.set_base_price(sku="BREAD", currency="EUR", amount=D("2.14"), tax_class="reduced").tax_class
        == "reduced"
    )
    assert pricing_api.prices_for(skus=["BREAD"], currency="EUR")["BREAD"].tax_class == "reduced"
    quote = pricing_api.quote(lines=[Line(sku="BREAD", quantity=1)], currency="EUR", country="DE")
    assert (quote.lines[0].tax_rate, quote.lines[0].tax) == (D("7.00"), D("0.14"))
    pricing_api.set_base_price(sku="BREAD", currency="EUR", amount=D("2.14"), tax_class="zero")
    quote = pricing_api.quote(lines=[Line(sku="BREAD", quantity=1)], currency="EUR", country="DE")
    assert (quote.lines[0].tax_class, quote.lines[0].tax_rate, quote.lines[0].tax) == ("zero", D("0.00"), D("0.00"))


def test_an_unknown_tax_class_is_refused_and_nothing_written(shop, published):
    before = published()
    with pytest.raises(pricing_api.InvalidPrice) as refused:
        pricing_api.set_base_price(sku="NEW", currency="EUR", amount=D("1.00"), tax_class="luxury")
    assert list(refused.value.errors) == ["tax_class"]
    with pytest.raises(pricing_api.InvalidPriceBatch) as batch:
        pricing_api.set_base_prices(
            prices=[
                pricing_api.PriceInput(sku="NEW", currency="EUR", amount=D("1.00")),
                pricing_api.PriceInput(sku="NEW2", currency="EUR", amount=D("1.00"), tax_class="Reduced"),
            ]
        )
    assert list(batch.value.errors) == ["prices[1].tax_class"]
    assert not Price.objects.filter(sku__in=["NEW", "NEW2"]).exists()
    assert published() == before


def test_a_batch_sets_tax_classes_and_a_class_change_alone_is_an_update(shop, published):
    result = pricing_api.set_base_prices(
        prices=[pricing_api.PriceInput(sku="MUG", currency="EUR", amount=D("11.90"), tax_class="reduced")]
    )
    assert (result.created, result.updated, result.unchanged) == (0, 1, 0)
    assert Price.objects.get(sku="MUG", currency="EUR").tax_class == "reduced"
    again = pricing_api.set_base_prices(
        prices=[pricing_api.PriceInput(sku="MUG", currency="EUR", amount=D("11.90"), tax_class="reduced")]
    )
    assert again.unchanged == 1


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (
            lambda: pricing_api.ensure_shipping_rate(method="express", zone="East", currency="EUR", price=D("-1")),
            "price",
        ),
        (
            lambda: pricing_api.ensure_shipping_rate(method="express", zone="East", currency="EUR", price=D("1.001")),
            "price",
        ),
        (
            lambda: pricing_api.ensure_shipping_rate(
                method="express", zone="East", currency="EUR", price=D("1"), free_over=D("-5")
            ),
            "free_over",
        ),
        (lambda: pricing_api.ensure_shipping_rate(method="express", zone="Moon", currency="EUR", price=D("1")), "zone"),
        (lambda: pricing_api.ensure_shipping_rate(method="drone", zone="East", currency="EUR", price=D("1")), "method"),
        (lambda: pricing_api.ensure_tax_rate(country="PL", tax_class="standard", rate=D("100.01")), "rate"),
        (lambda: pricing_api.ensure_tax_rate(country="PL", tax_class="standard", rate=D("-1")), "rate"),
        (lambda: pricing_api.ensure_tax_rate(country="PL", tax_class="standard", rate=D("23.001")), "rate"),
        (lambda: pricing_api.ensure_tax_rate(country="PL", tax_class="luxury", rate=D("23")), "tax_class"),
        (lambda: pricing_api.ensure_tax_rate(country="pl", tax_class="standard", rate=D("23")), "country"),
        (lambda: pricing_api.ensure_shipping_zone(name="North", countries=["SE", "se"]), "countries"),
        (lambda: pricing_api.ensure_shipping_zone(name="North", countries=[]), "countries"),
        (lambda: pricing_api.ensure_shipping_zone(name="North", countries=["SE", "DE"]), "countries"),  # DE is in EU
        (lambda: pricing_api.ensure_shipping_method(code="same day", name="Same day", delivery_days=0), "code"),
        (lambda: pricing_api.ensure_shipping_method(code="slow", name="Slow", delivery_days=-1), "delivery_days"),
    ],
)
def test_bad_shipping_and_tax_definitions_are_refused_naming_the_field_and_nothing_written(shop, call, field):
    counts = (
        ShippingZone.objects.count(),
        ShippingMethod.objects.count(),
        ShippingRate.objects.count(),
        TaxRate.objects.count(),
    )
    with pytest.raises(pricing_api.InvalidPricingInput) as refused:
        call()
    assert field in refused.value.errors
    assert counts == (
        ShippingZone.objects.count(),
        ShippingMethod.objects.count(),
        ShippingRate.objects.count(),
        TaxRate.objects.count(),
    )


def test_ensuring_again_never_overwrites_what_staff_changed(shop):
    ShippingRate.objects.filter(method__code="standard", zone__name="EU").update(price=D("5.50"), free_over=None)
    TaxRate.objects.filter(country="DE", tax_class="reduced").update(rate=D("5.00"))
    ShippingZone.objects.filter(name="EU").update(countries="AT,DE")
    assert not pricing_api.ensure_shipping_zone(name="EU", countries=["DE", "AT", "FR"]).created
    assert not pricing_api.ensure_shipping_rate(
        method="standard", zone="EU", currency="EUR", price=D("4.90"), free_over=D("50.00")
    ).created
    assert not pricing_api.ensure_tax_rate(country="DE", tax_class="reduced", rate=D("7")).created
    rate = ShippingRate.objects.get(method__code="standard", zone__name="EU")
    assert (rate.price, rate.free_over) == (D("5.50"), None)
    assert TaxRate.objects.get(country="DE", tax_class="reduced").rate == D("5.00")
    assert ShippingZone.objects.get(name="EU").country_codes() == ["AT", "DE"]


def test_refund_breakdown_gives_back_each_units_share_and_adds_up_over_partial_refunds():
    line = {"total": D("10.00"), "tax": D("1.60"), "quantity": 3}
    first = pricing_api.refund_breakdown(lines=[pricing_api.RefundLine(**line, refund_quantity=1)], currency="EUR")
    second = pricing_api.refund_breakdown(
        lines=[pricing_api.RefundLine(**line, refund_quantity=1, refunded_before=1)], currency="EUR"
    )
    third = pricing_api.refund_breakdown(
        lines=[pricing_api.RefundLine(**line, refund_quantity=1, refunded_before=2)], currency="EUR"
    )
    assert [(r.amount, r.tax) for r in (first, second, third)] == [
        (D("3.33"), D("0.53")),
        (D("3.34"), D("0.54")),
        (D("3.33"), D("0.53")),
    ]
    assert first.amount + second.amount + third.amount == D("10.00")
    assert first.tax + second.tax + third.tax == D("1.60")
    exclusive = pricing_api.refund_breakdown(
        lines=[pricing_api.RefundLine(**line, refund_quantity=3)], currency="EUR", prices_include_tax=False
    )
    assert (exclusive.amount, exclusive.tax) == (D("11.60"), D("1.60"))  # paid 10.00 + 1.60 tax on top


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"refund_quantity": 4}, "lines[0].refund_quantity"),
        ({"refund_quantity": 0}, "lines[0].refund_quantity"),
        ({"refund_quantity": 2, "refunded_before": 2}, "lines[0].refund_quantity"),
        ({"tax": D("11")}, "lines[0].tax"),
        ({"total": D("-1")}, "lines[0].total"),
        ({"quantity": True}, "lines[0].quantity"),
    ],
)
def test_refund_breakdown_refuses_impossible_refunds(overrides, field):
    line = {"total": D("10.00"), "tax": D("1.60"), "quantity": 3, "refund_quantity": 1} | overrides
    with pytest.raises(pricing_api.InvalidPricingInput) as refused:
        pricing_api.refund_breakdown(lines=[pricing_api.RefundLine(**line)], currency="EUR")
    assert field in refused.value.errors

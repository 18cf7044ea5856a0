"""Issue 9 point 14 (pricing): a NUL character in any text argument is a typed error naming the field,
never a raw database error (PostgreSQL refuses NUL in text), and nothing is written."""

from decimal import Decimal as D
from uuid import uuid4

import pytest

from commerce.database import database_for
from commerce.eventbus.models import OutboxMessage
from contexts.pricing import api
from contexts.pricing.models import Price, Promotion, ShippingMethod, ShippingZone, Voucher, VoucherRedemption
from tests.pricing.factories import price, voucher

pytestmark = pytest.mark.django_db(databases="__all__")

NUL = "A\x00B"
Line = api.QuoteLineRequest

CALLS = {
    "set_base_price": (lambda: api.set_base_price(sku=NUL, currency="EUR", amount=D("1")), "sku"),
    "set_sale_price": (lambda: api.set_sale_price(sku=NUL, currency="EUR", amount=D("1")), "sku"),
    "remove_price": (lambda: api.remove_price(sku=NUL, currency="EUR"), "sku"),
    "set_base_prices": (
        lambda: api.set_base_prices(prices=[api.PriceInput(sku=NUL, currency="EUR", amount=D("1"))]),
        "prices[0].sku",
    ),
    "check_base_prices": (
        lambda: api.check_base_prices(prices=[api.PriceInput(sku=NUL, currency="EUR", amount=D("1"))]),
        "prices[0].sku",
    ),
    "prices_for": (lambda: api.prices_for(skus=["SKU-1", NUL], currency="EUR"), "skus"),
    "quote sku": (lambda: api.quote(lines=[Line(sku=NUL, quantity=1)], currency="EUR"), "lines[0].sku"),
    "quote voucher": (
        lambda: api.quote(lines=[Line(sku="SKU-1", quantity=1)], currency="EUR", voucher_codes=[NUL]),
        "voucher_codes",
    ),
    "quote method": (
        lambda: api.quote(lines=[Line(sku="SKU-1", quantity=1)], currency="EUR", country="DE", shipping_method=NUL),
        "shipping_method",
    ),
    "check_voucher": (
        lambda: api.check_voucher(code=NUL, lines=[Line(sku="SKU-1", quantity=1)], currency="EUR"),
        "voucher_codes",
    ),
    "get_voucher": (lambda: api.get_voucher(code=NUL), "code"),
    "redeem_voucher": (
        lambda: api.redeem_voucher(code=NUL, order_id=uuid4(), customer_id=None, amount=D("1"), currency="EUR"),
        "code",
    ),
    "create_voucher code": (lambda: api.create_voucher(code=NUL, kind="percentage", value=D("10")), "code"),
    "create_voucher description": (
        lambda: api.create_voucher(code="NEW", kind="percentage", value=D("10"), description=NUL),
        "description",
    ),
    "create_promotion name": (
        lambda: api.create_promotion(name=NUL, kind="percentage", value=D("10"), scope="basket"),
        "name",
    ),
    "create_promotion skus": (
        lambda: api.create_promotion(name="P", kind="percentage", value=D("10"), scope="skus", skus=[NUL]),
        "skus",
    ),
    "find_promotions": (lambda: api.find_promotions(name=NUL), "name"),
    "shipping_methods": (lambda: api.shipping_methods(country="D\x00", currency="EUR", subtotal=D("1")), "country"),
    "ensure_shipping_zone": (lambda: api.ensure_shipping_zone(name=NUL, countries=["DE"]), "name"),
    "ensure_shipping_method": (lambda: api.ensure_shipping_method(code=NUL, name="x", delivery_days=1), "code"),
    "ensure_shipping_method name": (
        lambda: api.ensure_shipping_method(code="fast", name=NUL, delivery_days=1),
        "name",
    ),
    "ensure_shipping_rate": (
        lambda: api.ensure_shipping_rate(method=NUL, zone="EU", currency="EUR", price=D("1")),
        "method",
    ),
    "ensure_tax_rate": (lambda: api.ensure_tax_rate(country="DE", tax_class=NUL, rate=D("19")), "tax_class"),
}


def rows():
    return (
        Price.objects.count(),
        Promotion.objects.count(),
        Voucher.objects.count(),
        VoucherRedemption.objects.count(),
        ShippingZone.objects.count(),
        ShippingMethod.objects.count(),
        OutboxMessage.objects.using(database_for("pricing")).count(),
    )


@pytest.mark.parametrize("name", list(CALLS))
def test_a_nul_character_is_a_typed_error_naming_the_field_and_writes_nothing(name):
    price("SKU-1", "10.00")
    voucher("WELCOME10")
    call, field = CALLS[name]
    before = rows()
    with pytest.raises(api.InvalidPricingInput) as refused:
        call()
    assert field in refused.value.errors, refused.value.errors
    assert rows() == before

"""A small shop for the cart tests: products in the catalogue, prices in pricing, stock in inventory,
each set through its owning context's api or services (``tests.support.shop``)."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from contexts.pricing import api as pricing_api
from tests.catalogue.factories import CategoryFactory
from tests.support.shop import make_product


@pytest.fixture
def shop(db):
    """Shirts (two sizes), a mug, a poster without stock, a hidden product, and WELCOME10."""
    apparel = CategoryFactory(name="Apparel")
    make_product(
        "blue-shirt", "Blue Shirt", {"SHIRT-S": ("Small", "20.00", 50), "SHIRT-M": ("Medium", "20.00", 5)}, apparel
    )
    make_product("coffee-mug", "Coffee Mug", {"MUG": ("Default", "8.50", 200)})
    make_product("poster", "Poster", {"POSTER": ("Default", "5.00", 0)})
    make_product("secret", "Secret", {"SECRET": ("Default", "9.00", 10)}, published=False)
    make_product("no-price", "No Price", {"NOPRICE": ("Default", None, 10)})
    pricing_api.create_voucher(
        code="WELCOME10", kind="percentage", value=Decimal("10"), currency="EUR", min_spend=Decimal("20.00")
    )
    pricing_api.create_voucher(
        code="OLD",
        kind="percentage",
        value=Decimal("5"),
        starts_at=timezone.now() - timedelta(days=10),
        ends_at=timezone.now() - timedelta(days=1),
    )
    pricing_api.ensure_shipping_zone(name="Germany", countries=["DE"])
    pricing_api.ensure_shipping_zone(name="France", countries=["FR"])
    pricing_api.ensure_shipping_method(code="standard", name="Standard", delivery_days=3)
    pricing_api.ensure_shipping_method(code="express", name="Express", delivery_days=1)
    for zone in ("Germany", "France"):
        pricing_api.ensure_shipping_rate(
            method="standard", zone=zone, currency="EUR", price=Decimal("4.90"), free_over=Decimal("50.00")
        )
    pricing_api.ensure_shipping_rate(method="express", zone="Germany", currency="EUR", price=Decimal("9.90"))
    pricing_api.ensure_tax_rate(country="DE", tax_class="standard", rate=Decimal("19.00"))
    pricing_api.ensure_tax_rate(country="FR", tax_class="standard", rate=Decimal("20.00"))
    return apparel


@pytest.fixture
def many_skus(db):
    """``many_skus(n)`` → n purchasable SKUs, each priced 1.00 EUR with 100 in stock."""

    def make(count: int, prefix: str = "BULK") -> list[str]:
        skus = [f"{prefix}-{i:03d}" for i in range(count)]
        make_product(f"{prefix.lower()}-bundle", f"{prefix} bundle", {sku: (sku, "1.00", 100) for sku in skus})
        return skus

    return make

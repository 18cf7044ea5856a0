import io
from decimal import Decimal

import pytest
from django.core.management import call_command

from commerce.database import database_for
from commerce.eventbus.models import OutboxMessage
from contexts.catalogue.models import Category, ListingEntry, Product
from contexts.inventory import api as inventory_api
from contexts.pricing import api as pricing_api
from contexts.pricing.models import ShippingRate

pytestmark = pytest.mark.django_db


def seed() -> str:
    out = io.StringIO()
    call_command("seed_demo", stdout=out, stderr=io.StringIO())
    return out.getvalue()


def test_seed_demo_builds_a_shop_that_the_listing_can_search_and_filter(api_client):
    out = seed()
    assert "promotion created" in out and "voucher WELCOME10 created" in out
    assert 180 <= Product.objects.count() <= 220
    assert Category.objects.filter(parent__isnull=True).count() >= 3
    assert ListingEntry.objects.count() == Product.objects.count()
    assert {
        w.code for w in [inventory_api.ensure_warehouse(code="MAIN"), inventory_api.ensure_warehouse(code="BACKUP")]
    }

    body = api_client.get("/api/v1/products?q=shirt&category=apparel&ordering=price").json()
    assert body["count"] > 0
    first = body["results"][0]
    assert first["price"]["currency"] == "EUR"
    assert first["image"].startswith("https://placehold.co/")

    kitchen = api_client.get("/api/v1/products?category=kitchen").json()["results"][0]
    detail = api_client.get(f"/api/v1/products/{kitchen['slug']}").json()
    variant = detail["variants"][0]
    assert variant["on_sale"] is True
    assert Decimal(variant["price"]["amount"]) == (Decimal(variant["base_price"]["amount"]) * Decimal("0.85")).quantize(
        Decimal("0.01")
    )


def test_seed_demo_twice_is_fine_and_changes_nothing_the_second_time():
    seed()
    products = Product.objects.count()
    events = OutboxMessage.objects.using(database_for("catalogue")).count()
    out = seed()
    assert "0 products created" in out
    assert "promotion already there" in out and "voucher WELCOME10 already there" in out
    assert Product.objects.count() == products
    assert OutboxMessage.objects.using(database_for("catalogue")).count() == events


def test_the_welcome_voucher_needs_a_minimum_spend_of_20_euros():
    seed()
    sku = next(
        sku
        for sku, price in pricing_api.prices_for(
            skus=[f"DEMO-{n:05d}-1" for n in range(1, 201)], currency="EUR"
        ).items()
        if price.amount < 20
    )
    line = pricing_api.QuoteLineRequest(sku=sku, quantity=1)
    with pytest.raises(pricing_api.VoucherInvalid) as refusal:
        pricing_api.check_voucher(code="WELCOME10", lines=[line], currency="EUR")
    assert refusal.value.extra()["reason"] == "min_spend"


def test_seed_demo_asks_pricing_for_its_promotion_and_voucher_and_never_duplicates_them():
    seed()
    pricing_events = OutboxMessage.objects.using(database_for("pricing")).count()
    seed()
    assert len(pricing_api.find_promotions(name="Kitchen week: 15 % off")) == 1
    assert pricing_api.get_voucher(code="WELCOME10").code == "WELCOME10"
    assert OutboxMessage.objects.using(database_for("pricing")).count() == pricing_events


def test_seed_demo_leaves_an_ended_demo_promotion_ended():
    seed()
    (promotion,) = pricing_api.find_promotions(name="Kitchen week: 15 % off")
    pricing_api.end_promotion(promotion_id=promotion.id)
    assert "promotion already there" in seed()
    assert len(pricing_api.find_promotions(name="Kitchen week: 15 % off")) == 1


def test_a_rerun_of_seed_demo_keeps_every_edit_staff_made(settings):
    """The run command seeds on every start: a price set to 99.00 and 40 units taken out must survive it."""
    seed()
    sku, warehouse, on_hand = next(
        (level.sku, level.warehouse_code, level.on_hand)
        for level in inventory_api.get_stock_levels(skus=[f"DEMO-{n:05d}-1" for n in range(1, 201)])
        if level.on_hand >= 40
    )
    pricing_api.set_base_price(sku=sku, currency="EUR", amount=Decimal("99.00"))
    inventory_api.adjust_stock(
        sku=sku, warehouse_code=warehouse, delta=-40, reason="damaged", reference="staff-edit", actor="staff"
    )
    product = Product.objects.get(variants__sku=sku)
    Product.objects.filter(pk=product.pk).update(name="Renamed by staff")
    pricing_api.remove_price(sku="DEMO-00002-1", currency="USD")
    # a shipping rate changed in the admin (pricing's model: the admin form writes it)
    edited = ShippingRate.objects.filter(method__code="express", zone__name="Germany", currency="EUR")
    assert edited.update(price=Decimal("14.00")) == 1

    seed()

    (express,) = [
        option
        for option in pricing_api.shipping_methods(country="DE", currency="EUR", subtotal=Decimal("10.00"))
        if option.code == "express"
    ]
    assert express.price == Decimal("14.00")

    assert pricing_api.prices_for(skus=[sku], currency="EUR")[sku].base_amount == Decimal("99.00")
    (level,) = [lv for lv in inventory_api.get_stock_levels(skus=[sku]) if lv.warehouse_code == warehouse]
    assert level.on_hand == on_hand - 40
    assert Product.objects.get(pk=product.pk).name == "Renamed by staff"
    assert "DEMO-00002-1" not in pricing_api.prices_for(skus=["DEMO-00002-1"], currency="USD")


def test_seed_demo_fills_in_only_what_is_missing(settings):
    """A shop stopped half-way through its first seed is completed, without touching the rest."""
    seed()
    edited = "DEMO-00001-1"
    pricing_api.set_base_price(sku=edited, currency="EUR", amount=Decimal("99.00"))
    Product.objects.filter(slug="modern-burgundy-chinos-2").delete()  # as if the run stopped before it
    pricing_api.remove_price(sku="DEMO-00002-1", currency="GBP")

    out = seed()

    assert "1 products created" in out
    assert Product.objects.filter(slug="modern-burgundy-chinos-2").exists()
    assert ListingEntry.objects.filter(slug="modern-burgundy-chinos-2", price_amount__isnull=False).exists()
    assert "DEMO-00002-1" in pricing_api.prices_for(skus=["DEMO-00002-1"], currency="GBP")
    assert pricing_api.prices_for(skus=[edited], currency="EUR")[edited].base_amount == Decimal("99.00")


def test_the_demo_sells_every_product_in_every_currency_of_the_shop(api_client):
    seed()
    skus = [sku for sku in Product.objects.values_list("variants__sku", flat=True)]
    for currency in ("EUR", "USD", "GBP"):
        assert set(pricing_api.prices_for(skus=skus, currency=currency)) == set(skus), currency
        body = api_client.get(f"/api/v1/products?currency={currency}&page_size=100").json()
        assert body["count"] == Product.objects.count()
        assert all(item["price"]["currency"] == currency for item in body["results"])

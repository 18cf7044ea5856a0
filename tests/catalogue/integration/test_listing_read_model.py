"""The listing read model follows catalogue writes, pricing and inventory events, and the clock."""

import dataclasses
import io
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.utils import timezone

from commerce.database import database_for
from commerce.eventbus.models import OutboxMessage
from contexts.catalogue import tasks
from contexts.catalogue.models import ListingEntry, ListingPrice, Product
from contexts.catalogue.services import products
from contexts.inventory import api as inventory_api
from contexts.pricing import api as pricing_api
from tests.catalogue.factories import CategoryFactory, ProductFactory


def catalogue_events(name: str) -> list[dict]:
    messages = OutboxMessage.objects.using(database_for("catalogue")).filter(event_type=f"catalogue.{name}")
    return [m.payload for m in messages.order_by("occurred_at")]


def listed(slug: str) -> ListingEntry:
    return ListingEntry.objects.get(slug=slug)


@pytest.fixture
def mug(db, set_price):
    set_price("MUG-1", "10.00")
    return ProductFactory(
        slug="mug",
        name="Mug",
        category=CategoryFactory(name="Kitchen"),
        variants=[products.VariantSpec(sku="MUG-1", name="Mug")],
    )


@pytest.mark.django_db(transaction=True)
def test_a_price_change_reaches_the_listing(mug, set_price, settle_events):
    set_price("MUG-1", "12.00")
    settle_events()
    assert listed("mug").price_amount == Decimal("12.00")


@pytest.mark.django_db(transaction=True)
def test_a_stock_change_flips_the_in_stock_flag(mug, set_stock, settle_events):
    settle_events()  # with Celery the worker may be refreshing the listing for the fixture's price meanwhile
    assert listed("mug").in_stock is False
    set_stock("MUG-1", 4)
    settle_events()
    assert listed("mug").in_stock is True
    set_stock("MUG-1", 0)
    settle_events()
    assert listed("mug").in_stock is False


@pytest.mark.django_db(transaction=True)
def test_a_category_promotion_lowers_the_listed_price_of_products_under_it(mug, settle_events):
    kitchen_id = Product.objects.get(slug="mug").category_id
    pricing_api.create_promotion(
        name="Kitchen week", kind="percentage", value=Decimal("20"), scope="categories", category_ids=(kitchen_id,)
    )
    settle_events()
    assert listed("mug").price_amount == Decimal("8.00")
    row = ListingPrice.objects.get(entry__slug="mug", currency="EUR")
    assert (row.amount, row.base_amount, row.on_sale) == (Decimal("8.00"), Decimal("10.00"), True)


@pytest.mark.django_db
def test_the_periodic_job_picks_up_a_promotion_that_starts_later(mug, monkeypatch):
    start = timezone.now() + timedelta(hours=1)
    pricing_api.create_promotion(
        name="Mug hour",
        kind="fixed",
        value=Decimal("3.00"),
        currency="EUR",
        scope="skus",
        skus=("MUG-1",),
        starts_at=start,
    )
    tasks.refresh_listing_prices()
    assert listed("mug").price_amount == Decimal("10.00")

    later = start + timedelta(minutes=5)
    monkeypatch.setattr(timezone, "now", lambda: later)
    tasks.refresh_listing_prices()
    assert listed("mug").price_amount == Decimal("7.00")


@pytest.mark.django_db
def test_publishing_and_unpublishing_add_and_remove_the_listing_row_with_events(mug):
    products.set_published(product_ids=[mug.pk], published=False)
    assert not ListingEntry.objects.filter(slug="mug").exists()
    products.set_published(product_ids=[mug.pk], published=True)
    assert ListingEntry.objects.filter(slug="mug").exists()
    assert [e["skus"] for e in catalogue_events("ProductPublished")] == [["MUG-1"], ["MUG-1"]]
    assert [e["slug"] for e in catalogue_events("ProductUnpublished")] == ["mug"]
    assert products.set_published(product_ids=[mug.pk], published=True) == 0
    assert len(catalogue_events("ProductPublished")) == 2


@pytest.mark.django_db
def test_an_edit_publishes_product_updated_and_an_identical_save_publishes_nothing(mug):
    spec = products.ProductSpec(
        slug="mug",
        name="Mug",
        category_id=mug.category_id,
        description="A fine product.",
        variants=[products.VariantSpec(sku="MUG-1", name="Mug")],
    )
    _, changed = products.upsert_product(spec)
    assert changed is False
    assert catalogue_events("ProductUpdated") == []

    _, changed = products.upsert_product(
        dataclasses.replace(
            spec,
            name="Big Mug",
            variants=[products.VariantSpec(sku="MUG-1", name="Mug"), products.VariantSpec(sku="MUG-2", name="Tall")],
        )
    )
    assert changed is True
    (event,) = catalogue_events("ProductUpdated")
    assert (event["slug"], event["skus"], event["published"]) == ("mug", ["MUG-1", "MUG-2"], True)
    assert listed("mug").name == "Big Mug"


@pytest.mark.django_db
def test_a_sku_cannot_belong_to_two_products(mug):
    with pytest.raises(products.DuplicateSku):
        ProductFactory(slug="other", variants=[products.VariantSpec(sku="MUG-1", name="Clash")])
    assert not Product.objects.filter(slug="other").exists()


@pytest.mark.django_db
def test_rebuild_listing_restores_the_read_model_from_scratch(mug, set_stock):
    ProductFactory(slug="hidden", published=False)
    inventory_api.ensure_warehouse(code="MAIN")
    ListingEntry.objects.all().delete()
    call_command("rebuild_listing", stdout=io.StringIO())
    assert list(ListingEntry.objects.values_list("slug", flat=True)) == ["mug"]
    assert listed("mug").price_amount == Decimal("10.00")

"""How an import writes the listing read model: each row once, by upsert, and nothing when nothing changed."""

from decimal import Decimal

import pytest
from django.db import connections
from django.test.utils import CaptureQueriesContext

from commerce.database import database_for
from contexts.catalogue.models import ListingEntry, ListingPrice, Variant
from contexts.catalogue.services import importing, listing
from contexts.pricing import api as pricing_api

pytestmark = pytest.mark.django_db

HEADER = "product_slug,product_name,category,description,sku,variant_name,attributes,price,currency,stock,images"


def write_csv(tmp_path, rows, name="catalogue.csv"):
    path = tmp_path / name
    path.write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
    return path


def product_rows(count: int, *, name: str = "Linen Shirt", sku: str = "S", price: int = 20) -> list[str]:
    return [
        f"p-{n},{name} {n},Apparel > Shirts,Soft weave,{sku}-{n}-A,Small,size=S,{price + n}.00,EUR,MAIN:{n % 2},"
        f"https://img.example/{n}/a.jpg|https://img.example/{n}/b.jpg"
        for n in range(count)
    ]


def listing_writes(path) -> list[str]:
    """The statements an import runs that write ``catalogue_listingentry`` or ``catalogue_listingprice``."""
    with CaptureQueriesContext(connections[database_for("catalogue")]) as captured:
        importing.import_catalogue(path)
    return [
        q["sql"]
        for q in captured.captured_queries
        if q["sql"].startswith(("INSERT", "UPDATE", "DELETE"))
        and any(table in q["sql"].split("(")[0] for table in ('"catalogue_listingentry"', '"catalogue_listingprice"'))
    ]


def test_a_first_import_inserts_each_listing_row_once_and_never_updates_it(tmp_path, settings):
    settings.CATALOGUE_LISTING_BATCH_SIZE = 10
    writes = listing_writes(write_csv(tmp_path, product_rows(25)))

    assert not [sql for sql in writes if sql.startswith("UPDATE")]
    assert len([sql for sql in writes if sql.startswith('INSERT INTO "catalogue_listingentry"')]) == 3  # per batch
    entry = ListingEntry.objects.get(slug="p-7")
    assert (entry.name, entry.price_amount, entry.in_stock, entry.image_url) == (
        "Linen Shirt 7",
        Decimal("27.00"),
        True,
        "https://img.example/7/a.jpg",
    )
    assert "Soft weave" in entry.search_document and "Small" in entry.search_document
    assert ListingPrice.objects.get(entry=entry, currency="EUR").amount == Decimal("27.00")
    assert ListingEntry.objects.count() == 25


def test_a_first_import_makes_new_products_findable_by_full_text_search(tmp_path, postgresql_only):
    importing.import_catalogue(write_csv(tmp_path, product_rows(3)))
    assert set(ListingEntry.objects.filter(search_vector="linen").values_list("slug", flat=True)) == {
        "p-0",
        "p-1",
        "p-2",
    }
    assert ListingEntry.objects.filter(search_vector="weave").count() == 3


def test_an_unchanged_re_import_writes_no_listing_row(tmp_path):
    path = write_csv(tmp_path, product_rows(12))
    importing.import_catalogue(path)

    assert listing_writes(path) == []


def test_a_re_import_that_renames_products_rewrites_their_rows_and_search(tmp_path):
    importing.import_catalogue(write_csv(tmp_path, product_rows(4)))

    importing.import_catalogue(write_csv(tmp_path, product_rows(4, name="Flannel Top"), name="renamed.csv"))

    assert ListingEntry.objects.get(slug="p-2").name == "Flannel Top 2"
    assert ListingEntry.objects.count() == 4
    if listing.on_postgresql():
        assert ListingEntry.objects.filter(search_vector="flannel").count() == 4
        assert not ListingEntry.objects.filter(search_vector="linen").exists()


def test_new_variants_of_existing_products_go_last_and_are_counted_in_one_query(tmp_path):
    importing.import_catalogue(write_csv(tmp_path, product_rows(30)))
    cheaper = write_csv(tmp_path, product_rows(30, sku="T", price=5), name="more.csv")

    with CaptureQueriesContext(connections[database_for("catalogue")]) as captured:
        report = importing.import_catalogue(cheaper)

    counts = [q["sql"] for q in captured.captured_queries if "COUNT(" in q["sql"] and "catalogue_variant" in q["sql"]]
    assert len(counts) == 1
    assert report.variants_created == 30
    assert list(Variant.objects.filter(product__slug="p-3").values_list("sku", "position")) == [
        ("S-3-A", 0),
        ("T-3-A", 1),
    ]
    assert ListingEntry.objects.get(slug="p-3").price_amount == Decimal("8.00")  # the new, cheaper variant


def test_a_price_change_rewrites_only_that_listing_price(tmp_path):
    importing.import_catalogue(write_csv(tmp_path, product_rows(3)))
    pricing_api.set_base_price(sku="S-1-A", currency="EUR", amount=Decimal("4.00"))

    listing.refresh_listing(product_ids=ListingEntry.objects.values_list("pk", flat=True))

    assert ListingEntry.objects.get(slug="p-1").price_amount == Decimal("4.00")
    assert ListingPrice.objects.get(entry__slug="p-1", currency="EUR").amount == Decimal("4.00")
    assert ListingPrice.objects.get(entry__slug="p-2", currency="EUR").amount == Decimal("22.00")
    assert listing.refresh_listing(product_ids=ListingEntry.objects.values_list("pk", flat=True)) == 0

"""``manage.py import_catalogue``: validate every row first, then an idempotent upsert."""

import io
from decimal import Decimal

import pytest
from django.core.management import call_command

from commerce.database import database_for
from commerce.eventbus.models import OutboxMessage
from contexts.catalogue.models import ListingEntry, Product, ProductImage
from contexts.catalogue.services import importing
from contexts.inventory import api as inventory_api
from contexts.pricing import api as pricing_api
from tests.catalogue.import_files import GOOD, HEADER, nothing_imported, refused, write_csv

pytestmark = pytest.mark.django_db


def run(path, *args):
    out, err = io.StringIO(), io.StringIO()
    call_command("import_catalogue", str(path), *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def outbox_count() -> int:
    return OutboxMessage.objects.using(database_for("catalogue")).filter(event_type__startswith="catalogue.").count()


def test_import_creates_categories_products_variants_prices_stock_and_listing(tmp_path):
    out, _ = run(write_csv(tmp_path, GOOD))
    assert "3 rows imported" in out
    shirt = Product.objects.get(slug="blue-shirt")
    assert shirt.is_published
    assert shirt.category.name == "Shirts" and shirt.category.parent.name == "Apparel"
    assert shirt.description == "Soft, cotton"
    assert list(shirt.variants.values_list("sku", "name", "attributes")) == [
        ("BS-S", "Small", {"colour": "blue", "size": "S"}),
        ("BS-M", "Medium", {"colour": "blue", "size": "M"}),
    ]
    prices = pricing_api.prices_for(skus=["BS-S", "BS-M", "MUG-1"], currency="EUR")
    assert {sku: p.amount for sku, p in prices.items()} == {
        "BS-S": Decimal("19.99"),
        "BS-M": Decimal("21.00"),
        "MUG-1": Decimal("9.50"),
    }
    availability = inventory_api.get_availability(skus=["BS-S", "BS-M", "MUG-1"])
    assert {sku: a.available for sku, a in availability.items()} == {"BS-S": 7, "BS-M": 0, "MUG-1": 7}
    entry = ListingEntry.objects.get(slug="blue-shirt")
    assert (entry.price_amount, entry.in_stock, entry.category_slug) == (Decimal("19.99"), True, "shirts")
    assert outbox_count() == 2  # one ProductPublished per product


def test_reimporting_the_same_file_changes_nothing_and_publishes_nothing(tmp_path):
    path = write_csv(tmp_path, GOOD)
    run(path)
    before = outbox_count()
    all_outbox = sum(
        OutboxMessage.objects.using(alias).count()
        for alias in {database_for(c) for c in ("catalogue", "pricing", "inventory")}
    )
    out, _ = run(path)
    assert "products 0 created, 0 updated; variants 0 created, 0 updated" in out
    assert "0 prices and 0 stock levels set; 0 listing rows written" in out
    assert outbox_count() == before
    assert (
        sum(
            OutboxMessage.objects.using(alias).count()
            for alias in {database_for(c) for c in ("catalogue", "pricing", "inventory")}
        )
        == all_outbox
    )


def test_a_changed_row_updates_that_product_only_and_publishes_product_updated(tmp_path):
    run(write_csv(tmp_path, GOOD))
    changed = [GOOD[0], GOOD[1].replace("Medium", "Medium fit"), GOOD[2].replace("9.50", "8.00")]
    out, _ = run(write_csv(tmp_path, changed))
    assert "products 0 created, 1 updated; variants 0 created, 1 updated" in out
    updated = OutboxMessage.objects.using(database_for("catalogue")).filter(event_type="catalogue.ProductUpdated")
    assert [m.payload["slug"] for m in updated] == ["blue-shirt"]
    assert ListingEntry.objects.get(slug="mug").price_amount == Decimal("8.00")


def test_dry_run_validates_and_writes_nothing(tmp_path):
    out, _ = run(write_csv(tmp_path, GOOD), "--dry-run")
    assert "3 rows are valid (2 products, 3 variants" in out
    assert nothing_imported()


def test_every_bad_row_is_listed_by_line_and_column_and_nothing_is_imported(tmp_path):
    rows = [
        GOOD[0],
        "Bad Slug,Blue Shirt,Apparel > Shirts,x,BS-X,Small,,19.99,EUR,MAIN:5",
        "mug,Coffee Mug,Kitchen,Stoneware,MUG-1,Mug,,cheap,EUR,BACKUP:7",
        "mug,Coffee Mug,Kitchen,Stoneware,MUG-2,Mug,,9.50,XXX,BACKUP:7",
        "mug,Coffee Mug,Kitchen,Stoneware,MUG-3,Mug,,9.50,EUR,BACKUP:many",
        "mug,Coffee Mug,Kitchen,Stoneware,MUG-4,Mug,colour,9.50,EUR,",
        "mug,Coffee Mug,Kitchen,Stoneware,MUG-5,Mug,,-1.00,EUR,",
        "mug,Coffee Mug,Kitchen,Stoneware,MUG-6,Mug,,9.999,EUR,",
        "mug,Coffee Mug,,Stoneware,MUG-7,Mug,,9.50,EUR,",
        "mug,Coffee Mug,Kitchen,Stoneware,MUG-8,Mug,,9.50,EUR",
    ]
    errors = refused(write_csv(tmp_path, rows))
    for expected in (
        "line 3, product_slug",
        "line 4, price",
        "line 5, currency",
        "line 6, stock",
        "line 7, attributes",
        "line 8, price",
        "line 9, price",
        "line 10, category",
        "line 11, row: expected 10 fields, found 9",
    ):
        assert expected in errors
    assert "line 2" not in errors
    assert nothing_imported()


def test_a_sku_under_two_products_is_refused(tmp_path):
    rows = [*GOOD, "teapot,Teapot,Kitchen,Pours,MUG-1,Teapot,,20.00,EUR,"]
    errors = refused(write_csv(tmp_path, rows))
    assert "line 5, sku: SKU MUG-1 already appears at line 4 under product 'mug'" in errors
    assert nothing_imported()


def test_a_sku_already_in_the_catalogue_cannot_move_to_another_product(tmp_path):
    run(write_csv(tmp_path, GOOD))
    errors = refused(write_csv(tmp_path, ["teapot,Teapot,Kitchen,Pours,MUG-1,Teapot,,20.00,EUR,"], name="second.csv"))
    assert "line 2, sku: SKU MUG-1 already belongs to product 'mug'" in errors
    assert not Product.objects.filter(slug="teapot").exists()


def test_rows_of_one_product_must_agree_on_its_name_and_category(tmp_path):
    rows = [GOOD[0], GOOD[1].replace("Apparel > Shirts", "Apparel > Tops")]
    errors = refused(write_csv(tmp_path, rows))
    assert "line 3, category: differs from line 2" in errors


def test_a_file_that_is_not_utf8_is_refused_clearly(tmp_path):
    rows = ["creme,Crème brûlée torch,Kitchen,Flame,TORCH-1,Torch,,30.00,EUR,"]
    errors = refused(write_csv(tmp_path, rows, encoding="latin-1"))
    assert "not UTF-8" in errors
    assert nothing_imported()


def test_a_missing_column_is_refused(tmp_path):
    header = HEADER.replace(",stock", "")
    errors = refused(write_csv(tmp_path, [row.rsplit(",", 1)[0] for row in GOOD], header=header))
    assert "line 1, header: missing column(s): stock" in errors
    assert nothing_imported()


def test_an_empty_file_is_refused(tmp_path):
    path = tmp_path / "empty.csv"
    path.write_bytes(b"")
    assert "The file is empty" in refused(path)


def test_an_images_column_sets_the_product_images_in_order(tmp_path):
    header = HEADER + ",images"
    rows = [
        "mug,Coffee Mug,Kitchen,Stoneware,MUG-1,Mug,,9.50,EUR,BACKUP:7,https://img.example.com/a.jpg|https://img.example.com/b.jpg"
    ]
    run(write_csv(tmp_path, rows, header=header))
    assert list(ProductImage.objects.values_list("url", flat=True)) == [
        "https://img.example.com/a.jpg",
        "https://img.example.com/b.jpg",
    ]
    assert ListingEntry.objects.get(slug="mug").image_url == "https://img.example.com/a.jpg"
    bad = ["mug,Coffee Mug,Kitchen,Stoneware,MUG-1,Mug,,9.50,EUR,BACKUP:7,javascript:alert(1)"]
    assert "line 2, images" in refused(write_csv(tmp_path, bad, header=header, name="bad.csv"))


def test_validation_streams_and_reports_errors_without_importing(tmp_path):
    rows = [
        f"p-{n},Product {n},Bulk,Text,SKU-{n},Default,,{'x' if n == 1500 else '5.00'},EUR,MAIN:1" for n in range(3000)
    ]
    with pytest.raises(importing.ImportFailed) as failure:
        importing.import_catalogue(write_csv(tmp_path, rows))
    assert [str(e) for e in failure.value.errors] == [
        "line 1502, price: 'x' is not a price: 'x' is not a decimal amount."
    ]
    assert nothing_imported()


@pytest.mark.django_db(transaction=True)
def test_prices_and_stock_can_be_written_by_several_workers_on_postgresql(tmp_path, postgresql_only, settle_events):
    rows = [f"p-{n},Product {n},Bulk,Text,SKU-{n},Default,,{n + 1}.00,EUR,MAIN:{n % 3}" for n in range(40)]
    report = importing.import_catalogue(write_csv(tmp_path, rows), workers=4)
    settle_events()
    assert (report.prices_set, report.stock_levels_set) == (40, 26)  # zero stock where none is held: no write
    assert pricing_api.prices_for(skus=["SKU-39"], currency="EUR")["SKU-39"].amount == Decimal("40.00")
    assert inventory_api.get_availability(skus=["SKU-4"])["SKU-4"].available == 1
    assert ListingEntry.objects.filter(in_stock=True).count() == 26

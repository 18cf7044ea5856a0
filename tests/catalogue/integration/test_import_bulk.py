"""The importer judges prices and stock against pricing's and inventory's stored state before writing
anything, then writes them with their bulk apis in a bounded number of queries."""

from decimal import Decimal

import pytest
from django.db import connections
from django.test.utils import CaptureQueriesContext

from commerce.database import database_for
from commerce.eventbus.models import OutboxMessage
from contexts.catalogue import handlers
from contexts.catalogue.models import ListingEntry, ListingPrice, Product
from contexts.catalogue.services import importing, listing
from contexts.inventory import api as inventory_api
from contexts.inventory import events as inventory_events
from contexts.pricing import api as pricing_api
from contexts.pricing import events as pricing_events
from tests.catalogue.import_files import refused, write_csv

pytestmark = pytest.mark.django_db

GOOD = [
    "blue-shirt,Blue Shirt,Apparel > Shirts,Cotton,BS-S,Small,size=S,19.99,EUR,MAIN:5;BACKUP:2",
    "blue-shirt,Blue Shirt,Apparel > Shirts,Cotton,BS-M,Medium,size=M,21.00,EUR,MAIN:0",
    "mug,Coffee Mug,Kitchen,Stoneware,MUG-1,Mug,,9.50,EUR,BACKUP:1",
]


def bulk_rows(count: int, *, start: int = 0) -> list[str]:
    return [
        f"p-{n},Product {n},Bulk > Things,Text,SKU-{n},Default,,{n % 50 + 1}.00,EUR,MAIN:{n % 4};BACKUP:1"
        for n in range(start, start + count)
    ]


def outbox(context: str) -> int:
    return OutboxMessage.objects.using(database_for(context)).filter(event_type__startswith=f"{context}.").count()


def snapshot() -> tuple:
    """Everything an import could write, in every context."""
    return (
        Product.objects.count(),
        ListingEntry.objects.count(),
        tuple(sorted(pricing_api.prices_for(skus=["BS-S", "BS-M", "MUG-1"], currency="EUR").items())),
        tuple(
            sorted(
                (lv.sku, lv.warehouse_code, lv.on_hand)
                for lv in inventory_api.get_stock_levels(skus=["BS-S", "BS-M", "MUG-1"])
            )
        ),
        outbox("catalogue"),
        outbox("pricing"),
        outbox("inventory"),
    )


def test_a_base_price_below_a_running_sale_is_reported_by_line_and_column_and_nothing_is_written(tmp_path):
    pricing_api.set_base_price(sku="BS-S", currency="EUR", amount=Decimal("30.00"))
    pricing_api.set_sale_price(sku="BS-S", currency="EUR", amount=Decimal("25.00"))
    before = snapshot()

    err = refused(write_csv(tmp_path, GOOD))

    assert "line 2, price: a base price of 19.99 EUR would be below the sale price of BS-S" in err
    assert snapshot() == before
    assert pricing_api.prices_for(skus=["BS-S"], currency="EUR")["BS-S"].base_amount == Decimal("30.00")


def test_stock_below_what_is_reserved_is_reported_by_line_and_column_and_nothing_is_written(tmp_path):
    inventory_api.ensure_warehouse(code="BACKUP")
    inventory_api.set_stock_level(sku="MUG-1", warehouse_code="BACKUP", on_hand=10, reference="test")
    inventory_api.reserve_stock(reference="order-1", lines=[inventory_api.ReservationLine(sku="MUG-1", quantity=6)])
    before = snapshot()

    err = refused(write_csv(tmp_path, GOOD))

    assert "line 4, stock: on hand of MUG-1 cannot fall below what is reserved" in err
    assert snapshot() == before
    assert not inventory_api.get_availability(skus=["BS-S"])["BS-S"].in_stock


def test_price_and_stock_conflicts_are_all_listed_together_and_a_dry_run_finds_them_too(tmp_path):
    pricing_api.set_base_price(sku="BS-M", currency="EUR", amount=Decimal("40.00"))
    pricing_api.set_sale_price(sku="BS-M", currency="EUR", amount=Decimal("35.00"))
    inventory_api.ensure_warehouse(code="BACKUP")
    inventory_api.set_stock_level(sku="MUG-1", warehouse_code="BACKUP", on_hand=3, reference="test")
    inventory_api.reserve_stock(reference="order-1", lines=[inventory_api.ReservationLine(sku="MUG-1", quantity=3)])
    before = snapshot()

    for args in ((), ("--dry-run",)):
        err = refused(write_csv(tmp_path, GOOD), *args)
        assert "line 3, price:" in err and "line 4, stock:" in err and "line 2" not in err
    assert snapshot() == before


def test_a_conflict_in_a_later_chunk_is_mapped_back_to_its_own_line(tmp_path, settings):
    settings.CATALOGUE_IMPORT_CHUNK_SIZE = 7  # prices in chunks of 7, stock levels (2 a row) in chunks of 6
    inventory_api.ensure_warehouse(code="BACKUP")
    inventory_api.set_stock_level(sku="SKU-23", warehouse_code="BACKUP", on_hand=5, reference="test")
    inventory_api.reserve_stock(reference="order-1", lines=[inventory_api.ReservationLine(sku="SKU-23", quantity=2)])
    pricing_api.set_base_price(sku="SKU-17", currency="EUR", amount=Decimal("90.00"))
    pricing_api.set_sale_price(sku="SKU-17", currency="EUR", amount=Decimal("80.00"))

    with pytest.raises(importing.ImportFailed) as failure:
        importing.import_catalogue(write_csv(tmp_path, bulk_rows(30)))

    assert [(e.line, e.column) for e in failure.value.errors] == [(19, "price"), (25, "stock")]
    assert not Product.objects.exists()


def test_a_file_in_many_chunks_is_written_fully_and_a_rerun_writes_and_publishes_nothing(tmp_path, settings):
    settings.CATALOGUE_IMPORT_CHUNK_SIZE = 7
    path = write_csv(tmp_path, bulk_rows(30))
    report = importing.import_catalogue(path)
    assert (report.prices_set, report.stock_levels_set) == (30, 30 + 22)  # MAIN:0 where nothing is held: no write
    assert pricing_api.prices_for(skus=["SKU-29"], currency="EUR")["SKU-29"].base_amount == Decimal("30.00")
    assert {lv.warehouse_code: lv.on_hand for lv in inventory_api.get_stock_levels(skus=["SKU-7"])} == {
        "MAIN": 3,
        "BACKUP": 1,
    }
    events = (outbox("catalogue"), outbox("pricing"), outbox("inventory"))

    again = importing.import_catalogue(path)

    assert (again.prices_set, again.stock_levels_set, again.products_created, again.products_updated) == (0, 0, 0, 0)
    assert (outbox("catalogue"), outbox("pricing"), outbox("inventory")) == events


def test_an_import_that_crashed_after_the_prices_is_finished_by_running_it_again(tmp_path, monkeypatch):
    path = write_csv(tmp_path, GOOD)

    def crash(**kwargs):
        raise RuntimeError("power cut")

    monkeypatch.setattr(inventory_api, "set_stock_levels", crash)
    with pytest.raises(RuntimeError):
        importing.import_catalogue(path)
    assert pricing_api.prices_for(skus=["MUG-1"], currency="EUR")["MUG-1"].base_amount == Decimal("9.50")
    assert not Product.objects.exists()
    monkeypatch.undo()

    report = importing.import_catalogue(path)

    assert (report.prices_set, report.stock_levels_set, report.products_created) == (0, 3, 2)
    assert ListingEntry.objects.get(slug="mug").in_stock


def test_catalogue_events_of_an_import_are_published_in_bulk(tmp_path):
    importing.import_catalogue(write_csv(tmp_path, bulk_rows(40)))
    assert (
        OutboxMessage.objects.using(database_for("catalogue")).filter(event_type="catalogue.ProductPublished").count()
        == 40
    )


def _queries_on(context: str, path) -> int:
    """Queries an import runs on the tables of ``context`` (its own database in split mode)."""
    with CaptureQueriesContext(connections[database_for(context)]) as captured:
        importing.import_catalogue(path)
    return sum(f'"{context}_' in q["sql"] for q in captured.captured_queries)


def test_pricing_and_inventory_queries_of_an_import_do_not_grow_with_its_rows(tmp_path):
    # 20 rows and 600 rows: the checks and writes are one bulk call per 5 000 items. What grows a little
    # is the listing's own prices_for read (3 currencies per 500 products) and, on SQLite only, pricing's
    # bulk insert split by SQLite's variable limit (999 // 9 columns = 111 prices per INSERT since the
    # price carries its tax class: 1 800 prices are 17 statements); nothing grows per row.
    small = _queries_on("pricing", write_csv(tmp_path, bulk_rows(20), name="small.csv"))
    large = _queries_on("pricing", write_csv(tmp_path, bulk_rows(600, start=1000), name="large.csv"))
    assert large <= small + 9 and large <= 20

    small = _queries_on("inventory", write_csv(tmp_path, bulk_rows(20, start=5000), name="small2.csv"))
    large = _queries_on("inventory", write_csv(tmp_path, bulk_rows(600, start=6000), name="large2.csv"))
    assert large <= small + 20 and large <= 40  # 1 200 stock levels: SQLite splits the bulk inserts


def test_a_stock_event_the_listing_already_shows_costs_one_query_and_writes_nothing(
    tmp_path, context_connection, django_assert_num_queries
):
    importing.import_catalogue(write_csv(tmp_path, GOOD))
    assert ListingEntry.objects.get(slug="mug").in_stock
    event = inventory_events.StockLevelChanged(sku="MUG-1", available=1, in_stock=True)
    with django_assert_num_queries(1, connection=context_connection("catalogue")):
        handlers.refresh_listing_when_stock_level_changed((event,))


def test_a_stock_event_that_changes_the_flag_updates_the_listing(tmp_path, set_stock):
    importing.import_catalogue(write_csv(tmp_path, GOOD))
    set_stock("MUG-1", 0, warehouse="BACKUP")
    handlers.refresh_listing_when_stock_level_changed(
        (inventory_events.StockLevelChanged(sku="MUG-1", available=0, in_stock=False),)
    )
    assert not ListingEntry.objects.get(slug="mug").in_stock


def test_a_price_event_the_listing_already_shows_rewrites_no_listing_row(tmp_path, context_connection):
    """The handler records a refresh request (its one durable write: pricing is asked after the
    delivery commits, never inside it); the refresh then finds the row right and leaves it alone."""
    importing.import_catalogue(write_csv(tmp_path, GOOD))
    event = pricing_events.PriceChanged(sku="MUG-1", currency="EUR", old_amount=None, new_amount=Decimal("9.50"))
    with CaptureQueriesContext(context_connection("catalogue")) as captured:
        handlers.refresh_listing_when_price_changed((event,))
    writes = [q["sql"] for q in captured.captured_queries if q["sql"].split()[0] in {"INSERT", "UPDATE", "DELETE"}]
    assert [sql for sql in writes if "catalogue_listingrefresh" not in sql] == []
    assert listing.pending_product_ids() == []


def test_a_price_event_updates_that_currencys_listing_price(tmp_path):
    importing.import_catalogue(write_csv(tmp_path, GOOD))
    pricing_api.set_sale_price(sku="MUG-1", currency="EUR", amount=Decimal("7.00"))
    handlers.refresh_listing_when_price_changed(
        (pricing_events.PriceChanged(sku="MUG-1", currency="EUR", old_amount=Decimal("9.50"), new_amount=Decimal("7")),)
    )
    entry = ListingEntry.objects.get(slug="mug")
    assert entry.price_amount == Decimal("7.00")
    assert ListingPrice.objects.filter(entry=entry, currency="EUR", on_sale=True, amount=Decimal("7.00")).exists()

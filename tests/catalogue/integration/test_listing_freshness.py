"""The listing read model never goes back in time, never calls another context under the catalogue's
locks, and leaves a catalogue-wide refresh to the background (issue 9, points 11 to 13)."""

import functools
import inspect
import sys
import threading
from decimal import Decimal

import pytest
from django.db import connections

from commerce.database import database_for
from contexts.catalogue import tasks
from contexts.catalogue.models import ListingEntry, ListingPrice, ListingRefresh, Product
from contexts.catalogue.services import importing, listing, products
from contexts.inventory import api as inventory_api
from contexts.pricing import api as pricing_api
from tests.catalogue.factories import CategoryFactory, ProductFactory

_real_prices_for = pricing_api.prices_for


def mug(slug: str = "mug", sku: str = "MUG-1", category=None) -> Product:
    return ProductFactory(
        slug=slug,
        name=slug.title(),
        category=category or CategoryFactory(name=f"Cat {slug}"),
        variants=[products.VariantSpec(sku=sku, name="One")],
    )


def listed_price(slug: str) -> Decimal | None:
    return ListingEntry.objects.get(slug=slug).price_amount


def during_next_prices_for(monkeypatch, meanwhile):
    """The next ``prices_for`` reads what pricing holds, then ``meanwhile()`` runs (another refresh, a
    change), then the reader gets what it read: a refresh that read before newer work landed."""
    real = pricing_api.prices_for
    fired = []

    def prices_for(**kwargs):
        answer = real(**kwargs)
        if not fired:
            fired.append(True)
            meanwhile()
        return answer

    monkeypatch.setattr(pricing_api, "prices_for", prices_for)


# --- Point 11: never back in time --------------------------------------------------------------


@pytest.mark.django_db
def test_a_refresh_that_read_an_older_price_never_overwrites_a_newer_one(set_price, monkeypatch):
    set_price("MUG-1", "10.00")
    product = mug()

    def newer_change_and_refresh():
        set_price("MUG-1", "12.00")
        with monkeypatch.context() as inner:
            inner.setattr(pricing_api, "prices_for", _real_prices_for)
            listing.request_refresh(product_ids=[product.pk])
            listing.refresh_listing(product_ids=[product.pk])

    during_next_prices_for(monkeypatch, newer_change_and_refresh)
    listing.refresh_listing(product_ids=[product.pk])  # read 10.00 before the change

    assert listed_price("mug") == Decimal("12.00")
    assert ListingPrice.objects.get(entry_id=product.pk, currency="EUR").amount == Decimal("12.00")


@pytest.mark.django_db
def test_a_refresh_that_read_a_reverted_price_does_not_bring_it_back(set_price, monkeypatch):
    """10 → 12 → 10: the refresh of the second change finds the row right and writes nothing; the
    refresh of the first, which read 12 and lands last, must still not write 12."""
    set_price("MUG-1", "10.00")
    product = mug()
    set_price("MUG-1", "12.00")
    listing.request_refresh(product_ids=[product.pk])

    def revert_and_refresh():
        set_price("MUG-1", "10.00")
        listing.request_refresh(product_ids=[product.pk])
        with monkeypatch.context() as inner:
            inner.setattr(pricing_api, "prices_for", _real_prices_for)
            listing.refresh_listing(product_ids=[product.pk])

    during_next_prices_for(monkeypatch, revert_and_refresh)
    listing.refresh_listing(product_ids=[product.pk])  # read 12.00

    assert listed_price("mug") == Decimal("10.00")
    assert listing.pending_product_ids() == []


@pytest.mark.django_db
def test_a_change_announced_while_a_refresh_reads_is_left_to_the_next_refresh(set_price, monkeypatch):
    set_price("MUG-1", "10.00")
    product = mug()

    def change_announced():
        set_price("MUG-1", "15.00")
        listing.request_refresh(product_ids=[product.pk])  # what the PriceChanged handler records

    during_next_prices_for(monkeypatch, change_announced)
    listing.refresh_listing(product_ids=[product.pk])
    assert listing.pending_product_ids() == [product.pk]

    monkeypatch.setattr(pricing_api, "prices_for", _real_prices_for)
    assert tasks.process_listing_refreshes() == 1
    assert listed_price("mug") == Decimal("15.00")
    assert listing.pending_product_ids() == []


@pytest.mark.django_db
def test_a_refresh_that_read_a_product_published_does_not_list_it_after_it_was_unpublished(set_price, monkeypatch):
    set_price("MUG-1", "10.00")
    product = mug()
    during_next_prices_for(monkeypatch, lambda: products.set_published(product_ids=[product.pk], published=False))
    listing.refresh_listing(product_ids=[product.pk])
    assert not ListingEntry.objects.filter(pk=product.pk).exists()


@pytest.mark.django_db(transaction=True)
def test_concurrent_first_refreshes_of_a_product_neither_collide_nor_lose_the_newer_figures(
    set_price, postgresql_only, monkeypatch, settle_events
):
    set_price("MUG-1", "10.00")
    # In celery mode a real worker applies the PriceChanged; let it finish so that the two refreshes
    # below are the only writers (a third, later request would rightly make them stand down).
    settle_events()
    category = CategoryFactory(name="Kitchen")
    product = Product.objects.create(slug="mug", name="Mug", category=category, is_published=True)
    product.variants.create(sku="MUG-1", name="One")
    barrier = threading.Barrier(2, timeout=10)
    real_read = listing._read_figures

    def read_then_meet(ids):
        figures = real_read(ids)
        barrier.wait()  # both have read: both now insert the first row at once
        return figures

    monkeypatch.setattr(listing, "_read_figures", read_then_meet)
    failures: list[BaseException] = []

    def refresh():
        try:
            listing.refresh_listing(product_ids=[product.pk])
        except BaseException as exc:  # reported below
            failures.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=refresh) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert ListingEntry.objects.filter(pk=product.pk).count() == 1
    assert ListingPrice.objects.filter(entry_id=product.pk).count() == 1
    assert listed_price("mug") == Decimal("10.00")


# --- Point 12: no call to another context under the catalogue's locks ------------------------------


@pytest.fixture
def calls_under_catalogue_locks(monkeypatch):
    """Every call the catalogue makes to pricing's or inventory's api while a transaction is open on its
    own database; a test asserts there is none."""
    found: list[str] = []
    for module in (pricing_api, inventory_api):
        # The published names (``__all__``), wherever they are defined: an api that is a package
        # (pricing's, inventory's) defines its functions in private modules and re-exports them.
        for name in module.__all__:
            function = getattr(module, name)
            if not inspect.isfunction(function):
                continue

            def guarded(*args, __function=function, __name=f"{module.__name__}.{name}", **kwargs):
                caller = sys._getframe(1).f_globals.get("__name__", "")
                if caller.startswith("contexts.catalogue") and listing.in_transaction():
                    found.append(f"{__name} from {caller}")
                return __function(*args, **kwargs)

            monkeypatch.setattr(module, name, functools.wraps(function)(guarded))
    return found


@pytest.mark.django_db(transaction=True)
def test_the_guard_sees_a_call_made_inside_a_catalogue_transaction(calls_under_catalogue_locks):
    from commerce.database import atomic_in

    with atomic_in("catalogue"):
        listing.refresh_listing(product_ids=[mug(sku="GUARD-1").pk])
    assert calls_under_catalogue_locks, "the guard must catch a refresh run inside a catalogue transaction"


@pytest.mark.django_db(transaction=True)
def test_catalogue_writes_handlers_and_jobs_never_call_other_contexts_inside_a_transaction(
    calls_under_catalogue_locks, set_price, set_stock, settle_events, tmp_path, client
):
    set_price("MUG-1", "10.00")
    product = mug()
    category = Product.objects.get(pk=product.pk).category
    products.upsert_product(
        products.ProductSpec(
            slug="mug",
            name="Big Mug",
            category_id=category.pk,
            variants=[products.VariantSpec(sku="MUG-1", name="One"), products.VariantSpec(sku="MUG-2", name="Two")],
        )
    )
    products.set_published(product_ids=[product.pk], published=False)
    products.set_published(product_ids=[product.pk], published=True)
    products.record_product_edit(product_id=product.pk)
    set_price("MUG-2", "8.00")  # PriceChanged → handler
    set_stock("MUG-1", 5)  # StockLevelChanged → handler
    pricing_api.create_promotion(  # PromotionsChanged → handler
        name="Mugs", kind="percentage", value=Decimal("10"), scope="categories", category_ids=(category.pk,)
    )
    csv = tmp_path / "c.csv"
    csv.write_text(
        "product_slug,product_name,category,description,sku,variant_name,attributes,price,currency,stock\n"
        "tea,Tea,Food,,TEA-1,Box,,4.00,EUR,MAIN:3\n",
        encoding="utf-8",
    )
    importing.import_catalogue(csv)
    settle_events()
    tasks.process_listing_refreshes()
    tasks.refresh_listing_prices()
    listing.rebuild_listing()

    assert calls_under_catalogue_locks == []
    assert listed_price("mug") == Decimal("7.20")  # 8.00 less 10 %: every step above reached the listing
    assert ListingEntry.objects.get(slug="mug").in_stock is True
    assert ListingEntry.objects.filter(slug="tea").exists()


# --- Point 13: a catalogue-wide refresh goes to the background -----------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_promotion_hands_the_catalogue_wide_refresh_to_the_background_in_batches(set_price, settings, settle_events):
    settings.CATALOGUE_LISTING_BATCH_SIZE = 2
    kitchen = CategoryFactory(name="Kitchen")
    for n in range(5):
        set_price(f"MUG-{n}", "10.00")
        mug(slug=f"mug-{n}", sku=f"MUG-{n}", category=kitchen)

    with connections[database_for("catalogue")].execute_wrapper(_no_listing_writes):
        pricing_api.create_promotion(
            name="Kitchen week", kind="percentage", value=Decimal("20"), scope="categories", category_ids=(kitchen.pk,)
        )
        settle_events()
    if settings.EVENTBUS["DISPATCH"] == "inline":  # nothing was refreshed in the request that saved the promotion
        assert sorted(listing.pending_product_ids()) == sorted(Product.objects.values_list("pk", flat=True))
        assert set(ListingEntry.objects.values_list("price_amount", flat=True)) == {Decimal("10.00")}

    tasks.process_listing_refreshes()  # the periodic job (or, under celery, the workers' batches)

    assert set(ListingEntry.objects.values_list("price_amount", flat=True)) == {Decimal("8.00")}
    assert listing.pending_product_ids() == []
    assert ListingRefresh.objects.count() == 5


def _no_listing_writes(execute, sql, params, many, context):
    writes = sql.split()[0] in {"INSERT", "UPDATE", "DELETE"}
    listing_table = "catalogue_listingentry" in sql or "catalogue_listingprice" in sql
    if writes and listing_table and threading.current_thread() is threading.main_thread():
        raise AssertionError(f"the listing was written in the saving request: {sql[:120]}")
    return execute(sql, params, many, context)

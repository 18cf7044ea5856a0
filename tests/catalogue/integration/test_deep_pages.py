"""Deep listing pages are read through the listing's ordering index, not by sorting the whole listing
(issue 15: ``?page=400`` must not cost much more than the first page)."""

import re
from decimal import Decimal

import pytest
from django.contrib.postgres.search import SearchVector
from django.db import connections
from django.db.models import F
from django.utils import timezone

from commerce.database import database_for
from contexts.catalogue import selectors
from contexts.catalogue.conf import catalogue_settings
from contexts.catalogue.models import Category, ListingEntry, Product
from contexts.catalogue.rest import pagination

pytestmark = pytest.mark.django_db

PRODUCTS = 1_500


@pytest.fixture
def listing_rows():
    """``PRODUCTS`` listed products written straight into the read model (the refresh is tested elsewhere)."""
    alias = database_for("catalogue")
    category = Category.objects.using(alias).create(slug="things", name="Things", path="things/")
    created = Product.objects.using(alias).bulk_create(
        Product(slug=f"thing-{n:05d}", name=f"Thing {n % 700:03d}", category=category, is_published=True)
        for n in range(PRODUCTS)
    )
    now = timezone.now()
    ListingEntry.objects.using(alias).bulk_create(
        ListingEntry(
            product=product, slug=product.slug, name=product.name, category=category, category_slug="things",
            category_path="things/", currency="EUR", price_amount=Decimal(product.pk % 50 + 1), in_stock=True,
            created_at=now,
        )
        for product in created
    )  # fmt: skip
    if connections[alias].vendor == "postgresql":  # what the refresh writes for search, from the name here
        config = catalogue_settings().search_config
        ListingEntry.objects.using(alias).update(search_vector=SearchVector("name", config=config))
    else:
        ListingEntry.objects.using(alias).update(search_document=F("name"))
    return created


def _every_page(api_client, query: str, page_size: int) -> list[str]:
    slugs, page = [], 1
    while True:
        response = api_client.get(f"/api/v1/products?{query}&page_size={page_size}&page={page}")
        assert response.status_code == 200, response.content
        slugs += [item["slug"] for item in response.json()["results"]]
        if response.json()["next"] is None:
            return slugs
        page += 1


@pytest.mark.parametrize("query", ["ordering=name", "ordering=-name", "ordering=price", "ordering=-created", "q=thing"])
def test_deep_pages_hold_the_same_products_in_the_same_order_as_offset_pages(
    api_client, listing_rows, monkeypatch, query
):
    monkeypatch.setattr(pagination, "DEFERRED_JOIN_FROM_ROW", 10**9)
    by_offset = _every_page(api_client, query, page_size=100)
    monkeypatch.setattr(pagination, "DEFERRED_JOIN_FROM_ROW", 100)
    deferred = _every_page(api_client, query, page_size=100)
    assert deferred == by_offset
    assert len(deferred) == PRODUCTS and len(set(deferred)) == PRODUCTS


def test_a_deep_page_costs_the_same_queries_as_the_first(api_client, listing_rows, catalogue_queries):
    api_client.get("/api/v1/products?page=60")  # the version's count is cached by the first request
    with catalogue_queries(2):
        response = api_client.get("/api/v1/products?page=60")
    assert response.status_code == 200 and len(response.json()["results"]) == 24


@pytest.mark.django_db(transaction=True)  # VACUUM (which sets the visibility map) runs outside a transaction
def test_on_postgresql_a_deep_page_walks_the_ordering_index_instead_of_sorting_the_listing(
    listing_rows, postgresql_only
):
    with connections[database_for("catalogue")].cursor() as cursor:
        cursor.execute(f"VACUUM ANALYZE {ListingEntry._meta.db_table}")
    entries = selectors.listing(selectors.ListingQuery(), version=None)
    paginator = pagination.ListingPagination().django_paginator_class(entries, 24)
    page = paginator.page(60)  # rows 1 416-1 440 of 1 500
    sql, params = page.object_list.query.sql_with_params()
    with connections[database_for("catalogue")].cursor() as cursor:
        cursor.execute(f"EXPLAIN {sql}", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    # The skipped rows are walked in the index alone; nothing sorts more than the page's own 24 rows (with a
    # plain OFFSET, a Sort of all 1 500 rows feeds the Limit). How the 24 rows are then fetched is the
    # planner's choice (on a table this small, a hash join may beat 24 key lookups).
    assert "Index Only Scan using catalogue_listing_order" in plan, plan
    sorted_rows = [int(rows) for rows in re.findall(r"Sort\s+\(cost=\S+ rows=(\d+)", plan)]
    assert all(rows <= 24 for rows in sorted_rows), plan


@pytest.mark.django_db(transaction=True)
def test_on_postgresql_a_category_without_subcategories_is_read_in_order_from_its_own_index(
    listing_rows, postgresql_only
):
    """The most common browse: a leaf category's page, as cheap as the whole listing's (no sort, no filter
    walking the other categories' rows)."""
    with connections[database_for("catalogue")].cursor() as cursor:
        cursor.execute(f"VACUUM ANALYZE {ListingEntry._meta.db_table}")
    entries = selectors.listing(selectors.ListingQuery(category="things"), version=None)
    sql, params = entries[:24].query.sql_with_params()
    with connections[database_for("catalogue")].cursor() as cursor:
        cursor.execute(f"EXPLAIN {sql}", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "catalogue_listing_in_category" in plan and "Sort" not in plan, plan

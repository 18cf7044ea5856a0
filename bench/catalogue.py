"""Catalogue benchmark: a 20 000-row import, then listing and detail requests through the WSGI stack.

Run against a PostgreSQL database of its own (created and migrated if missing; its catalogue tables
are emptied first, and each run uses fresh SKUs so pricing and inventory start clean for them)::

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/commerce_bench .venv/bin/python bench/catalogue.py

Figures printed:
- import of 20 000 rows (10 000 products × 2 variants, prices in EUR, stock in two warehouses):
  seconds and rows/s, first import and an unchanged re-import (which writes nothing);
- a promotion over the whole catalogue: how long saving it takes (the catalogue only records a refresh
  request per product) and how long the background takes to refresh every listed product, in
  batches of ``CATALOGUE_LISTING_BATCH_SIZE`` (``catalogue.process_listing_refreshes``, one worker);
- listing pages (24 per page; plain, category, full-text search, price ordering, in-stock filter)
  and product detail pages: requests/s through ``django.test.Client`` (the full middleware and
  DRF stack, no network) and database queries per request.
``BENCH_PRODUCTS`` (default 10 000), ``BENCH_REQUESTS`` (default 300 per scenario) and
``BENCH_IMPORT_WORKERS`` (bulk price/stock calls run at once, default 2) tune it. Prices and stock go
through pricing's and inventory's bulk apis (5 000 items a call, checked first against stored state);
the catalogue's own writes are batched and its events published with ``publish_many``.
"""

import os
import random
import resource
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "commerce.settings")

PRODUCTS = int(os.environ.get("BENCH_PRODUCTS", "10000"))
REQUESTS = int(os.environ.get("BENCH_REQUESTS", "300"))
WORKERS = int(os.environ.get("BENCH_IMPORT_WORKERS", "2"))


def ensure_database() -> None:
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        sys.exit("Set DATABASE_URL to a PostgreSQL database, e.g. postgres://postgres@127.0.0.1:5432/commerce_bench")


def main() -> None:
    ensure_database()
    import django

    django.setup()
    import logging

    logging.disable(logging.INFO)
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connections
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from contexts.catalogue.demo import generate
    from contexts.catalogue.models import (
        Category,
        ListingEntry,
        ListingPrice,
        ListingRefresh,
        Product,
        ProductImage,
        Variant,
    )
    from contexts.catalogue.services import importing, listing
    from contexts.pricing import api as pricing_api

    call_command("migrate_all", verbosity=0)  # creates the PostgreSQL database(s) if missing, migrates each alias
    for model in (ListingRefresh, ListingPrice, ListingEntry, ProductImage, Variant, Product):
        model.objects.all().delete()
    for depth in sorted(set(Category.objects.values_list("depth", flat=True)), reverse=True):
        Category.objects.filter(depth=depth).delete()  # leaves first: a parent is protected

    prefix = f"B{int(time.time())}"
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "bench.csv"
        rows = generate.write(path, products=PRODUCTS, variants=2, sku_prefix=prefix)
        started = time.perf_counter()
        report = importing.import_catalogue(path, workers=WORKERS)
        first = time.perf_counter() - started
        started = time.perf_counter()
        again = importing.import_catalogue(path, workers=WORKERS)
        second = time.perf_counter() - started
    print(f"import: {rows} rows ({report.products} products, {report.variants} variants), {WORKERS} workers")
    print(f"  first import     {first:7.1f} s   {rows / first:8.0f} rows/s")
    print(
        f"  peak RSS of this process after both imports: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB"
    )
    print(
        f"  unchanged again  {second:7.1f} s   {rows / second:8.0f} rows/s "
        f"({again.products_updated + again.products_created} products written)"
    )
    assert ListingEntry.objects.count() == report.products

    started = time.perf_counter()
    promotion = pricing_api.create_promotion(
        name=f"{prefix} everything",
        kind="percentage",
        value=Decimal("10"),
        scope="categories",
        category_ids=tuple(Category.objects.filter(parent__isnull=True).values_list("pk", flat=True)),
    )
    saved = time.perf_counter() - started
    started = time.perf_counter()
    refreshed = listing.process_refresh_requests()
    background = time.perf_counter() - started
    print(f"promotion over the whole catalogue ({refreshed} products to refresh):")
    print(f"  saving it (handler records the requests)  {saved:6.2f} s")
    print(f"  background refresh of every listed row    {background:6.1f} s   {refreshed / background:6.0f} products/s")
    pricing_api.delete_promotion(promotion_id=promotion.id)
    listing.process_refresh_requests()

    client = Client()
    slugs = list(ListingEntry.objects.values_list("slug", flat=True))
    categories = list(Category.objects.values_list("slug", flat=True))
    pages = max(len(slugs) // 24, 1)
    rng = random.Random(7)
    scenarios = {
        "list: plain page": lambda: f"/api/v1/products?page={rng.randrange(1, pages + 1)}",
        "list: category": lambda: f"/api/v1/products?category={rng.choice(categories)}",
        "list: search q": lambda: f"/api/v1/products?q={rng.choice(['shirt', 'mug', 'linen', 'speaker', 'boots'])}",
        "list: price order": lambda: "/api/v1/products?ordering=price&min_price=10&max_price=80",
        "list: in stock": lambda: "/api/v1/products?in_stock=true&ordering=-created",
        "detail": lambda: f"/api/v1/products/{rng.choice(slugs)}",
    }
    print(f"requests through django.test.Client ({REQUESTS} each, {len(slugs)} listed products):")
    for label, make_url in scenarios.items():
        client.get(make_url())  # warm up
        queries = 0
        started = time.perf_counter()
        for _ in range(REQUESTS):
            captures = [CaptureQueriesContext(connections[alias]) for alias in settings.DATABASES]
            for capture in captures:
                capture.__enter__()
            response = client.get(make_url())
            for capture in captures:
                capture.__exit__(None, None, None)
            assert response.status_code == 200, (label, response.status_code, response.content[:200])
            queries += sum(len(capture.captured_queries) for capture in captures)
        elapsed = time.perf_counter() - started
        print(f"  {label:18} {REQUESTS / elapsed:7.0f} req/s   {queries / REQUESTS:4.1f} queries/request")


if __name__ == "__main__":
    main()

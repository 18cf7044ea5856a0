"""Writing a validated file: prices and stock through pricing's and inventory's bulk apis, then the
catalogue's own rows in one transaction, events published in bulk, then the listing."""

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from django.db import connections
from django.db.models import Count
from django.utils import timezone

from commerce.database import atomic_in
from commerce.eventbus import publish_many
from contexts.catalogue.conf import catalogue_settings
from contexts.catalogue.events import ProductPublished, ProductUpdated
from contexts.catalogue.models import Category, Product, ProductImage, Variant
from contexts.catalogue.services import categories, listing
from contexts.catalogue.services.importing._external import external_chunks
from contexts.catalogue.services.importing._rows import (
    ImportFailed,
    ImportRow,
    Progress,
    RowError,
    file_digest,
    iter_rows,
)
from contexts.catalogue.services.importing._validation import _Validated, validate_file
from contexts.inventory import api as inventory_api
from contexts.pricing import api as pricing_api


@dataclass
class ImportReport:
    rows: int = 0
    products: int = 0
    variants: int = 0
    products_created: int = 0
    products_updated: int = 0
    variants_created: int = 0
    variants_updated: int = 0
    prices_set: int = 0
    stock_levels_set: int = 0
    listing_rows_written: int = 0
    dry_run: bool = False
    warehouses: list[str] = field(default_factory=list)


def import_catalogue(
    path: Path | str,
    *,
    dry_run: bool = False,
    progress: Progress | None = None,
    publish_new: bool = True,
    workers: int = 1,
) -> ImportReport:
    """Validate ``path`` and, unless ``dry_run``, upsert everything it holds.

    Prices and stock levels are written in bulk calls of at most 5 000 items; ``workers`` > 1 runs
    that many of those calls at once, each its own transaction in pricing or inventory: safe, since
    every (SKU, currency) and (SKU, warehouse) appears once in a validated file, so two calls never
    touch the same rows. Use it on PostgreSQL only.

    :raises ImportFailed: some rows are bad (``errors`` lists them by line and column); nothing written.
    """
    path = Path(path)
    digest = file_digest(path)
    validated = validate_file(path, progress=progress)
    report = ImportReport(
        rows=validated.rows,
        products=len(validated.products),
        variants=len(validated.skus),
        dry_run=dry_run,
        warehouses=validated.warehouses,
    )
    if dry_run:
        return report
    if file_digest(path) != digest:
        raise ImportFailed([RowError(0, "file", "The file changed while it was being imported; nothing written.")])
    reference = f"import:{path.name}"[:128]
    for code in validated.warehouses:
        inventory_api.ensure_warehouse(code=code)
    pending: list[Callable[[], object]] = []  # at most ``workers`` chunks in memory
    for prices, levels in external_chunks(path):
        if prices:
            pending.append(partial(pricing_api.set_base_prices, prices=[item for _, item in prices]))
        if levels:
            pending.append(
                partial(inventory_api.set_stock_levels, levels=[level for _, level in levels], reference=reference)
            )
        if len(pending) >= workers:
            _count(_run(pending, workers=workers), report)
            pending = []
    _count(_run(pending, workers=workers), report)
    if progress:
        progress("prices and stock", validated.rows, validated.rows)
    product_ids = _write_catalogue(path, validated, report, progress=progress, publish_new=publish_new)
    report.listing_rows_written = listing.refresh_listing(product_ids=product_ids)
    if progress:
        progress("listing", validated.rows, validated.rows)
    return report


def _count(results: list[object], report: ImportReport) -> None:
    """Add what the bulk calls wrote; items already at their value were neither written nor announced."""
    for result in results:
        if isinstance(result, pricing_api.PriceBatchResult):
            report.prices_set += result.created + result.updated
        elif isinstance(result, inventory_api.StockBatchResult):
            report.stock_levels_set += result.created + result.changed


def _run(calls: list[Callable[[], object]], *, workers: int) -> list[object]:
    """Make the calls, ``workers`` at a time in threads; their results in order, the first failure raised."""
    if workers <= 1 or len(calls) < 2:
        return [call() for call in calls]
    results: list[object] = [None] * len(calls)
    failures: list[BaseException] = []

    def work(index: int) -> None:
        try:
            results[index] = calls[index]()
        except BaseException as exc:  # re-raised in the caller's thread below
            failures.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=work, args=(index,)) for index in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        raise failures[0]
    return results


def _write_catalogue(
    path: Path, validated: _Validated, report: ImportReport, *, progress: Progress | None, publish_new: bool
) -> list[int]:
    """All catalogue writes of the file, in one transaction, in batches; events published last."""
    size = catalogue_settings().import_batch_size
    category_cache: dict[tuple[str, ...], Category] = {}
    created: set[int] = set()
    changed: set[int] = set()
    product_ids: set[int] = set()
    done = 0
    with atomic_in("catalogue"):
        batch: list[ImportRow] = []
        for row in iter_rows(path):
            batch.append(row)
            if len(batch) >= size:
                _write_batch(batch, category_cache, created, changed, product_ids, report, publish_new)
                done += len(batch)
                batch = []
                if progress:
                    progress("catalogue", done, validated.rows)
        if batch:
            _write_batch(batch, category_cache, created, changed, product_ids, report, publish_new)
            done += len(batch)
        _publish_events(created, changed - created)
    if progress:
        progress("catalogue", done, validated.rows)
    report.products_created = len(created)
    report.products_updated = len(changed - created)
    return sorted(product_ids)


def _write_batch(
    rows: list[ImportRow],
    category_cache: dict[tuple[str, ...], Category],
    created: set[int],
    changed: set[int],
    product_ids: set[int],
    report: ImportReport,
    publish_new: bool,
) -> None:
    now = timezone.now()
    firsts: dict[str, ImportRow] = {}
    for row in rows:
        firsts.setdefault(row.product_slug, row)
    existing = {p.slug: p for p in Product.objects.filter(slug__in=list(firsts))}
    new_products, updated_products = [], []
    for slug, row in firsts.items():
        category = categories.ensure_category_path(row.category, cache=category_cache)
        product = existing.get(slug)
        if product is None:
            product = Product(
                slug=slug,
                name=row.product_name,
                description=row.description,
                category_id=category.pk,
                is_published=publish_new,
                published_at=now if publish_new else None,
            )
            new_products.append(product)
            continue
        if (product.name, product.description, product.category_id) != (row.product_name, row.description, category.pk):
            product.name, product.description, product.category_id = row.product_name, row.description, category.pk
            product.updated_at = now
            updated_products.append(product)
    Product.objects.bulk_create(new_products)
    if any(p.pk is None for p in new_products):  # backends that return no ids from bulk inserts
        ids = dict(Product.objects.filter(slug__in=[p.slug for p in new_products]).values_list("slug", "pk"))
        for product in new_products:
            product.pk = product.id = ids[product.slug]
    Product.objects.bulk_update(updated_products, ["name", "description", "category_id", "updated_at"])
    for product in new_products:
        existing[product.slug] = product
        created.add(product.pk)
    changed.update(p.pk for p in updated_products)
    product_ids.update(p.pk for p in existing.values())

    variants = {v.sku: v for v in Variant.objects.filter(sku__in=[r.sku for r in rows])}
    gaining = {existing[r.product_slug].pk for r in rows if r.sku not in variants} - created
    counts: dict[int, int] = dict.fromkeys(gaining, 0)  # variants each product holds: a new one goes last
    if gaining:  # one query for the batch, not one per product
        counts.update(
            Variant.objects.filter(product_id__in=sorted(gaining))
            .order_by()
            .values("product_id")
            .annotate(n=Count("pk"))
            .values_list("product_id", "n")
        )
    new_variants, updated_variants = [], []
    for row in rows:
        product = existing[row.product_slug]
        variant = variants.get(row.sku)
        if variant is None:
            counts.setdefault(product.pk, 0)
            new_variants.append(
                Variant(
                    product_id=product.pk,
                    sku=row.sku,
                    name=row.variant_name,
                    attributes=row.attributes,
                    position=counts[product.pk],
                )
            )
            counts[product.pk] += 1
            changed.add(product.pk)
        elif (variant.name, variant.attributes) != (row.variant_name, row.attributes):
            variant.name, variant.attributes = row.variant_name, row.attributes
            updated_variants.append(variant)
            changed.add(product.pk)
    Variant.objects.bulk_create(new_variants)
    Variant.objects.bulk_update(updated_variants, ["name", "attributes"])
    report.variants_created += len(new_variants)
    report.variants_updated += len(updated_variants)

    with_images = [r for r in firsts.values() if r.images is not None]
    if with_images:
        ids = [existing[r.product_slug].pk for r in with_images]
        current: dict[int, list[str]] = {pk: [] for pk in ids}
        for product_id, url in ProductImage.objects.filter(product_id__in=ids).values_list("product_id", "url"):
            current[product_id].append(url)
        stale = [
            existing[r.product_slug].pk for r in with_images if current[existing[r.product_slug].pk] != list(r.images)
        ]
        if stale:
            ProductImage.objects.filter(product_id__in=stale).delete()
            ProductImage.objects.bulk_create(
                ProductImage(product_id=existing[r.product_slug].pk, url=url, alt_text=r.product_name, position=i)
                for r in with_images
                if existing[r.product_slug].pk in stale
                for i, url in enumerate(r.images or ())
            )
            changed.update(stale)


def _publish_events(created: set[int], updated: set[int]) -> None:
    """The catalogue's events of the import, 1 000 products at a time: three queries per thousand."""
    ids = sorted(created | updated)
    for start in range(0, len(ids), 1000):
        chunk = ids[start : start + 1000]
        skus: dict[int, list[str]] = {pk: [] for pk in chunk}
        for product_id, sku in (
            Variant.objects.filter(product_id__in=chunk).order_by("position", "id").values_list("product_id", "sku")
        ):
            skus[product_id].append(sku)
        events: list[ProductPublished | ProductUpdated] = []
        for product in Product.objects.filter(pk__in=chunk).order_by("pk").only("pk", "slug", "is_published"):
            if product.pk in created:
                if product.is_published:
                    events.append(
                        ProductPublished(product_id=product.pk, slug=product.slug, skus=tuple(skus[product.pk]))
                    )
            else:
                events.append(
                    ProductUpdated(
                        product_id=product.pk,
                        slug=product.slug,
                        skus=tuple(skus[product.pk]),
                        published=product.is_published,
                    )
                )
        publish_many(events)

"""The listing read model: one ``ListingEntry`` per published product, kept current.

Everything a listing page shows comes from here, so a page is one query whatever its size. Rows are
recomputed from the catalogue's own tables plus pricing's ``prices_for`` and inventory's
``get_availability`` (one call per currency and one for stock, per batch of products) and written
only when something differs, so refreshing an unchanged catalogue writes nothing. Triggers: catalogue
writes (same transaction), the other contexts' events (``handlers``), a periodic job for prices that
change with time alone (a sale starting), and ``manage.py rebuild_listing``.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.contrib.postgres.search import SearchVector
from django.db import connections
from django.db.models import Q

from commerce.database import atomic_in, database_for
from contexts.catalogue.conf import catalogue_settings
from contexts.catalogue.models import ListingEntry, ListingPrice, Product, Variant
from contexts.inventory import api as inventory_api
from contexts.pricing import api as pricing_api

ENTRY_FIELDS = (
    "slug",
    "name",
    "category_id",
    "category_slug",
    "category_path",
    "currency",
    "price_amount",
    "in_stock",
    "image_url",
    "search_document",
    "created_at",
)


@dataclass(frozen=True, slots=True)
class LowestPrice:
    amount: Decimal
    base_amount: Decimal
    on_sale: bool


def on_postgresql() -> bool:
    return connections[database_for("catalogue")].vendor == "postgresql"


def search_document(product: Product, variants: Sequence[Variant]) -> str:
    """What full-text search matches besides the name: the description and the variants' words."""
    words = [product.description]
    for variant in variants:
        words.append(variant.name)
        words.extend(str(value) for value in variant.attributes.values())
    words.extend(str(value) for value in product.attributes.values())
    return "\n".join(word for word in words if word)


def category_ids_by_sku(products: Iterable[Product]) -> dict[str, tuple[int, ...]]:
    """Each SKU's category and its ancestors: what a category-wide promotion matches on."""
    return {variant.sku: product.category.ancestor_ids() for product in products for variant in product.variants.all()}


def lowest_prices(products: Sequence[Product], currency: str) -> dict[int, LowestPrice]:
    """The lowest current price of each product in ``currency``, promotions applied (one pricing call)."""
    by_sku = category_ids_by_sku(products)
    if not by_sku:
        return {}
    prices = pricing_api.prices_for(skus=tuple(by_sku), currency=currency, category_ids=by_sku)
    lowest: dict[int, LowestPrice] = {}
    for product in products:
        candidates = [prices[v.sku] for v in product.variants.all() if v.sku in prices]
        if candidates:
            best = min(candidates, key=lambda price: (price.amount, price.base_amount))
            lowest[product.pk] = LowestPrice(amount=best.amount, base_amount=best.base_amount, on_sale=best.on_sale)
    return lowest


def _products(product_ids: Iterable[int]):
    return (
        Product.objects.filter(pk__in=list(product_ids))
        .select_related("category")
        .prefetch_related("variants", "images")
        .order_by("pk")
    )


def refresh_listing(*, product_ids: Iterable[int]) -> int:
    """Bring the listing rows of these products up to date; returns how many rows changed.

    Unpublished or deleted products lose their row. Runs in batches, each in its own transaction
    unless the caller already holds one.
    """
    ids = sorted(set(product_ids))
    size = catalogue_settings().listing_batch_size
    changed = 0
    for start in range(0, len(ids), size):
        changed += _refresh_batch(ids[start : start + size])
    return changed


def refresh_listing_for_skus(*, skus: Iterable[str]) -> int:
    product_ids = set(Variant.objects.filter(sku__in=list(skus)).values_list("product_id", flat=True))
    return refresh_listing(product_ids=product_ids) if product_ids else 0


def refresh_all_listing_prices() -> int:
    """Recompute every listed product's prices and stock flag (the periodic job and ``rebuild_listing``)."""
    return refresh_listing(product_ids=Product.objects.published().values_list("pk", flat=True))


def rebuild_listing() -> int:
    """Rebuild the read model from scratch: rows for every published product, nothing else."""
    with atomic_in("catalogue"):
        ListingEntry.objects.exclude(product__is_published=True).delete()
    return refresh_all_listing_prices()


def _refresh_batch(ids: Sequence[int]) -> int:
    conf = catalogue_settings()
    products = [p for p in _products(ids) if p.is_published]
    prices = {currency: lowest_prices(products, currency) for currency in conf.currencies}
    skus = [v.sku for p in products for v in p.variants.all()]
    availability = inventory_api.get_availability(skus=tuple(skus)) if skus else {}
    with atomic_in("catalogue"):
        ListingEntry.objects.filter(pk__in=ids).exclude(pk__in=[p.pk for p in products]).delete()
        existing = {e.pk: e for e in ListingEntry.objects.filter(pk__in=[p.pk for p in products])}
        existing_prices = {(lp.entry_id, lp.currency): lp for lp in ListingPrice.objects.filter(entry_id__in=existing)}
        to_create, to_update, text_changed = [], [], []
        prices_to_create, prices_to_update, prices_to_delete = [], [], []
        for product in products:
            variants = list(product.variants.all())
            images = list(product.images.all())
            default = prices[conf.default_currency].get(product.pk)
            wanted = ListingEntry(
                product_id=product.pk,
                slug=product.slug,
                name=product.name,
                category_id=product.category_id,
                category_slug=product.category.slug,
                category_path=product.category.path,
                currency=conf.default_currency,
                price_amount=default.amount if default else None,
                in_stock=any(availability[v.sku].in_stock for v in variants if v.sku in availability),
                image_url=images[0].url if images else "",
                search_document=search_document(product, variants),
                created_at=product.created_at,
            )
            current = existing.get(product.pk)
            if current is None:
                to_create.append(wanted)
                text_changed.append(product.pk)
            elif any(getattr(current, f) != getattr(wanted, f) for f in ENTRY_FIELDS):
                if current.name != wanted.name or current.search_document != wanted.search_document:
                    text_changed.append(product.pk)
                to_update.append(wanted)
            for currency in conf.currencies:
                lowest = prices[currency].get(product.pk)
                row = existing_prices.get((product.pk, currency))
                if lowest is None:
                    if row is not None:
                        prices_to_delete.append(row.pk)
                    continue
                values = {"amount": lowest.amount, "base_amount": lowest.base_amount, "on_sale": lowest.on_sale}
                if row is None:
                    prices_to_create.append(ListingPrice(entry_id=product.pk, currency=currency, **values))
                elif any(getattr(row, k) != v for k, v in values.items()):
                    for key, value in values.items():
                        setattr(row, key, value)
                    prices_to_update.append(row)
        ListingEntry.objects.bulk_create(to_create)
        ListingEntry.objects.bulk_update(to_update, ENTRY_FIELDS)
        ListingPrice.objects.filter(pk__in=prices_to_delete).delete()
        ListingPrice.objects.bulk_create(prices_to_create)
        ListingPrice.objects.bulk_update(prices_to_update, ("amount", "base_amount", "on_sale"))
        if text_changed and on_postgresql():
            config = conf.search_config
            ListingEntry.objects.filter(pk__in=text_changed).update(
                search_vector=SearchVector("name", weight="A", config=config)
                + SearchVector("search_document", weight="B", config=config)
            )
    return len(to_create) + len(to_update) + len(prices_to_create) + len(prices_to_update) + len(prices_to_delete)


def drop_listing(*, product_ids: Iterable[int]) -> None:
    ListingEntry.objects.filter(Q(pk__in=list(product_ids))).delete()


def _listed_product_ids(skus: Iterable[str]) -> list[int]:
    return list(
        ListingEntry.objects.filter(product__variants__sku__in=list(skus)).values_list("pk", flat=True).distinct()
    )


def refresh_listing_prices(*, skus: Iterable[str], currency: str | None = None) -> int:
    """A price of some SKUs changed: recompute their listed products (nothing to do for unlisted SKUs).

    With ``currency`` (a ``PriceChanged``), only that currency's listing price is recomputed: one
    pricing call, and no write at all when the listing already shows the price (the importer
    refreshes the listing itself, so the events of its own price writes usually find nothing to do).
    """
    if currency is None or currency not in catalogue_settings().currencies:
        product_ids = _listed_product_ids(skus)
        return refresh_listing(product_ids=product_ids) if product_ids else 0
    entries = {
        entry.pk: entry
        for entry in ListingEntry.objects.filter(product__variants__sku__in=list(skus)).only("pk", "price_amount")
    }
    if not entries:
        return 0
    products = list(
        Product.objects.filter(pk__in=list(entries)).select_related("category").prefetch_related("variants")
    )
    lowest = lowest_prices(products, currency)
    rows = {row.entry_id: row for row in ListingPrice.objects.filter(entry_id__in=list(entries), currency=currency)}
    default = currency == catalogue_settings().default_currency
    to_create, to_update, to_delete, amounts = [], [], [], {}
    for product_id in sorted(entries):
        wanted, row = lowest.get(product_id), rows.get(product_id)
        if default and entries[product_id].price_amount != (wanted.amount if wanted else None):
            amounts[product_id] = wanted.amount if wanted else None
        if wanted is None:
            if row is not None:
                to_delete.append(row.pk)
            continue
        values = {"amount": wanted.amount, "base_amount": wanted.base_amount, "on_sale": wanted.on_sale}
        if row is None:
            to_create.append(ListingPrice(entry_id=product_id, currency=currency, **values))
        elif any(getattr(row, key) != value for key, value in values.items()):
            for key, value in values.items():
                setattr(row, key, value)
            to_update.append(row)
    if not (to_create or to_update or to_delete or amounts):
        return 0
    with atomic_in("catalogue"):
        still_listed = set(ListingEntry.objects.filter(pk__in=list(entries)).values_list("pk", flat=True))
        ListingPrice.objects.filter(pk__in=to_delete).delete()
        ListingPrice.objects.bulk_create([row for row in to_create if row.entry_id in still_listed])
        ListingPrice.objects.bulk_update(to_update, ("amount", "base_amount", "on_sale"))
        for product_id, amount in amounts.items():
            ListingEntry.objects.filter(pk=product_id).update(price_amount=amount)
    return len(to_create) + len(to_update) + len(to_delete) + len(amounts)


def refresh_listing_stock(*, skus: Iterable[str], in_stock: bool | None = None) -> int:
    """Stock of some SKUs changed: recompute the in-stock flag of their listed products (one inventory call).

    ``in_stock``: what a ``StockLevelChanged`` said about these SKUs. A product is in stock when any of
    its variants is, so when every listed product holding them already shows that same flag nothing
    can differ: one query, no write.
    """
    flags = dict(
        ListingEntry.objects.filter(product__variants__sku__in=list(skus)).values_list("pk", "in_stock").distinct()
    )
    if not flags or (in_stock is not None and all(flag == in_stock for flag in flags.values())):
        return 0
    skus_by_product: dict[int, list[str]] = {}
    for product_id, sku in Variant.objects.filter(product_id__in=list(flags)).values_list("product_id", "sku"):
        skus_by_product.setdefault(product_id, []).append(sku)
    availability = inventory_api.get_availability(skus=tuple(sku for s in skus_by_product.values() for sku in s))
    wanted = {
        product_id: any(availability[s].in_stock for s in product_skus if s in availability)
        for product_id, product_skus in skus_by_product.items()
    }
    differing = {product_id: flag for product_id, flag in wanted.items() if flags.get(product_id) != flag}
    if not differing:
        return 0
    changed = 0
    with atomic_in("catalogue"):
        for flag in (True, False):
            ids = sorted(pk for pk, value in differing.items() if value is flag)
            if ids:
                changed += ListingEntry.objects.filter(pk__in=ids).exclude(in_stock=flag).update(in_stock=flag)
    return changed

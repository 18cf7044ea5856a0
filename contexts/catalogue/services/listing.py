"""The listing read model: one ``ListingEntry`` per published product, kept current.

Everything a listing page shows comes from here, so a page is one query whatever its size. Rows are
recomputed from the catalogue's own tables plus pricing's ``prices_for`` and inventory's
``get_availability`` (one call per currency and one for stock, per batch of products) and written
only when something differs, so refreshing an unchanged catalogue writes nothing. Triggers: catalogue
writes (same transaction), the other contexts' events (``handlers``), a periodic job for prices that
change with time alone (a sale starting), and ``manage.py rebuild_listing``.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from django.contrib.postgres.search import SearchVectorField
from django.db import connections
from django.db.models import Expression, Q

from commerce.database import atomic_in, database_for
from contexts.catalogue.conf import catalogue_settings
from contexts.catalogue.domain import text_attributes
from contexts.catalogue.models import (
    Category,
    ListingEntry,
    ListingPrice,
    Product,
    ProductImage,
    Variant,
    path_ids,
)
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
    return _search_document(product.description, [(v.name, v.attributes) for v in variants], product.attributes)


def _search_document(description: str, variants: Iterable[tuple[str, dict]], attributes: dict) -> str:
    words = [description]
    for name, variant_attributes in variants:
        words.append(name)
        words.extend(text_attributes(variant_attributes).values())
    words.extend(text_attributes(attributes).values())
    return "\n".join(word for word in words if word)


def category_ids_by_sku(products: Iterable[Product]) -> dict[str, tuple[int, ...]]:
    """Each SKU's category and its ancestors: what a category-wide promotion matches on."""
    return {variant.sku: product.category.ancestor_ids() for product in products for variant in product.variants.all()}


def lowest_prices(products: Sequence[Product], currency: str) -> dict[int, LowestPrice]:
    """The lowest current price of each product in ``currency``, promotions applied (one pricing call)."""
    skus = {product.pk: [v.sku for v in product.variants.all()] for product in products}
    by_sku = {sku: product.category.ancestor_ids() for product in products for sku in skus[product.pk]}
    return _lowest_prices(skus, by_sku, currency)


def _lowest_prices(
    skus: dict[int, list[str]], category_ids: dict[str, tuple[int, ...]], currency: str
) -> dict[int, LowestPrice]:
    """``skus``: each product's SKUs; ``category_ids``: each SKU's category ids (one pricing call)."""
    if not category_ids:
        return {}
    prices = pricing_api.prices_for(skus=tuple(category_ids), currency=currency, category_ids=category_ids)
    lowest: dict[int, LowestPrice] = {}
    for product_id, product_skus in skus.items():
        candidates = [prices[sku] for sku in product_skus if sku in prices]
        if candidates:
            best = min(candidates, key=lambda price: (price.amount, price.base_amount))
            lowest[product_id] = LowestPrice(amount=best.amount, base_amount=best.base_amount, on_sale=best.on_sale)
    return lowest


@dataclass(slots=True)
class _Source:
    """What one published product's listing row is computed from (plain values, no model instances)."""

    pk: int
    slug: str
    name: str
    description: str
    attributes: dict
    category_id: int
    created_at: datetime
    variants: list[tuple[str, str, dict]] = field(default_factory=list)  # (sku, name, attributes), in order
    image_url: str | None = None  # the first image's


def _sources(ids: Sequence[int]) -> list[_Source]:
    """The published products among ``ids`` with their variants and first image: three queries."""
    sources = {
        pk: _Source(pk, slug, name, description, attributes, category_id, created_at)
        for pk, slug, name, description, attributes, category_id, created_at in (
            Product.objects.filter(pk__in=list(ids), is_published=True)
            .order_by("pk")
            .values_list("pk", "slug", "name", "description", "attributes", "category_id", "created_at")
        )
    }
    if not sources:
        return []
    for product_id, sku, name, attributes in (
        Variant.objects.filter(product_id__in=list(sources))
        .order_by("product_id", "position", "id")
        .values_list("product_id", "sku", "name", "attributes")
    ):
        sources[product_id].variants.append((sku, name, attributes))
    for product_id, url in (
        ProductImage.objects.filter(product_id__in=list(sources))
        .order_by("product_id", "position", "id")
        .values_list("product_id", "url")
    ):
        if sources[product_id].image_url is None:
            sources[product_id].image_url = url
    return list(sources.values())


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
    sources = _sources(ids)
    categories = {
        pk: (slug, path)
        for pk, slug, path in Category.objects.filter(pk__in={s.category_id for s in sources}).values_list(
            "pk", "slug", "path"
        )
    }
    skus = {source.pk: [sku for sku, _, _ in source.variants] for source in sources}
    category_ids = {sku: path_ids(categories[source.category_id][1]) for source in sources for sku in skus[source.pk]}
    prices = {currency: _lowest_prices(skus, category_ids, currency) for currency in conf.currencies}
    availability = inventory_api.get_availability(skus=tuple(category_ids)) if category_ids else {}
    listed = [source.pk for source in sources]
    with atomic_in("catalogue"):
        ListingEntry.objects.filter(pk__in=ids).exclude(pk__in=listed).delete()
        existing = {
            row[0]: row[1:] for row in ListingEntry.objects.filter(pk__in=listed).values_list("pk", *ENTRY_FIELDS)
        }
        existing_prices = {
            (entry_id, currency): (pk, (amount, base_amount, on_sale))
            for pk, entry_id, currency, amount, base_amount, on_sale in ListingPrice.objects.filter(
                entry_id__in=listed
            ).values_list("pk", "entry_id", "currency", "amount", "base_amount", "on_sale")
        }
        text_changed: list[ListingEntry] = []  # new rows, or a new name or search document
        other_changes: list[ListingEntry] = []
        prices_to_write: list[ListingPrice] = []
        prices_to_delete: list[int] = []
        for source in sources:
            default = prices[conf.default_currency].get(source.pk)
            category_slug, category_path = categories[source.category_id]
            wanted = (
                source.slug,
                source.name,
                source.category_id,
                category_slug,
                category_path,
                conf.default_currency,
                default.amount if default else None,
                any(availability[sku].in_stock for sku in skus[source.pk] if sku in availability),
                source.image_url or "",
                _search_document(source.description, [(n, a) for _, n, a in source.variants], source.attributes),
                source.created_at,
            )
            current = existing.get(source.pk)
            if current != wanted:
                entry = ListingEntry(product_id=source.pk, **dict(zip(ENTRY_FIELDS, wanted, strict=True)))
                if current is None or current[1] != wanted[1] or current[9] != wanted[9]:
                    text_changed.append(entry)
                else:
                    other_changes.append(entry)
            for currency in conf.currencies:
                lowest = prices[currency].get(source.pk)
                row = existing_prices.get((source.pk, currency))
                if lowest is None:
                    if row is not None:
                        prices_to_delete.append(row[0])
                    continue
                values = (lowest.amount, lowest.base_amount, lowest.on_sale)
                if row is None or row[1] != values:
                    prices_to_write.append(
                        ListingPrice(
                            entry_id=source.pk,
                            currency=currency,
                            amount=lowest.amount,
                            base_amount=lowest.base_amount,
                            on_sale=lowest.on_sale,
                        )
                    )
        _write_entries(text_changed, text=True)
        _write_entries(other_changes, text=False)
        ListingPrice.objects.filter(pk__in=prices_to_delete).delete()
        if prices_to_write:
            ListingPrice.objects.bulk_create(
                prices_to_write,
                update_conflicts=True,
                unique_fields=("entry", "currency"),
                update_fields=("amount", "base_amount", "on_sale"),
            )
    return len(text_changed) + len(other_changes) + len(prices_to_write) + len(prices_to_delete)


class _SearchVectorOf(Expression):
    """A listing row's search vector computed from the values being written, in the INSERT itself.

    The same as ``SearchVector("name", weight="A") + SearchVector("search_document", weight="B")``
    evaluated on the row afterwards, without that second statement; one fixed template, so compiling
    it for each row of a bulk insert costs little.
    """

    output_field = SearchVectorField()
    template = "setweight(to_tsvector(%s::regconfig, %s), 'A') || setweight(to_tsvector(%s::regconfig, %s), 'B')"

    def __init__(self, config: str, name: str, document: str) -> None:
        super().__init__()
        self.config, self.name, self.document = config, name, document

    def as_sql(self, compiler, connection):
        return self.template, [self.config, self.name, self.config, self.document]


def _write_entries(entries: list[ListingEntry], *, text: bool) -> None:
    """Insert or overwrite these rows in one statement each (an upsert: no per-row CASE of ``bulk_update``).

    ``text``: their name or search document is new, so on PostgreSQL the search vector is computed in
    the same statement, from the values written; the other rows keep theirs.
    """
    if not entries:
        return
    update_fields = [*ENTRY_FIELDS, "refreshed_at"]
    if text and on_postgresql():
        config = catalogue_settings().search_config
        for entry in entries:
            entry.search_vector = _SearchVectorOf(config, entry.name, entry.search_document)
        update_fields.append("search_vector")
    ListingEntry.objects.bulk_create(
        entries, update_conflicts=True, unique_fields=("product",), update_fields=update_fields
    )


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

"""Reads inside the catalogue context. QuerySets stay here; ``api`` maps them to DTOs."""

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from django.contrib.postgres.search import SearchQuery, SearchRank
from django.core.cache import cache
from django.db import connections
from django.db.models import CharField, Exists, F, FilteredRelation, OuterRef, Q, QuerySet, Value
from django.utils import timezone

from commerce.database import database_for
from contexts.catalogue.conf import catalogue_settings
from contexts.catalogue.exceptions import InvalidQuery
from contexts.catalogue.models import Category, ListingEntry, ListingVersion, Product, Variant

ORDERINGS = {
    "price": ("price", "name", "pk"),
    "-price": ("-price", "name", "pk"),
    "name": ("name", "pk"),
    "-name": ("-name", "-pk"),
    "-created": ("-created_at", "-pk"),
}


@dataclass(frozen=True, slots=True, kw_only=True)
class ListingQuery:
    """A validated listing request (the REST layer parses the query string into this)."""

    q: str = ""
    category: str | None = None
    min_price: Decimal | None = None
    max_price: Decimal | None = None
    in_stock: bool = False
    ordering: str | None = None
    currency: str | None = None


def _on_postgresql() -> bool:
    return connections[database_for("catalogue")].vendor == "postgresql"


def categories() -> QuerySet[Category]:
    return Category.objects.select_related("parent").order_by("path")


SUMMARY_FIELDS = ("slug", "name", "category_slug", "price", "price_currency", "in_stock", "image_url")
CACHE_SECONDS = 600  # cached lookups are keyed by the read model's version: a change makes new keys


@dataclass(frozen=True, slots=True)
class _CategoryScope:
    """What a category filter reads: the category's id when it has no subcategories (its page walks the
    ``catalogue_listing_in_category`` index), otherwise its materialized path (its subtree's prefix)."""

    path: str
    leaf_id: int | None


def _category_scope(slug: str, version: int | None) -> _CategoryScope | None:
    """The category's scope, cached against the listing's version: a product put in a new subcategory, or a
    category moved or renamed, changes the version (a subcategory without products changes no page). An
    unknown slug is not cached: the category may be created the next moment, which changes no version."""
    key = f"catalogue:category-scope:{version}:{slug}"
    cached = cache.get(key) if version is not None else None
    if not cached:
        children = Category.objects.filter(parent_id=OuterRef("pk"))
        found = (
            Category.objects.filter(slug=slug)
            .annotate(has_children=Exists(children))
            .values_list("id", "path", "has_children")
            .first()
        )
        if found is None:
            return None
        category_id, path, has_children = found
        cached = (path, None if has_children else category_id)
        if version is not None:
            cache.set(key, cached, CACHE_SECONDS)
    return _CategoryScope(*cached)


def listing_count(query: ListingQuery, entries: QuerySet, *, version: int) -> int:
    """How many products match: counted once per listing version and query, then answered from the cache."""
    key = "catalogue:count:" + hashlib.blake2b(f"{version}:{query!r}".encode(), digest_size=16).hexdigest()
    count = cache.get(key)
    if count is None:
        count = entries.count()
        cache.set(key, count, CACHE_SECONDS)
    return count


def listing(query: ListingQuery, *, version: int | None = None) -> QuerySet:
    """Published products matching ``query``: plain dicts of ``SUMMARY_FIELDS``, ``price`` in the asked currency.

    One query for the page whatever its size, only the columns a summary shows: the read model holds
    them all. ``version`` (the listing's): lookups are cached against it.

    :raises InvalidQuery: an unknown category, ordering or currency, or min_price above max_price.
    """
    conf = catalogue_settings()
    currency = query.currency or conf.default_currency
    errors: dict[str, list[str]] = {}
    if currency not in conf.currencies:
        errors["currency"] = [f"Unknown currency; one of {', '.join(conf.currencies)}."]
    if query.ordering is not None and query.ordering not in ORDERINGS:
        errors["ordering"] = [f"Unknown ordering; one of {', '.join(ORDERINGS)}."]
    if query.min_price is not None and query.max_price is not None and query.min_price > query.max_price:
        errors["min_price"] = ["min_price is above max_price."]
    category = None
    if query.category is not None:
        category = _category_scope(query.category, version)
        if category is None:
            errors["category"] = ["Unknown category."]
    if errors:
        raise InvalidQuery(errors)

    entries = ListingEntry.objects.all()
    # A product is listed only in the currencies it has a price in: ``price`` is never null.
    if currency == conf.default_currency:
        entries = entries.annotate(price=F("price_amount")).filter(price_amount__isnull=False)
    else:
        entries = (
            entries.annotate(price_in_currency=FilteredRelation("prices", condition=Q(prices__currency=currency)))
            .annotate(price=F("price_in_currency__amount"))
            .filter(price__isnull=False)
        )
    if category is not None and category.leaf_id is not None:
        entries = entries.filter(category_id=category.leaf_id)
    elif category is not None:
        entries = entries.filter(category_path__startswith=category.path)
    if query.min_price is not None:
        entries = entries.filter(price__gte=query.min_price)
    if query.max_price is not None:
        entries = entries.filter(price__lte=query.max_price)
    if query.in_stock:
        entries = entries.filter(in_stock=True)
    ordering = ORDERINGS.get(query.ordering or "", ORDERINGS["name"])
    if query.q:
        if _on_postgresql():
            search = SearchQuery(query.q, search_type="websearch", config=conf.search_config)
            entries = entries.filter(search_vector=search)
            if query.ordering is None:
                entries = entries.annotate(rank=SearchRank(F("search_vector"), search))
                ordering = (F("rank").desc(), "name", "pk")
        else:
            entries = entries.filter(Q(name__icontains=query.q) | Q(search_document__icontains=query.q))
    return (
        entries.annotate(price_currency=Value(currency, output_field=CharField()))
        .order_by(*ordering)
        .values(*SUMMARY_FIELDS)
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class ProductDocument:
    slug: str
    name: str
    category_slug: str
    document: dict
    refreshed_at: datetime


# The two reads behind every catalogue request, the detail's document and the listing's version, are
# plain parameterised SQL rather than querysets: building and compiling the queryset took four times as
# long as PostgreSQL took to answer it (0.83 ms against 0.15 ms for a detail; issue 15). The columns are
# named here once; SQLite returns JSON as text and datetimes naive (in UTC), so ``_aware`` and
# ``_json`` decode what the ORM would have.


def _fetch_one(model: type, columns: str, where: str, params: list) -> tuple | None:
    connection = connections[database_for("catalogue")]
    table = connection.ops.quote_name(model._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {columns} FROM {table} WHERE {where}", params)  # names from code, values as parameters
        return cursor.fetchone()


def _aware(value: datetime | None) -> datetime | None:
    return timezone.make_aware(value, UTC) if value is not None and timezone.is_naive(value) else value


def _json(value: dict | str) -> dict:
    return json.loads(value) if isinstance(value, str) else value


def product_document(slug: str) -> ProductDocument | None:
    """The listed product's ready detail document: one indexed query (the slug is unique)."""
    row = _fetch_one(ListingEntry, "slug, name, category_slug, document, refreshed_at", "slug = %s", [slug])
    if row is None:
        return None
    slug, name, category_slug, document, refreshed_at = row
    return ProductDocument(
        slug=slug, name=name, category_slug=category_slug, document=_json(document), refreshed_at=_aware(refreshed_at)
    )


def listing_version() -> tuple[int, datetime | None]:
    """The listing read model's version and when it last moved (one query)."""
    row = _fetch_one(ListingVersion, "version, changed_at", "id = %s", [1])
    return (row[0], _aware(row[1])) if row is not None else (0, None)


def variants_by_sku(skus: Iterable[str]) -> list[tuple]:
    """Each variant with one of these SKUs as (sku, product id, product slug, product name, variant name,
    category path, published): one query, none for no SKU. Plain SQL, as ``_fetch_one``'s reads: a cart
    asks this on every request, and building the ORM's query cost more than running it. SKUs are taken
    as ``sku__in`` takes them: None left out, anything else as text."""
    wanted = list(dict.fromkeys(sku if isinstance(sku, str) else str(sku) for sku in skus if sku is not None))
    if not wanted:
        return []
    connection = connections[database_for("catalogue")]
    quote = connection.ops.quote_name
    variant, product = quote(Variant._meta.db_table), quote(Product._meta.db_table)
    category = quote(Category._meta.db_table)
    sql = (
        "SELECT v.sku, v.product_id, p.slug, p.name, v.name, c.path, p.is_published "
        f"FROM {variant} v INNER JOIN {product} p ON p.id = v.product_id "
        f"INNER JOIN {category} c ON c.id = p.category_id WHERE v.sku IN ({', '.join(['%s'] * len(wanted))})"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, wanted)  # names from code, values as parameters
        rows = cursor.fetchall()
    return [(*row[:6], bool(row[6])) for row in rows]  # SQLite answers a boolean as 0 or 1

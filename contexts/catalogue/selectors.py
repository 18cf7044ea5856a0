"""Reads inside the catalogue context. QuerySets stay here; ``api`` maps them to DTOs."""

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from django.contrib.postgres.search import SearchQuery, SearchRank
from django.db import connections
from django.db.models import CharField, F, FilteredRelation, Q, QuerySet, Value

from commerce.database import database_for
from contexts.catalogue.conf import catalogue_settings
from contexts.catalogue.exceptions import InvalidQuery
from contexts.catalogue.models import Category, ListingEntry, Product, Variant

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


def listing(query: ListingQuery) -> QuerySet[ListingEntry]:
    """Published products matching ``query``, each annotated with ``price`` in the asked currency.

    One query for the page (plus the paginator's count) whatever the page size: the read model holds
    everything a summary shows.

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
    category_path = None
    if query.category is not None:
        category_path = Category.objects.filter(slug=query.category).values_list("path", flat=True).first()
        if category_path is None:
            errors["category"] = ["Unknown category."]
    if errors:
        raise InvalidQuery(errors)

    entries = ListingEntry.objects.defer("search_document", "search_vector")
    # A product is listed only in the currencies it has a price in: ``price`` is never null.
    if currency == conf.default_currency:
        entries = entries.annotate(price=F("price_amount")).filter(price_amount__isnull=False)
    else:
        entries = (
            entries.annotate(price_in_currency=FilteredRelation("prices", condition=Q(prices__currency=currency)))
            .annotate(price=F("price_in_currency__amount"))
            .filter(price__isnull=False)
        )
    if category_path is not None:
        entries = entries.filter(category_path__startswith=category_path)
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
    return entries.annotate(price_currency=Value(currency, output_field=CharField())).order_by(*ordering)


def published_product(slug: str) -> Product | None:
    return (
        Product.objects.published()
        .filter(slug=slug)
        .select_related("category")
        .prefetch_related("variants", "images")
        .first()
    )


def variants_by_sku(skus: Iterable[str]) -> QuerySet[Variant]:
    return Variant.objects.filter(sku__in=list(skus)).select_related("product", "product__category")

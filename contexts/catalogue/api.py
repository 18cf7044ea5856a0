"""The published interface of the catalogue context: products, variants, categories, media and the listing read model.

Other contexts import this module and ``events`` and nothing else of this context.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from contexts.catalogue import selectors
from contexts.catalogue.conf import catalogue_settings
from contexts.catalogue.domain import is_slug
from contexts.catalogue.exceptions import (
    CatalogueError,
    CategoryNotFound,
    InvalidAttributes,
    InvalidQuery,
    ProductNotFound,
    UnknownSku,
)
from contexts.catalogue.models import path_ids

__all__ = [
    "CatalogueError",
    "CategoryNotFound",
    "InvalidAttributes",
    "InvalidQuery",
    "PriceInfo",
    "ProductDetail",
    "ProductNotFound",
    "UnknownSku",
    "VariantDetail",
    "VariantInfo",
    "get_product_detail",
    "get_variant",
    "get_variants",
    "list_category_ids_for_skus",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class VariantInfo:
    """What another context needs to sell a SKU and to snapshot its names."""

    sku: str
    product_id: int
    product_slug: str
    product_name: str
    variant_name: str
    category_ids: tuple[int, ...]  # the product's category and its ancestors, root first
    published: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class PriceInfo:
    amount: Decimal
    base_amount: Decimal
    currency: str
    on_sale: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class VariantDetail:
    sku: str
    name: str
    attributes: dict[str, str]
    price: PriceInfo
    available: int | None  # exact at or under inventory's low-stock threshold; None above it (in stock)
    in_stock: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class ProductDetail:
    slug: str
    name: str
    description: str
    category: str  # slug
    attributes: dict[str, str]
    images: tuple[str, ...]
    variants: tuple[VariantDetail, ...]
    price: PriceInfo  # the lowest variant's current price
    in_stock: bool
    image: str | None
    modified_at: datetime  # when the read model last changed this product: its HTTP version


def get_variants(*, skus: Sequence[str]) -> dict[str, VariantInfo]:
    """The variants with these SKUs, published or not; unknown SKUs are absent from the result.

    One query whatever the number of SKUs.
    """
    return {
        sku: VariantInfo(
            sku=sku,
            product_id=product_id,
            product_slug=slug,
            product_name=product_name,
            variant_name=variant_name,
            category_ids=path_ids(category_path),
            published=published,
        )
        for sku, product_id, slug, product_name, variant_name, category_path, published in selectors.variants_by_sku(
            skus
        )
    }


def get_variant(*, sku: str) -> VariantInfo:
    """The variant with this SKU.

    :raises UnknownSku: the catalogue has no such SKU.
    """
    found = get_variants(skus=(sku,))
    if sku not in found:
        raise UnknownSku(skus=(sku,))
    return found[sku]


def list_category_ids_for_skus(*, skus: Sequence[str]) -> dict[str, tuple[int, ...]]:
    """Each known SKU's category ids (its category and ancestors): what category promotions match.

    :raises UnknownSku: some SKUs are not in the catalogue (listed in ``skus`` of the error).
    """
    found = {sku: info.category_ids for sku, info in get_variants(skus=skus).items()}
    missing = tuple(sorted(set(skus) - set(found)))
    if missing:
        raise UnknownSku(skus=missing)
    return found


def get_product_detail(*, slug: str, currency: str | None = None) -> ProductDetail:
    """A published product with the prices and availability of its variants sold in ``currency``.

    Read from the listing read model's ready document: one indexed query. Prices and availability
    follow pricing's and inventory's events within a moment; they are for showing, not for selling
    (a cart and checkout ask pricing and inventory). A variant without a price in the currency is
    left out; a product with none is not found there.

    :raises ProductNotFound: no published product has this slug, or none of its variants a price in ``currency``.
    :raises InvalidQuery: the currency is not one the shop sells in.
    """
    if not is_slug(slug):  # never sent to the database: PostgreSQL refuses NUL, and no product has it
        raise ProductNotFound()
    conf = catalogue_settings()
    currency = currency or conf.default_currency
    if currency not in conf.currencies:
        raise InvalidQuery({"currency": [f"Unknown currency; one of {', '.join(conf.currencies)}."]})
    row = selectors.product_document(slug)
    if row is None:
        raise ProductNotFound()
    document = row.document
    details = []
    for variant in document.get("variants", []):
        price = variant["prices"].get(currency)
        if price is None:  # not for sale in this currency: never shown with a null price
            continue
        amount, base_amount, on_sale = price
        available = variant["available"]
        details.append(
            VariantDetail(
                sku=variant["sku"],
                name=variant["name"],
                attributes=variant["attributes"],
                price=PriceInfo(
                    amount=Decimal(amount), base_amount=Decimal(base_amount), currency=currency, on_sale=on_sale
                ),
                available=available,
                # a document written before ``in_stock`` was stored beside ``available`` has an exact figure
                in_stock=variant.get("in_stock", available is not None and available > 0),
            )
        )
    if not details:  # listed only in the currencies it has a price in
        raise ProductNotFound()
    images = tuple(document.get("images", ()))
    return ProductDetail(
        slug=row.slug,
        name=row.name,
        description=document.get("description", ""),
        category=row.category_slug,
        attributes=document.get("attributes", {}),
        images=images,
        variants=tuple(details),
        price=min((d.price for d in details), key=lambda p: (p.amount, p.base_amount)),
        in_stock=any(d.in_stock for d in details),
        image=images[0] if images else None,
        modified_at=row.refreshed_at,
    )

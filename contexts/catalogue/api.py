"""The published interface of the catalogue context: products, variants, categories, media and the listing read model.

Other contexts import this module and ``events`` and nothing else of this context.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from contexts.catalogue import selectors
from contexts.catalogue.conf import catalogue_settings
from contexts.catalogue.domain import is_slug, text_attributes
from contexts.catalogue.exceptions import (
    CatalogueError,
    CategoryNotFound,
    InvalidAttributes,
    InvalidQuery,
    ProductNotFound,
    UnknownSku,
)
from contexts.inventory import api as inventory_api
from contexts.pricing import api as pricing_api

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
    available: int
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


def get_variants(*, skus: Sequence[str]) -> dict[str, VariantInfo]:
    """The variants with these SKUs, published or not; unknown SKUs are absent from the result.

    One query whatever the number of SKUs.
    """
    return {
        variant.sku: VariantInfo(
            sku=variant.sku,
            product_id=variant.product_id,
            product_slug=variant.product.slug,
            product_name=variant.product.name,
            variant_name=variant.name,
            category_ids=variant.product.category.ancestor_ids(),
            published=variant.product.is_published,
        )
        for variant in selectors.variants_by_sku(skus)
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
    """A published product with the current prices and availability of its variants sold in ``currency``.

    A variant without a price in the currency is left out; a product with none is not found there.

    :raises ProductNotFound: no published product has this slug, or none of its variants a price in ``currency``.
    :raises InvalidQuery: the currency is not one the shop sells in.
    """
    if not is_slug(slug):  # never sent to the database: PostgreSQL refuses NUL, and no product has it
        raise ProductNotFound()
    conf = catalogue_settings()
    currency = currency or conf.default_currency
    if currency not in conf.currencies:
        raise InvalidQuery({"currency": [f"Unknown currency; one of {', '.join(conf.currencies)}."]})
    product = selectors.published_product(slug)
    if product is None:
        raise ProductNotFound()
    variants = list(product.variants.all())
    skus = tuple(v.sku for v in variants)
    category_ids = product.category.ancestor_ids()
    prices = (
        pricing_api.prices_for(skus=skus, currency=currency, category_ids={sku: category_ids for sku in skus})
        if skus
        else {}
    )
    availability = inventory_api.get_availability(skus=skus) if skus else {}
    details = []
    for variant in variants:
        price = prices.get(variant.sku)
        if price is None:  # not for sale in this currency: never shown with a null price
            continue
        stock = availability.get(variant.sku)
        details.append(
            VariantDetail(
                sku=variant.sku,
                name=variant.name,
                attributes=text_attributes(variant.attributes),
                price=PriceInfo(
                    amount=price.amount, base_amount=price.base_amount, currency=currency, on_sale=price.on_sale
                ),
                available=stock.available if stock else 0,
                in_stock=stock.in_stock if stock else False,
            )
        )
    if not details:  # listed only in the currencies it has a price in
        raise ProductNotFound()
    priced = [d.price for d in details]
    images = tuple(image.url for image in product.images.all())
    return ProductDetail(
        slug=product.slug,
        name=product.name,
        description=product.description,
        category=product.category.slug,
        attributes=text_attributes(product.attributes),
        images=images,
        variants=tuple(details),
        price=min(priced, key=lambda p: (p.amount, p.base_amount)) if priced else None,
        in_stock=any(d.in_stock for d in details),
        image=images[0] if images else None,
    )

"""Writes on products and variants: validate, change, publish events last; the listing follows after commit.

An event goes out only when something customers can see changed; saving an identical product is
silent, which is what makes a re-import of the same file publish nothing.
"""

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import IntegrityError
from django.utils import timezone

from commerce.database import atomic_in
from commerce.eventbus import publish
from contexts.catalogue.domain import attribute_problems
from contexts.catalogue.events import ProductPublished, ProductUnpublished, ProductUpdated
from contexts.catalogue.exceptions import CatalogueError, DuplicateSku, InvalidAttributes
from contexts.catalogue.models import Category, ListingEntry, Product, ProductImage, Variant
from contexts.catalogue.services import listing


@dataclass(frozen=True, slots=True, kw_only=True)
class ImageSpec:
    url: str
    alt_text: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class VariantSpec:
    sku: str
    name: str
    attributes: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class ProductSpec:
    """The whole visible state of a product, as an import row group or a test states it."""

    slug: str
    name: str
    category_id: int
    description: str = ""
    attributes: Mapping[str, Any] = field(default_factory=dict)
    images: Sequence[ImageSpec] | None = None  # None: leave the images as they are
    variants: Sequence[VariantSpec] = ()


def skus_of(product: Product) -> tuple[str, ...]:
    return tuple(Variant.objects.filter(product=product).order_by("position", "id").values_list("sku", flat=True))


def _event_for(product: Product, *, newly_published: bool) -> None:
    skus = skus_of(product)
    if newly_published:
        publish(ProductPublished(product_id=product.pk, slug=product.slug, skus=skus))
    else:
        publish(ProductUpdated(product_id=product.pk, slug=product.slug, skus=skus, published=product.is_published))


def upsert_product(spec: ProductSpec, *, publish_new: bool = True) -> tuple[Product, bool]:
    """Create or update the product ``spec.slug`` and its variants; returns it and whether it changed.

    Variants named in the spec are created or updated; existing variants not named are kept (an
    import file need not list every variant). A new product is published when ``publish_new``.

    :raises DuplicateSku: a SKU of the spec belongs to another product.
    :raises InvalidAttributes: the product's or a variant's attributes are not a map of text to text.
    """
    problems = attribute_problems(spec.attributes)
    for variant in spec.variants:
        problems += [f"{variant.sku}: {problem}" for problem in attribute_problems(variant.attributes)]
    if problems:
        raise InvalidAttributes(problems)
    with atomic_in("catalogue"):
        product = Product.objects.select_for_update().filter(slug=spec.slug).first()
        created = product is None
        changed = created
        if created:
            product = Product(slug=spec.slug, is_published=publish_new)
            if publish_new:
                product.published_at = timezone.now()
        assert product is not None
        wanted = {
            "name": spec.name,
            "description": spec.description,
            "category_id": spec.category_id,
            "attributes": dict(spec.attributes),
        }
        for name, value in wanted.items():
            if getattr(product, name) != value:
                setattr(product, name, value)
                changed = True
        if changed:
            product.save()
        changed |= _sync_variants(product, spec.variants)
        if spec.images is not None:
            changed |= _sync_images(product, spec.images)
        if changed:
            listing.request_refresh(product_ids=(product.pk,))
            if created:
                if product.is_published:
                    _event_for(product, newly_published=True)
            else:
                _event_for(product, newly_published=False)
    if changed:
        _refresh_after_commit([product.pk])
    return product, changed


def _refresh_after_commit(product_ids: list[int]) -> None:
    """The listing follows once the write has committed: it asks pricing and inventory, never under our locks.
    The request recorded with the write settles it even if this process dies first."""
    listing.after_commit(lambda: listing.refresh_listing(product_ids=product_ids))


def _sync_variants(product: Product, specs: Sequence[VariantSpec]) -> bool:
    if not specs:
        return False
    existing = {v.sku: v for v in Variant.objects.filter(sku__in=[s.sku for s in specs])}
    foreign = sorted(sku for sku, v in existing.items() if v.product_id != product.pk)
    if foreign:
        raise DuplicateSku(f"SKU {', '.join(foreign)} belongs to another product.")
    position_base = Variant.objects.filter(product=product).count()
    changed = False
    for index, spec in enumerate(specs):
        variant = existing.get(spec.sku)
        attributes = dict(spec.attributes)
        if variant is None:
            try:
                Variant.objects.create(
                    product=product, sku=spec.sku, name=spec.name, attributes=attributes, position=position_base + index
                )
            except IntegrityError:
                raise DuplicateSku(f"SKU {spec.sku} belongs to another product.") from None
            changed = True
        elif variant.name != spec.name or variant.attributes != attributes:
            variant.name, variant.attributes = spec.name, attributes
            variant.save(update_fields=["name", "attributes"])
            changed = True
    return changed


def _sync_images(product: Product, specs: Sequence[ImageSpec]) -> bool:
    current = [(i.url, i.alt_text) for i in ProductImage.objects.filter(product=product)]
    wanted = [(s.url, s.alt_text) for s in specs]
    if current == wanted:
        return False
    ProductImage.objects.filter(product=product).delete()
    ProductImage.objects.bulk_create(
        ProductImage(product=product, url=url, alt_text=alt, position=index) for index, (url, alt) in enumerate(wanted)
    )
    return True


def create_product(
    *,
    slug: str,
    name: str,
    category: Category,
    description: str = "",
    attributes: Mapping[str, Any] | None = None,
    variants: Sequence[VariantSpec] = (),
    images: Sequence[ImageSpec] = (),
    published: bool = True,
) -> Product:
    """A new product with its variants and images.

    :raises CatalogueError: the slug is taken.
    :raises DuplicateSku: a SKU already exists.
    :raises InvalidAttributes: the product's or a variant's attributes are not a map of text to text.
    """
    if Product.objects.filter(slug=slug).exists():
        raise CatalogueError(f"A product with slug {slug!r} exists.")
    spec = ProductSpec(
        slug=slug,
        name=name,
        category_id=category.pk,
        description=description,
        attributes={} if attributes is None else attributes,
        variants=variants,
        images=images,
    )
    product, _ = upsert_product(spec, publish_new=published)
    return product


def set_published(*, product_ids: Iterable[int], published: bool) -> int:
    """Publish or withdraw products; returns how many changed. Each change publishes its event."""
    changed = 0
    with atomic_in("catalogue"):
        products = list(
            Product.objects.select_for_update().filter(pk__in=list(product_ids)).exclude(is_published=published)
        )
        for product in sorted(products, key=lambda p: p.pk):
            product.is_published = published
            if published and product.published_at is None:
                product.published_at = timezone.now()
            product.save(update_fields=["is_published", "published_at", "updated_at"])
            skus = skus_of(product)
            event_type = ProductPublished if published else ProductUnpublished
            publish(event_type(product_id=product.pk, slug=product.slug, skus=skus))
            changed += 1
        if products and not published:  # gone from the listing and its detail at commit, not a moment later
            ListingEntry.objects.filter(pk__in=[p.pk for p in products]).delete()
            listing.bump_version()
        listing.request_refresh(product_ids=[p.pk for p in products])
    if products:
        _refresh_after_commit([p.pk for p in products])
    return changed


def record_product_edit(*, product_id: int) -> None:
    """Staff edited a product outside the services (the admin form): refresh its row, tell subscribers."""
    with atomic_in("catalogue"):
        product = Product.objects.get(pk=product_id)
        listing.request_refresh(product_ids=(product.pk,))
        _event_for(product, newly_published=False)
    _refresh_after_commit([product_id])

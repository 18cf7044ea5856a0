"""Events published by the catalogue context.

They carry ids, the slug and the SKUs of the product's variants, so a subscriber (a cart refreshing
its snapshots, a search index elsewhere) needs no call back to know what changed.
"""

from dataclasses import dataclass

from commerce.eventbus import Event, domain_event


@domain_event("catalogue.ProductPublished", version=1)
@dataclass(frozen=True, slots=True, kw_only=True)
class ProductPublished(Event):
    """A product became visible to customers (created published, or published by staff)."""

    product_id: int
    slug: str
    skus: tuple[str, ...]


@domain_event("catalogue.ProductUpdated", version=1)
@dataclass(frozen=True, slots=True, kw_only=True)
class ProductUpdated(Event):
    """Something customers can see about a product changed: its name, text, category, images, variants."""

    product_id: int
    slug: str
    skus: tuple[str, ...]
    published: bool


@domain_event("catalogue.ProductUnpublished", version=1)
@dataclass(frozen=True, slots=True, kw_only=True)
class ProductUnpublished(Event):
    """A product was withdrawn from sale; its SKUs can no longer be added to a cart."""

    product_id: int
    slug: str
    skus: tuple[str, ...]

"""Factories of the catalogue context. Products go through the services, so listing rows and events
exist exactly as in production."""

import factory

from contexts.catalogue.models import Category, Product
from contexts.catalogue.services import categories, products


class CategoryFactory(factory.Factory):
    class Meta:
        model = Category

    name = factory.Sequence(lambda n: f"Category {n}")
    parent = None

    @classmethod
    def _create(cls, model_class, name, parent=None, **kwargs):
        return categories.create_category(name=name, parent_id=parent.pk if parent else None, **kwargs)


class ProductFactory(factory.Factory):
    class Meta:
        model = Product

    slug = factory.Sequence(lambda n: f"product-{n}")
    name = factory.Sequence(lambda n: f"Product {n}")
    description = "A fine product."
    category = factory.SubFactory(CategoryFactory)
    attributes = factory.LazyFunction(dict)
    published = True
    variants = factory.LazyAttribute(lambda o: [products.VariantSpec(sku=f"{o.slug.upper()}-1", name="Default")])
    images = factory.LazyAttribute(lambda o: [products.ImageSpec(url=f"https://img.example.com/{o.slug}.jpg")])

    @classmethod
    def _create(cls, model_class, **kwargs):
        return products.create_product(**kwargs)

"""The catalogue's published interface, as the cart and orders use it."""

import dataclasses

import pytest

from contexts.catalogue import api as catalogue_api
from contexts.catalogue.services import products
from tests.catalogue.factories import CategoryFactory, ProductFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def shirt():
    apparel = CategoryFactory(name="Apparel")
    shirts = CategoryFactory(name="Shirts", parent=apparel)
    ProductFactory(
        slug="blue-shirt",
        name="Blue Shirt",
        category=shirts,
        variants=[products.VariantSpec(sku="BS-S", name="Small"), products.VariantSpec(sku="BS-M", name="Medium")],
    )
    return apparel, shirts


def test_get_variants_returns_names_to_snapshot_and_category_ids_in_one_query(shirt, catalogue_queries):
    apparel, shirts = shirt
    with catalogue_queries(1):
        found = catalogue_api.get_variants(skus=["BS-S", "BS-M", "NOPE"])
    assert set(found) == {"BS-S", "BS-M"}
    assert found["BS-M"] == catalogue_api.VariantInfo(
        sku="BS-M",
        product_id=found["BS-M"].product_id,
        product_slug="blue-shirt",
        product_name="Blue Shirt",
        variant_name="Medium",
        category_ids=(apparel.pk, shirts.pk),
        published=True,
    )
    assert dataclasses.is_dataclass(found["BS-M"])


def test_unpublished_variants_are_reported_as_such(shirt):
    ProductFactory(slug="old", variants=[products.VariantSpec(sku="OLD-1", name="Old")], published=False)
    assert catalogue_api.get_variant(sku="OLD-1").published is False


def test_unknown_skus_are_refused_with_unknown_sku(shirt):
    with pytest.raises(catalogue_api.UnknownSku) as refusal:
        catalogue_api.list_category_ids_for_skus(skus=["BS-S", "NOPE"])
    assert refusal.value.code == "unknown_sku"
    assert refusal.value.extra() == {"skus": ["NOPE"]}
    with pytest.raises(catalogue_api.UnknownSku):
        catalogue_api.get_variant(sku="NOPE")


def test_category_ids_for_skus_include_ancestors(shirt):
    apparel, shirts = shirt
    assert catalogue_api.list_category_ids_for_skus(skus=["BS-S"]) == {"BS-S": (apparel.pk, shirts.pk)}


def test_product_detail_of_an_unpublished_product_is_not_found(shirt):
    ProductFactory(slug="draft", published=False)
    with pytest.raises(catalogue_api.ProductNotFound):
        catalogue_api.get_product_detail(slug="draft")


def test_the_schema_documents_the_catalogue_endpoints(api_client):
    schema = api_client.get("/api/schema?format=json").json()
    assert {"/api/v1/categories", "/api/v1/products", "/api/v1/products/{slug}"} <= set(schema["paths"])
    names = {p["name"] for p in schema["paths"]["/api/v1/products"]["get"]["parameters"]}
    assert {"q", "category", "min_price", "max_price", "in_stock", "ordering", "currency", "page", "page_size"} <= names

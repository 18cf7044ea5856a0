"""Attributes are a JSON object of text to text everywhere: admin forms, services and the product page."""

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError

from contexts.catalogue.domain import validate_attributes
from contexts.catalogue.exceptions import CatalogueError
from contexts.catalogue.models import Category, Product, Variant
from contexts.catalogue.services import products
from tests.catalogue.factories import CategoryFactory

BAD = [[1, 2], "x", 5, None, [], "", {"size": 5}, {"size": {"a": "b"}}, {"": "x"}, {"a": "b\x00c"}, {"a\x00": "b"}]
BAD += [{"k" * 65: "v"}, {"k": "v" * 201}, {"k": None}]


@pytest.mark.parametrize("value", BAD, ids=repr)
def test_anything_but_a_map_of_text_to_text_is_refused(value):
    with pytest.raises(ValidationError):
        validate_attributes(value)


@pytest.mark.parametrize("value", [{}, {"colour": "blue", "size": "M"}, {"note": ""}])
def test_a_map_of_text_to_text_is_accepted(value):
    validate_attributes(value)


@pytest.mark.django_db
@pytest.mark.parametrize("value", BAD, ids=repr)
def test_product_and_variant_models_refuse_odd_attributes_on_full_clean(value):
    category = CategoryFactory(name="Odd")
    product = Product(slug="odd", name="Odd", category=category, attributes=value)
    with pytest.raises(ValidationError) as refused:
        product.full_clean()
    assert "attributes" in refused.value.message_dict
    variant = Variant(product=Product(slug="x", name="x", category=category), sku="ODD-1", name="Odd", attributes=value)
    with pytest.raises(ValidationError) as refused:
        variant.full_clean(exclude=["product"])
    assert "attributes" in refused.value.message_dict


@pytest.mark.django_db
@pytest.mark.parametrize("attributes", [{"size": 5}, ["a"], {"a": "\x00"}], ids=repr)
def test_services_refuse_odd_product_or_variant_attributes_and_save_nothing(attributes):
    category = CategoryFactory(name="Odd")
    with pytest.raises(CatalogueError) as refused:
        products.create_product(slug="odd", name="Odd", category=category, attributes=attributes)
    assert refused.value.code == "invalid"
    with pytest.raises(CatalogueError):
        products.create_product(
            slug="odd",
            name="Odd",
            category=category,
            variants=[products.VariantSpec(sku="ODD-1", name="One", attributes=attributes)],
        )
    assert not Product.objects.exists() and not Variant.objects.exists()


@pytest.fixture
def staff_client(client):
    admin = get_user_model().objects.create_superuser(email="staff@example.com", password="x-very-secret-1")
    client.force_login(admin)
    return client


def add_form(category: Category, attributes: str, variant_attributes: str = "{}") -> dict:
    return {
        "name": "Odd",
        "slug": "odd",
        "category": category.pk,
        "description": "",
        "attributes": attributes,
        "variants-TOTAL_FORMS": "1",
        "variants-INITIAL_FORMS": "0",
        "variants-0-sku": "ODD-1",
        "variants-0-name": "One",
        "variants-0-attributes": variant_attributes,
        "variants-0-position": "0",
        "images-TOTAL_FORMS": "0",
        "images-INITIAL_FORMS": "0",
    }


@pytest.mark.django_db
@pytest.mark.parametrize("text", ["[1, 2]", '"x"', '{"size": 5}', '{"a": {"b": "c"}}', '{"a": "\\u0000"}', "null"])
def test_the_admin_shows_a_field_error_for_odd_attributes_instead_of_saving_or_failing(staff_client, text):
    category = CategoryFactory(name="Odd")
    response = staff_client.post("/admin/catalogue/product/add/", add_form(category, text))
    assert response.status_code == 200
    assert "attributes" in response.context["adminform"].form.errors
    response = staff_client.post("/admin/catalogue/product/add/", add_form(category, "{}", text))
    assert response.status_code == 200
    assert "attributes" in response.context["inline_admin_formsets"][0].formset.errors[0]
    assert not Product.objects.exists()


@pytest.mark.django_db
def test_the_admin_saves_text_attributes(staff_client):
    category = CategoryFactory(name="Odd")
    response = staff_client.post("/admin/catalogue/product/add/", add_form(category, '{"colour": "blue"}'))
    assert response.status_code == 302
    assert Product.objects.get(slug="odd").attributes == {"colour": "blue"}


@pytest.mark.django_db
def test_a_product_stored_with_odd_attributes_before_the_rule_still_publishes_and_shows_text_only(client, set_price):
    set_price("ODD-1", "3.00")
    category = CategoryFactory(name="Odd")
    product = products.create_product(
        slug="odd",
        name="Odd",
        category=category,
        variants=[products.VariantSpec(sku="ODD-1", name="One")],
        published=False,
    )
    Product.objects.filter(pk=product.pk).update(attributes=["a", "b"])
    Variant.objects.filter(sku="ODD-1").update(attributes={"size": 5, "colour": "blue", "n": {"a": "b"}})
    assert products.set_published(product_ids=[product.pk], published=True) == 1
    body = client.get("/api/v1/products/odd").json()
    assert body["attributes"] == {}
    assert body["variants"][0]["attributes"] == {"colour": "blue"}

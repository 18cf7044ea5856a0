"""Merchandisers' admin: search by SKU, filters, publish actions through the services, edits refresh the listing."""

import pytest
from django.contrib.auth import get_user_model

from commerce.database import database_for
from commerce.eventbus.models import OutboxMessage
from contexts.catalogue.models import Category, ListingEntry, Product
from contexts.catalogue.services import products
from tests.catalogue.factories import CategoryFactory, ProductFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client):
    admin = get_user_model().objects.create_superuser(email="staff@example.com", password="x-very-secret-1")
    client.force_login(admin)
    return client


def events(name: str) -> int:
    return OutboxMessage.objects.using(database_for("catalogue")).filter(event_type=f"catalogue.{name}").count()


def test_product_changelist_searches_by_sku_and_filters_by_category_and_published(staff_client):
    shirts = CategoryFactory(name="Shirts")
    ProductFactory(slug="blue", name="Blue", category=shirts, variants=[products.VariantSpec(sku="FIND-ME", name="M")])
    ProductFactory(slug="red", name="Red", published=False)
    page = staff_client.get("/admin/catalogue/product/?q=FIND-ME")
    assert page.status_code == 200
    assert page.context["cl"].result_count == 1
    assert (
        staff_client.get(f"/admin/catalogue/product/?category__id__exact={shirts.pk}").context["cl"].result_count == 1
    )
    assert staff_client.get("/admin/catalogue/product/?is_published__exact=0").context["cl"].result_count == 1


def test_publish_and_unpublish_actions_go_through_the_services(staff_client):
    product = ProductFactory(slug="red", published=False)
    response = staff_client.post(
        "/admin/catalogue/product/", {"action": "publish_products", "_selected_action": [product.pk]}
    )
    assert response.status_code == 302
    assert ListingEntry.objects.filter(slug="red").exists()
    assert events("ProductPublished") == 1
    staff_client.post("/admin/catalogue/product/", {"action": "unpublish_products", "_selected_action": [product.pk]})
    assert not ListingEntry.objects.filter(slug="red").exists()
    assert events("ProductUnpublished") == 1


def test_editing_a_product_in_the_admin_refreshes_its_listing_row_and_publishes_product_updated(
    staff_client, django_capture_on_commit_callbacks
):
    product = ProductFactory(slug="blue", name="Blue")
    variant, image = product.variants.get(), product.images.get()
    form = {
        "name": "Deep Blue",
        "slug": "blue",
        "category": product.category_id,
        "description": "New text",
        "attributes": "{}",
        "variants-TOTAL_FORMS": "1",
        "variants-INITIAL_FORMS": "1",
        "variants-0-id": variant.pk,
        "variants-0-product": product.pk,
        "variants-0-sku": variant.sku,
        "variants-0-name": variant.name,
        "variants-0-attributes": "{}",
        "variants-0-position": "0",
        "images-TOTAL_FORMS": "1",
        "images-INITIAL_FORMS": "1",
        "images-0-id": image.pk,
        "images-0-product": product.pk,
        "images-0-url": image.url,
        "images-0-alt_text": "",
        "images-0-position": "0",
    }
    with django_capture_on_commit_callbacks(using=database_for("catalogue")) as after_commit:
        response = staff_client.post(f"/admin/catalogue/product/{product.pk}/change/", form)
    assert response.status_code == 302, response.context["adminform"].errors if response.context else response
    # the admin saves in a transaction: the listing (which asks pricing and inventory) follows its commit
    assert ListingEntry.objects.get(slug="blue").name == "Blue"
    for callback in after_commit:
        callback()
    assert ListingEntry.objects.get(slug="blue").name == "Deep Blue"
    assert events("ProductUpdated") == 1


def test_category_tree_admin_moves_a_subtree_and_refuses_a_cycle(staff_client):
    apparel = CategoryFactory(name="Apparel")
    shirts = CategoryFactory(name="Shirts", parent=apparel)
    garden = CategoryFactory(name="Garden")
    assert staff_client.get("/admin/catalogue/category/").status_code == 200
    response = staff_client.post(
        f"/admin/catalogue/category/{apparel.pk}/change/", {"name": "Apparel", "slug": "apparel", "parent": shirts.pk}
    )
    assert response.status_code == 200  # the form comes back with an error
    assert Category.objects.get(pk=apparel.pk).parent_id is None
    response = staff_client.post(
        f"/admin/catalogue/category/{apparel.pk}/change/", {"name": "Apparel", "slug": "apparel", "parent": garden.pk}
    )
    assert response.status_code == 302
    assert Category.objects.get(pk=shirts.pk).path.startswith(Category.objects.get(pk=garden.pk).path)
    assert Product.objects.count() == 0

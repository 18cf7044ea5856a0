import pytest

from contexts.catalogue.models import Category
from contexts.catalogue.services import categories
from tests.catalogue.factories import CategoryFactory, ProductFactory

pytestmark = pytest.mark.django_db


def test_a_category_path_is_created_once_and_found_again():
    shirts = categories.ensure_category_path(("Apparel", "Shirts"))
    again = categories.ensure_category_path(("Apparel", "Shirts"))
    assert again.pk == shirts.pk
    assert [c.name for c in Category.objects.order_by("depth")] == ["Apparel", "Shirts"]
    assert shirts.parent.name == "Apparel"
    assert shirts.depth == 1


def test_descendants_are_found_by_path_prefix_without_recursion():
    apparel = CategoryFactory(name="Apparel")
    shirts = CategoryFactory(name="Shirts", parent=apparel)
    polo = CategoryFactory(name="Polo", parent=shirts)
    CategoryFactory(name="Garden")
    apparel.refresh_from_db()
    descendants = Category.objects.filter(path__startswith=apparel.path)
    assert set(descendants) == {apparel, shirts, polo}
    assert polo.ancestor_ids() == (apparel.pk, shirts.pk, polo.pk)


def test_same_name_under_two_parents_gets_distinct_slugs():
    men = categories.ensure_category_path(("Men", "Shirts"))
    women = categories.ensure_category_path(("Women", "Shirts"))
    assert men.slug == "shirts"
    assert women.slug == "women-shirts"


def test_moving_a_category_moves_its_subtree_and_its_listing_rows(api_client, set_price):
    set_price("POLO-1-1", "20.00")
    apparel = CategoryFactory(name="Apparel")
    garden = CategoryFactory(name="Garden")
    shirts = CategoryFactory(name="Shirts", parent=apparel)
    polo = CategoryFactory(name="Polo", parent=shirts)
    ProductFactory(slug="polo-1", category=polo)

    shirts.parent = garden
    categories.save_category(shirts)

    polo.refresh_from_db()
    garden.refresh_from_db()
    assert polo.path.startswith(garden.path)
    assert polo.depth == 2
    slugs = [p["slug"] for p in api_client.get("/api/v1/products?category=garden").json()["results"]]
    assert slugs == ["polo-1"]
    assert api_client.get("/api/v1/products?category=apparel").json()["count"] == 0


def test_a_category_cannot_move_under_its_own_descendant():
    apparel = CategoryFactory(name="Apparel")
    shirts = CategoryFactory(name="Shirts", parent=apparel)
    apparel.parent = shirts
    with pytest.raises(categories.InvalidCategory):
        categories.save_category(apparel)


def test_categories_endpoint_lists_slug_name_and_parent_slug(api_client):
    apparel = CategoryFactory(name="Apparel")
    CategoryFactory(name="Shirts", parent=apparel)
    response = api_client.get("/api/v1/categories")
    assert response.status_code == 200
    assert response.json() == [
        {"slug": "apparel", "name": "Apparel", "parent": None},
        {"slug": "shirts", "name": "Shirts", "parent": "apparel"},
    ]


def test_a_category_page_follows_a_new_subcategory_with_products(api_client, set_price):
    """A category's page holds its subcategories' products, also when the subcategory came after the page was
    first read (the lookup behind the filter is cached against the listing's version)."""
    set_price("ROSE-1-1", "4.00")
    set_price("SPADE-1-1", "9.00")
    garden = CategoryFactory(name="Garden")
    ProductFactory(slug="spade-1", category=garden)
    assert [p["slug"] for p in api_client.get("/api/v1/products?category=garden").json()["results"]] == ["spade-1"]

    roses = CategoryFactory(name="Roses", parent=garden)
    ProductFactory(slug="rose-1", category=roses)

    page = api_client.get("/api/v1/products?category=garden&ordering=price").json()
    assert [p["slug"] for p in page["results"]] == ["rose-1", "spade-1"]
    assert [p["slug"] for p in api_client.get("/api/v1/products?category=roses").json()["results"]] == ["rose-1"]


def test_a_category_page_follows_a_category_moved_under_it(api_client, set_price):
    set_price("ROSE-2-1", "4.00")
    set_price("SPADE-2-1", "9.00")
    garden = CategoryFactory(name="Garden")
    flowers = CategoryFactory(name="Flowers")
    ProductFactory(slug="spade-2", category=garden)
    ProductFactory(slug="rose-2", category=flowers)
    assert [p["slug"] for p in api_client.get("/api/v1/products?category=garden").json()["results"]] == ["spade-2"]

    flowers.parent = garden
    categories.save_category(flowers)

    page = api_client.get("/api/v1/products?category=garden&ordering=price").json()
    assert [p["slug"] for p in page["results"]] == ["rose-2", "spade-2"]


def test_a_category_asked_for_before_it_existed_is_found_once_it_does(api_client, set_price):
    set_price("SEED-1-1", "2.00")
    ProductFactory(slug="seed-1", category=CategoryFactory(name="Garden"))  # a listing version to cache against
    api_client.get("/api/v1/products")
    assert api_client.get("/api/v1/products?category=bulbs").status_code == 400

    categories.create_category(name="Bulbs")

    response = api_client.get("/api/v1/products?category=bulbs")
    assert response.status_code == 200 and response.json()["count"] == 0


def test_a_renamed_category_answers_to_its_new_slug_at_once_and_no_longer_to_the_old(api_client, set_price):
    """Also a parent whose products are all in its subcategories (no listing row carries its slug)."""
    set_price("TULIP-1-1", "3.00")
    garden = CategoryFactory(name="Garden")
    ProductFactory(slug="tulip-1", category=CategoryFactory(name="Tulips", parent=garden))
    assert api_client.get("/api/v1/products?category=garden").json()["count"] == 1
    assert api_client.get("/api/v1/products?category=outdoor").status_code == 400

    garden.slug = "outdoor"
    categories.save_category(garden)

    assert [p["slug"] for p in api_client.get("/api/v1/products?category=outdoor").json()["results"]] == ["tulip-1"]
    assert api_client.get("/api/v1/products?category=garden").status_code == 400

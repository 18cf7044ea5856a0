from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contexts.catalogue.models import Product
from contexts.catalogue.services import listing, products
from tests.catalogue.factories import CategoryFactory, ProductFactory

pytestmark = pytest.mark.django_db


def variant(sku: str, name: str = "Default", **attributes: str) -> products.VariantSpec:
    return products.VariantSpec(sku=sku, name=name, attributes=attributes)


@pytest.fixture
def shop(set_price, set_stock):
    """Three shirts and a mug in a small tree, priced in EUR (and one in USD), two in stock."""
    apparel = CategoryFactory(name="Apparel")
    shirts = CategoryFactory(name="Shirts", parent=apparel)
    kitchen = CategoryFactory(name="Kitchen")
    for sku, amount in {
        "BLUE-S": "19.00",
        "BLUE-M": "15.00",
        "RED-S": "25.00",
        "MUG": "9.50",
        "GREEN-S": "30.00",
    }.items():
        set_price(sku, amount)
    set_price("MUG", "11.00", "USD")
    set_stock("BLUE-M", 3)
    set_stock("MUG", 1)
    ProductFactory(
        slug="blue-shirt",
        name="Blue Shirt",
        description="A cotton shirt the colour of the sea.",
        category=shirts,
        attributes={"material": "cotton"},
        variants=[variant("BLUE-S", "Small", size="S"), variant("BLUE-M", "Medium", size="M")],
        images=[
            products.ImageSpec(url="https://img.example.com/blue-1.jpg"),
            products.ImageSpec(url="https://img.example.com/blue-2.jpg"),
        ],
    )
    ProductFactory(
        slug="red-shirt",
        name="Red Shirt",
        description="Linen, bright.",
        category=shirts,
        variants=[variant("RED-S")],
        images=[],
    )
    ProductFactory(
        slug="coffee-mug", name="Coffee Mug", description="Stoneware mug.", category=kitchen, variants=[variant("MUG")]
    )
    ProductFactory(
        slug="green-shirt", name="Green Shirt", category=shirts, variants=[variant("GREEN-S")], published=False
    )


def slugs(response) -> list[str]:
    assert response.status_code == 200, response.json()
    return [item["slug"] for item in response.json()["results"]]


def test_listing_shows_published_products_with_their_lowest_price_stock_and_first_image(api_client, shop):
    response = api_client.get("/api/v1/products")
    body = response.json()
    assert body["count"] == 3
    blue = next(item for item in body["results"] if item["slug"] == "blue-shirt")
    assert blue == {
        "slug": "blue-shirt",
        "name": "Blue Shirt",
        "category": "shirts",
        "price": {"amount": "15.00", "currency": "EUR"},
        "in_stock": True,
        "image": "https://img.example.com/blue-1.jpg",
    }
    red = next(item for item in body["results"] if item["slug"] == "red-shirt")
    assert red["in_stock"] is False
    assert red["image"] is None


def test_category_filter_includes_sub_categories(api_client, shop):
    assert slugs(api_client.get("/api/v1/products?category=apparel&ordering=name")) == ["blue-shirt", "red-shirt"]
    assert slugs(api_client.get("/api/v1/products?category=kitchen")) == ["coffee-mug"]


def test_price_range_stock_and_ordering_combine(api_client, shop):
    assert slugs(api_client.get("/api/v1/products?ordering=price")) == ["coffee-mug", "blue-shirt", "red-shirt"]
    assert slugs(api_client.get("/api/v1/products?ordering=-price")) == ["red-shirt", "blue-shirt", "coffee-mug"]
    assert slugs(api_client.get("/api/v1/products?ordering=-name")) == ["red-shirt", "coffee-mug", "blue-shirt"]
    assert slugs(api_client.get("/api/v1/products?min_price=10&max_price=20")) == ["blue-shirt"]
    assert slugs(api_client.get("/api/v1/products?in_stock=true&ordering=name")) == ["blue-shirt", "coffee-mug"]
    assert len(slugs(api_client.get("/api/v1/products?ordering=-created"))) == 3


def test_full_text_search_matches_name_and_description(api_client, shop):
    assert slugs(api_client.get("/api/v1/products?q=shirt")) == ["blue-shirt", "red-shirt"]
    assert slugs(api_client.get("/api/v1/products?q=cotton")) == ["blue-shirt"]
    assert slugs(api_client.get("/api/v1/products?q=stoneware&category=kitchen")) == ["coffee-mug"]
    assert slugs(api_client.get("/api/v1/products?q=nothing-like-this")) == []


def test_listing_in_another_currency_lists_only_the_products_priced_in_it(api_client, shop):
    body = api_client.get("/api/v1/products?currency=USD&ordering=price").json()
    assert body["count"] == 1
    assert [(item["slug"], item["price"]) for item in body["results"]] == [
        ("coffee-mug", {"amount": "11.00", "currency": "USD"}),
    ]
    assert slugs(api_client.get("/api/v1/products?currency=usd&max_price=20")) == ["coffee-mug"]


def test_a_product_without_a_price_in_the_default_currency_is_not_listed(api_client, shop):
    ProductFactory(slug="unpriced", name="Unpriced", category=CategoryFactory(name="Misc"), variants=[variant("NOPE")])
    body = api_client.get("/api/v1/products").json()
    assert "unpriced" not in [item["slug"] for item in body["results"]]
    assert all(item["price"] is not None for item in body["results"])
    assert api_client.get("/api/v1/products/unpriced").status_code == 404


def test_detail_in_a_currency_shows_only_the_variants_priced_in_it(api_client, shop, set_price):
    set_price("BLUE-M", "17.00", "USD")
    listing.refresh_listing_for_skus(skus=["BLUE-M"])  # what its PriceChanged does once delivered
    body = api_client.get("/api/v1/products/blue-shirt?currency=USD").json()
    assert [v["sku"] for v in body["variants"]] == ["BLUE-M"]
    assert body["price"] == {"amount": "17.00", "currency": "USD"}
    assert body["variants"][0]["base_price"] == {"amount": "17.00", "currency": "USD"}
    unpriced = api_client.get("/api/v1/products/red-shirt?currency=USD")
    assert unpriced.status_code == 404
    assert unpriced.json()["code"] == "not_found"


@pytest.mark.parametrize("value", ["false", "False", "0", "no"])
def test_in_stock_other_than_true_is_refused_not_ignored(api_client, shop, value):
    response = api_client.get(f"/api/v1/products?in_stock={value}")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert "in_stock" in response.json()["errors"]


@pytest.mark.parametrize(
    "query, field",
    [
        ("category=apparel&category=kitchen", "category"),
        ("q=shirt&q=mug", "q"),
        ("ordering=price&ordering=name", "ordering"),
        ("currency=EUR&currency=USD", "currency"),
        ("min_price=1&min_price=2", "min_price"),
        ("in_stock=true&in_stock=true", "in_stock"),
        ("page=1&page=2", "page"),
        ("page_size=5&page_size=10", "page_size"),
    ],
)
def test_a_repeated_single_valued_parameter_is_refused(api_client, shop, query, field):
    response = api_client.get(f"/api/v1/products?{query}")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert field in response.json()["errors"]


def test_a_repeated_currency_on_the_detail_is_refused(api_client, shop):
    response = api_client.get("/api/v1/products/coffee-mug?currency=EUR&currency=USD")
    assert response.status_code == 400
    assert "currency" in response.json()["errors"]


def test_search_without_ordering_ranks_the_best_match_first_on_postgresql(api_client, shop, set_price, postgresql_only):
    tees = CategoryFactory(name="Tees")
    for slug, name, sku in (("aaa-plain-tee", "Aaa Plain Tee", "TEE-1"), ("zz-linen-tee", "Zz Linen Tee", "TEE-2")):
        set_price(sku, "5.00")
        ProductFactory(
            slug=slug, name=name, description="Goes with linen trousers.", category=tees, variants=[variant(sku)]
        )
    # the name weighs more than the description: the Zz tee names linen, the others only describe it
    assert slugs(api_client.get("/api/v1/products?q=linen"))[0] == "zz-linen-tee"
    assert slugs(api_client.get("/api/v1/products?q=linen&ordering=name")) == [
        "aaa-plain-tee",
        "red-shirt",
        "zz-linen-tee",
    ]


@pytest.mark.parametrize(
    "query, field",
    [
        ("category=no-such-category", "category"),
        ("ordering=popularity", "ordering"),
        ("min_price=20&max_price=10", "min_price"),
        ("min_price=cheap", "min_price"),
        ("max_price=NaN", "max_price"),
        ("min_price=-1", "min_price"),
        ("max_price=1e400", "max_price"),
        ("in_stock=maybe", "in_stock"),
        ("currency=XYZ", "currency"),
        ("q=" + "x" * 10_000, "q"),
        ("q=bad%00byte", "q"),
        ("category=%F0%9F%92%A9", "category"),
    ],
)
def test_invalid_listing_queries_are_refused_with_400(api_client, shop, query, field):
    response = api_client.get(f"/api/v1/products?{query}")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert field in response.json()["errors"]


def test_a_page_past_the_end_is_not_a_server_error(api_client, shop):
    response = api_client.get("/api/v1/products?page=99")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
    invalid = api_client.get("/api/v1/products?page=abc")
    assert invalid.status_code == 400
    assert invalid.json()["code"] == "invalid"


def test_page_size_is_clamped_to_100(api_client, shop):
    response = api_client.get("/api/v1/products?page_size=1000")
    assert response.status_code == 200
    assert response.json()["count"] == 3


@pytest.mark.parametrize("page_size", [5, 100])
def test_a_listing_page_costs_the_same_queries_whatever_its_size(
    api_client, django_assert_max_num_queries, catalogue_queries, set_price, page_size
):
    category = CategoryFactory(name="Bulk")
    for n in range(110):
        set_price(f"BULK-{n}", "5.00")
        set_price(f"BULK-{n}", "6.00", "USD")
        ProductFactory(slug=f"bulk-{n}", name=f"Bulk {n}", category=category, variants=[variant(f"BULK-{n}")])
    url = f"/api/v1/products?page_size={page_size}&category=bulk&q=bulk&ordering=price"
    # the first request of a listing version counts the matches and looks the category up once ...
    with django_assert_max_num_queries(4), catalogue_queries(4):
        response = api_client.get(url)
    assert len(response.json()["results"]) == page_size
    assert response.json()["count"] == 110
    # ... then every page costs the version and the page itself: no COUNT(*), no category lookup
    for page in (1, 2):
        with django_assert_max_num_queries(2), catalogue_queries(2) as captured:
            response = api_client.get(f"{url}&page={page}")
        assert not [q for q in captured.captured_queries if "COUNT(" in q["sql"]]
        assert len(response.json()["results"]) == min(page_size, 110 - (page - 1) * page_size)
        assert response.json()["count"] == 110
    api_client.get(f"/api/v1/products?page_size={page_size}&currency=USD&in_stock=true")
    with django_assert_max_num_queries(2), catalogue_queries(2):
        response = api_client.get(f"/api/v1/products?page_size={page_size}&currency=USD&in_stock=true")
    assert response.status_code == 200


def test_the_cached_count_follows_a_product_change(api_client, shop):
    assert api_client.get("/api/v1/products").json()["count"] == 3
    products.set_published(product_ids=[Product.objects.get(slug="red-shirt").pk], published=False)
    assert api_client.get("/api/v1/products").json()["count"] == 2


def test_product_detail_is_one_query(api_client, shop, django_assert_max_num_queries, catalogue_queries):
    with django_assert_max_num_queries(1), catalogue_queries(1):
        response = api_client.get("/api/v1/products/blue-shirt?currency=EUR")
    assert response.status_code == 200
    assert len(response.json()["variants"]) == 2


def test_product_detail_has_variants_with_prices_and_availability(api_client, shop):
    response = api_client.get("/api/v1/products/blue-shirt")
    assert response.status_code == 200
    body = response.json()
    assert body["description"] == "A cotton shirt the colour of the sea."
    assert body["attributes"] == {"material": "cotton"}
    assert body["images"] == ["https://img.example.com/blue-1.jpg", "https://img.example.com/blue-2.jpg"]
    assert body["price"] == {"amount": "15.00", "currency": "EUR"}
    assert body["in_stock"] is True
    assert body["category"] == "shirts"
    small, medium = body["variants"]
    assert small["sku"] == "BLUE-S"
    assert small["attributes"] == {"size": "S"}
    assert small["price"] == {"amount": "19.00", "currency": "EUR"}
    assert small["base_price"] == {"amount": "19.00", "currency": "EUR"}
    assert (small["in_stock"], small["available"]) == (False, 0)
    assert (medium["in_stock"], medium["available"]) == (True, 3)


def test_unknown_and_unpublished_products_are_not_found(api_client, shop):
    for slug in ("no-such-product", "green-shirt"):
        response = api_client.get(f"/api/v1/products/{slug}")
        assert response.status_code == 404
        assert response.json()["code"] == "not_found"


def test_detail_in_an_unknown_currency_is_refused(api_client, shop):
    response = api_client.get("/api/v1/products/blue-shirt?currency=XYZ")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid"


def test_listing_prices_are_decimal_strings(api_client, shop):
    price = api_client.get("/api/v1/products?ordering=price").json()["results"][0]["price"]
    assert Decimal(price["amount"]) == Decimal("9.50")
    assert price["amount"] == "9.50"


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    name=st.sampled_from(["q", "category", "min_price", "max_price", "in_stock", "ordering", "currency", "page"]),
    value=st.text(max_size=300),
)
def test_no_listing_query_value_causes_a_server_error(api_client, name, value):
    response = api_client.get("/api/v1/products", {name: value})
    assert response.status_code in (200, 400, 404)
    assert "code" in response.json() or "results" in response.json()


@pytest.mark.parametrize(
    "slug", ["a%00", "a%00b", "%00", "Blue-Shirt", "blue_shirt", "blue--shirt", "%C3%A9t%C3%A9", "a%0A", "x" * 201]
)
def test_a_slug_that_cannot_be_a_product_slug_is_not_found_without_a_query(api_client, slug, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = api_client.get(f"/api/v1/products/{slug}")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_empty_listing_parameters_mean_their_default_as_the_schema_declares(api_client, shop):
    """A storefront form's blank select sends ``?ordering=&in_stock=&currency=``: the defaults, not a 400."""
    plain = api_client.get("/api/v1/products").json()
    blank = api_client.get("/api/v1/products?ordering=&in_stock=&currency=")
    assert blank.status_code == 200
    assert blank.json()["results"] == plain["results"]
    detail = api_client.get("/api/v1/products/blue-shirt?currency=")
    assert detail.status_code == 200 and detail.json()["price"]["currency"] == "EUR"


def test_the_schema_declares_what_the_listing_accepts(api_client, settings):
    settings.SHOP_CURRENCIES = ("EUR", "CHF")
    schema = api_client.get("/api/schema/?format=json").json()
    for path in ("/api/v1/products", "/api/v1/products/{slug}"):
        params = {p["name"]: p["schema"] for p in schema["paths"][path]["get"]["parameters"]}
        currency = params["currency"]["oneOf"]
        assert currency[0]["pattern"] == "^(?:[Ee][Uu][Rr]|[Cc][Hh][Ff])$" and currency[1]["maxLength"] == 0
    params = {p["name"]: p["schema"] for p in schema["paths"]["/api/v1/products"]["get"]["parameters"]}
    assert params["in_stock"]["enum"] == ["true", ""]
    assert params["ordering"]["enum"] == ["price", "-price", "name", "-name", "-created", ""]
    assert api_client.get("/api/v1/products?currency=chf").status_code == 200
    assert api_client.get("/api/v1/products?currency=USD").status_code == 400

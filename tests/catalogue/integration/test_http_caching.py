"""Catalogue reads carry ETag / Last-Modified from the read model's version and answer 304 on a match (issue 15)."""

from decimal import Decimal

import pytest

from contexts.catalogue.services import listing, products
from tests.catalogue.factories import CategoryFactory, ProductFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def mug(set_price, set_stock):
    set_price("MUG-1", "10.00")
    set_stock("MUG-1", 4)
    return ProductFactory(
        slug="mug",
        name="Mug",
        category=CategoryFactory(name="Kitchen"),
        variants=[products.VariantSpec(sku="MUG-1", name="One")],
    )


def test_detail_and_listing_carry_validators_and_a_setting_driven_max_age(api_client, mug, settings):
    settings.CATALOGUE_HTTP_MAX_AGE = 12
    for url in ("/api/v1/products/mug", "/api/v1/products?category=kitchen"):
        response = api_client.get(url)
        assert response.status_code == 200
        assert response["ETag"].startswith('W/"')
        assert response["Last-Modified"].endswith("GMT")
        assert set(response["Cache-Control"].split(", ")) == {"public", "max-age=12"}


@pytest.mark.parametrize("url", ["/api/v1/products/mug", "/api/v1/products?category=kitchen"])
def test_a_matching_if_none_match_is_answered_304_and_anything_else_in_full(api_client, mug, url):
    etag = api_client.get(url)["ETag"]
    for header in (etag, f'"other", {etag}', "*"):
        response = api_client.get(url, HTTP_IF_NONE_MATCH=header)
        assert response.status_code == 304, header
        assert response.content == b""
        assert response["ETag"] == etag
    for header in ('"other"', "garbage, ,,", 'W/"', "\x00"):
        response = api_client.get(url, HTTP_IF_NONE_MATCH=header)
        assert response.status_code == 200, header
        assert response.json()


def test_a_product_change_changes_the_etag_of_its_detail_and_of_the_listing(api_client, mug, set_price):
    detail, page = api_client.get("/api/v1/products/mug"), api_client.get("/api/v1/products")
    set_price("MUG-1", "11.00")
    listing.refresh_listing_for_skus(skus=["MUG-1"])  # what the PriceChanged handler does once delivered

    fresh = api_client.get("/api/v1/products/mug", HTTP_IF_NONE_MATCH=detail["ETag"])
    assert fresh.status_code == 200
    assert fresh.json()["price"] == {"amount": "11.00", "currency": "EUR"}
    assert fresh["ETag"] != detail["ETag"]
    relisted = api_client.get("/api/v1/products", HTTP_IF_NONE_MATCH=page["ETag"])
    assert relisted.status_code == 200
    assert relisted["ETag"] != page["ETag"]


def test_a_refresh_that_changes_nothing_keeps_the_etags(api_client, mug):
    detail, page = api_client.get("/api/v1/products/mug"), api_client.get("/api/v1/products")
    listing.refresh_all_listing_prices()
    assert api_client.get("/api/v1/products/mug", HTTP_IF_NONE_MATCH=detail["ETag"]).status_code == 304
    assert api_client.get("/api/v1/products", HTTP_IF_NONE_MATCH=page["ETag"]).status_code == 304


def test_a_product_unpublished_between_two_requests_is_not_found_never_a_304(api_client, mug):
    etag = api_client.get("/api/v1/products/mug")["ETag"]
    products.set_published(product_ids=[mug.pk], published=False)
    for header in (etag, "*"):
        response = api_client.get("/api/v1/products/mug", HTTP_IF_NONE_MATCH=header)
        assert response.status_code == 404
        assert response.json()["code"] == "not_found"


def test_a_page_past_the_end_is_still_a_404(api_client, mug):
    etag = api_client.get("/api/v1/products")["ETag"]
    assert api_client.get("/api/v1/products?page=9").status_code == 404
    # RFC 9110 13.2.1: preconditions are ignored when the answer without them would not be a 2xx, so a
    # client that sends the listing's current tag (or *) for a page that does not exist still learns it.
    for header in ("garbage", etag, "*"):
        response = api_client.get("/api/v1/products?page=9", HTTP_IF_NONE_MATCH=header)
        assert response.status_code == 404, header
        assert response.json()["code"] == "not_found"


def test_an_unknown_category_is_refused_whatever_the_client_holds(api_client, mug):
    etag = api_client.get("/api/v1/products")["ETag"]
    for header in (etag, "*"):
        response = api_client.get("/api/v1/products?category=no-such-category", HTTP_IF_NONE_MATCH=header)
        assert response.status_code == 400, header
        assert "category" in response.json()["errors"]


def test_a_304_for_a_listing_page_reads_no_page_of_products(api_client, mug, catalogue_queries):
    etag = api_client.get("/api/v1/products")["ETag"]
    with catalogue_queries(1):  # the listing's version; the count is cached against it
        assert api_client.get("/api/v1/products", HTTP_IF_NONE_MATCH=etag).status_code == 304


def test_the_detail_document_follows_stock_and_the_currency_asked(api_client, mug, set_price, set_stock):
    set_price("MUG-1", "12.00", "USD")
    set_stock("MUG-1", 1)
    listing.refresh_listing_for_skus(skus=["MUG-1"])
    body = api_client.get("/api/v1/products/mug?currency=USD").json()
    (variant,) = body["variants"]
    assert (variant["available"], variant["in_stock"]) == (1, True)
    assert variant["price"] == {"amount": "12.00", "currency": "USD"}
    assert Decimal(api_client.get("/api/v1/products/mug").json()["price"]["amount"]) == Decimal("10.00")


@pytest.mark.django_db(transaction=True)
def test_the_detail_follows_a_price_event(api_client, mug, set_price, settle_events):
    set_price("MUG-1", "9.00")
    settle_events()
    assert api_client.get("/api/v1/products/mug").json()["price"] == {"amount": "9.00", "currency": "EUR"}

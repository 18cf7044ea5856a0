"""A product's ``available`` never shows a figure the shop does not have (issue 22, bug 9).

The listing learns stock from inventory's ``StockLevelChanged``, which above the low-stock threshold is
published only when availability crosses a multiple of ``INVENTORY_LEVEL_EVENT_STEP``: the figure it
last heard there can be off by up to the step. So ``available`` is exact at or under the threshold,
where every change is announced, and ``null`` above it (``in_stock`` still says there is some).
"""

import pytest
from django.test import override_settings

from contexts.catalogue.services import products
from contexts.inventory import api as inventory_api
from tests.catalogue.factories import ProductFactory

pytestmark = pytest.mark.django_db(transaction=True)

STOCK = 25


@override_settings(INVENTORY_LOW_STOCK_THRESHOLD=5, INVENTORY_LEVEL_EVENT_STEP=10)
def test_a_customer_sees_an_exact_figure_only_where_it_is_exact(api_client, set_price, set_stock, settle_events):
    set_price("MUG-1", "9.50")
    set_stock("MUG-1", STOCK)
    ProductFactory(slug="mug", name="Mug", variants=[products.VariantSpec(sku="MUG-1", name="Default", attributes={})])
    settle_events()
    shown = []
    for sold in range(STOCK + 1):
        if sold:
            line = inventory_api.ReservationLine(sku="MUG-1", quantity=1)
            inventory_api.reserve_stock(reference=f"order-{sold}", lines=[line])  # a customer's checkout
            settle_events()
        has = inventory_api.get_availability(skus=["MUG-1"])["MUG-1"].available
        (variant,) = api_client.get("/api/v1/products/mug").json()["variants"]
        assert variant["available"] in (None, has), f"shows {variant['available']} with {has} in stock"
        assert variant["in_stock"] is (has > 0)
        shown.append((has, variant["available"]))
    assert shown[-6:] == [(5, 5), (4, 4), (3, 3), (2, 2), (1, 1), (0, 0)], "exact at and under the threshold"
    assert all(figure is None for has, figure in shown if has > 5), "above it, no figure"


def test_the_schema_says_available_may_be_null(api_client):
    schema = api_client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    variant = schema["components"]["schemas"]["VariantOutput"]["properties"]["available"]
    assert variant.get("nullable") is True or "null" in variant.get("type", ()), variant

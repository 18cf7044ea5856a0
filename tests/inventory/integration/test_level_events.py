"""StockLevelChanged is coalesced: one per SKU per transaction, and for customer traffic only when it is news."""

import pytest
from django.test import override_settings

from contexts.inventory import api
from tests.inventory.factories import line

pytestmark = pytest.mark.django_db

CHANGED = "inventory.StockLevelChanged"


def test_a_receipt_publishes_the_new_total_across_warehouses(stock, published):
    stock("A", BACKUP=4)
    api.receive_stock(sku="A", warehouse_code="MAIN", quantity=3, reference="PO")
    last = published(CHANGED)[-1]
    assert (last["sku"], last["available"], last["in_stock"]) == ("A", 7, True)


def test_a_basket_split_over_warehouses_publishes_one_event_per_sku(stock, published):
    stock("A", MAIN=2, BACKUP=2)
    stock("B", MAIN=1)
    before = len(published(CHANGED))
    api.reserve_stock(reference="o1", lines=[line("A", 4), line("B", 1)])
    new = published(CHANGED)[before:]
    assert sorted((e["sku"], e["available"], e["in_stock"]) for e in new) == [("A", 0, False), ("B", 0, False)]


@override_settings(INVENTORY_LOW_STOCK_THRESHOLD=5, INVENTORY_LEVEL_EVENT_STEP=10)
def test_a_flash_sale_publishes_only_when_availability_crosses_thresholds(stock, published):
    stock("HOT", MAIN=50)
    before = len(published(CHANGED))
    for n in range(50):
        api.reserve_stock(reference=f"o{n}", lines=[line("HOT", 1)])
    figures = [e["available"] for e in published(CHANGED)[before:]]
    assert figures == [49, 39, 29, 19, 9, 5, 4, 3, 2, 1, 0]
    assert published(CHANGED)[-1]["in_stock"] is False


def test_back_in_stock_is_always_published(stock, published):
    stock("A", MAIN=100)
    api.reserve_stock(reference="o1", lines=[line("A", 100)])
    api.release_reservation(reference="o1")
    assert [(e["available"], e["in_stock"]) for e in published(CHANGED)][-2:] == [(0, False), (100, True)]


def test_committing_or_shipping_changes_no_availability_and_publishes_nothing(stock, published):
    stock("A", MAIN=5)
    api.reserve_stock(reference="o1", lines=[line("A", 1)])
    before = len(published(CHANGED))
    api.commit_reservation(reference="o1")
    api.create_shipment(reference="o1")
    assert len(published(CHANGED)) == before

"""Every write is idempotent by its reference: orders retries them in its saga and recovery job."""

import pytest

from contexts.inventory import api, selectors
from contexts.inventory.models import StockLevel, StockMovement
from tests.inventory.factories import line

pytestmark = pytest.mark.django_db


def on_hand(sku, code="MAIN"):
    return StockLevel.objects.get(sku=sku, warehouse__code=code).on_hand


def test_a_retried_receipt_is_booked_once(warehouses, published):
    first = api.receive_stock(sku="A", warehouse_code="MAIN", quantity=12, reference="PO-7")
    again = api.receive_stock(sku="A", warehouse_code="MAIN", quantity=12, reference="PO-7")
    assert first == again
    assert on_hand("A") == 12
    assert StockMovement.objects.filter(kind="receipt", reference="PO-7").count() == 1
    assert len(published("inventory.StockLevelChanged")) == 1
    assert selectors.ledger_mismatches() == []


def test_one_delivery_note_books_each_sku_and_warehouse_once(warehouses):
    api.receive_stock(sku="A", warehouse_code="MAIN", quantity=5, reference="PO-8")
    api.receive_stock(sku="B", warehouse_code="MAIN", quantity=3, reference="PO-8")
    api.receive_stock(sku="A", warehouse_code="BACKUP", quantity=2, reference="PO-8")
    api.receive_stock(sku="A", warehouse_code="MAIN", quantity=4, reference="PO-9")  # the next delivery
    assert (on_hand("A"), on_hand("B"), on_hand("A", "BACKUP")) == (9, 3, 2)


def test_a_reference_reused_for_another_quantity_is_refused_and_books_nothing(warehouses):
    api.receive_stock(sku="A", warehouse_code="MAIN", quantity=12, reference="PO-7")
    with pytest.raises(api.ReferenceConflict) as refused:
        api.receive_stock(sku="A", warehouse_code="MAIN", quantity=13, reference="PO-7")
    assert refused.value.code == "reference_conflict" and refused.value.http_status == 409
    assert "PO-7" in refused.value.detail
    assert on_hand("A") == 12


def test_a_retried_adjustment_with_a_reference_takes_the_units_out_once(stock):
    stock("A", MAIN=10)
    for _ in range(2):
        level = api.adjust_stock(
            sku="A", warehouse_code="MAIN", delta=-3, reason="damaged", reference="TICKET-4", actor="bob"
        )
    assert level.on_hand == 7 and on_hand("A") == 7
    with pytest.raises(api.ReferenceConflict):
        api.adjust_stock(sku="A", warehouse_code="MAIN", delta=-1, reason="damaged", reference="TICKET-4", actor="bob")
    assert on_hand("A") == 7


def test_adjustments_without_a_reference_are_each_their_own(stock):
    stock("A", MAIN=10)
    for _ in range(2):
        api.adjust_stock(sku="A", warehouse_code="MAIN", delta=-1, reason="count", reference="", actor="bob")
    assert on_hand("A") == 8


def test_the_checkout_saga_can_retry_every_inventory_step(stock, published):
    """reserve, commit, ship everything, dispatch, return: each step repeated gives the same result."""
    stock("A", MAIN=5)
    order = "7f1c3f0e-order"
    reserved = api.reserve_stock(reference=order, lines=[line("A", 2)])
    assert api.reserve_stock(reference=order, lines=[line("A", 2)]) == reserved
    committed = api.commit_reservation(reference=order)
    assert api.commit_reservation(reference=order) == committed
    shipment = api.create_shipment(reference=order)
    assert api.create_shipment(reference=order) == shipment
    dispatched = api.dispatch_shipment(shipment_id=shipment.id)
    assert api.dispatch_shipment(shipment_id=shipment.id) == dispatched
    api.return_stock(reference=order, lines=[api.ReturnLine(sku="A", quantity=1)], key="return-1")
    api.return_stock(reference=order, lines=[api.ReturnLine(sku="A", quantity=1)], key="return-1")
    assert on_hand("A") == 4  # 5 received, 2 shipped, 1 back
    assert len(published("inventory.StockReserved")) == 1
    (event,) = published("inventory.ShipmentDispatched")
    assert (event["reference"], event["shipment_id"]) == (order, shipment.id)
    assert event["lines"] == [{"sku": "A", "warehouse_code": "MAIN", "quantity": 2}]
    assert selectors.ledger_mismatches() == []

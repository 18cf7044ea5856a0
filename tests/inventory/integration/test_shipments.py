import pytest

from contexts.inventory import api, selectors
from contexts.inventory.models import StockLevel, StockMovement
from tests.inventory.factories import line

pytestmark = pytest.mark.django_db


@pytest.fixture
def order(stock):
    stock("A", MAIN=2, BACKUP=5)
    stock("B", MAIN=5)
    api.reserve_stock(reference="o1", lines=[line("A", 4), line("B", 1)])
    api.commit_reservation(reference="o1")
    return "o1"


def levels(sku):
    return {lv.warehouse.code: (lv.on_hand, lv.reserved, lv.allocated) for lv in StockLevel.objects.filter(sku=sku)}


def test_shipping_everything_takes_it_off_hand_and_off_allocation_with_ledger_rows(order):
    shipment = api.create_shipment(reference=order)
    assert shipment.status == "created"
    assert {(ln.sku, ln.warehouse_code, ln.quantity) for ln in shipment.lines} == {("A", "BACKUP", 4), ("B", "MAIN", 1)}
    assert levels("A") == {"MAIN": (2, 0, 0), "BACKUP": (1, 0, 0)}
    assert levels("B") == {"MAIN": (4, 0, 0)}
    assert StockMovement.objects.filter(kind="shipment", reference=order).count() == 2


def test_partial_shipments_then_the_rest(order):
    api.create_shipment(reference=order, lines=[api.ShipmentLine(sku="A", quantity=1)])
    rest = api.create_shipment(reference=order)
    assert {(ln.sku, ln.quantity) for ln in rest.lines} == {("A", 3), ("B", 1)}
    assert len(api.list_shipments(reference=order)) == 2
    with pytest.raises(api.OverShipment):
        api.create_shipment(reference=order, lines=[api.ShipmentLine(sku="B", quantity=1)])
    with pytest.raises(api.OverShipment):
        api.create_shipment(reference=order, key="one more")


def test_a_retried_shipment_of_everything_returns_the_first_and_ships_nothing_more(order, published):
    first = api.create_shipment(reference=order)
    assert api.create_shipment(reference=order) == first
    assert len(api.list_shipments(reference=order)) == 1
    assert levels("A") == {"MAIN": (2, 0, 0), "BACKUP": (1, 0, 0)}
    assert StockMovement.objects.filter(kind="shipment", reference=order).count() == 2


def test_a_retried_shipment_of_explicit_lines_makes_no_second_shipment(order):
    lines = [api.ShipmentLine(sku="A", quantity=1)]
    first = api.create_shipment(reference=order, lines=lines)
    again = api.create_shipment(reference=order, lines=[api.ShipmentLine(sku="A", quantity=1)])
    assert again == first
    assert len(api.list_shipments(reference=order)) == 1
    assert levels("A") == {"MAIN": (2, 0, 0), "BACKUP": (4, 0, 3)}
    # even after it was dispatched, the retry finds it rather than shipping again
    api.dispatch_shipment(shipment_id=first.id)
    assert api.create_shipment(reference=order, lines=lines).id == first.id
    assert levels("A") == {"MAIN": (2, 0, 0), "BACKUP": (4, 0, 3)}


def test_two_identical_partial_shipments_are_made_with_keys_of_their_own(order):
    lines = [api.ShipmentLine(sku="A", quantity=1)]
    first = api.create_shipment(reference=order, lines=lines, key="parcel-1")
    second = api.create_shipment(reference=order, lines=lines, key="parcel-2")
    assert first.id != second.id
    assert api.create_shipment(reference=order, lines=lines, key="parcel-2") == second
    assert levels("A") == {"MAIN": (2, 0, 0), "BACKUP": (3, 0, 2)}


def test_a_key_reused_for_other_lines_is_refused_and_ships_nothing(order):
    api.create_shipment(reference=order, lines=[api.ShipmentLine(sku="A", quantity=1)], key="parcel-1")
    with pytest.raises(api.ReferenceConflict) as refused:
        api.create_shipment(reference=order, lines=[api.ShipmentLine(sku="A", quantity=2)], key="parcel-1")
    assert refused.value.code == "reference_conflict" and refused.value.extra() == {"reference": order}
    assert levels("A") == {"MAIN": (2, 0, 0), "BACKUP": (4, 0, 3)}
    assert len(api.list_shipments(reference=order)) == 1


def test_shipping_more_than_allocated_is_refused_and_changes_nothing(order):
    with pytest.raises(api.OverShipment) as refused:
        api.create_shipment(reference=order, lines=[api.ShipmentLine(sku="A", quantity=5)])
    assert refused.value.extra() == {"lines": [{"sku": "A", "requested": 5, "available": 4}]}
    with pytest.raises(api.OverShipment):
        api.create_shipment(reference=order, lines=[api.ShipmentLine(sku="NOT-ORDERED", quantity=1)])
    assert levels("A") == {"MAIN": (2, 0, 0), "BACKUP": (5, 0, 4)}
    assert not StockMovement.objects.filter(kind="shipment").exists()


def test_an_uncommitted_reservation_cannot_ship(stock):
    stock("A", MAIN=2)
    api.reserve_stock(reference="o2", lines=[line("A", 1)])
    with pytest.raises(api.ReservationNotCommitted):
        api.create_shipment(reference="o2")


def test_dispatching_publishes_once(order, published):
    shipment = api.create_shipment(reference=order)
    dispatched = api.dispatch_shipment(shipment_id=shipment.id)
    assert dispatched.status == "dispatched" and dispatched.dispatched_at is not None
    assert api.dispatch_shipment(shipment_id=shipment.id) == dispatched
    (event,) = published("inventory.ShipmentDispatched")
    assert event["shipment_id"] == shipment.id and event["reference"] == order
    assert {(ln["sku"], ln["quantity"]) for ln in event["lines"]} == {("A", 4), ("B", 1)}


def test_dispatching_an_unknown_shipment_is_refused(db):
    with pytest.raises(api.ShipmentNotFound):
        api.dispatch_shipment(shipment_id=999)


def dispatched(reference, lines=None):
    shipment = api.create_shipment(reference=reference, lines=lines)
    return api.dispatch_shipment(shipment_id=shipment.id)


def test_returns_go_back_on_hand_where_they_shipped_from(order):
    dispatched(order)
    api.return_stock(reference=order, lines=[api.ReturnLine(sku="A", quantity=2)])
    assert levels("A") == {"MAIN": (2, 0, 0), "BACKUP": (3, 0, 0)}
    movement = StockMovement.objects.get(kind="return")
    assert (movement.sku, movement.quantity, movement.reference) == ("A", 2, order)


def test_returns_can_go_to_another_warehouse(order):
    dispatched(order)
    api.return_stock(reference=order, lines=[api.ReturnLine(sku="B", quantity=1)], warehouse_code="BACKUP")
    assert levels("B") == {"MAIN": (4, 0, 0), "BACKUP": (1, 0, 0)}


def test_returning_more_than_shipped_is_refused(order):
    dispatched(order, lines=[api.ShipmentLine(sku="A", quantity=2)])
    api.return_stock(reference=order, lines=[api.ReturnLine(sku="A", quantity=1)])
    with pytest.raises(api.OverReturn) as refused:
        api.return_stock(reference=order, lines=[api.ReturnLine(sku="A", quantity=2)])
    assert refused.value.shortfalls == (api.Shortfall(sku="A", requested=2, available=1),)
    with pytest.raises(api.InvalidQuantity):
        api.return_stock(reference=order, lines=[api.ReturnLine(sku="A", quantity=-1)])
    with pytest.raises(api.UnknownWarehouse):
        api.return_stock(reference=order, lines=[api.ReturnLine(sku="A", quantity=1)], warehouse_code="MOON")
    assert StockMovement.objects.filter(kind="return").count() == 1


def test_nothing_can_be_returned_against_a_shipment_that_was_never_dispatched(order, published):
    shipment = api.create_shipment(reference=order)
    with pytest.raises(api.OverReturn) as refused:
        api.return_stock(reference=order, lines=[api.ReturnLine(sku="A", quantity=4)])
    assert refused.value.shortfalls == (api.Shortfall(sku="A", requested=4, available=0),)
    assert levels("A") == {"MAIN": (2, 0, 0), "BACKUP": (1, 0, 0)}
    assert not StockMovement.objects.filter(kind="return").exists()
    api.dispatch_shipment(shipment_id=shipment.id)
    api.return_stock(reference=order, lines=[api.ReturnLine(sku="A", quantity=4)])
    assert levels("A") == {"MAIN": (2, 0, 0), "BACKUP": (5, 0, 0)}


def test_a_retried_return_puts_nothing_back_twice(order, published):
    dispatched(order)
    api.return_stock(reference=order, lines=[api.ReturnLine(sku="A", quantity=2)])
    events_before = len(published("inventory.StockLevelChanged"))
    api.return_stock(reference=order, lines=[api.ReturnLine(sku="A", quantity=2)])
    assert levels("A") == {"MAIN": (2, 0, 0), "BACKUP": (3, 0, 0)}
    assert StockMovement.objects.filter(kind="return").count() == 1
    assert len(published("inventory.StockLevelChanged")) == events_before
    assert selectors.ledger_mismatches() == []


def test_a_second_return_of_the_same_lines_counts_when_it_has_its_own_key(order):
    dispatched(order)
    api.return_stock(reference=order, lines=[api.ReturnLine(sku="A", quantity=1)], key="return-1")
    api.return_stock(reference=order, lines=[api.ReturnLine(sku="A", quantity=1)], key="return-2")
    api.return_stock(reference=order, lines=[api.ReturnLine(sku="A", quantity=1)], key="return-2")  # its retry
    assert levels("A") == {"MAIN": (2, 0, 0), "BACKUP": (3, 0, 0)}
    with pytest.raises(api.ReferenceConflict):
        api.return_stock(reference=order, lines=[api.ReturnLine(sku="A", quantity=2)], key="return-1")
    assert StockMovement.objects.filter(kind="return").count() == 2


def test_only_dispatched_shipments_of_a_reference_count_towards_returns(order):
    dispatched(order, lines=[api.ShipmentLine(sku="A", quantity=1)])
    api.create_shipment(reference=order, lines=[api.ShipmentLine(sku="A", quantity=3)])
    with pytest.raises(api.OverReturn):
        api.return_stock(reference=order, lines=[api.ReturnLine(sku="A", quantity=2)])
    api.return_stock(reference=order, lines=[api.ReturnLine(sku="A", quantity=1)])

from datetime import timedelta

import pytest
from django.test import override_settings
from django.utils import timezone

from contexts.inventory import api, services
from contexts.inventory.models import Reservation, StockLevel
from tests.inventory.factories import line

pytestmark = pytest.mark.django_db


def levels(sku: str) -> dict[str, tuple[int, int, int]]:
    return {lv.warehouse.code: (lv.on_hand, lv.reserved, lv.allocated) for lv in StockLevel.objects.filter(sku=sku)}


def test_reserving_holds_stock_in_the_preferred_warehouse(stock):
    stock("A", MAIN=5, BACKUP=5)
    reservation = api.reserve_stock(reference="o1", lines=[line("A", 2)])
    assert reservation.status == "active"
    assert reservation.lines == (api.AllocatedLine(sku="A", warehouse_code="MAIN", quantity=2, shipped=0),)
    assert levels("A") == {"MAIN": (5, 2, 0), "BACKUP": (5, 0, 0)}
    assert api.get_availability(skus=["A"])["A"].available == 8


def test_a_line_bigger_than_any_one_warehouse_is_split(stock):
    stock("A", MAIN=3, BACKUP=5)
    reservation = api.reserve_stock(reference="o1", lines=[line("A", 7)])
    assert {(ln.warehouse_code, ln.quantity) for ln in reservation.lines} == {("MAIN", 3), ("BACKUP", 4)}


def test_reservation_is_all_or_nothing_and_reports_each_shortfall(stock):
    stock("A", MAIN=5)
    stock("B", MAIN=1, BACKUP=1)
    with pytest.raises(api.InsufficientStock) as refused:
        api.reserve_stock(reference="o1", lines=[line("A", 2), line("B", 3), line("NEVER-STOCKED", 1)])
    assert refused.value.shortfalls == (
        api.Shortfall(sku="B", requested=3, available=2),
        api.Shortfall(sku="NEVER-STOCKED", requested=1, available=0),
    )
    assert refused.value.extra()["lines"] == [
        {"sku": "B", "requested": 3, "available": 2},
        {"sku": "NEVER-STOCKED", "requested": 1, "available": 0},
    ]
    assert levels("A") == {"MAIN": (5, 0, 0)}
    assert not Reservation.objects.exists()


def test_reserving_again_with_the_same_reference_returns_the_same_reservation(stock, published):
    stock("A", MAIN=5)
    first = api.reserve_stock(reference="o1", lines=[line("A", 2)])
    again = api.reserve_stock(reference="o1", lines=[line("A", 2)])
    assert again == first
    assert levels("A") == {"MAIN": (5, 2, 0)}
    assert len(published("inventory.StockReserved")) == 1


def test_the_same_reference_for_different_lines_is_a_conflict(stock):
    stock("A", MAIN=5)
    api.reserve_stock(reference="o1", lines=[line("A", 2)])
    with pytest.raises(api.ReservationConflict):
        api.reserve_stock(reference="o1", lines=[line("A", 3)])


def test_repeated_skus_in_one_basket_add_up(stock):
    stock("A", MAIN=5)
    reservation = api.reserve_stock(reference="o1", lines=[line("A", 2), line("A", 1)])
    assert sum(ln.quantity for ln in reservation.lines) == 3


@pytest.mark.parametrize("quantity", [0, -1, 10_001, 1_000_000_000, True, 1.5])
def test_unreasonable_quantities_are_refused_and_nothing_is_held(stock, quantity):
    stock("A", MAIN=5)
    with pytest.raises(api.InvalidQuantity):
        api.reserve_stock(reference="o1", lines=[line("A", quantity)])
    assert not Reservation.objects.exists()


@override_settings(INVENTORY_MAX_LINE_QUANTITY=3)
def test_the_maximum_line_quantity_is_a_setting(stock):
    stock("A", MAIN=5)
    with pytest.raises(api.InvalidQuantity):
        api.reserve_stock(reference="o1", lines=[line("A", 2), line("A", 2)])


def test_an_empty_basket_is_refused(stock):
    with pytest.raises(api.InvalidQuantity):
        api.reserve_stock(reference="o1", lines=[])


def test_commit_turns_reserved_stock_into_an_allocation_once(stock):
    stock("A", MAIN=5)
    api.reserve_stock(reference="o1", lines=[line("A", 2)])
    committed = api.commit_reservation(reference="o1")
    assert committed.status == "committed"
    assert api.commit_reservation(reference="o1") == committed
    assert levels("A") == {"MAIN": (5, 0, 2)}
    assert api.get_availability(skus=["A"])["A"].available == 3


def test_release_gives_the_stock_back_once(stock, published):
    stock("A", MAIN=5)
    api.reserve_stock(reference="o1", lines=[line("A", 2)])
    assert api.release_reservation(reference="o1").status == "released"
    assert api.release_reservation(reference="o1").status == "released"
    assert levels("A") == {"MAIN": (5, 0, 0)}
    assert [e["reason"] for e in published("inventory.StockReleased")] == ["released"]
    assert published("inventory.StockReleased")[0]["lines"] == [{"sku": "A", "warehouse_code": "MAIN", "quantity": 2}]


def test_releasing_a_reference_never_reserved_is_a_harmless_no_op(stock):
    assert api.release_reservation(reference="never") is None


def test_cancelling_a_committed_reservation_frees_its_unshipped_allocation_once(stock, published):
    stock("A", MAIN=5)
    api.reserve_stock(reference="o1", lines=[line("A", 3)])
    api.commit_reservation(reference="o1")
    api.create_shipment(reference="o1", lines=[api.ShipmentLine(sku="A", quantity=1)])
    assert api.cancel_reservation(reference="o1").status == "released"
    assert api.cancel_reservation(reference="o1").status == "released"
    assert levels("A") == {"MAIN": (4, 0, 0)}
    (event,) = published("inventory.StockReleased")
    assert (event["reason"], event["lines"]) == ("cancelled", [{"sku": "A", "warehouse_code": "MAIN", "quantity": 2}])
    assert api.cancel_reservation(reference="never") is None


def test_a_late_compensation_cannot_release_a_committed_reservation(stock, published):
    """The saga's compensation after the commit (a crash, a retry) must not hand a paid order's stock back."""
    stock("A", MAIN=5)
    api.reserve_stock(reference="o1", lines=[line("A", 3)])
    api.commit_reservation(reference="o1")
    with pytest.raises(api.ReservationCommitted) as refused:
        api.release_reservation(reference="o1")
    assert refused.value.code == "reservation_committed" and refused.value.http_status == 409
    assert api.get_reservation(reference="o1").status == "committed"
    assert levels("A") == {"MAIN": (5, 0, 3)}
    assert published("inventory.StockReleased") == []


def test_a_released_reservation_cannot_be_committed(stock):
    stock("A", MAIN=5)
    api.reserve_stock(reference="o1", lines=[line("A", 2)])
    api.release_reservation(reference="o1")
    with pytest.raises(api.ReservationClosed):
        api.commit_reservation(reference="o1")
    assert levels("A") == {"MAIN": (5, 0, 0)}


def test_committing_an_unknown_reservation_is_refused(stock):
    with pytest.raises(api.ReservationNotFound):
        api.commit_reservation(reference="nope")


def test_expiry_job_releases_stale_reservations_only(stock, published):
    stock("A", MAIN=5)
    api.reserve_stock(reference="stale", lines=[line("A", 2)], ttl=timedelta(seconds=1))
    api.reserve_stock(reference="fresh", lines=[line("A", 1)])
    expired = services.expire_reservations(now=timezone.now() + timedelta(minutes=1))
    assert expired == 1
    assert api.get_reservation(reference="stale").status == "expired"
    assert api.get_reservation(reference="fresh").status == "active"
    assert levels("A") == {"MAIN": (5, 1, 0)}
    assert [e["reason"] for e in published("inventory.StockReleased")] == ["expired"]


def test_expiry_job_is_registered_as_a_periodic_task():
    from commerce.periodic import jobs
    from contexts.inventory import tasks  # noqa: F401

    assert "inventory.expire_reservations" in {job.name for job in jobs()}


def test_committing_an_expired_reservation_is_refused_and_its_stock_goes_back(stock):
    stock("A", MAIN=5)
    api.reserve_stock(reference="o1", lines=[line("A", 2)], ttl=timedelta(seconds=30))
    Reservation.objects.filter(reference="o1").update(expires_at=timezone.now() - timedelta(seconds=1))
    with pytest.raises(api.ReservationExpired):
        api.commit_reservation(reference="o1")
    assert levels("A") == {"MAIN": (5, 0, 0)}
    with pytest.raises(api.ReservationExpired):
        api.commit_reservation(reference="o1")


def test_reservation_ttl_defaults_to_the_setting(stock):
    stock("A", MAIN=5)
    with override_settings(INVENTORY_RESERVATION_TTL_SECONDS=60):
        reservation = api.reserve_stock(reference="o1", lines=[line("A", 1)])
    assert reservation.expires_at - reservation.created_at == timedelta(seconds=60)
    chosen = api.reserve_stock(reference="o2", lines=[line("A", 1)], ttl=timedelta(minutes=20))
    assert chosen.expires_at - chosen.created_at == timedelta(minutes=20)


def test_stock_reserved_event_names_the_warehouses(stock, published):
    stock("A", MAIN=1, BACKUP=5)
    api.reserve_stock(reference="o1", lines=[line("A", 3)])
    (event,) = published("inventory.StockReserved")
    assert event["reference"] == "o1"
    assert event["lines"] == [{"sku": "A", "warehouse_code": "BACKUP", "quantity": 3}]


@pytest.mark.parametrize("lines", [None, "A", 5])
def test_reserving_lines_that_are_not_a_list_is_refused_and_holds_nothing(stock, lines):
    stock("A", MAIN=2)
    with pytest.raises(api.InvalidQuantity) as refused:
        api.reserve_stock(reference="bad", lines=lines)
    assert refused.value.code == "invalid" and refused.value.http_status == 400
    assert api.get_availability(skus=["A"])["A"].available == 2


@pytest.mark.parametrize("skus", [None, "SKU1", 5, [5], [None]])
def test_asking_for_availability_or_levels_of_something_that_is_not_a_list_of_skus_is_refused(db, skus):
    with pytest.raises(api.InvalidSku):
        api.get_availability(skus=skus)
    with pytest.raises(api.InvalidSku):
        api.get_stock_levels(skus=skus)

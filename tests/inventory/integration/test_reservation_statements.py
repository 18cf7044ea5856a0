"""What the checkout saga's inventory calls cost: a fixed number of SQL statements, however many lines.

Counted as Django logs them on the inventory database with ``CaptureQueriesContext``, BEGIN and
COMMIT (here SAVEPOINT and RELEASE, inside the test's transaction) included. Budgets on PostgreSQL:
``reserve_stock`` 7, ``commit_reservation`` 4 (5 on SQLite), ``release_reservation`` and ``cancel_reservation`` 6.
SQLite has no data-modifying ``WITH``: the reservation and its lines, and a release's two
``UPDATE``s, are one statement more there.
"""

import pytest
from django.db import connections
from django.test.utils import CaptureQueriesContext

from commerce.database import database_for
from contexts.inventory import api
from contexts.inventory.models import StockLevel
from contexts.inventory.services import _statements
from tests.inventory.factories import WarehouseFactory, line

pytestmark = pytest.mark.django_db

BUDGETS = {
    "postgresql": {"reserve": 7, "commit": 4, "release": 6, "cancel": 6},
    "sqlite": {"reserve": 8, "commit": 5, "release": 7, "cancel": 7},
}


@pytest.fixture
def shop(db):
    """Three warehouses and a stock per basket: ``shop(prefix, size)`` stocks ``size`` SKUs so that a basket
    of 5 of each splits its even SKUs across MAIN and BACKUP and takes its odd ones whole from EAST."""
    WarehouseFactory(code="MAIN", priority=10)
    WarehouseFactory(code="BACKUP", priority=5)
    WarehouseFactory(code="EAST", priority=1)

    def stock(prefix: str, size: int) -> list[api.ReservationLine]:
        for n in range(size):
            sku = f"{prefix}-{n:02d}"
            if n % 2 == 0:
                api.receive_stock(sku=sku, warehouse_code="MAIN", quantity=3, reference=f"po-{sku}-m")
                api.receive_stock(sku=sku, warehouse_code="BACKUP", quantity=4, reference=f"po-{sku}-b")
            else:
                api.receive_stock(sku=sku, warehouse_code="EAST", quantity=7, reference=f"po-{sku}-e")
        return [line(f"{prefix}-{n:02d}", 5) for n in range(size)]

    return stock


def statements(call) -> tuple[object, list[str]]:
    with CaptureQueriesContext(connections[database_for("inventory")]) as queries:
        result = call()
    return result, [query["sql"] for query in queries.captured_queries]


def budget(call_name: str) -> int:
    return BUDGETS[connections[database_for("inventory")].vendor][call_name]


@pytest.mark.parametrize("size", [1, 20], ids=["one line", "twenty lines"])
def test_reserving_costs_a_fixed_number_of_statements_however_many_lines(shop, size):
    lines = shop("R", size)
    reservation, spent = statements(lambda: api.reserve_stock(reference="order-1", lines=lines))
    assert len(spent) <= budget("reserve"), spent
    assert len(reservation.lines) == size + (size + 1) // 2  # every even SKU split over two warehouses
    assert {held.warehouse_code for held in reservation.lines} == {"MAIN", "BACKUP"} | ({"EAST"} if size > 1 else set())
    assert reservation == api.get_reservation(reference="order-1")  # what it answered is what it wrote


@pytest.mark.parametrize("size", [1, 20], ids=["one line", "twenty lines"])
def test_committing_costs_a_fixed_number_of_statements_however_many_lines(shop, size):
    api.reserve_stock(reference="order-1", lines=shop("C", size))
    committed, spent = statements(lambda: api.commit_reservation(reference="order-1"))
    assert len(spent) <= budget("commit"), spent
    assert committed.status == "committed"
    assert committed == api.get_reservation(reference="order-1")
    assert sum(level.allocated for level in StockLevel.objects.all()) == 5 * size


@pytest.mark.parametrize("size", [1, 20], ids=["one line", "twenty lines"])
def test_releasing_costs_a_fixed_number_of_statements_however_many_lines(shop, size):
    api.reserve_stock(reference="order-1", lines=shop("L", size))
    released, spent = statements(lambda: api.release_reservation(reference="order-1", reason="checkout failed"))
    assert len(spent) <= budget("release"), spent
    assert released.status == "released"
    assert released == api.get_reservation(reference="order-1")
    assert sum(level.reserved for level in StockLevel.objects.all()) == 0


@pytest.mark.parametrize("size", [1, 20], ids=["one line", "twenty lines"])
def test_cancelling_a_committed_reservation_costs_a_fixed_number_of_statements(shop, size):
    api.reserve_stock(reference="order-1", lines=shop("K", size))
    api.commit_reservation(reference="order-1")
    cancelled, spent = statements(lambda: api.cancel_reservation(reference="order-1", reason="order cancelled"))
    assert len(spent) <= budget("cancel"), spent
    assert cancelled.status == "released"
    assert sum(level.allocated + level.reserved for level in StockLevel.objects.all()) == 0


def test_the_stock_levels_are_locked_last_just_before_the_outbox(shop, postgresql_only):
    """The level rows are the hot ones in a flash sale: nothing but the outbox's inserts runs while they are held."""
    lines = shop("H", 4)
    _, spent = statements(lambda: api.reserve_stock(reference="order-1", lines=lines))
    touching_levels = [n for n, sql in enumerate(spent) if "inventory_stocklevel" in sql and "FOR UPDATE" in sql]
    assert len(touching_levels) == 1
    after = spent[touching_levels[0] + 1 :]
    assert all("eventbus_" in sql or sql.startswith(("RELEASE", "COMMIT")) for sql in after), after
    assert any("inventory_reservationline" in sql for sql in spent[: touching_levels[0]])


def test_a_retry_of_a_reservation_that_took_the_last_units_returns_it_rather_than_refusing(shop):
    lines = shop("T", 2)
    first = api.reserve_stock(reference="order-1", lines=lines)
    assert api.get_availability(skus=["T-00"])["T-00"].available == 2
    again = api.reserve_stock(reference="order-1", lines=[line("T-00", 5), line("T-01", 5)])
    assert again == first
    with pytest.raises(api.InsufficientStock):
        api.reserve_stock(reference="order-2", lines=lines)
    with pytest.raises(api.ReservationConflict):
        api.reserve_stock(reference="order-1", lines=[line("T-00", 1)])


def stale_read(monkeypatch, **available_in_main: int) -> None:
    """Make the reservation's first (unlocked) read see other MAIN figures than the rows hold, as if a
    concurrent checkout had moved them between the read and the locked ``UPDATE``."""
    real = _statements.read_levels

    def read(skus, *, share_warehouses):
        warehouses, levels = real(skus, share_warehouses=share_warehouses)
        for level in levels:
            if warehouses[level.warehouse_id].code == "MAIN" and level.sku in available_in_main:
                level.reserved = level.on_hand - available_in_main[level.sku]
        return warehouses, levels

    monkeypatch.setattr(_statements, "read_levels", read)


def test_a_warehouse_emptied_after_the_read_is_not_oversold_and_the_next_one_serves(shop, monkeypatch):
    shop("S", 1)  # S-00: MAIN 3, BACKUP 4
    stale_read(monkeypatch, **{"S-00": 9})  # the read believes MAIN can serve 5 whole
    reservation = api.reserve_stock(reference="order-1", lines=[line("S-00", 5)])
    assert sorted((held.warehouse_code, held.quantity) for held in reservation.lines) == [("BACKUP", 2), ("MAIN", 3)]
    assert reservation == api.get_reservation(reference="order-1")
    assert api.get_availability(skus=["S-00"])["S-00"].available == 2


def test_a_warehouse_restocked_after_the_read_still_serves_first(shop, monkeypatch):
    shop("P", 1)  # P-00: MAIN 3, BACKUP 4
    api.receive_stock(sku="P-00", warehouse_code="MAIN", quantity=5, reference="po-late")  # MAIN 8
    stale_read(monkeypatch, **{"P-00": 1})  # the read believes MAIN has 1: BACKUP would serve 4 whole
    reservation = api.reserve_stock(reference="order-1", lines=[line("P-00", 4)])
    assert [(held.warehouse_code, held.quantity) for held in reservation.lines] == [("MAIN", 4)]
    assert {level.warehouse.code: level.reserved for level in StockLevel.objects.filter(sku="P-00")} == {
        "MAIN": 4,
        "BACKUP": 0,
    }


def test_a_read_that_believes_stock_short_refuses_with_what_it_saw_and_holds_nothing(shop):
    shop("N", 1)  # N-00: MAIN 3, BACKUP 4
    with pytest.raises(api.InsufficientStock) as refused:
        api.reserve_stock(reference="order-1", lines=[line("N-00", 8)])
    assert [(s.sku, s.requested, s.available) for s in refused.value.shortfalls] == [("N-00", 8, 7)]
    with pytest.raises(api.ReservationNotFound):
        api.get_reservation(reference="order-1")

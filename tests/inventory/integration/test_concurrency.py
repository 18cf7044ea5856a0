"""No oversell under real parallel connections (PostgreSQL only: SQLite serialises every writer)."""

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from django.db import connections
from django.utils import timezone

from commerce.database import database_for
from contexts.inventory import api, selectors, services
from contexts.inventory.models import StockLevel, StockMovement
from tests.inventory.factories import line

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

THREADS = 16
ATTEMPTS = 200


def run_in_parallel(attempt, count: int = ATTEMPTS) -> list[str]:
    """Run ``attempt(n)`` for n in range(count) on THREADS real connections; each returns an outcome."""
    start = threading.Barrier(THREADS)

    def worker(indices: list[int]) -> list[str]:
        try:
            start.wait(timeout=30)
            return [attempt(n) for n in indices]
        finally:
            connections.close_all()

    chunks = [list(range(i, count, THREADS)) for i in range(THREADS)]
    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        return [outcome for chunk in pool.map(worker, chunks) for outcome in chunk]


def reserve(reference: str, lines) -> str:
    try:
        api.reserve_stock(reference=reference, lines=lines)
    except api.InsufficientStock:
        return "refused"
    return "reserved"


def assert_sane() -> None:
    assert not StockLevel.objects.filter(on_hand__lt=0).exists()
    assert all(level.available >= 0 for level in StockLevel.objects.all())
    assert selectors.ledger_mismatches() == []


def test_two_hundred_buyers_of_fifty_units_get_exactly_fifty_reservations(postgresql_only, stock):
    stock("HOT", MAIN=30, BACKUP=20)
    outcomes = run_in_parallel(lambda n: reserve(f"order-{n}", [line("HOT", 1)]))
    assert outcomes.count("reserved") == 50
    assert outcomes.count("refused") == 150
    assert sum(level.reserved for level in StockLevel.objects.filter(sku="HOT")) == 50
    assert api.get_availability(skus=["HOT"])["HOT"].available == 0
    assert_sane()


def test_baskets_holding_two_hot_skus_in_opposite_orders_never_deadlock(postgresql_only, stock):
    stock("RED", MAIN=40)
    stock("BLUE", MAIN=25, BACKUP=15)

    def basket(n: int) -> str:
        lines = [line("RED", 1), line("BLUE", 1)]
        return reserve(f"basket-{n}", lines if n % 2 else list(reversed(lines)))

    outcomes = run_in_parallel(basket)  # a deadlock would surface as an OperationalError here
    assert outcomes.count("reserved") == 40
    assert outcomes.count("refused") == 160
    for sku in ("RED", "BLUE"):
        assert sum(level.reserved for level in StockLevel.objects.filter(sku=sku)) == 40
    assert_sane()


def test_concurrent_commits_releases_expiries_and_adjustments_keep_the_ledger_balanced(postgresql_only, stock):
    stock("A", MAIN=60)
    stock("B", MAIN=60)
    for n in range(40):
        api.reserve_stock(reference=f"o{n}", lines=[line("A", 1), line("B", 1)], ttl=timedelta(minutes=5))

    def churn(n: int) -> str:
        if n < 40:
            action = n % 3
            if action == 0:
                try:
                    api.commit_reservation(reference=f"o{n}")
                except api.ReservationExpired:
                    return "too late"  # a parallel expiry sweep (an hour ahead) got there first
            elif action == 1:
                api.release_reservation(reference=f"o{n}")
            else:
                services.expire_reservations(now=timezone.now() + timedelta(hours=1))
            return "done"
        sku = "A" if n % 2 else "B"
        try:
            api.adjust_stock(sku=sku, warehouse_code="MAIN", delta=-1, reason="count", reference="", actor="t")
        except api.InsufficientStock:
            return "refused"
        return "adjusted"

    outcomes = run_in_parallel(churn, count=80)
    assert "refused" not in outcomes
    assert_sane()
    for sku in ("A", "B"):
        level = StockLevel.objects.get(sku=sku)
        assert level.on_hand == 40  # 60 received, 20 adjusted away
        assert level.reserved + level.allocated <= level.on_hand


def test_the_same_reference_reserved_twice_at_once_is_held_once(postgresql_only, stock):
    stock("A", MAIN=100)
    outcomes = run_in_parallel(lambda n: reserve("same-order", [line("A", 3)]), count=32)
    assert outcomes == ["reserved"] * 32
    assert StockLevel.objects.get(sku="A").reserved == 3


def test_a_receipt_and_an_adjustment_retried_on_many_connections_at_once_are_booked_once(postgresql_only, warehouses):
    def receive(n: int) -> str:
        api.receive_stock(sku="NEW", warehouse_code="MAIN", quantity=7, reference="PO-42")
        return "ok"

    assert run_in_parallel(receive, count=32) == ["ok"] * 32
    assert StockLevel.objects.get(sku="NEW").on_hand == 7
    assert StockMovement.objects.filter(reference="PO-42").count() == 1
    assert_sane()

    def adjust(n: int) -> str:
        api.adjust_stock(sku="NEW", warehouse_code="MAIN", delta=-2, reason="damaged", reference="T-1", actor="bob")
        return "ok"

    assert run_in_parallel(adjust, count=32) == ["ok"] * 32
    assert StockLevel.objects.get(sku="NEW").on_hand == 5
    assert StockMovement.objects.filter(reference="T-1").count() == 1
    assert_sane()


def test_a_shipment_and_a_return_retried_at_once_happen_once(postgresql_only, stock):
    stock("A", MAIN=10)
    api.reserve_stock(reference="order-1", lines=[line("A", 4)])
    api.commit_reservation(reference="order-1")
    shipments = set()

    def ship(n: int) -> str:
        shipments.add(api.create_shipment(reference="order-1", lines=[api.ShipmentLine(sku="A", quantity=3)]).id)
        return "ok"

    assert run_in_parallel(ship, count=32) == ["ok"] * 32
    (shipment_id,) = shipments
    api.dispatch_shipment(shipment_id=shipment_id)

    def give_back(n: int) -> str:
        api.return_stock(reference="order-1", lines=[api.ReturnLine(sku="A", quantity=2)], key="return-1")
        return "ok"

    assert run_in_parallel(give_back, count=32) == ["ok"] * 32
    level = StockLevel.objects.get(sku="A")
    assert (level.on_hand, level.allocated) == (10 - 3 + 2, 1)
    assert StockMovement.objects.filter(kind="return").count() == 1
    assert_sane()


def test_a_checkout_holding_one_sku_does_not_hold_up_a_checkout_of_another(postgresql_only, stock):
    """Row locks are per SKU (and warehouses are only share-locked): a reservation of COLD goes through
    while a reservation of HOT is still open, instead of queueing behind it."""
    stock("HOT", MAIN=50)
    stock("COLD", MAIN=50)
    inventory = connections[database_for("inventory")]
    with inventory.cursor() as cursor:  # HOT's reservation holds its locks until a second has passed
        cursor.execute(
            "CREATE OR REPLACE FUNCTION inventory_test_slow_commit() RETURNS trigger AS $$ "
            "BEGIN IF NEW.sku = 'HOT' THEN PERFORM pg_sleep(1.5); END IF; RETURN NEW; END $$ LANGUAGE plpgsql"
        )
        cursor.execute(
            "CREATE CONSTRAINT TRIGGER zz_inventory_test_slow_commit AFTER INSERT ON inventory_reservationline "
            "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION inventory_test_slow_commit()"
        )
    failures: list = []

    def reserve_hot() -> None:
        try:
            api.reserve_stock(reference="hot-1", lines=[line("HOT", 1)])
        except Exception as error:
            failures.append(error)
        finally:
            connections.close_all()

    hot = threading.Thread(target=reserve_hot)
    try:
        hot.start()
        time.sleep(0.3)
        with inventory.cursor() as cursor:
            cursor.execute("SET lock_timeout = '1s'")  # queueing behind HOT would fail here, not just be slow
        api.reserve_stock(reference="cold-1", lines=[line("COLD", 1)])
        assert hot.is_alive(), "HOT's reservation finished first: the test proved nothing"
    finally:
        hot.join(timeout=30)
        with inventory.cursor() as cursor:
            cursor.execute("RESET lock_timeout")
            cursor.execute("DROP TRIGGER IF EXISTS zz_inventory_test_slow_commit ON inventory_reservationline")
            cursor.execute("DROP FUNCTION IF EXISTS inventory_test_slow_commit()")
    assert failures == []
    assert api.get_availability(skus=["HOT", "COLD"]) == {
        "HOT": api.Availability(sku="HOT", available=49, in_stock=True),
        "COLD": api.Availability(sku="COLD", available=49, in_stock=True),
    }

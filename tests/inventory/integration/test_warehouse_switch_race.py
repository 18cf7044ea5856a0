"""Switching a warehouse off (or on) while a receipt creates a new stock level in it (PostgreSQL only).

The listing is fed by ``StockLevelChanged``: the last event of a SKU must tell the truth about it. A
deferred trigger holds the receipt's commit back for a moment after it worked out and announced the
SKU's availability, so the switch reliably runs in that window instead of only now and then.
"""

import threading
import time

import pytest
from django.db import connections

from commerce.database import database_for
from contexts.inventory import api

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def slow_new_levels(postgresql_only):
    cursor = connections[database_for("inventory")].cursor()
    cursor.execute(
        "CREATE OR REPLACE FUNCTION inventory_test_slow_insert() RETURNS trigger AS $$ "
        "BEGIN IF NEW.sku LIKE 'SLOW%' THEN PERFORM pg_sleep(0.6); END IF; RETURN NEW; END $$ LANGUAGE plpgsql"
    )
    cursor.execute(
        "CREATE CONSTRAINT TRIGGER zz_inventory_test_slow AFTER INSERT ON inventory_stocklevel "
        "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION inventory_test_slow_insert()"
    )
    yield
    cursor.execute("DROP TRIGGER IF EXISTS zz_inventory_test_slow ON inventory_stocklevel")
    cursor.execute("DROP FUNCTION IF EXISTS inventory_test_slow_insert()")
    cursor.close()


def in_thread(call, failures: list, delay: float = 0.0) -> threading.Thread:
    def run() -> None:
        time.sleep(delay)
        try:
            call()
        except Exception as error:  # reported by the test, not lost in the thread
            failures.append(error)
        finally:
            connections.close_all()

    thread = threading.Thread(target=run)
    thread.start()
    return thread


@pytest.mark.parametrize("switch_to", [False, True], ids=["switched off", "switched on"])
def test_the_last_announcement_of_a_new_sku_matches_its_stock_when_its_warehouse_switches_meanwhile(
    slow_new_levels, warehouses, published, switch_to
):
    api.set_warehouse_status(code="BACKUP", active=not switch_to)
    failures: list = []
    receipt = in_thread(
        lambda: api.receive_stock(sku="SLOW-1", warehouse_code="BACKUP", quantity=5, reference="PO-1"), failures
    )
    switch = in_thread(lambda: api.set_warehouse_status(code="BACKUP", active=switch_to), failures, delay=0.2)
    receipt.join(timeout=30)
    switch.join(timeout=30)
    assert failures == []
    truth = api.get_availability(skus=["SLOW-1"])["SLOW-1"]
    assert truth.in_stock is switch_to
    announced = [e for e in published("inventory.StockLevelChanged") if e["sku"] == "SLOW-1"]
    assert announced, "no StockLevelChanged for SLOW-1 at all"
    assert (announced[-1]["available"], announced[-1]["in_stock"]) == (truth.available, truth.in_stock)

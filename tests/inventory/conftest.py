import itertools

import pytest

from commerce.database import database_for
from commerce.eventbus.models import OutboxMessage
from contexts.inventory import api
from tests.inventory.factories import WarehouseFactory


@pytest.fixture
def warehouses(db):
    """Two warehouses: MAIN (preferred) and BACKUP."""
    return WarehouseFactory(code="MAIN", priority=10), WarehouseFactory(code="BACKUP", priority=1)


@pytest.fixture
def stock(warehouses):
    """``stock(sku, MAIN=n, BACKUP=m)`` books receipts (each its own delivery) so the ledger and the levels agree."""
    deliveries = itertools.count(1)

    def put(sku: str, **per_warehouse: int) -> None:
        for code, quantity in per_warehouse.items():
            api.receive_stock(sku=sku, warehouse_code=code, quantity=quantity, reference=f"delivery-{next(deliveries)}")

    return put


@pytest.fixture
def published():
    """The inventory events published so far: ``published("inventory.StockLevelChanged")`` → payloads."""

    def events(event_type: str) -> list[dict]:
        rows = OutboxMessage.objects.using(database_for("inventory")).filter(event_type=event_type).order_by("id")
        return [row.payload for row in rows]

    return events

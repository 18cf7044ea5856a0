"""Helpers the catalogue tests share: setting prices and stock through the owning contexts' apis."""

from decimal import Decimal

import pytest

from contexts.inventory import api as inventory_api
from contexts.pricing import api as pricing_api

WAREHOUSE = "MAIN"


@pytest.fixture
def set_price():
    def set_price(sku: str, amount: str, currency: str = "EUR") -> None:
        pricing_api.set_base_price(sku=sku, currency=currency, amount=Decimal(amount))

    return set_price


@pytest.fixture
def set_stock():
    def set_stock(sku: str, on_hand: int, warehouse: str = WAREHOUSE) -> None:
        inventory_api.ensure_warehouse(code=warehouse)
        inventory_api.set_stock_level(sku=sku, warehouse_code=warehouse, on_hand=on_hand, reference="test")

    return set_stock

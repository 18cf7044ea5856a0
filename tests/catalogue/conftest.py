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


# TEMPORARY until contexts/pricing/api.py lands: an in-memory stand-in with the published signatures.
_FAKE_PRICES: dict[tuple[str, str], Decimal] = {}


@pytest.fixture(autouse=True)
def _pricing_stand_in(monkeypatch):
    if hasattr(pricing_api, "prices_for"):
        yield
        return
    from types import SimpleNamespace

    _FAKE_PRICES.clear()

    def prices_for(*, skus, currency, category_ids=None):
        return {
            sku: SimpleNamespace(
                sku=sku,
                currency=currency,
                base_amount=_FAKE_PRICES[sku, currency],
                amount=_FAKE_PRICES[sku, currency],
                on_sale=False,
            )
            for sku in skus
            if (sku, currency) in _FAKE_PRICES
        }

    def set_base_price(*, sku, currency, amount):
        _FAKE_PRICES[sku, currency] = amount

    monkeypatch.setattr(pricing_api, "prices_for", prices_for, raising=False)
    monkeypatch.setattr(pricing_api, "set_base_price", set_base_price, raising=False)
    yield

"""Helpers the catalogue tests share: setting prices and stock through the owning contexts' apis."""

from contextlib import contextmanager
from decimal import Decimal

import pytest
from django.db import connections
from django.test.utils import CaptureQueriesContext

from commerce.database import database_for
from contexts.pricing import api as pricing_api
from tests.support.shop import put_stock


@pytest.fixture
def set_price():
    def set_price(sku: str, amount: str, currency: str = "EUR") -> None:
        pricing_api.set_base_price(sku=sku, currency=currency, amount=Decimal(amount))

    return set_price


@pytest.fixture
def set_stock():
    return put_stock


@pytest.fixture
def catalogue_queries():
    """``with catalogue_queries(at_most=3):`` counts queries on the catalogue's own database (split mode too)."""

    @contextmanager
    def at_most(limit: int):
        with CaptureQueriesContext(connections[database_for("catalogue")]) as captured:
            yield captured
        assert 0 < len(captured) <= limit, [q["sql"] for q in captured.captured_queries]

    return at_most

"""Showing a cart and adding a line cost a small fixed number of queries, whatever the number of lines."""

from contextlib import ExitStack, contextmanager

import pytest
from django.db import connections
from django.test.utils import CaptureQueriesContext

from commerce.database import database_for
from tests.cart.factories import BASE, add, new_cart

pytestmark = pytest.mark.django_db

# Getting a cart: the cart with its lines, the catalogue's names, pricing's quote (the prices, which
# carry the rules token, and the voucher; promotions, shipping and tax rates are in memory while the
# token stays the same).
GET_QUERIES = 4


def add_queries() -> int:
    """Adding a line: what getting costs, the availability, and the write: on PostgreSQL one
    statement claims the cart's version and writes the line; elsewhere the version update and the
    line write go in a transaction (a savepoint, two writes and its release in a test transaction)."""
    return GET_QUERIES + 1 + (1 if connections[database_for("cart")].vendor == "postgresql" else 4)


@contextmanager
def all_queries():
    """Queries on every database alias (in split mode each context has its own)."""
    with ExitStack() as stack:
        captured = [stack.enter_context(CaptureQueriesContext(connections[alias])) for alias in connections]
        result: list = []
        yield result
    result.extend(q["sql"] for c in captured for q in c.captured_queries)


@pytest.fixture
def cart_of(shop, many_skus, api_client):
    skus = many_skus(21)

    def make(lines: int) -> str:
        cart = new_cart(api_client)
        for sku in skus[:lines]:
            add(api_client, cart["id"], sku, 5)
        response = api_client.post(f"{BASE}/{cart['id']}/vouchers", {"code": "WELCOME10"}, format="json")
        assert response.status_code == 200, response.content
        response = api_client.patch(
            f"{BASE}/{cart['id']}", {"country": "DE", "shipping_method": "standard"}, format="json"
        )
        assert response.status_code == 200, response.content
        return cart["id"]

    make.skus = skus
    return make


def test_getting_a_20_line_cart_with_a_voucher_and_shipping_costs_as_many_queries_as_a_1_line_cart(cart_of, api_client):
    costs = {}
    for lines in (20, 7):
        cart_id = cart_of(lines)
        with all_queries() as queries:
            body = api_client.get(f"{BASE}/{cart_id}").json()
        assert len(body["lines"]) == lines and body["vouchers"] == ["WELCOME10"]
        assert body["shipping_method"] == "standard" and body["discount_total"]["amount"] != "0.00"
        costs[lines] = len(queries)
        assert len(queries) == GET_QUERIES, queries
    assert costs[20] == costs[7]


def test_adding_a_line_to_a_20_line_cart_costs_as_many_queries_as_to_a_small_one(cart_of, api_client):
    costs = {}
    for lines in (19, 5):
        cart_id = cart_of(lines)
        with all_queries() as queries:
            body = add(api_client, cart_id, cart_of.skus[20], 1)
        assert len(body["lines"]) == lines + 1 and body["shipping_total"]["currency"] == "EUR"
        costs[lines] = len(queries)
        assert len(queries) == add_queries(), queries
    assert costs[19] == costs[5]


def test_creating_a_cart_costs_one_write(shop, api_client):
    with all_queries() as queries:
        new_cart(api_client)
    assert len(queries) == 1, queries  # the insert, atomic on its own: no transaction around it

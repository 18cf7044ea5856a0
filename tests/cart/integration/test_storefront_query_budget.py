"""The storefront's "create a cart and add a line" over HTTP, counted as Django logs statements (BEGIN,
SAVEPOINT and their ends included) on every database: creating is the cart's one INSERT; adding is one
read of the cart with its lines, one question to each context whose rule applies (the catalogue: sold
and named; inventory: available; pricing: priced in the cart's currency, and the figures shown), and
one write (on PostgreSQL the conditional version bump and the line in one statement). The same whatever
the cart holds. A signed-in customer's token costs identity's read of the account on each request."""

from contextlib import ExitStack, contextmanager

import pytest
from django.db import connections
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from commerce.database import database_for
from tests.cart.factories import add, new_cart, signed_in

pytestmark = pytest.mark.django_db

OTHER_CONTEXTS = 3  # the catalogue's variants, inventory's availability, pricing's prices


@contextmanager
def all_queries():
    with ExitStack() as stack:
        captured = [stack.enter_context(CaptureQueriesContext(connections[alias])) for alias in connections]
        result: list[str] = []
        yield result
    result.extend(q["sql"] for c in captured for q in c.captured_queries)


def line_write() -> int:
    """One statement on PostgreSQL; elsewhere the version update and the line write in a transaction
    (a savepoint and its release inside a test's transaction)."""
    return 1 if connections[database_for("cart")].vendor == "postgresql" else 4


ADD = 1 + OTHER_CONTEXTS  # + line_write()


@pytest.fixture
def skus(shop, many_skus):
    """Ten SKUs, and pricing's rules (promotions, tax rates: kept in memory while they stay the same)
    read once by a first cart."""
    skus = many_skus(10)
    warm = APIClient()
    add(warm, new_cart(warm)["id"], skus[0], 1)
    return skus


@pytest.mark.parametrize("lines", [1, 10])
def test_a_guest_creates_a_cart_and_adds_a_line_in_a_fixed_number_of_statements(skus, api_client, lines):
    with all_queries() as queries:
        cart = new_cart(api_client)
    assert len(queries) == 1, queries
    for sku in skus[: lines - 1]:
        add(api_client, cart["id"], sku, 2)
    with all_queries() as queries:
        body = add(api_client, cart["id"], skus[-1], 1)
    assert len(body["lines"]) == lines and body["lines"][-1]["quantity"] == 1
    assert len(queries) == ADD + line_write(), queries
    with all_queries() as queries:
        body = add(api_client, cart["id"], skus[-1], 2)  # the same SKU again: its line grows
    assert len(body["lines"]) == lines and body["lines"][-1]["quantity"] == 3
    assert len(queries) == ADD + line_write(), queries


def test_a_signed_in_customers_token_costs_one_read_of_the_account_per_request(skus):
    client = signed_in()
    with all_queries() as queries:
        cart = new_cart(client)
    assert len(queries) == 1 + 2, queries  # the account; the customer's open cart looked up, the INSERT
    with all_queries() as queries:
        add(client, cart["id"], skus[1], 1)
    assert len(queries) == 1 + ADD + line_write(), queries


def test_a_refused_add_writes_nothing_and_asks_only_what_it_needed(skus, api_client):
    cart = new_cart(api_client)
    add(api_client, cart["id"], "MUG", 1)
    with all_queries() as queries:
        add(api_client, cart["id"], "POSTER", 1, expect=409)  # none in stock
    assert len(queries) == 3, queries  # the cart, the catalogue, the availability
    with all_queries() as queries:
        add(api_client, cart["id"], "MUG", 1000, expect=400)  # above the per-line maximum
    assert len(queries) == 0, queries
    mine = new_cart(signed_in())
    with all_queries() as queries:
        add(api_client, mine["id"], "MUG", 1, expect=404)  # another customer's cart
    assert len(queries) == 1, queries

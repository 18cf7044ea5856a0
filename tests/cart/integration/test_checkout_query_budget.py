"""What the checkout's calls into the cart cost: a fixed number of statements each, whatever the cart
holds. On PostgreSQL every one is a single statement (a claim or a close answers the cart as written,
with its lines, from its own UPDATE); elsewhere a claim and a close read the cart after their UPDATE.
A refused claim or close reads the cart once more, to say why."""

import uuid
from contextlib import ExitStack, contextmanager

import pytest
from django.db import connections
from django.test.utils import CaptureQueriesContext

from commerce.database import database_for
from contexts.cart import api

pytestmark = pytest.mark.django_db


@contextmanager
def all_queries():
    """Statements on every database alias (in split mode each context has its own), as Django logs
    them: BEGIN, SAVEPOINT and their ends included."""
    with ExitStack() as stack:
        captured = [stack.enter_context(CaptureQueriesContext(connections[alias])) for alias in connections]
        result: list[str] = []
        yield result
    result.extend(q["sql"] for c in captured for q in c.captured_queries)


def on_postgresql() -> bool:
    return connections[database_for("cart")].vendor == "postgresql"


def written_and_answered() -> int:
    """A claim or a close: one statement on PostgreSQL; the UPDATE and a read elsewhere."""
    return 1 if on_postgresql() else 2


@pytest.fixture
def cart_with(shop, many_skus):
    skus = many_skus(10)

    def make(lines: int) -> api.Cart:
        cart = api.create_cart(customer_id=None).cart
        for sku in skus[:lines]:
            cart = api.add_line(cart_id=cart.id, customer_id=None, sku=sku, quantity=2)
        return cart

    return make


@pytest.mark.parametrize("lines", [1, 10])
def test_a_checkout_reads_claims_and_closes_a_cart_in_a_fixed_number_of_statements(cart_with, lines):
    cart = cart_with(lines)
    order_id = uuid.uuid4()
    with all_queries() as queries:
        seen = api.get_cart_for_checkout(cart_id=cart.id, customer_id=None)
    assert len(seen.lines) == lines and len(queries) == 1, queries

    with all_queries() as queries:
        claimed = api.claim_cart_for_checkout(cart_id=cart.id, order_id=order_id, version=seen.version)
    assert len(queries) == written_and_answered(), queries
    assert claimed.checkout_order_id == order_id and claimed.version == seen.version + 1
    assert claimed == api.get_cart_for_checkout(cart_id=cart.id, customer_id=None)  # the cart as written

    with all_queries() as queries:
        closed = api.close_cart(cart_id=cart.id, order_id=order_id)
    assert len(queries) == written_and_answered(), queries
    assert closed.status == "checked_out" and closed.order_id == order_id and closed.lines == seen.lines
    assert closed == api.get_cart_for_checkout(cart_id=cart.id, customer_id=None)


@pytest.mark.parametrize("lines", [1, 10])
def test_letting_go_of_a_claim_is_one_statement(cart_with, lines):
    cart = cart_with(lines)
    order_id = uuid.uuid4()
    api.claim_cart_for_checkout(cart_id=cart.id, order_id=order_id)
    with all_queries() as queries:
        api.release_cart_claim(cart_id=cart.id, order_id=order_id)
    assert len(queries) == 1, queries
    assert api.get_cart_for_checkout(cart_id=cart.id, customer_id=None).checkout_order_id is None


def test_a_refused_claim_reads_the_cart_once_to_say_why(cart_with):
    cart = cart_with(3)
    seen = api.get_cart_for_checkout(cart_id=cart.id, customer_id=None)
    api.add_line(cart_id=cart.id, customer_id=None, sku="MUG", quantity=1)  # changed after checkout read it
    with all_queries() as queries, pytest.raises(api.CartChanged):
        api.claim_cart_for_checkout(cart_id=cart.id, order_id=uuid.uuid4(), version=seen.version)
    assert len(queries) == 2, queries
    holder = uuid.uuid4()
    api.claim_cart_for_checkout(cart_id=cart.id, order_id=holder)
    with all_queries() as queries, pytest.raises(api.CheckoutInProgress):
        api.claim_cart_for_checkout(cart_id=cart.id, order_id=uuid.uuid4())
    assert len(queries) == 2, queries
    with all_queries() as queries, pytest.raises(api.CheckoutInProgress):
        api.close_cart(cart_id=cart.id, order_id=uuid.uuid4())
    assert len(queries) == 2, queries


def test_closing_again_for_the_same_order_reads_the_closed_cart_once(cart_with):
    cart = cart_with(2)
    order_id = uuid.uuid4()
    first = api.close_cart(cart_id=cart.id, order_id=order_id)
    with all_queries() as queries:
        again = api.close_cart(cart_id=cart.id, order_id=order_id)
    assert again == first and len(queries) == 2, queries
    with all_queries() as queries, pytest.raises(api.CartClosed):
        api.close_cart(cart_id=cart.id, order_id=uuid.uuid4())
    assert len(queries) == 2, queries

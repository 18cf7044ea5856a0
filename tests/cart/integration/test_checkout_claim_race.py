"""A claim or a close answers the cart as it is once written, even when it waited for the cart's row
while a change of the lines committed (PostgreSQL: the one statement reads the lines as they were when
it began, so it must notice that they moved on)."""

import threading
import time
import uuid

import pytest
from django.db import connections, transaction
from django.db.models import F

from commerce.database import database_for
from contexts.cart import api
from contexts.cart.models import Cart, CartLine
from tests.support.shop import make_product

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def waiting_for_a_lock() -> int:
    with connections[database_for("cart")].cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        return cursor.fetchone()[0]


def change_the_lines_while_the_next_write_waits(cart_id: uuid.UUID) -> threading.Thread:
    """In another connection: hold the cart's row (as a line write does), add a line, bump the version,
    and commit only once another statement waits for that row."""
    holding = threading.Event()

    def change() -> None:
        try:
            with transaction.atomic(using=database_for("cart")):
                Cart.objects.select_for_update().get(pk=cart_id)
                CartLine.objects.create(cart_id=cart_id, sku="WARM", quantity=2)
                Cart.objects.filter(pk=cart_id).update(version=F("version") + 1)
                holding.set()
                deadline = time.monotonic() + 30
                while not waiting_for_a_lock() and time.monotonic() < deadline:
                    time.sleep(0.01)
        finally:
            connections.close_all()

    thread = threading.Thread(target=change)
    thread.start()
    assert holding.wait(timeout=30)
    return thread


@pytest.fixture
def cart(db):
    make_product("hot", "Hot", {"HOT": ("Default", "3.00", 100), "WARM": ("Default", "2.00", 100)})
    cart = api.create_cart(customer_id=None).cart
    return api.add_line(cart_id=cart.id, customer_id=None, sku="HOT", quantity=1)


def test_a_claim_that_waited_for_a_change_of_the_lines_answers_them_as_changed(postgresql_only, cart):
    changing = change_the_lines_while_the_next_write_waits(cart.id)
    claimed = api.claim_cart_for_checkout(cart_id=cart.id, order_id=uuid.uuid4())
    changing.join()
    assert claimed.lines == (api.CheckoutLine(sku="HOT", quantity=1), api.CheckoutLine(sku="WARM", quantity=2))
    assert claimed == api.get_cart_for_checkout(cart_id=cart.id, customer_id=None)


def test_a_close_that_waited_for_a_change_of_the_lines_answers_them_as_closed(postgresql_only, cart):
    changing = change_the_lines_while_the_next_write_waits(cart.id)
    closed = api.close_cart(cart_id=cart.id, order_id=uuid.uuid4())
    changing.join()
    assert closed.status == "checked_out" and [line.sku for line in closed.lines] == ["HOT", "WARM"]
    assert closed == api.get_cart_for_checkout(cart_id=cart.id, customer_id=None)

"""Parallel requests on one cart lose no update and never make two lines of one SKU (PostgreSQL:
real parallel connections and row locks; SQLite serialises every writer)."""

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connections
from django.test import override_settings

from contexts.cart import api
from contexts.cart.models import Cart, CartLine
from tests.support.shop import make_product

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

THREADS = 16


def in_parallel(attempt, count: int) -> list[str]:
    """``attempt(n)`` for n in range(count) on THREADS connections started together; outcomes in a list."""
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


def add(cart_id, sku: str, quantity: int = 1) -> str:
    try:
        api.add_line(cart_id=cart_id, customer_id=None, sku=sku, quantity=quantity)
    except api.InsufficientStock:
        return "no_stock"
    except api.QuantityTooLarge:
        return "too_many"
    return "added"


@pytest.fixture
def stocked(db):
    make_product("hot", "Hot", {"HOT": ("Default", "3.00", 1000), "WARM": ("Default", "2.00", 1000)})
    make_product("scarce", "Scarce", {"SCARCE": ("Default", "5.00", 10)})
    make_product("wide", "Wide", {f"W-{i:02d}": ("Default", "1.00", 100) for i in range(32)})


def test_parallel_adds_of_one_sku_to_one_cart_add_up_on_a_single_line(postgresql_only, stocked):
    cart = api.create_cart(customer_id=None).cart
    outcomes = in_parallel(lambda n: add(cart.id, "HOT" if n % 2 else "WARM", 1 + n % 2), 64)
    assert outcomes == ["added"] * 64
    lines = dict(CartLine.objects.filter(cart_id=cart.id).values_list("sku", "quantity"))
    assert lines == {"HOT": 64, "WARM": 32}  # 32 adds of 2 and 32 adds of 1: nothing lost
    assert api.get_cart(cart_id=cart.id, customer_id=None).item_count == 96


def test_parallel_first_adds_of_a_new_sku_make_one_line(postgresql_only, stocked):
    cart = api.create_cart(customer_id=None).cart
    assert in_parallel(lambda n: add(cart.id, "HOT"), THREADS) == ["added"] * THREADS
    assert list(CartLine.objects.filter(cart_id=cart.id).values_list("sku", "quantity")) == [("HOT", THREADS)]


def test_parallel_adds_of_different_skus_all_land(postgresql_only, stocked):
    cart = api.create_cart(customer_id=None).cart
    assert in_parallel(lambda n: add(cart.id, f"W-{n:02d}"), 32) == ["added"] * 32
    assert CartLine.objects.filter(cart_id=cart.id).count() == 32


@override_settings(CART_MAX_LINES=20)
def test_parallel_adds_never_pass_the_line_limit(postgresql_only, stocked):
    cart = api.create_cart(customer_id=None).cart

    def attempt(n: int) -> str:
        try:
            return add(cart.id, f"W-{n:02d}")
        except api.CartFull:
            return "full"

    outcomes = in_parallel(attempt, 32)
    assert outcomes.count("added") == 20 and outcomes.count("full") == 12
    assert CartLine.objects.filter(cart_id=cart.id).count() == 20


def test_parallel_adds_never_promise_more_than_is_available_or_the_line_maximum(postgresql_only, stocked):
    cart = api.create_cart(customer_id=None).cart
    outcomes = in_parallel(lambda n: add(cart.id, "SCARCE"), 40)
    assert outcomes.count("added") == 10 and outcomes.count("no_stock") == 30
    assert CartLine.objects.get(cart_id=cart.id, sku="SCARCE").quantity == 10
    other = api.create_cart(customer_id=None).cart
    outcomes = in_parallel(lambda n: add(other.id, "HOT", 7), 32)
    assert outcomes.count("added") == 14 and outcomes.count("too_many") == 18  # 14 x 7 = 98 <= 99
    assert CartLine.objects.get(cart_id=other.id, sku="HOT").quantity == 98


def test_parallel_changes_and_a_checkout_leave_a_closed_cart_as_it_was_closed(postgresql_only, stocked):
    import uuid

    cart = api.create_cart(customer_id=None).cart
    api.add_line(cart_id=cart.id, customer_id=None, sku="HOT", quantity=1)
    order_id = uuid.uuid4()

    def attempt(n: int) -> str:
        if n == 20:
            api.close_cart(cart_id=cart.id, order_id=order_id)
            return "closed"
        try:
            return add(cart.id, "HOT")
        except api.CartClosed:
            return "refused"

    outcomes = in_parallel(attempt, 48)
    added = outcomes.count("added")
    assert outcomes.count("closed") == 1 and added + outcomes.count("refused") == 47
    closed = api.get_cart_for_checkout(cart_id=cart.id, customer_id=None)
    assert closed.status == "checked_out" and closed.order_id == order_id
    assert closed.lines[0].quantity == 1 + added  # every acknowledged add is in, none after the close
    assert Cart.objects.get(pk=cart.id).status == "checked_out"


def test_parallel_creates_by_one_customer_open_a_single_cart(postgresql_only, stocked):
    ids = in_parallel(lambda n: str(api.create_cart(customer_id=4242).cart.id), THREADS)
    assert len(set(ids)) == 1
    assert Cart.objects.filter(customer_id=4242).count() == 1

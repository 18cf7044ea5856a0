"""Checkout under real parallel requests through a threaded WSGI server on PostgreSQL (each request its
own connection). SQLite serialises every writer, so these run on PostgreSQL only (REQUIRE_POSTGRESQL
makes a missing PostgreSQL a failure under CI)."""

import threading
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest
from django.conf import settings
from django.db import connections

from commerce.errors import DomainError
from contexts.inventory import api as inventory_api
from contexts.inventory import selectors as inventory_selectors
from contexts.inventory.models import StockLevel
from contexts.orders import services
from contexts.orders.models import GatewayCharge, GatewayRefund, Order
from contexts.orders.services import _saga
from tests.support.checkout import build_shop, checkout_body, gateway_net, make_product, new_cart
from tests.support.http import request

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

# Each request holds a connection to every database it touches: in split mode that is five or six,
# so fewer threads keep a PostgreSQL with the default 100 connections from refusing clients.
THREADS = 8 if settings.DATABASE_SPLIT else 16


def in_parallel(calls, threads: int = THREADS) -> list:
    """Run the zero-argument callables on ``threads`` threads that start together; results in order."""
    threads = min(threads, len(calls))
    start = threading.Barrier(threads)
    results: list = [None] * len(calls)

    def worker(indices: list[int]) -> None:
        try:
            start.wait(timeout=60)
            for index in indices:
                results[index] = calls[index]()
        finally:
            connections.close_all()

    chunks = [list(range(i, len(calls), threads)) for i in range(threads)]
    with ThreadPoolExecutor(max_workers=threads) as pool:
        list(pool.map(worker, chunks))
    return results


def post_checkout(live_server, body, key=None):
    return request(
        "POST", f"{live_server.url}/api/v1/checkout", body, headers={"Idempotency-Key": key or uuid.uuid4().hex}
    )


def test_flash_sale_two_hundred_buyers_fifty_units(postgresql_only, live_server):
    build_shop()
    make_product("hot", "Hot", {"HOT": ("Default", "10.00", 50)})
    carts = [new_cart({"HOT": 1}) for _ in range(200)]

    responses = in_parallel([lambda cart=cart: post_checkout(live_server, checkout_body(cart)) for cart in carts])

    statuses = Counter(response.status for response in responses)
    assert statuses == {201: 50, 409: 150}, statuses
    assert {r.body["code"] for r in responses if r.status == 409} == {"insufficient_stock"}
    assert Order.objects.filter(status="confirmed").count() == 50
    assert Order.objects.filter(status="failed").count() == 150
    assert Order.objects.filter(status="pending").count() == 0
    assert GatewayCharge.objects.filter(status="captured").count() == 50
    assert gateway_net() == Decimal("50") * Decimal("14.90")
    assert inventory_api.get_availability(skus=["HOT"])["HOT"].available == 0
    assert not StockLevel.objects.filter(on_hand__lt=0).exists()
    assert inventory_selectors.ledger_mismatches() == []
    numbers = sorted(int(n) for n in Order.objects.filter(status="confirmed").values_list("number", flat=True))
    assert numbers == list(range(100001, 100051))  # unique and without gaps: failed attempts take none
    assert not Order.objects.filter(status="failed", number__isnull=False).exists()
    assert services.money_position().differences == ()


def test_ten_parallel_retries_with_one_key_make_one_order_and_one_capture(postgresql_only, live_server):
    build_shop()
    body = checkout_body(new_cart({"MUG": 1}))

    responses = in_parallel([lambda: post_checkout(live_server, body, key="one-key") for _ in range(10)], threads=10)

    statuses = Counter(response.status for response in responses)
    assert set(statuses) <= {201, 409} and statuses[201] >= 1, statuses
    assert {r.body["code"] for r in responses if r.status == 409} <= {"request_in_progress"}
    assert len({r.body["id"] for r in responses if r.status == 201}) == 1
    assert Order.objects.count() == 1 and GatewayCharge.objects.count() == 1
    assert GatewayCharge.objects.get().captured == Order.objects.get().total
    replay = post_checkout(live_server, body, key="one-key")
    assert replay.status == 201 and replay.headers.get("Idempotent-Replayed") == "true"


def test_cancel_against_ship_exactly_one_wins_and_money_and_stock_agree(postgresql_only, live_server):
    build_shop()
    orders = []
    for _ in range(8):
        response = post_checkout(live_server, checkout_body(new_cart({"MUG": 2})))
        assert response.status == 201, response.body
        orders.append(response.body["id"])

    def cancel(order_id):
        return ("cancel", request("POST", f"{live_server.url}/api/v1/orders/{order_id}/cancel").status)

    def ship(order_id):
        try:
            services.ship_order(order_id=order_id, actor="staff:test")
        except DomainError as exc:
            return ("ship", exc.code)
        return ("ship", "ok")

    calls = [call for order_id in orders for call in (lambda o=order_id: cancel(o), lambda o=order_id: ship(o))]
    outcomes = in_parallel(calls, threads=THREADS)

    for index, order_id in enumerate(orders):
        cancelled, shipped = outcomes[2 * index][1], outcomes[2 * index + 1][1]
        order = Order.objects.get(pk=order_id)
        charge = GatewayCharge.objects.get(idempotency_key=f"order:{order_id}")
        if order.status == "cancelled":
            assert cancelled == 200 and shipped == "not_shippable"
            assert charge.captured - charge.refunded == 0
            assert inventory_api.list_shipments(reference=order_id) == ()
        else:
            assert order.status == "shipped" and shipped == "ok" and cancelled == 409
            assert charge.captured - charge.refunded == order.total
    level = StockLevel.objects.get(sku="MUG")
    shipped_units = 2 * Order.objects.filter(pk__in=orders, status="shipped").count()
    assert level.on_hand == 100 - shipped_units and level.reserved == 0 and level.allocated == 0
    assert inventory_selectors.ledger_mismatches() == []
    assert services.money_position().differences == ()


def test_one_cart_checked_out_four_times_at_once_with_four_keys_makes_one_order_and_one_charge(
    postgresql_only, live_server
):
    build_shop()
    body = checkout_body(new_cart({"MUG": 3}))

    responses = in_parallel([lambda: post_checkout(live_server, body) for _ in range(4)], threads=4)

    statuses = Counter(response.status for response in responses)
    assert statuses[201] == 1 and statuses[409] == 3, statuses
    # refused while the first one runs, or after it closed the cart
    assert {r.body["code"] for r in responses if r.status == 409} <= {"checkout_in_progress", "cart_closed"}
    assert Order.objects.filter(status="confirmed").count() == 1
    assert gateway_net() == Order.objects.get(status="confirmed").total
    assert GatewayCharge.objects.count() == 1 and not GatewayRefund.objects.exists()
    level = StockLevel.objects.get(sku="MUG")
    assert level.allocated == 3 and level.reserved == 0 and level.on_hand == 100
    assert services.money_position().differences == ()


def test_a_second_checkout_of_a_cart_being_checked_out_is_refused_before_any_stock_or_money_moves(
    postgresql_only, live_server, monkeypatch
):
    build_shop()
    cart_id = new_cart({"MUG": 3})
    body = checkout_body(cart_id)
    first_has_stock, go_on, held = threading.Event(), threading.Event(), []

    def checkpoint(order_id, step):  # the first checkout waits here, holding its reservation
        if step == "reserve_stock" and not held:
            held.append(order_id)
            first_has_stock.set()
            assert go_on.wait(timeout=60)

    monkeypatch.setattr(_saga, "checkpoint", checkpoint)
    with ThreadPoolExecutor(max_workers=1) as pool:
        first = pool.submit(post_checkout, live_server, body)
        assert first_has_stock.wait(timeout=60)
        second = post_checkout(live_server, body)  # another key
        edit = request("POST", f"{live_server.url}/api/v1/carts/{cart_id}/lines", {"sku": "TEE-M", "quantity": 1})
        go_on.set()
        first = first.result(timeout=60)

    assert (second.status, second.body["code"]) == (409, "checkout_in_progress"), second.body
    assert (edit.status, edit.body["code"]) == (409, "checkout_in_progress"), edit.body
    assert first.status == 201, first.body
    assert [(line["sku"], line["quantity"]) for line in first.body["lines"]] == [("MUG", 3)]
    assert Order.objects.filter(status="confirmed").count() == 1
    charge = GatewayCharge.objects.get()  # one authorization, captured once, never refunded
    assert charge.status == "captured" and charge.refunded == 0 and not GatewayRefund.objects.exists()
    level = StockLevel.objects.get(sku="MUG")
    assert level.allocated == 3 and level.reserved == 0
    assert services.money_position().differences == ()

"""Two staff receiving returns of one order at the same moment, on PostgreSQL (real row locks).

Each receipt works out its refund from what came back before it. Read without the order's lock, two
receipts each believed they were not the last: the order ended ``returned`` with the shipping never
refunded, and two partial returns of one line could each round the same cent up. A barrier where the
share is worked out holds the first receipt there until the second arrives (or two seconds pass, which
is what happens once receipts of one order run one after another), so the race is hit on every run.
"""

import contextlib
import threading
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest
from django.db import connections

from contexts.orders import domain, services
from contexts.orders.models import GatewayCharge, Order, Refund
from tests.support.checkout import build_shop, checkout_body, make_product, new_cart, post_checkout

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

ROUNDS = 3


@pytest.fixture
def receipts_meet_where_the_share_is_worked_out(monkeypatch):
    """Each receipt waits (up to two seconds) for the other just before its refund is worked out."""
    barrier = threading.Barrier(2)
    work_out = domain.refund_for_return

    def meeting_first(**kwargs):
        # broken: the other receipt waits for this one's lock (they run one after another)
        with contextlib.suppress(threading.BrokenBarrierError):
            barrier.wait(timeout=2)
        return work_out(**kwargs)

    monkeypatch.setattr(domain, "refund_for_return", meeting_first)
    return barrier


def receive_together(return_ids) -> None:
    def receive(return_id):
        try:
            return services.receive_return(return_id=return_id, actor="staff:test")
        finally:
            connections.close_all()

    barrier = threading.Barrier(len(return_ids))

    def at_once(return_id):
        barrier.wait(timeout=30)
        return receive(return_id)

    with ThreadPoolExecutor(max_workers=len(return_ids)) as pool:
        list(pool.map(at_once, return_ids))


def shipped_order(customer_client, lines: dict[str, int], *, method: str = "express") -> Order:
    cart_id = new_cart(lines, customer_id=customer_client.customer.pk)
    response = post_checkout(customer_client, checkout_body(cart_id, email=None, method=method))
    assert response.status_code == 201, response.json()
    services.ship_order(order_id=response.json()["id"], actor="staff:test")
    return Order.objects.get(pk=response.json()["id"])


def refunded(order: Order) -> Decimal:
    return GatewayCharge.objects.get(idempotency_key=f"order:{order.pk}").refunded


def test_the_two_returns_of_an_order_received_at_once_refund_everything_shipping_included(
    postgresql_only, customer_client, receipts_meet_where_the_share_is_worked_out
):
    build_shop()
    for _ in range(ROUNDS):
        order = shipped_order(customer_client, {"TEE-M": 1, "MUG": 1})
        assert order.shipping_total == Decimal("9.90")
        returns = [
            services.request_return(order_id=order.pk, customer_id=order.customer_id, lines=[(sku, 1)], reason="")
            for sku in ("TEE-M", "MUG")
        ]

        receive_together([ret.pk for ret in returns])

        order.refresh_from_db()
        assert order.status == "returned"
        assert refunded(order) == order.total  # the 9.90 of shipping included
        refunds = Refund.objects.filter(order=order)
        assert sorted(refund.shipping for refund in refunds) == [Decimal(0), Decimal("9.90")]
        assert sum(refund.amount for refund in refunds) == order.total
        assert services.money_position().differences == ()


def test_two_partial_returns_of_one_line_received_at_once_refund_their_shares_to_the_cent(
    postgresql_only, customer_client, receipts_meet_where_the_share_is_worked_out
):
    build_shop()
    # three at 10.05 with WELCOME10: a line total no longer divisible by three
    make_product("odd", "Odd", {"ODD": ("Default", "10.05", 30)})
    for _ in range(ROUNDS):
        cart_id = new_cart({"ODD": 3}, customer_id=customer_client.customer.pk, vouchers=("WELCOME10",))
        response = post_checkout(customer_client, checkout_body(cart_id, email=None))
        assert response.status_code == 201, response.json()
        services.ship_order(order_id=response.json()["id"], actor="staff:test")
        order = Order.objects.get(pk=response.json()["id"])
        paid = order.lines.get().line_total
        assert paid * 100 % 3, "the line total must not divide by three for this test to mean anything"
        returns = [
            services.request_return(order_id=order.pk, customer_id=order.customer_id, lines=[("ODD", 1)], reason="")
            for _ in range(2)
        ]

        receive_together([ret.pk for ret in returns])

        two_of_three = domain.round_money(paid * 2 / 3)
        assert refunded(order) == two_of_three
        assert order.total - refunded(order) == order.total - two_of_three  # the last unit keeps the rest
        assert sorted(Refund.objects.filter(order=order).values_list("amount", flat=True)) == sorted(
            [domain.round_money(paid / 3), two_of_three - domain.round_money(paid / 3)]
        )

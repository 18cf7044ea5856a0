"""The broker stopped and restarted while orders are placed (issue 16 item 3): checkouts still
succeed while the private redis-server is down, their events wait in the outbox (owed, not lost),
and once the broker is back the sweep hands them to the worker: every order confirmed to its
customer exactly once."""

import uuid

import pytest

from commerce.eventbus.models import Delivery
from contexts.notifications.models import Message
from contexts.orders.models import Order
from tests.resilience.support import sweep_until_delivered, wait_for
from tests.support.checkout import build_shop, checkout_body, new_cart

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.celery]

CONFIRMATION = "notifications.send_confirmation_when_order_placed"


@pytest.fixture
def shop(transactional_db):
    build_shop()


def place_order(web) -> str:
    body = checkout_body(new_cart({"MUG": 1}))
    status, _, order = web.request("POST", "/api/v1/checkout", body, headers={"Idempotency-Key": uuid.uuid4().hex})
    assert status == 201 and order["status"] == "confirmed", (status, order)
    return order["id"]


def confirmations(order_id: str) -> int:
    return Message.objects.filter(order_id=order_id, kind="order_confirmation").count()


def test_orders_placed_while_the_broker_is_down_flow_once_it_is_back(shop, celery_processes, private_redis):
    processes = celery_processes
    web = processes.gunicorn(ready=False)
    processes.celery_worker()
    web.wait_until_ready()
    before = place_order(web)
    wait_for(lambda: confirmations(before), timeout=60, what="the first order's confirmation")

    private_redis.stop()
    during = [place_order(web) for _ in range(3)]

    assert Order.objects.filter(pk__in=during, status="confirmed").count() == 3
    owed = Delivery.objects.filter(subscription=CONFIRMATION).exclude(status="delivered")
    assert owed.count() == 3  # waiting in the outbox
    assert not Message.objects.filter(order_id__in=during).exists()
    status, _, ready = web.request("GET", "/health/ready")
    assert status == 503 and ready["checks"]["broker"] is False, ready

    private_redis.start()
    sweep_until_delivered(processes)

    assert [confirmations(order_id) for order_id in [before, *during]] == [1, 1, 1, 1]
    assert not Delivery.objects.exclude(status="delivered").exists()
    assert web.request("GET", "/health/ready")[0] == 200

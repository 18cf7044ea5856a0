"""The database refusing connections for a moment (issue 16 item 3): a TCP proxy in front of
PostgreSQL resets the open connections and refuses new ones while the shop (gunicorn, with the
deployed persistent connections) keeps serving: every API request gets a clear 503 in the contract's
error shape with ``Retry-After`` — no stack trace, no HTML — readiness says the database is down, and
once the proxy lets connections through again the same server processes answer as before."""

import uuid
from pathlib import Path

import pytest

from contexts.orders.models import GatewayCharge, Order
from tests.resilience.support import PROXY_PORT, QUICK_TAKEOVER, retry_until_answered, subprocess_database_url
from tests.support.checkout import available, build_shop, checkout_body, new_cart

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def shop(transactional_db):
    build_shop()


def workers_of(pid: int) -> set[int]:
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return {int(child) for child in children}


def assert_unavailable(response) -> None:
    status, headers, body = response
    assert status == 503, (status, body)
    assert headers.get("Content-Type", "").startswith("application/json"), headers
    assert isinstance(body, dict) and body["code"] == "service_unavailable", body
    assert body["detail"] and "Traceback" not in str(body) and "psycopg" not in str(body), body
    assert int(headers["Retry-After"]) >= 1, headers


def test_a_database_outage_answers_503_and_the_same_server_recovers(shop, processes, database_proxy):
    web = processes.gunicorn(
        workers=2, DATABASE_URL=subprocess_database_url(port=PROXY_PORT), DATABASE_CONN_MAX_AGE="60"
    )
    workers = workers_of(web.process.pid)
    for _ in range(4):  # every worker holds a persistent connection through the proxy
        assert web.request("GET", "/api/v1/products")[0] == 200
    status, _, cart = web.request("POST", "/api/v1/carts", {"currency": "EUR"})
    assert status == 201, cart

    database_proxy.refuse()

    for _ in range(4):  # the reset persistent connections, then refused new ones, in both workers
        assert_unavailable(web.request("GET", "/api/v1/products"))
        assert_unavailable(web.request("POST", "/api/v1/carts", {"currency": "EUR"}))
        assert_unavailable(web.request("GET", f"/api/v1/carts/{cart['id']}"))
    status, _, ready = web.request("GET", "/health/ready")
    assert status == 503 and ready["checks"]["database:default"] is False, ready
    assert web.request("GET", "/health/live")[0] == 200  # the process itself is fine: no restart needed

    database_proxy.restore()

    for _ in range(4):  # the first request after the outage already succeeds, in either worker
        status, _, listing = web.request("GET", "/api/v1/products")
        assert status == 200 and listing["count"] == 2, listing
    status, _, ready = web.request("GET", "/health/ready")
    assert status == 200 and ready["checks"]["database:default"] is True, ready
    status, _, again = web.request("GET", f"/api/v1/carts/{cart['id']}")
    assert status == 200 and again["id"] == cart["id"]
    assert workers_of(web.process.pid) == workers, "gunicorn had to restart a worker"


def test_a_worker_that_served_nothing_during_the_outage_answers_its_first_request_after_it(
    shop, processes, database_proxy
):
    """A worker idle through a database restart still holds its old, now reset, connection: the
    first request it serves afterwards must not be the one that finds out (a 503 for a database that
    is up). One worker, so no other worker can have met the outage in its place."""
    web = processes.gunicorn(
        workers=1, DATABASE_URL=subprocess_database_url(port=PROXY_PORT), DATABASE_CONN_MAX_AGE="60"
    )
    assert web.request("GET", "/api/v1/products")[0] == 200  # the worker's persistent connection

    database_proxy.refuse()  # resets that connection; no request reaches the worker meanwhile
    database_proxy.restore()

    status, _, listing = web.request("GET", "/api/v1/products")
    assert status == 200 and listing["count"] == 2, listing


def test_a_database_outage_in_the_middle_of_a_checkout_is_healed_by_the_retry(shop, processes, database_proxy):
    """The database goes away right after the money was captured: the checkout answers 503, and the
    client's retry with the same Idempotency-Key, once the database is back, gets the order
    confirmed — the money captured once, the stock taken once."""
    cart_id = new_cart({"TEE-M": 2})
    web = processes.gunicorn(
        DATABASE_URL=subprocess_database_url(port=PROXY_PORT),
        DATABASE_CONN_MAX_AGE="60",
        RESILIENCE_BLOCK_AT="saga:capture_payment",
        **QUICK_TAKEOVER,
    )
    key, body = uuid.uuid4().hex, checkout_body(cart_id)
    first = web.request_in_background("POST", "/api/v1/checkout", body, {"Idempotency-Key": key})
    processes.wait_for_fault(log=web.log)
    database_proxy.refuse()
    processes.release_fault()
    first["thread"].join(timeout=60)
    assert_unavailable(first["response"])

    database_proxy.restore()
    status, _, answer = retry_until_answered(web, body, key)

    assert status == 201 and answer["status"] == "confirmed", answer
    order = Order.objects.get()
    assert str(order.pk) == answer["id"] and order.saga.state == "completed"
    charge = GatewayCharge.objects.get()
    assert charge.captured == order.total and charge.refunded == 0
    assert available("TEE-M") == 8

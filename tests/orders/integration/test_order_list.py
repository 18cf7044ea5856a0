"""``GET /orders``: the caller's placed orders (``confirmed`` and after), newest first; a failed
checkout attempt only with ``?status=failed`` (API.md), and ``?status=<status>`` for any status."""

import pytest

from contexts.orders.models import Order
from tests.orders.factories import OrderFactory
from tests.support.checkout import checkout_body, new_cart, post_checkout

pytestmark = pytest.mark.django_db


def place(client, token: str = "tok_ok"):
    cart_id = new_cart({"MUG": 1}, customer_id=client.customer.pk)
    return post_checkout(client, checkout_body(cart_id, email=None, token=token))


@pytest.fixture
def history(customer_client, shop):
    """A confirmed order, a declined attempt, an order still being checked out, a cancelled order."""
    first = place(customer_client).json()
    declined = place(customer_client, token="tok_declined")
    assert declined.status_code == 402, declined.json()
    pending = OrderFactory(customer_id=customer_client.customer.pk, status="pending")
    cancelled = place(customer_client).json()
    assert customer_client.post(f"/api/v1/orders/{cancelled['id']}/cancel").status_code == 200
    return {
        "confirmed": first["id"],
        "failed": declined.json()["order_id"],
        "pending": str(pending.pk),
        "cancelled": cancelled["id"],
    }


def test_the_list_shows_placed_orders_only_newest_first(customer_client, history):
    listing = customer_client.get("/api/v1/orders").json()

    assert listing["count"] == 2
    assert [order["id"] for order in listing["results"]] == [history["cancelled"], history["confirmed"]]
    assert [order["status"] for order in listing["results"]] == ["cancelled", "confirmed"]


def test_failed_attempts_are_listed_when_asked_for(customer_client, history):
    failed = customer_client.get("/api/v1/orders", {"status": "failed"}).json()

    assert failed["count"] == 1
    assert [(order["id"], order["status"]) for order in failed["results"]] == [(history["failed"], "failed")]
    pending = customer_client.get("/api/v1/orders", {"status": "pending"}).json()
    assert [order["id"] for order in pending["results"]] == [history["pending"]]
    confirmed = customer_client.get("/api/v1/orders", {"status": "confirmed"}).json()
    assert [order["id"] for order in confirmed["results"]] == [history["confirmed"]]


@pytest.mark.parametrize("status", ["lost", ""])
def test_an_unknown_status_is_a_400_naming_the_field(customer_client, history, status):
    """An empty ``?status=`` is refused as the schema refuses it (found by bin/fuzz), not read as no filter."""
    response = customer_client.get("/api/v1/orders", {"status": status})

    assert response.status_code == 400
    assert response.json()["code"] == "invalid" and "status" in response.json()["errors"]
    assert Order.objects.filter(customer_id=customer_client.customer.pk).count() == 4

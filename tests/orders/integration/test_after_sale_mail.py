"""What the customer is told after checkout, through the real bus: one mail per fact.

Cancelling publishes ``OrderCancelled`` and ``RefundIssued`` (the money went back: a fact for anyone
keeping accounts), but the customer gets one mail, ``order_cancelled``, that says the refund. A
return's refund has no other mail, so it keeps its ``refund_issued``.
"""

import pytest

from contexts.notifications.models import Message
from contexts.orders import services
from tests.support.checkout import build_shop, checkout_body, new_cart, post_checkout

pytestmark = pytest.mark.django_db(transaction=True)


def placed(customer_client) -> dict:
    build_shop()
    cart_id = new_cart({"TEE-M": 1, "MUG": 1}, customer_id=customer_client.customer.pk)
    response = post_checkout(customer_client, checkout_body(cart_id, email=None))
    assert response.status_code == 201, response.json()
    return response.json()


def told(order: dict) -> list[Message]:
    return list(Message.objects.filter(order_id=order["id"]).order_by("created_at", "id"))


def test_cancelling_sends_one_mail_that_says_the_refund(customer_client, settle_events):
    order = placed(customer_client)

    assert customer_client.post(f"/api/v1/orders/{order['id']}/cancel").status_code == 200
    settle_events()

    assert [n.kind for n in told(order)] == ["order_confirmation", "order_cancelled"]
    cancelled = told(order)[-1]
    assert f"{order['total']['amount']} EUR goes back to your means of payment" in cancelled.body_text


def test_a_received_return_still_tells_the_refund(customer_client, settle_events):
    order = placed(customer_client)
    services.ship_order(order_id=order["id"])
    ret = services.request_return(
        order_id=order["id"], customer_id=customer_client.customer.pk, lines=[("MUG", 1)], reason=""
    )

    services.receive_return(return_id=ret.pk)
    settle_events()

    assert [n.kind for n in told(order)] == ["order_confirmation", "order_dispatched", "refund_issued"]

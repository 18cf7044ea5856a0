"""The journey of issue 12's "Resolved when", on the demo shop, through the REST API and the admin:
register, browse, add to cart, apply WELCOME10, pick shipping, check out, see the order, staff ship
it, the customer returns a line and staff receive it with a refund."""

import uuid
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.urls import reverse
from rest_framework.test import APIClient

from contexts.orders.models import GatewayCharge, Refund
from contexts.orders.services import money_position

pytestmark = pytest.mark.django_db(transaction=True)  # events are delivered after commit


def test_a_new_customer_buys_on_the_demo_shop_and_returns_a_line(admin_client, settle_events):
    call_command("seed_demo", verbosity=0)
    settle_events()
    client = APIClient()
    assert (
        client.post(
            "/api/v1/auth/register", {"email": "new@example.com", "password": "a-long-pass-phrase-42"}, format="json"
        ).status_code
        == 201
    )
    tokens = client.post(
        "/api/v1/auth/token", {"email": "new@example.com", "password": "a-long-pass-phrase-42"}, format="json"
    ).json()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")

    products = client.get("/api/v1/products", {"in_stock": "true", "ordering": "price"}).json()["results"]
    detail = client.get(f"/api/v1/products/{products[-1]['slug']}").json()
    variant = next(v for v in detail["variants"] if v["in_stock"])
    cart = client.post("/api/v1/carts", {}, format="json").json()
    cart = client.post(
        f"/api/v1/carts/{cart['id']}/lines", {"sku": variant["sku"], "quantity": 2}, format="json"
    ).json()
    if Decimal(cart["subtotal"]["amount"]) < Decimal("20.00"):
        cart = client.patch(
            f"/api/v1/carts/{cart['id']}/lines/{cart['lines'][0]['id']}", {"quantity": 10}, format="json"
        ).json()
    voucher = client.post(f"/api/v1/carts/{cart['id']}/vouchers", {"code": "WELCOME10"}, format="json")
    assert voucher.status_code == 200, voucher.json()
    chosen = client.patch(
        f"/api/v1/carts/{cart['id']}", {"country": "DE", "shipping_method": "standard"}, format="json"
    )
    assert chosen.status_code == 200, chosen.json()
    quoted_total = chosen.json()["total"]

    placed = client.post(
        "/api/v1/checkout",
        {
            "cart_id": cart["id"],
            "shipping_address": {
                "full_name": "New Customer",
                "line1": "Invalidenstrasse 1",
                "city": "Berlin",
                "postal_code": "10115",
                "country": "DE",
            },
            "payment": {"token": "tok_ok"},
        },
        format="json",
        HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()),
    )
    assert placed.status_code == 201, placed.json()
    settle_events()
    order = placed.json()
    assert order["status"] == "confirmed" and order["vouchers"] == ["WELCOME10"]
    assert order["total"] == quoted_total and order["shipping_method"] == "standard"
    assert client.get("/api/v1/orders").json()["results"][0]["id"] == order["id"]

    admin_client.post(
        reverse("admin:orders_order_changelist"), {"action": "ship_orders", "_selected_action": [order["id"]]}
    )
    settle_events()
    assert client.get(f"/api/v1/orders/{order['id']}").json()["status"] == "shipped"

    returned = client.post(
        f"/api/v1/orders/{order['id']}/returns",
        {"lines": [{"sku": variant["sku"], "quantity": 1}], "reason": "changed my mind"},
        format="json",
    )
    assert returned.status_code == 201, returned.json()
    admin_client.post(
        reverse("admin:orders_return_changelist"),
        {"action": "receive_returns", "_selected_action": [returned.json()["id"]]},
    )
    settle_events()
    after = client.get(f"/api/v1/orders/{order['id']}").json()
    assert after["status"] == "partially_returned"
    refund = Refund.objects.get(ret_id=returned.json()["id"])
    assert refund.amount > 0 and after["payment"]["refunded"]["amount"] == str(refund.amount)
    assert GatewayCharge.objects.get().refunded == refund.amount
    assert money_position().differences == ()

    kinds = {n["kind"] for n in client.get("/api/v1/me/notifications").json()["results"]}
    assert {"order_confirmation", "order_dispatched", "refund_issued"} <= kinds, kinds

"""After checkout: the customer's cancel and returns, staff's admin actions, status following shipments,
refunds of exactly what was paid."""

from decimal import Decimal

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from contexts.inventory import api as inventory_api
from contexts.orders.models import GatewayCharge, Order, Refund, Return
from contexts.orders.services import money_position
from tests.support.checkout import (
    available,
    checkout_body,
    gateway_net,
    new_cart,
    post_checkout,
    published,
    voucher_uses,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def placed(customer_client, shop):
    """A customer's confirmed order: 3 × TEE-M and 1 × MUG with WELCOME10, standard shipping."""
    cart_id = new_cart({"TEE-M": 3, "MUG": 1}, customer_id=customer_client.customer.pk, vouchers=("WELCOME10",))
    response = post_checkout(customer_client, checkout_body(cart_id, email=None))
    assert response.status_code == 201, response.json()
    return response.json()


def admin_action(admin_client, model: str, action: str, ids) -> list[str]:
    response = admin_client.post(
        reverse(f"admin:orders_{model}_changelist"),
        {"action": action, "_selected_action": [str(i) for i in ids]},
        follow=True,
    )
    assert response.status_code == 200
    return [str(message) for message in get_messages(response.wsgi_request)]


def ship(admin_client, order_id) -> list[str]:
    return admin_action(admin_client, "order", "ship_orders", [order_id])


def test_every_orders_screen_opens(admin_client, placed):
    for url in (
        "admin:orders_order_changelist",
        "admin:orders_return_changelist",
        "admin:orders_gatewaycharge_changelist",
    ):
        assert admin_client.get(reverse(url)).status_code == 200
    page = admin_client.get(reverse("admin:orders_order_change", args=[placed["id"]])).content.decode()
    assert "checkout saga log" in page.lower() and "capture_payment" in page
    assert admin_client.get(reverse("admin:orders_order_changelist"), {"q": placed["number"]}).status_code == 200


def test_the_customer_cancels_a_confirmed_order_and_gets_everything_back(customer_client, placed):
    response = customer_client.post(f"/api/v1/orders/{placed['id']}/cancel")

    assert response.status_code == 200, response.json()
    order = response.json()
    assert order["status"] == "cancelled"
    assert order["payment"]["status"] == "refunded" and order["payment"]["refunded"] == placed["total"]
    assert available("TEE-M") == 10 and available("MUG") == 100
    assert voucher_uses() == 0 and gateway_net() == 0
    (cancelled,) = published("orders.OrderCancelled")
    assert cancelled["cancelled_by"] == "customer" and cancelled["refunded"] == placed["total"]["amount"]
    assert published("orders.RefundIssued")[0]["reason"] == "cancellation"
    # cancelling again changes nothing
    assert customer_client.post(f"/api/v1/orders/{placed['id']}/cancel").status_code == 200
    assert Refund.objects.count() == 1 and gateway_net() == 0


def test_staff_ship_then_the_order_cannot_be_cancelled(customer_client, admin_client, placed):
    messages = ship(admin_client, placed["id"])
    assert any("shipped" in message.lower() for message in messages)

    order = customer_client.get(f"/api/v1/orders/{placed['id']}").json()
    assert order["status"] == "shipped"
    (shipment,) = order["shipments"]
    assert shipment["status"] == "dispatched"
    assert sorted((line["sku"], line["quantity"]) for line in shipment["lines"]) == [("MUG", 1), ("TEE-M", 3)]
    levels = {level.sku: level for level in inventory_api.get_stock_levels(skus=["TEE-M", "MUG"])}
    assert levels["TEE-M"].on_hand == 7 and levels["TEE-M"].allocated == 0

    refused = customer_client.post(f"/api/v1/orders/{placed['id']}/cancel")
    assert refused.status_code == 409 and refused.json()["code"] == "not_cancellable"
    assert gateway_net() == Decimal(placed["total"]["amount"])
    # staff cancelling a shipped order is told so, never a 500
    messages = admin_action(admin_client, "order", "cancel_orders", [placed["id"]])
    assert any(placed["number"] in message and "cannot be cancelled" in message for message in messages)
    # shipping again: nothing left, said in the messages
    messages = ship(admin_client, placed["id"])
    assert any(placed["number"] in message for message in messages)


def test_mark_delivered_moves_shipped_orders_and_says_which_it_could_not(admin_client, placed, customer_client, shop):
    second = post_checkout(
        customer_client, checkout_body(new_cart({"MUG": 1}, customer_id=customer_client.customer.pk), email=None)
    ).json()
    ship(admin_client, placed["id"])
    messages = admin_action(admin_client, "order", "mark_delivered", [placed["id"], second["id"]])
    assert Order.objects.get(pk=placed["id"]).status == "delivered"
    assert Order.objects.get(pk=second["id"]).status == "confirmed"
    assert any(second["number"] in message for message in messages)


def test_staff_cancel_orders_refunds_and_releases(admin_client, placed):
    admin_action(admin_client, "order", "cancel_orders", [placed["id"]])
    assert Order.objects.get(pk=placed["id"]).status == "cancelled"
    assert published("orders.OrderCancelled")[0]["cancelled_by"] == "staff"
    assert gateway_net() == 0 and available("TEE-M") == 10


@pytest.mark.django_db(transaction=True)
def test_status_follows_a_shipment_dispatched_in_inventory(customer_client, placed, settle_events):
    shipment = inventory_api.create_shipment(
        reference=placed["id"], lines=[inventory_api.ShipmentLine(sku="TEE-M", quantity=1)]
    )
    inventory_api.dispatch_shipment(shipment_id=shipment.id)
    settle_events()

    order = customer_client.get(f"/api/v1/orders/{placed['id']}").json()
    assert order["status"] == "partially_shipped"
    assert [s["lines"] for s in order["shipments"]] == [[{"sku": "TEE-M", "quantity": 1}]]


def test_returns_are_refunded_by_exactly_the_returned_share_and_shipping_with_the_last(
    customer_client, admin_client, placed
):
    ship(admin_client, placed["id"])
    url = f"/api/v1/orders/{placed['id']}/returns"
    order = Order.objects.get(pk=placed["id"])
    tee = order.lines.get(sku="TEE-M")
    mug = order.lines.get(sku="MUG")

    first = customer_client.post(
        url, {"lines": [{"sku": "TEE-M", "quantity": 1}], "reason": "too small"}, format="json"
    )
    assert first.status_code == 201, first.json()
    assert first.json()["status"] == "requested" and first.json()["lines"] == [{"sku": "TEE-M", "quantity": 1}]
    too_many = customer_client.post(url, {"lines": [{"sku": "TEE-M", "quantity": 3}]}, format="json")
    assert too_many.status_code == 400 and too_many.json()["code"] == "invalid"

    admin_action(admin_client, "return", "receive_returns", [first.json()["id"]])
    refund = Refund.objects.get(ret_id=first.json()["id"])
    one_tee = (tee.line_total / 3).quantize(Decimal("0.01"))
    assert refund.amount == one_tee and refund.shipping == 0
    assert Order.objects.get(pk=placed["id"]).status == "partially_returned"
    assert inventory_api.get_stock_levels(skus=["TEE-M"])[0].on_hand == 8
    assert published("orders.ReturnReceived")[0]["lines"] == [{"sku": "TEE-M", "quantity": 1}]

    rest = customer_client.post(
        url, {"lines": [{"sku": "TEE-M", "quantity": 2}, {"sku": "MUG", "quantity": 1}]}, format="json"
    )
    admin_action(admin_client, "return", "receive_returns", [rest.json()["id"]])
    last = Refund.objects.get(ret_id=rest.json()["id"])
    assert last.shipping == order.shipping_total
    assert refund.amount + last.amount == order.total  # everything back: exactly what was paid
    assert Order.objects.get(pk=placed["id"]).status == "returned"
    assert gateway_net() == 0
    assert money_position().differences == ()
    listing = customer_client.get(url).json()
    assert {r["status"] for r in listing} == {"received"}
    # receiving again is refused in the messages, nothing refunded twice
    messages = admin_action(admin_client, "return", "receive_returns", [rest.json()["id"]])
    assert any("already received" in message for message in messages)
    assert GatewayCharge.objects.get().refunded == order.total
    assert mug.quantity == 1


def test_nothing_can_be_returned_before_it_shipped(customer_client, placed):
    response = customer_client.post(
        f"/api/v1/orders/{placed['id']}/returns", {"lines": [{"sku": "TEE-M", "quantity": 1}]}, format="json"
    )
    assert response.status_code == 409 and response.json()["code"] == "not_returnable"
    assert not Return.objects.exists()


def test_returns_need_a_signed_in_owner(customer_client, admin_client, placed):
    from rest_framework.test import APIClient

    ship(admin_client, placed["id"])
    response = APIClient().post(
        f"/api/v1/orders/{placed['id']}/returns", {"lines": [{"sku": "TEE-M", "quantity": 1}]}, format="json"
    )
    assert response.status_code == 401
    bad = customer_client.post(
        f"/api/v1/orders/{placed['id']}/returns", {"lines": [{"sku": "NOPE", "quantity": 1}]}, format="json"
    )
    assert bad.status_code == 400 and not Return.objects.exists()


def test_the_money_position_command_prints_no_difference(placed, customer_client, capsys):
    from django.core.management import call_command

    customer_client.post(f"/api/v1/orders/{placed['id']}/cancel")
    call_command("money_position")
    assert "No difference." in capsys.readouterr().out
